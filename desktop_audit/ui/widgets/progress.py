"""A progress bar with a Cancel button for one background Op; the window stays responsive."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop_audit.ui.runner import Op


class ProgressDialog(QDialog):
    def __init__(self, task: Op, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task = task
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(420)
        box = QVBoxLayout(self)
        self.label = QLabel(title + "…")
        box.addWidget(self.label)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        box.addWidget(self.bar)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        box.addWidget(self.cancel_button, alignment=Qt.AlignmentFlag.AlignRight)
        task.progress.connect(self._progress)
        task.ended.connect(self.accept)

    def _progress(self, done: int, total: int, stage: str = "") -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
            self.label.setText(f"{done:,} of {total:,}" + (f" {stage}" if stage else ""))

    def _cancel(self) -> None:
        self.task.cancel()
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")

    def reject(self) -> None:  # Esc cancels the work
        self._cancel()
