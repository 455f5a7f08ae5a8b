"""An unexpected failure, shown once and kept: one clear message, the details behind a
button, the traceback in the log file."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ErrorDialog(QDialog):
    """Something went wrong that the program did not expect."""

    def __init__(self, exc: BaseException, *, context: str = "",
                 parent: QWidget | None = None) -> None:
        from desktop_audit import logs

        super().__init__(parent)
        self.setWindowTitle("Something went wrong")
        self.details_text = logs.details(exc)
        path = logs.log_path()
        box = QVBoxLayout(self)
        what = f" while {context}" if context else ""
        message = QLabel(
            f"<b>Desktop Audit ran into a problem{what}.</b><br>"
            f"{type(exc).__name__}: {str(exc) or 'no message'}<br><br>"
            "Your saved records are safe. What you did last may not have been saved: check it, "
            "and try again.<br>The details were written to "
            f"<code>{path}</code>; <i>Copy details</i> puts them on the clipboard for a report.")
        message.setWordWrap(True)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(message)
        self.details = QPlainTextEdit(self.details_text)
        self.details.setReadOnly(True)
        self.details.setVisible(False)
        self.details.setMinimumHeight(180)
        box.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.clicked.connect(self.copy)
        self.show_button = QPushButton("Show details")
        self.show_button.clicked.connect(self._toggle)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.show_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self.resize(560, 240)

    def copy(self) -> None:
        QApplication.clipboard().setText(self.details_text)
        self.copy_button.setText("Copied")

    def _toggle(self) -> None:
        shown = not self.details.isVisible()
        self.details.setVisible(shown)
        self.show_button.setText("Hide details" if shown else "Show details")


class _Relay(QObject):
    """Carries an exception raised on any thread to the GUI thread."""

    raised = Signal(object, str)


_relay: _Relay | None = None
_open: list[ErrorDialog] = []


def show_error(exc: BaseException, context: str = "", parent: QWidget | None = None) -> None:
    """Log *exc* with its traceback and show it (from the GUI thread)."""
    from desktop_audit import logs

    logs.record_failure(exc, context or "the app")
    if QApplication.instance() is None:
        return
    dialog = ErrorDialog(exc, context=context, parent=parent)
    _open.append(dialog)
    dialog.finished.connect(lambda _r: _open.remove(dialog) if dialog in _open else None)
    dialog.open()


def open_dialogs() -> list[ErrorDialog]:
    """The error dialogs on screen now, oldest first."""
    return list(_open)


def install_excepthook() -> None:
    """Route every uncaught exception (GUI thread or any other) to the log and a dialog,
    instead of a traceback on a terminal nobody reads."""
    global _relay
    if _relay is not None:
        return
    _relay = _Relay()
    _relay.raised.connect(lambda exc, where: show_error(exc, where))

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        assert _relay is not None
        _relay.raised.emit(exc, "")

    def thread_hook(args: Any) -> None:
        if args.exc_value is not None:
            assert _relay is not None
            _relay.raised.emit(args.exc_value, f"in {args.thread.name if args.thread else 'a thread'}")

    sys.excepthook = hook
    threading.excepthook = thread_hook
