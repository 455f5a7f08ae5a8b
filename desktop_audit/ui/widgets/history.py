"""A record's own audit-trail timeline: who, when, which fields from what to what.

A settled sync conflict ("resolve") says, per settled field, which value stands and where
it came from: this laptop's, the server's or one typed then; its before → after is the
field's value here before and after, so keeping this laptop's value shows no change."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from desktop_audit.domain import trail
from desktop_audit.schema import BY_NAME, Field
from desktop_audit.ui import format as fmt

ACTION_WORDS = {"create": "Created", "update": "Edited", "delete": "Deleted", "close": "Closed",
                "reopen": "Reopened", "approve": "Approved", "evaluate": "Evaluated",
                "assign": "Sites assigned", "resolve": "Conflict resolved", "import": "Imported"}
CONFLICT = "conflict"  # the note of a settled conflict: [None, {field, kept, mine, theirs}]
TOMBSTONE = "deletedAt"
UNCHANGED = "(unchanged)"


def settled_conflict(action: str, changes: dict[str, Any]) -> dict[str, Any] | None:
    """The settled conflict an event records (taken out of *changes*), or None.

    Events written before conflicts were settled through the services say
    ``{field: [mine, theirs], "kept": [None, "mine" | "theirs" | typed value]}``; they are
    read as what they meant."""
    note = changes.pop(CONFLICT, None)
    if isinstance(note, list) and len(note) == 2 and isinstance(note[1], dict):
        return note[1]
    if action != "resolve" or "kept" not in changes:
        return None
    kept = (changes.pop("kept") or [None, None])[1]
    name = next(iter(changes), None)
    if name is None:
        return None
    mine, theirs = (changes.pop(name) + [None, None])[:2]
    chosen = mine if kept == "mine" else theirs if kept == "theirs" else kept
    if chosen != mine:
        changes[name] = [mine, chosen]
    return {"field": name, "kept": kept if kept in ("mine", "theirs") else "edit",
            "mine": mine, "theirs": theirs}


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
            self.tree.addTopLevelItem(self._event(event))
        for col in range(5):
            self.tree.resizeColumnToContents(col)
            self.tree.setColumnWidth(col, self.tree.columnWidth(col) + 16)

    def _event(self, event: dict[str, Any]) -> QTreeWidgetItem:
        who = event.get("actorName") or self.names.users.get(event.get("actor") or "", "")
        action = ACTION_WORDS.get(event["action"], event["action"])
        changes = dict(event.get("changes") or {})
        settled = settled_conflict(event["action"], changes)
        top = QTreeWidgetItem([fmt.local_datetime(event["at"]), who, action, "", ""])
        if settled is not None:
            top.addChild(self._settled(settled, changes.pop(settled.get("field"), None)))
        for name, pair in changes.items():
            f = self._field(name)
            old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
            top.addChild(QTreeWidgetItem(["", "", self._label(name), self._text(f, old),
                                          self._text(f, new)]))
        count = top.childCount()
        top.setText(4, f"{count} {'field' if count == 1 else 'fields'}" if count else "")
        top.setExpanded(True)
        return top

    def _settled(self, note: dict[str, Any], change: Any) -> QTreeWidgetItem:
        """One line for a settled field: which value stands, and its real before → after."""
        name = str(note.get("field") or "")
        f = self._field(name)
        mine, theirs = self._text(f, note.get("mine")), self._text(f, note.get("theirs"))
        kept = note.get("kept")
        if kept == "mine":
            how = f"kept this laptop's value '{mine}' (the server had '{theirs}')"
        elif kept == "theirs":
            how = f"kept the server's value '{theirs}' (this laptop had '{mine}')"
        else:
            typed = change[1] if isinstance(change, list) and len(change) == 2 else None
            how = (f"typed a new value '{self._text(f, typed)}' (this laptop had '{mine}', "
                   f"the server had '{theirs}')")
        what = f"Conflict on {self._label(name)} settled: {how}"
        if isinstance(change, list) and len(change) == 2:
            before, after = self._text(f, change[0]), self._text(f, change[1])
        else:  # the value here stood: nothing changed
            before, after = mine, UNCHANGED
        item = QTreeWidgetItem(["", "", what, before, after])
        item.setToolTip(2, what)
        return item

    def _field(self, name: str) -> Field | None:
        return self.cdef.get(name) if self.cdef.has(name) else None

    def _label(self, name: str) -> str:
        f = self._field(name)
        if f is not None:
            return f.label
        return "Deleted" if name == TOMBSTONE else name

    def _text(self, f: Field | None, value: Any) -> str:
        return fmt.change_text(f, value, self.names)
