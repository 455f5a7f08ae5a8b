"""The whole audit trail with the state of its hash chains (verified off the GUI thread)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_audit import records
from desktop_audit.domain import trail
from desktop_audit.domain.actor import Actor
from desktop_audit.records.base import RecordType
from desktop_audit.schema import BY_NAME, TRAIL
from desktop_audit.store import rows
from desktop_audit.ui.runner import Op, runner_for
from desktop_audit.ui.views.list_view import ListView


class TrailView(QWidget):
    open_record = Signal(str, str)

    def __init__(self, db: Any, actor: Actor, *, settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.state = QLabel("Checking the audit trail…")
        self.state.setObjectName("trail_state")
        self.state.setWordWrap(True)
        row.addWidget(self.state, 1)
        self.verify_button = QPushButton("Verify again")
        self.verify_button.clicked.connect(self.verify)
        row.addWidget(self.verify_button)
        self.list = ListView(db, actor, TRAIL, settings=settings)
        self.list.box.insertLayout(1, row)  # under the title
        self.list.open_record.connect(self._open)
        box.addWidget(self.list, 1)
        self.task: Op | None = None
        self.ok: bool | None = None
        self.verify()

    def _open(self, _class_name: str, event_id: str) -> None:
        """Enter on an event opens the record it is about (its history tab tells the rest);
        an event about no record that has a form of its own opens itself."""
        event = rows.load(self.db, TRAIL, event_id) or {}
        about = self._about(event.get("recordClass"), event.get("recordId"))
        if about is not None:
            self.open_record.emit(about.name, event["recordId"])
            return
        self.open_record.emit(TRAIL.name, event_id)

    def _about(self, class_name: str | None, object_id: str | None) -> RecordType | None:
        """The record type of the record an event names, when the actor may open its form."""
        if not class_name or not object_id or class_name not in BY_NAME:
            return None
        rt = records.of(class_name)
        if not rt.writable_by_hand or self.actor.role not in rt.list_roles:
            return None
        record = rows.load(self.db, rt.cdef, object_id)
        if record is None or (rt.site_scoped and not self.actor.sees_site(rt.site_of(record))):
            return None
        return rt

    def verify(self) -> None:
        if self.task is not None and self.task.running:
            return
        db = self.db
        self.verify_button.setEnabled(False)
        self.task = runner_for(db).read(lambda _c: trail.verify(db), title="verifying the trail",
                                        parent=self)
        self.task.succeeded.connect(self._verified)
        self.task.failed.connect(lambda exc: self._show(False, f"The check failed: {exc}"))

    def _verified(self, reports: list[Any]) -> None:
        problems = [r.problem for r in reports if r.problem]
        events = sum(r.events for r in reports)
        if problems:
            self._show(False, "The audit trail FAILS verification: " + "; ".join(problems))
        else:
            chains = "1 chain" if len(reports) == 1 else f"{len(reports)} chains"
            notes = "".join(f"\nChain {r.chain}: {r.note}." for r in reports if r.note)
            self._show(True, f"✓ Audit trail verified: {events:,} events in {chains}; every hash "
                             "and signature holds, nothing removed or changed." + notes)

    def _show(self, ok: bool, text: str) -> None:
        self.ok = ok
        colour = "#d1e7dd" if ok else "#f8d7da"
        self.state.setStyleSheet(f"background: {colour}; padding: 6px; border-radius: 4px;")
        self.state.setText(text)
        self.verify_button.setEnabled(True)

    def reload(self) -> None:
        self.list.reload()
