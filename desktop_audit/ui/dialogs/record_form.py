"""Create and edit any record, with a form built from the schema declaration.

Enum choices, date pickers, the spill kit checklist, derived fields shown read-only and
updated as the inputs change; the services' validation messages appear at the field;
actions the role may not take are disabled with the reason as tooltip."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_audit import clock, records, services
from desktop_audit.domain.actor import Actor
from desktop_audit.domain.values import coerce
from desktop_audit.errors import AuditError, ValidationError
from desktop_audit.records.base import RecordType
from desktop_audit.schema import ClassDef, Field
from desktop_audit.services.unit_of_work import UnitOfWork
from desktop_audit.store import rows
from desktop_audit.ui import format as fmt
from desktop_audit.ui.dialogs.error_dialog import show_error as show_unexpected
from desktop_audit.ui.runner import Op, runner_for
from desktop_audit.ui.table_models import GREY, SiteDays, row_state, tone_colours
from desktop_audit.ui.widgets import editors as ed
from desktop_audit.ui.widgets.evidence import EvidencePanel
from desktop_audit.ui.widgets.history import HistoryPanel

ERROR_STYLE = "color: #b02a37; font-size: 90%;"
CHOICES = 500  # records a drop-down of a site's records offers (the latest changed first)


def pointer_choices(db: Any, actor: Actor, target: RecordType, site: str | None
                    ) -> list[tuple[str, str]]:
    """What a drop-down naming a record of *target* offers: the live records the actor may
    see (the form's site's, when the target is kept per site), labelled as the type says."""
    names = [*target.choice_columns, *target.choice_where]
    where = dict(target.choice_where)

    def pick(order: list[str], limit: int | None) -> list[dict[str, Any]]:
        if not target.choice_columns:  # a label that reads the whole record
            return rows.select(db, target.cdef, where, order=order, limit=limit)
        return rows.pick(db, target.cdef, names, where, order=order, limit=limit)

    if target.site_scoped:
        if not site:
            return []
        where[target.cdef.site_field or "site"] = site
        found = pick(["-updatedAt"], CHOICES)
    else:
        found = [r for r in pick([], None)
                 if target.site_of(r) is None or actor.sees_site(target.site_of(r))]
        found.sort(key=lambda r: target.choice_label(r).casefold())
    return [(target.choice_label(r)[:90], r["objectId"]) for r in found]


class RecordDialog(QDialog):
    """The form of one record (new when object_id is None)."""

    saved = Signal(str)

    def __init__(self, db: Any, actor: Actor, cdef: ClassDef, object_id: str | None = None, *,
                 defaults: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.busy: list[Op] = []  # writes this form has running
        self.db = db
        self.actor = actor
        self.cdef = cdef
        self.rt = records.of(cdef.name)
        self.object_id = object_id
        self.record: dict[str, Any] = {}
        self.names = fmt.Names(db)
        self.editors: dict[str, ed.Editor] = {}
        self.errors: dict[str, QLabel] = {}
        self.password: QLineEdit | None = None
        self.read_only = False
        self._dirty = False
        self._hinted: set[str] = set()  # fields showing a live hint (not a save's refusal)
        self.setModal(False)
        self.resize(760, 720)

        outer = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setObjectName("heading")
        self.heading.setWordWrap(True)
        outer.addWidget(self.heading)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        outer.addWidget(self.banner)
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs)

        details = QWidget()
        column = QVBoxLayout(details)
        self.form = QFormLayout()
        column.addLayout(self.form)
        column.addStretch(1)  # rows keep their height; spare room goes below them
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(details)
        self.tabs.addTab(scroll, "Details")
        self._build_fields()

        self.evidence: EvidencePanel | None = None
        self.history: HistoryPanel | None = None
        if self.rt.has_photos:
            self.evidence = EvidencePanel(db, actor, cdef.name)
            self.tabs.addTab(self.evidence, "Photos")
        if not cdef.append_only:  # an append-only event has no history of its own
            self.history = HistoryPanel(db, cdef.name, self.names)
            self.tabs.addTab(self.history, "History")

        row = QHBoxLayout()
        self.workflow = QHBoxLayout()
        row.addLayout(self.workflow)
        row.addStretch(1)
        self.status = QLabel()
        row.addWidget(self.status)
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        row.addWidget(self.save_button)
        row.addWidget(self.close_button)
        outer.addLayout(row)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)

        self._load(defaults or {})

    # ------------------------------------------------------------------ building
    def _visible_fields(self) -> list[Field]:
        out = []
        for f in self.cdef.fields:
            if f.kind in ("secret", "file"):
                continue
            if f.system and self.object_id is None:
                continue
            out.append(f)
        return out

    def _editable(self, f: Field) -> bool:
        rt = self.rt
        if f.derived or f.system or f.name not in rt.editable_fields:
            return False
        # Set when the record is made (loggedAt), or changed by its own action (a user's sites).
        return self.object_id is None or (f.name not in rt.fixed_after_create
                                          and f.name not in rt.workflow_fields)

    def _make_editor(self, f: Field) -> ed.Editor:
        if not self._editable(f):
            return ed.ReadOnlyEditor(f, self.names)
        if f.kind == "pointer" or f.name in self.rt.dynamic_pointers:
            return ed.ChoiceEditor(f, [], blank=True)  # choices follow the site (and source)
        if f.name == self.rt.zone_field:
            return ed.ZoneEditor(f)
        if f.kind == "enum":
            blank = not f.required or (self.object_id is None and f.default is None)
            return ed.ChoiceEditor(f, [(fmt.enum_text(c), c) for c in f.choices], blank=blank)
        if f.kind == "pointer_list":
            target = self.rt.pointer_type(f.name, {})
            choices = pointer_choices(self.db, self.actor, target, None) if target else []
            return ed.ChecklistEditor(f, choices, free_text=False)
        if f.kind == "string_list":
            if f.suggestions:
                return ed.ChecklistEditor(f, [(s, s) for s in f.suggestions], free_text=True)
            return ed.ListLineEditor(f)
        simple: dict[str, type[ed.Editor]] = {
            "text": ed.TextEditor, "int": ed.IntEditor, "bool": ed.BoolEditor,
            "date": ed.DateEditor, "datetime": ed.DateTimeEditor}
        return simple.get(f.kind, ed.LineEditor)(f)

    def _error_label(self, name: str) -> QLabel:
        error = QLabel()
        error.setStyleSheet(ERROR_STYLE)
        error.setWordWrap(True)
        error.setVisible(False)
        error.setObjectName(f"error_{name}")
        self.errors[name] = error
        return error

    def _add_row(self, label: QLabel, widget: QWidget, name: str) -> None:
        cell = QWidget()
        box = QVBoxLayout(cell)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(widget)
        box.addWidget(self._error_label(name))
        self.form.addRow(label, cell)

    def _build_fields(self) -> None:
        for f in self._visible_fields():
            editor = self._make_editor(f)
            editor.setObjectName(f"field_{f.name}")
            required = f.required and self._editable(f) and f.kind != "bool"
            label = QLabel(f.label + (" *" if required else ""))
            if f.help:
                label.setToolTip(f.help)
                editor.setToolTip(f.help)
            self._add_row(label, editor, f.name)
            self.editors[f.name] = editor
            editor.changed.connect(self._on_changed)
        if self.object_id is None and any(f.kind == "secret" for f in self.cdef.fields):
            self.password = QLineEdit()  # an account: it starts with a password
            self.password.setEchoMode(QLineEdit.EchoMode.Password)
            self.password.setPlaceholderText("at least 8 characters")
            self._add_row(QLabel("Password *"), self.password, "password")

    # ------------------------------------------------------------------ loading
    def _lookup(self) -> UnitOfWork:
        """What the record type reads while it derives and checks (nothing is written)."""
        return UnitOfWork(self.db, self.actor)

    def _current(self) -> dict[str, Any]:
        """The record as the form shows it now (typed values as typed)."""
        values = dict(self.record)
        values.update({name: editor.value() for name, editor in self.editors.items()})
        return values

    def _site(self) -> str | None:
        return self.rt.site_of(self._current())

    def _value(self, name: str | None) -> Any:
        if name is None:
            return None
        editor = self.editors.get(name)
        if editor is not None:
            return editor.value()
        return self.record.get(name)

    def _choice_inputs(self) -> set[str]:
        """Fields whose value changes what the drop-downs offer (the site, a source's class)."""
        return {n for n in (self.cdef.site_field, *self.rt.dynamic_pointers.values()) if n}

    def _pointer_refresh(self) -> None:
        values = self._current()
        site = self.rt.site_of(values)
        for name, editor in self.editors.items():
            if not isinstance(editor, ed.ChoiceEditor) or editor.field.kind == "enum":
                continue
            target = self.rt.pointer_type(name, values)
            fixed = target is not None and not target.site_scoped and \
                name not in self.rt.dynamic_pointers
            if fixed and getattr(editor, "loaded", False):
                continue
            editor.set_choices(pointer_choices(self.db, self.actor, target, site) if target
                               else [])
            editor.loaded = fixed  # type: ignore[attr-defined]

    def _new_values(self, given: dict[str, Any]) -> dict[str, Any]:
        """What a new form shows: the record type's prefill at the given (or the only) site,
        then what the caller gave (the list's site, the record a finding is about)."""
        site_field = self.cdef.site_field
        if site_field and given.get(site_field):
            site_ids = [given[site_field]]
        else:
            site_ids = services.visible_site_ids(self.db, self.actor)
        values = self.rt.prefill(self.actor, self._lookup(), site_ids=site_ids)
        values.update({k: v for k, v in given.items() if v is not None})
        return values

    def _load(self, defaults: dict[str, Any]) -> None:
        self._dirty = False
        if self.object_id is not None:
            record = rows.load(self.db, self.cdef, self.object_id)
            if record is None:
                self._show_banner("This record no longer exists.", error=True)
                record = {}
            self.record = record
            title = self.rt.title(record) or self.object_id
            self.setWindowTitle(f"{self.cdef.label}: {title}")
            self.heading.setText(f"<span style='font-size:13pt; font-weight:600'>{self.cdef.label}"
                                 f"</span>  <span style='color:#495057'>{html.escape(title)}</span>"
                                 f"{self._state_text(record)}")
        else:
            self.record = self._new_values(defaults)
            self.setWindowTitle(f"New {self.cdef.label.lower()}")
            self.heading.setText(f"<span style='font-size:13pt; font-weight:600'>New "
                                 f"{self.cdef.label.lower()}</span>  <span style='color:#6c757d'>"
                                 "fields marked * are required</span>")
        for editor in self.editors.values():
            editor.blockSignals(True)
        # the drop-downs need their choices before their values
        for name in self._choice_inputs() & self.editors.keys():
            self.editors[name].set_value(self.record.get(name))
        self._pointer_refresh()
        for name, editor in self.editors.items():
            editor.set_value(self.record.get(name))
        for editor in self.editors.values():
            editor.blockSignals(False)
        self._pointer_refresh()
        for name, editor in self.editors.items():
            if isinstance(editor, ed.ChoiceEditor) and editor.field.kind != "enum":
                editor.set_value(self.record.get(name))
        self._apply_permissions()
        self._update_derived()
        if self.evidence is not None:
            self.evidence.load(self.object_id, self._site())
        if self.history is not None:
            self.history.load(self.object_id)
        self._build_workflow()
        self._dirty = False

    def _state_text(self, record: dict[str, Any]) -> str:
        state = row_state(self.rt, record, SiteDays.of(self.db))
        if not state.why:
            return ""
        background, foreground = tone_colours(state)
        bg = background.name() if background is not None else "#e9ecef"
        fg = f"; color:{GREY.name()}" if foreground is not None else ""
        return (f"  <span style='background:{bg}{fg}; padding:2px 6px'>"
                f"&nbsp;{html.escape(state.why)}&nbsp;</span>")

    def _apply_permissions(self) -> None:
        if self.object_id is None:
            allowed, reason = self.rt.can(self.actor, "create", None, self.record)
        else:
            allowed, reason = self.rt.can(self.actor, "edit", self.record)
        self.read_only = not allowed
        for editor in self.editors.values():
            if self._editable(editor.field):
                editor.set_read_only(not allowed)
        self.save_button.setEnabled(allowed)
        self.save_button.setToolTip("" if allowed else f"You cannot save: {reason}")
        if not allowed:
            self._show_banner(f"Read only: {reason}.", error=False)

    def _show_banner(self, text: str, *, error: bool) -> None:
        colour = "#f8d7da" if error else "#e2e3e5"
        self.banner.setStyleSheet(f"background: {colour}; padding: 6px; border-radius: 4px;")
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    # ------------------------------------------------------------------ live derivation
    def _on_changed(self) -> None:
        self._dirty = True
        sender = self.sender()
        name = getattr(getattr(sender, "field", None), "name", None)
        if name in self._choice_inputs():
            self._pointer_refresh()
        if name in self.errors:
            self.errors[name].setVisible(False)
            self._hinted.discard(name)
        self._update_derived()

    def preview(self) -> dict[str, Any]:
        """The record as it would be saved, derived fields computed (invalid inputs left out)."""
        values = dict(self.record)
        for name, editor in self.editors.items():
            if not self._editable(editor.field):
                continue
            try:
                values[name] = coerce(editor.field, editor.value())
            except ValidationError:
                values[name] = None
        changed = None if self.object_id is None else frozenset(self._changed_names())
        self.rt.derive(values, self._lookup(), changed)
        return values

    def _changed_names(self) -> set[str]:
        out = set()
        for name, editor in self.editors.items():
            if self._editable(editor.field) and editor.value() != self.record.get(name):
                out.add(name)
        return out

    def _update_derived(self) -> None:
        values = self.preview()
        for f in self.cdef.derived_fields:
            editor = self.editors.get(f.name)
            if editor is not None:
                editor.set_value(values.get(f.name))
        self._show_hints(values)

    def _show_hints(self, values: dict[str, Any]) -> None:
        """The record type's own checks, at their fields, as the user types (a kit with items
        missing cannot pass); only once something was changed, and only at a field that
        holds a value (a missing value is said when saving)."""
        found: dict[str, str] = {}
        if self._dirty and not self.read_only:
            action = "create" if self.object_id is None else "edit"
            old = None if self.object_id is None else self.record
            for problem in self.rt.validate(values, old, self._lookup(), action):
                if problem.field in self.errors and values.get(problem.field) not in (None, "", []):
                    found.setdefault(problem.field, problem.reason)
        for name in self._hinted - found.keys():
            self.errors[name].setVisible(False)
        for name, reason in found.items():
            self.errors[name].setText(_sentence(reason))
            self.errors[name].setVisible(True)
        self._hinted = set(found)

    # ------------------------------------------------------------------ saving
    def values(self) -> dict[str, Any]:
        out = {}
        for name, editor in self.editors.items():
            if not self._editable(editor.field):
                continue
            value = editor.value()
            if self.object_id is not None and value == self.record.get(name):
                continue
            if self.object_id is None and value in (None, [], "") and \
                    self.record.get(name) in (None, [], ""):
                continue
            out[name] = value
        return out

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.setVisible(False)
        self._hinted.clear()
        self.banner.setVisible(False)

    def show_error(self, exc: AuditError) -> None:
        """Every problem at its field (the first one focused), and all of them in the banner."""
        problems = exc.all_problems if isinstance(exc, ValidationError) else []
        first: ed.Editor | None = None
        for problem in problems:
            label = self.errors.get(problem.field)
            if label is None:
                continue
            label.setText(_sentence(problem.reason))
            label.setVisible(True)
            first = first or self.editors.get(problem.field)
        if first is not None:
            self.tabs.setCurrentIndex(0)
            first.focus_widget().setFocus()
        text = "; ".join(p.message for p in problems) if problems else str(exc)
        self._show_banner("Not saved: " + text, error=True)

    def _create(self, values: dict[str, Any]) -> str:
        if self.password is not None:  # an account: the user service hashes its password
            return services.create_user(
                self.db, self.actor, username=values.get("username") or "",
                email=values.get("email") or "", role=values.get("role") or "",
                password=self.password.text(), full_name=values.get("fullName"),
                sites=values.get("sites") or [])
        return services.CREATE[self.rt.name](self.db, self.actor, **values)

    # ------------------------------------------------------------------ writing
    def run_write(self, call: Callable[[], Any], *, title: str,
                  done: Callable[[Any], None] | None = None,
                  failed: Callable[[AuditError], None] | None = None) -> Op:
        """Run a service call on the app's one database writer (never on this thread); a
        refusal comes back to *failed* (default: shown on the form), anything unexpected
        to the error dialog (and the log)."""
        op = runner_for(self.db).write(lambda _control: call(), title=title, parent=self)
        self.busy.append(op)

        def on_failed(exc: BaseException) -> None:
            if isinstance(exc, AuditError):
                (failed or self.show_error)(exc)
            else:
                show_unexpected(exc, title, self)

        op.failed.connect(on_failed)
        if done is not None:
            op.succeeded.connect(done)
        op.ended.connect(lambda: self.busy.remove(op) if op in self.busy else None)
        return op

    @property
    def saving(self) -> bool:
        return bool(self.busy)

    def save(self) -> Op | None:
        """Save what the form holds, off the GUI thread; the Op ends when it is done."""
        if not self.save_button.isEnabled() or self.saving:
            return None
        self.clear_errors()
        values = self.values()
        object_id = self.object_id
        update = services.UPDATE.get(self.rt.name)

        def call() -> str | None:
            if object_id is None:
                return self._create(values)
            if values and update is not None:
                update(self.db, self.actor, object_id, **values)
            return object_id

        self.save_button.setEnabled(False)
        self.status.setText("Saving…")
        op = self.run_write(call, title=f"saving the {self.rt.label.lower()}",
                            done=self._saved)
        op.ended.connect(self._save_ended)
        return op

    def _saved(self, object_id: Any) -> None:
        self.object_id = object_id
        self.status.setText(f"Saved {clock.now().astimezone():%H:%M}")
        self._reload_after_save()
        if self.object_id:
            self.saved.emit(self.object_id)

    def _save_ended(self) -> None:
        if self.status.text() == "Saving…":
            self.status.setText("")
        self._apply_permissions()

    def _reload_after_save(self) -> None:
        if self.password is not None:
            self.password.clear()
        keep = self.tabs.currentIndex()
        self._rebuild()
        self.tabs.setCurrentIndex(keep)

    def _rebuild(self) -> None:
        # system fields appear once a record exists: rebuild the rows
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors.clear()
        self.errors.clear()
        self._hinted.clear()
        self.password = None
        self._build_fields()
        self._load({})

    def reject(self) -> None:
        if self._dirty and not self.read_only and self.isVisible() \
                and self.object_id is not None and self._changed_names():
            answer = QMessageBox.question(self, "Unsaved changes",
                                          "Close without saving your changes?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        super().reject()

    # ------------------------------------------------------------------ workflows
    def _build_workflow(self) -> None:
        while self.workflow.count():
            item = self.workflow.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        if self.object_id is None:
            return
        from desktop_audit.ui.dialogs import workflows as wf

        for button in wf.buttons_for(self):
            widget = QPushButton(button.label)
            widget.setObjectName("action_" + button.key)
            widget.setEnabled(button.allowed)
            widget.setToolTip(button.tooltip)
            widget.setVisible(button.visible)
            widget.clicked.connect(button.run)
            self.workflow.addWidget(widget)

    def workflow_button(self, key: str) -> QPushButton | None:
        """The workflow button of an action ("close", "approve", "delete" ...), if offered."""
        return self.findChild(QPushButton, "action_" + key)

    def after_workflow(self) -> None:
        self._rebuild()
        if self.object_id:
            self.saved.emit(self.object_id)


def _sentence(reason: str) -> str:
    return reason[0].upper() + reason[1:] if reason else ""
