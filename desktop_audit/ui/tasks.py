"""The only bridge from core work to Qt threads.

A Task runs a plain function on a worker thread with ``progress`` and ``cancelled``
callables; its result (or its error, as one message) comes back to the GUI thread by
signal.  The function never touches a widget.  Database work in the worker uses the
worker thread's own SQLite connection (peewee keeps one per thread; WAL lets it read
while the window reads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from desktop_audit.errors import AuditError, Cancelled

Work = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]


class Task(QObject):
    """One piece of long work; connect to the signals, then ``start``."""

    progress = Signal(int, int)  # done, total
    succeeded = Signal(object)
    failed = Signal(str)
    was_cancelled = Signal(str)
    ended = Signal()

    def __init__(self, work: Work, *, db: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._db = db
        self._cancel = threading.Event()
        self.running = False

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_event(self) -> threading.Event:
        """For core functions that take a threading.Event (the sync)."""
        return self._cancel

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def start(self, pool: QThreadPool | None = None) -> None:
        self.running = True
        self.ended.connect(self._finish)
        (pool or QThreadPool.globalInstance()).start(_Runner(self))

    def _finish(self) -> None:
        self.running = False

    @staticmethod
    def _emit(signal: Any, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window that asked has gone away: nobody to tell
            pass

    def _run(self) -> None:
        try:
            result = self._work(lambda done, total: self._emit(self.progress, done, total),
                                self._cancel.is_set)
        except Cancelled as exc:
            self._emit(self.was_cancelled, str(exc))
        except AuditError as exc:
            self._emit(self.failed, str(exc))
        except Exception as exc:  # noqa: BLE001 - the worker's edge: one message, no traceback
            self._emit(self.failed, f"{type(exc).__name__}: {exc}")
        else:
            if self._cancel.is_set():
                self._emit(self.was_cancelled, "cancelled")
            else:
                self._emit(self.succeeded, result)
        finally:
            if self._db is not None:
                try:
                    self._db.handle.close()  # this thread's connection only
                except Exception:  # noqa: BLE001
                    pass
            self._emit(self.ended)


class _Runner(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        self.task._run()
