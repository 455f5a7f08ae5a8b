"""Long and database work off the GUI thread: one database writer, one pool for the rest.

Every write the app makes (a form saved, a photo attached, an import, a sync, a Live Query
merge, the demo data, an evidence pack that journals itself) runs on the *writer*: one
thread that takes jobs in order, so two writes never meet inside SQLite and the window
never waits on a lock (Anki runs collection work on one worker the same way; datasette
sends every write through one thread).  Work that only reads or talks to the network (list
counts, the server's status, a file export) runs on the *reader* pool.

A job is a plain function of a ``jobs.Control`` (progress out, cancel in).  ``submit``
returns an ``Op`` whose Qt signals bring progress and the result (or the exception itself)
back to the GUI thread; the job never touches a widget.  An unexpected exception is written
to the log file with its traceback before it is handed back.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from desktop_audit import logs
from desktop_audit.errors import AuditError, Cancelled
from desktop_audit.jobs import Control

Job = Callable[[Control], Any]


class Op(QObject):
    """One submitted job, as the GUI sees it."""

    progress = Signal(int, int, str)  # done, total, stage
    succeeded = Signal(object)
    failed = Signal(object)  # the exception itself (AuditError: for the user; else logged)
    was_cancelled = Signal(str)
    ended = Signal()

    def __init__(self, title: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.control = Control(self._report)
        self.running = True
        self.result: Any = None
        self.error: BaseException | None = None
        # Set on the GUI thread once ``ended`` arrived there (every result signal before it).
        self.delivered = False
        self.ended.connect(self._delivered)

    def _delivered(self) -> None:
        self.delivered = True

    def _report(self, done: int, total: int, stage: str) -> None:
        self._emit(self.progress, done, total, stage)

    def cancel(self) -> None:
        self.control.cancel()

    def is_cancelled(self) -> bool:
        return self.control.cancelled

    @staticmethod
    def _emit(signal: Any, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window that asked has gone: nobody to tell
            pass

    def run(self, job: Job) -> None:
        """Run *job* here (a worker thread) and report how it ended."""
        try:
            result = job(self.control)
        except Cancelled as exc:
            self.error = exc
            self._emit(self.was_cancelled, str(exc))
        except AuditError as exc:
            self.error = exc
            self._emit(self.failed, exc)
        except Exception as exc:  # noqa: BLE001 - the worker's edge: logged, then handed back
            self.error = exc
            logs.record_failure(exc, f"background job: {self.title}")
            self._emit(self.failed, exc)
        else:
            self.result = result
            if self.control.cancelled:
                self._emit(self.was_cancelled, "cancelled")
            else:
                self._emit(self.succeeded, result)
        finally:
            self.running = False
            self._emit(self.ended)


class _Writer(threading.Thread):
    """The one thread that writes the database, job after job."""

    def __init__(self, db: Any) -> None:
        super().__init__(name="db-writer", daemon=True)
        self.db = db
        self.jobs: queue.Queue[tuple[Callable[[], None]] | None] = queue.Queue()

    def run(self) -> None:
        try:
            while True:
                item = self.jobs.get()
                if item is None:
                    return
                item[0]()
        finally:
            try:
                self.db.handle.close()  # this thread's own SQLite connection
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


class Runner(QObject):
    """The app's op runner: ``write`` for database writes, ``read`` for everything else."""

    def __init__(self, db: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self._writer = _Writer(db)
        self._writer.start()
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="reader")
        self.ops: list[Op] = []
        self.closed = False

    # ------------------------------------------------------------ submitting
    def write(self, job: Job, title: str = "saving", parent: QObject | None = None) -> Op:
        """Run *job* on the writer thread, after the writes already queued."""
        op = self._op(title, parent)
        self._writer.jobs.put((lambda: op.run(job),))
        return op

    def read(self, job: Job, title: str = "reading", parent: QObject | None = None) -> Op:
        """Run *job* on the reader pool (it must not write the database)."""
        op = self._op(title, parent)

        def run() -> None:
            try:
                op.run(job)
            finally:
                try:
                    self.db.handle.close()  # this thread's own connection
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass

        self._pool.submit(run)
        return op

    def write_and_wait(self, work: Callable[[], Any]) -> Any:
        """From a thread that is not the GUI's (Live Query): run *work* on the writer and
        wait for it; its exception is raised here."""
        if threading.current_thread() is self._writer:
            return work()
        done: Future[Any] = Future()

        def run() -> None:
            try:
                done.set_result(work())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                done.set_exception(exc)

        self._writer.jobs.put((run,))
        return done.result()

    def _op(self, title: str, parent: QObject | None) -> Op:
        if self.closed:
            raise RuntimeError("the op runner is closed")
        op = Op(title, parent or self)
        self.ops = [o for o in self.ops if o.running]
        self.ops.append(op)
        return op

    # ------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return any(op.running for op in self.ops)

    def drain(self, timeout: float = 60.0) -> bool:
        """Let every submitted op finish and its signals arrive (screenshots, shutting
        down); True when nothing is left running."""
        app = QCoreApplication.instance()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if app is not None:
                app.processEvents()
            if not self.busy:
                break
            time.sleep(0.005)
        if app is not None:
            app.processEvents()
        return not self.busy

    def wait_idle(self) -> None:
        """Block until the writer has run every write queued so far."""
        self.write_and_wait(lambda: None)

    def close(self, timeout: float = 10.0) -> None:
        """Finish the queued writes, then stop both workers (the window is closing)."""
        if self.closed:
            return
        self.closed = True
        for op in list(self.ops):
            op.cancel()
        self._writer.jobs.put(None)
        self._writer.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)


def runner_for(db: Any) -> Runner:
    """The one runner of an open database (made on first use, closed with it)."""
    found: Runner | None = db.attached.get("runner")
    if found is None or found.closed:
        found = Runner(db)
        db.attached["runner"] = found
        db.on_close.append(lambda: close_runner(db))
    return found


def close_runner(db: Any) -> None:
    found = db.attached.pop("runner", None)
    if found is not None:
        found.close()
