"""Sync with the Parse Server / Back4app: the server settings, then push and pull off the GUI
thread with progress and Cancel; open conflicts are resolved here, refused changes listed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_audit import services
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuditError
from desktop_audit.jobs import Control
from desktop_audit.ui import format as fmt
from desktop_audit.ui.dialogs.error_dialog import show_error as show_unexpected
from desktop_audit.ui.runner import Op, runner_for


class SyncDialog(QDialog):
    synced = Signal(bool, str)  # reached the server, one-line outcome
    live_started = Signal(object)  # a LiveSession listening for colleagues' changes

    def __init__(self, db: Any, actor: Actor, parent: QWidget | None = None, *,
                 on_live_change: Any = None) -> None:
        super().__init__(parent)
        from desktop_audit.sync import status

        self.db = db
        self.actor = actor
        # Called from the Live Query thread after each merged change; None: no Live Query.
        self.on_live_change = on_live_change
        self.live_error: str | None = None
        self.task: Op | None = None
        self.resolving: Op | None = None
        self.report: Any = None
        self.setWindowTitle("Sync with the server")
        self.setMinimumWidth(620)
        box = QVBoxLayout(self)
        intro = QLabel("Sends the changes made on this laptop and brings everyone else's. Your "
                       "password is checked by the server; work goes on offline meanwhile.")
        intro.setWordWrap(True)
        box.addWidget(intro)
        current = status.settings(db)
        form = QFormLayout()
        self.server = QLineEdit(current.server or "")
        self.server.setPlaceholderText("https://parseapi.back4app.com or http://host:1337/parse")
        self.app_id = QLineEdit(current.app_id)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Server", self.server)
        form.addRow("Application id", self.app_id)
        form.addRow(f"Password of {actor.username}", self.password)
        box.addLayout(form)
        self.state = QLabel()
        self.state.setWordWrap(True)
        box.addWidget(self.state)
        self.conflicts = QListWidget()
        self.conflicts.setMaximumHeight(130)
        box.addWidget(self.conflicts)
        resolve = QHBoxLayout()
        self.keep_mine = QPushButton("Keep mine")
        self.keep_theirs = QPushButton("Keep theirs")
        self.keep_mine.clicked.connect(lambda: self.resolve("mine"))
        self.keep_theirs.clicked.connect(lambda: self.resolve("theirs"))
        # Or neither: type the value that stands (checked like any other entry).
        self.edited = QLineEdit()
        self.edited.setPlaceholderText("or type the value that stands")
        self.use_edited = QPushButton("Use this value")
        self.use_edited.clicked.connect(lambda: self.resolve("edit", self.edited.text()))
        self.conflicts.currentItemChanged.connect(self._prefill)
        resolve.addWidget(self.keep_mine)
        resolve.addWidget(self.keep_theirs)
        resolve.addWidget(self.edited, 1)
        resolve.addWidget(self.use_edited)
        box.addLayout(resolve)
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        box.addWidget(self.bar)
        self.stage = QLabel()
        self.stage.setWordWrap(True)
        box.addWidget(self.stage)
        row = QHBoxLayout()
        row.addStretch(1)
        self.sync_button = QPushButton("Sync now")
        self.sync_button.setDefault(True)
        self.sync_button.clicked.connect(self.start)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        row.addWidget(self.sync_button)
        row.addWidget(self.close_button)
        box.addLayout(row)
        self.show_status()

    def show_status(self) -> None:
        from desktop_audit.sync import status

        s = status.sync_status(self.db)
        last = fmt.local_datetime(s.last_sync_at) if s.last_sync_at else "never"
        lines = [f"Last sync: <b>{last}</b> · changes waiting here: <b>{s.pending:,}</b>"]
        if s.quarantined:
            lines.append(f"<span style='color:#b02a37'>{len(s.quarantined)} changes were not "
                         "accepted by the server:</span> " + "; ".join(
                             f"{q[0]} {q[1]}: {q[3]}" for q in s.quarantined[:5]))
        lines.append(f"Open conflicts: <b>{len(s.conflicts)}</b>"
                     + (" – choose which value stands:" if s.conflicts else ""))
        self.state.setText("<br>".join(lines))
        self.conflicts.clear()
        for c in s.conflicts:
            item = QListWidgetItem(f"{c.class_name} {c.object_id} · {c.field}: mine {c.mine!r}, "
                                   f"theirs {c.theirs!r}")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, c.mine)
            self.conflicts.addItem(item)
        has = bool(s.conflicts)
        self.conflicts.setVisible(has)
        for widget in (self.keep_mine, self.keep_theirs, self.edited, self.use_edited):
            widget.setVisible(has)
        if has:
            self.conflicts.setCurrentRow(0)

    def _prefill(self, item: QListWidgetItem | None, _previous: Any = None) -> None:
        mine = item.data(Qt.ItemDataRole.UserRole + 1) if item is not None else None
        self.edited.setText("" if mine is None else str(mine))

    def resolve(self, keep: str, value: Any = None) -> None:
        item = self.conflicts.currentItem() or self.conflicts.item(0)
        if item is None:
            return
        conflict_id = int(item.data(Qt.ItemDataRole.UserRole))
        db, actor = self.db, self.actor
        op = runner_for(db).write(
            lambda _c: services.resolve_conflict(db, actor, conflict_id, keep, value),
            title="settling a conflict", parent=self)

        def refused(exc: BaseException) -> None:
            if isinstance(exc, AuditError):
                self.stage.setText(str(exc))
            else:
                show_unexpected(exc, "settling a conflict", self)

        def resolved(_result: object) -> None:
            self.stage.setText("Conflict resolved; the choice is in the audit trail.")
            self.show_status()

        op.succeeded.connect(resolved)
        op.failed.connect(refused)
        self.resolving = op

    def start(self) -> Op | None:
        from desktop_audit.sync import status

        if self.task is not None and self.task.running:
            return self.task
        try:
            status.save_settings(self.db, status.SyncSettings(
                self.server.text().strip() or None, self.app_id.text().strip() or "",
                status.settings(self.db).key_env))
        except (AuditError, ValueError) as exc:
            self.stage.setText(str(exc))
            return None
        db, actor, password = self.db, self.actor, self.password.text()
        on_live_change = self.on_live_change
        runner = runner_for(db)

        def work(control: Control) -> Any:
            result = status.sync_now(db, actor, password, control=control, retry_budget=20.0)
            live, live_error = None, None
            if on_live_change is not None:
                # Stay subscribed to findings and reviews while online; their merges go
                # through the one database writer.
                try:
                    live = status.start_live(db, actor, password, on_live_change,
                                             run_write=runner.write_and_wait)
                except (AuditError, OSError, ValueError) as exc:
                    live_error = str(exc)
            return result, live, live_error

        task = runner.write(work, title="syncing", parent=self)
        task.progress.connect(lambda done, total, stage: self._progress(done, total, stage))
        task.succeeded.connect(self._done)
        task.failed.connect(self._failed)
        task.was_cancelled.connect(lambda msg: self._stopped(True, "Sync stopped: " + msg))
        self.task = task
        self.bar.setRange(0, 0)
        self.bar.setVisible(True)
        self.sync_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.stage.setText("Connecting…")
        return task

    def _failed(self, exc: BaseException) -> None:
        if not isinstance(exc, AuditError):
            show_unexpected(exc, "syncing", self)
        self._stopped(False, str(exc))

    def _progress(self, done: int, total: int, stage: str) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
        self.stage.setText(f"{stage}: {done:,} of {total:,}" if total else stage)

    def _done(self, outcome: Any) -> None:
        report, live, self.live_error = outcome
        self.report = report
        if live is not None:
            self.live_started.emit(live)
        self.bar.setVisible(False)
        self.stage.setText(report.summary().replace("\n", "<br>"))
        self._idle()
        self.password.clear()
        self.show_status()
        self.synced.emit(True, report.summary().splitlines()[0])

    def _stopped(self, reached: bool, message: str) -> None:
        self.bar.setVisible(False)
        self.stage.setText(message)
        self._idle()
        self.show_status()
        self.synced.emit(reached, message)

    def _idle(self) -> None:
        self.sync_button.setEnabled(True)
        self.close_button.setText("Close")
        self.close_button.setEnabled(True)

    def reject(self) -> None:
        if self.task is not None and self.task.running:
            self.task.cancel()
            self.close_button.setEnabled(False)
            self.stage.setText("Stopping at the next step…")
            return
        super().reject()
