"""A record's own audit-trail timeline: who, when, which fields from what to what."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from desktop_audit.domain import trail
from desktop_audit.schema import BY_NAME
from desktop_audit.ui import format as fmt

ACTION_WORDS = {"create": "Created", "update": "Edited", "delete": "Deleted", "close": "Closed",
                "reopen": "Reopened", "approve": "Approved", "evaluate": "Evaluated",
                "assign": "Sites assigned", "resolve": "Conflict resolved", "import": "Imported"}


class HistoryPanel(QWidget):
    def __init__(self, db: Any, class_name: str, names: fmt.Names,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.cdef = BY_NAME[class_name]
        self.names = names
        box = QVBoxLayout(self)
        self.summary = QLabel()
        box.addWidget(self.summary)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["When", "Who", "What", "From", "To"])
        self.tree.setRootIsDecorated(True)
        self.tree.setAlternatingRowColors(True)
        box.addWidget(self.tree)

    def load(self, object_id: str | None) -> None:
        self.tree.clear()
        if not object_id:
            self.summary.setText("The history starts when the record is saved.")
            return
        events = trail.history(self.db, self.cdef.name, object_id)
        n = len(events)
        self.summary.setText(f"{n} {'event' if n == 1 else 'events'} in the audit trail for this "
                             "record, oldest first.")
        for event in events:
            who = event.get("actorName") or self.names.users.get(event.get("actor") or "", "")
            action = ACTION_WORDS.get(event["action"], event["action"])
            changes = event.get("changes") or {}
            top = QTreeWidgetItem([fmt.local_datetime(event["at"]), who, action,
                                   "", f"{len(changes)} fields" if changes else ""])
            for name, pair in changes.items():
                f = self.cdef.get(name) if self.cdef.has(name) else None
                label = f.label if f else name
                old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
                QTreeWidgetItem(top, ["", "", label, fmt.change_text(f, old, self.names),
                                      fmt.change_text(f, new, self.names)])
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        for col in range(5):
            self.tree.resizeColumnToContents(col)
            self.tree.setColumnWidth(col, self.tree.columnWidth(col) + 16)
