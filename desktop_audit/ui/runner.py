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

import collections
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal

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
            from desktop_audit import logs  # loaded when something unexpected happens

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


class _Job(QRunnable):
    """One piece of work for a Qt thread pool."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__()
        self.work = work
        self.setAutoDelete(True)

    def run(self) -> None:
        self.work()


class Runner(QObject):
    """The app's op runner: ``write`` for database writes, ``read`` for everything else.

    The writer is a Qt thread pool of exactly one thread that never expires, so every write
    runs on the same thread, with the same SQLite connection, in the order submitted."""

    _kick = Signal()

    def __init__(self, db: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self._pending: collections.deque[tuple[Op, Callable[[], Any]]] = collections.deque()
        self._kick.connect(self._start_pending, Qt.ConnectionType.QueuedConnection)
        self._writer = QThreadPool(self)
        self._writer.setMaxThreadCount(1)
        self._writer.setExpiryTimeout(-1)
        self._writer_thread: threading.Thread | None = None
        self._readers = QThreadPool(self)
        self._readers.setMaxThreadCount(3)
        self.ops: list[Op] = []
        self.closed = False

    # ------------------------------------------------------------ submitting
    def write(self, job: Job, title: str = "saving", parent: QObject | None = None) -> Op:
        """Run *job* on the writer thread, after the writes already queued.

        The job is handed over when control is back in the event loop, so the caller
        connects to the Op's signals first and never misses one (a quick job could
        otherwise end before anyone listened)."""
        op = self._op(title, parent)
        self._later(op, lambda: self._on_writer(lambda: op.run(job)))
        return op

    def read(self, job: Job, title: str = "reading", parent: QObject | None = None) -> Op:
        """Run *job* on the reader pool (it must not write the database)."""
        op = self._op(title, parent)
        db = self.db

        def run() -> None:
            try:
                op.run(job)
            finally:
                try:
                    db.handle.close()  # this thread's own connection
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass

        self._later(op, lambda: self._readers.start(_Job(run)))
        return op

    def _on_writer(self, work: Callable[[], None]) -> None:
        def run() -> None:
            thread = threading.current_thread()
            thread.name = "db-writer"
            self._writer_thread = thread
            work()
        self._writer.start(_Job(run))

    def _later(self, op: Op, start: Callable[[], Any]) -> None:
        """Start work once the event loop turns, in submission order."""
        self._pending.append((op, start))
        self._kick.emit()

    def _start_pending(self) -> None:
        while self._pending:
            op, start = self._pending.popleft()
            if self.closed:  # too late for a closing runner: it ends as cancelled
                op.running = False
                op.was_cancelled.emit("the program is closing")
                op.ended.emit()
            else:
                start()

    def write_and_wait(self, work: Callable[[], Any]) -> Any:
        """From a thread that is not the GUI's (Live Query): run *work* on the writer and
        wait for it; its exception is raised here."""
        if threading.current_thread() is self._writer_thread:
            return work()
        done: Future[Any] = Future()

        def run() -> None:
            try:
                done.set_result(work())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                done.set_exception(exc)

        self._on_writer(run)
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
        db = self.db

        def close_connection() -> None:  # the writer thread's own SQLite connection
            try:
                db.handle.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

        self._writer.start(_Job(close_connection))
        self._writer.waitForDone(int(timeout * 1000))
        self._readers.waitForDone(int(timeout * 1000))
        self.ops.clear()
        self._pending.clear()


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
