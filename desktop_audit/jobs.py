"""The one protocol every long piece of work speaks: progress, stage, cancel.

A core function that runs long (an import, an export, a sync, an evidence pack, the demo
data) takes a ``Control``.  It reports ``progress(done, total, stage)`` as it goes and
calls ``check()`` between steps; ``check`` raises ``Cancelled`` once someone asked to
stop.  The command line passes a Control that prints; the app's op runner passes one
whose progress becomes a Qt signal and whose Cancel button sets the event.  Without a
Control, nothing is reported and nothing cancels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from desktop_audit.errors import Cancelled

Listener = Callable[[int, int, str], None]  # (done, total, stage)


class Control:
    """Progress out, cancel in: what a long job is given."""

    def __init__(self, on_progress: Listener | None = None,
                 cancel: threading.Event | None = None) -> None:
        self._listener = on_progress
        self.event = cancel or threading.Event()
        self.done = 0
        self.total = 0
        self.stage = ""

    def progress(self, done: int, total: int, stage: str = "") -> None:
        self.done, self.total = done, total
        if stage:
            self.stage = stage
        if self._listener is not None:
            self._listener(done, total, self.stage)

    def fraction(self, value: float, stage: str = "") -> None:
        """Progress as a fraction of the whole (0.0 … 1.0)."""
        self.progress(int(max(0.0, min(1.0, value)) * 1000), 1000, stage)

    def cancel(self) -> None:
        self.event.set()

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()

    def check(self, message: str = "cancelled") -> None:
        """Stop here (raise Cancelled with *message*) if someone asked to."""
        if self.event.is_set():
            raise Cancelled(message)


def quiet() -> Control:
    """A Control nobody watches and nobody cancels."""
    return Control()
