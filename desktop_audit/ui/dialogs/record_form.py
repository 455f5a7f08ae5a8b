"""Create and edit any record, with a form built from the schema declaration.

Enum choices, date pickers, the spill kit checklist, derived fields shown read-only and
updated as the inputs change; the services' validation messages appear at the field;
actions the role may not take are disabled with the reason as tooltip."""

from __future__ import annotations

import html
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

from desktop_audit import clock, services
from desktop_audit.domain import permissions, rules
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuditError, ValidationError
from desktop_audit.schema import BY_NAME, LOG_TYPE_CLASS, ClassDef, Field
from desktop_audit.services import engine
from desktop_audit.ui import actions
from desktop_audit.ui import format as fmt
from desktop_audit.ui.widgets import editors as ed
from desktop_audit.ui.widgets.evidence import EvidencePanel
from desktop_audit.ui.widgets.history import HistoryPanel

ERROR_STYLE = "color: #b02a37; font-size: 90%;"
# The log-type record a finding points at, as a readable one-liner.
SOURCE_LABEL = {
    "AspectImpactLog": ('"aspectDescription", "riskRating"', lambda r: f"{r[1]} (risk {r[2]})"),
    "SpillKitLog": ('"kitTag", "lastCheckedAt", "inspectionStatus"',
                    lambda r: f"{r[1]} · {fmt.local_datetime(r[2])} · {fmt.enum_text(r[3])}"),
    "LegalRegisterEntry": ('"referenceCode", "requirementTitle"', lambda r: f"{r[1]} – {r[2]}"),
    "AuditReview": ('"auditDate", "reviewStatus"',
                    lambda r: f"Review {r[1]} ({fmt.enum_text(r[2])})"),
}


def pointer_choices(db: Any, actor: Actor, target: str | None, site: str | None = None
                    ) -> list[tuple[str, str]]:
    if target == "AuditSite":
        visible = services.visible_site_ids(db, actor)
        rows = db.execute('SELECT "objectId", "siteCode", "siteName" FROM audit_site '
                          'WHERE "deletedAt" IS NULL ORDER BY "siteCode"').fetchall()
        return [(f"{r[1]} – {r[2]}", r[0]) for r in rows if r[0] in visible]
    if target == "User":
        rows = db.execute('SELECT "objectId", "username", "fullName", "role" FROM "user" '
                          'WHERE "deletedAt" IS NULL AND "active" = 1 '
                          'ORDER BY coalesce("fullName", "username")').fetchall()
        return [(f"{r[2] or r[1]} ({fmt.enum_text(r[3]).lower()})", r[0]) for r in rows]
    if target in SOURCE_LABEL:
        cols, label = SOURCE_LABEL[target]
        if not site:
            return []
        rows = db.execute(f'SELECT "objectId", {cols} FROM "{BY_NAME[target].table}" '
                          'WHERE "deletedAt" IS NULL AND "site" = ? ORDER BY "updatedAt" DESC '
                          'LIMIT 500', (site,)).fetchall()
        return [(label(r)[:90], r[0]) for r in rows]
    return []


class RecordDialog(QDialog):
    """The form of one record (new when object_id is None)."""

    saved = Signal(str)

    def __init__(self, db: Any, actor: Actor, cdef: ClassDef, object_id: str | None = None, *,
                 defaults: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.cdef = cdef
        self.object_id = object_id
        self.record: dict[str, Any] = {}
        self.names = fmt.Names(db)
        self.editors: dict[str, ed.Editor] = {}
        self.errors: dict[str, QLabel] = {}
        self.password: QLineEdit | None = None
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
        if cdef.name in ("AuditSite", "AspectImpactLog", "SpillKitLog", "LegalRegisterEntry",
                         "AuditReview", "AuditFinding"):
            self.evidence = EvidencePanel(db, actor, cdef.name)
            self.tabs.addTab(self.evidence, "Photos")
        if cdef.name != "AuditTrailEvent":
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
        if f.derived or f.system:
            return False
        if self.cdef.name == "AspectImpactLog" and f.name == "loggedAt":
            return self.object_id is None
        return True

    def _make_editor(self, f: Field) -> ed.Editor:
        if not self._editable(f):
            return ed.ReadOnlyEditor(f, self.names)
        if f.name == "sourceId" and self.cdef.name == "AuditFinding":
            return ed.ChoiceEditor(f, [], blank=True)
        if f.kind == "enum":
            blank = not f.required or (self.object_id is None and f.default is None)
            return ed.ChoiceEditor(f, [(fmt.enum_text(c), c) for c in f.choices], blank=blank)
        if f.kind == "pointer":
            return ed.ChoiceEditor(f, [], blank=True)
        if f.kind == "pointer_list":
            return ed.ChecklistEditor(f, pointer_choices(self.db, self.actor, f.target),
                                      free_text=False)
        if f.kind == "string_list":
            if f.suggestions:
                return ed.ChecklistEditor(f, [(s, s) for s in f.suggestions], free_text=True)
            return ed.ListLineEditor(f)
        if f.kind == "text":
            return ed.TextEditor(f)
        if f.kind == "int":
            return ed.IntEditor(f)
        if f.kind == "bool":
            return ed.BoolEditor(f)
        if f.kind == "date":
            return ed.DateEditor(f)
        if f.kind == "datetime":
            return ed.DateTimeEditor(f)
        return ed.LineEditor(f)

    def _build_fields(self) -> None:
        for f in self._visible_fields():
            editor = self._make_editor(f)
            editor.setObjectName(f"field_{f.name}")
            error = QLabel()
            error.setStyleSheet(ERROR_STYLE)
            error.setWordWrap(True)
            error.setVisible(False)
            error.setObjectName(f"error_{f.name}")
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(2)
            box.addWidget(editor)
            box.addWidget(error)
            label = f.label + (" *" if f.required and self._editable(f) and f.kind != "bool" else "")
            label_widget = QLabel(label)
            if f.help:
                label_widget.setToolTip(f.help)
                editor.setToolTip(f.help)
            self.form.addRow(label_widget, cell)
            self.editors[f.name] = editor
            self.errors[f.name] = error
            editor.changed.connect(self._on_changed)
        if self.cdef.name == "User" and self.object_id is None:
            self.password = QLineEdit()
            self.password.setEchoMode(QLineEdit.EchoMode.Password)
            self.password.setPlaceholderText("at least 8 characters")
            error = QLabel()
            error.setStyleSheet(ERROR_STYLE)
            error.setVisible(False)
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.addWidget(self.password)
            box.addWidget(error)
            self.form.addRow(QLabel("Password *"), cell)
            self.errors["password"] = error

    # ------------------------------------------------------------------ loading
    def _pointer_refresh(self) -> None:
        site = self._site()
        for name, editor in self.editors.items():
            f = editor.field
            if not isinstance(editor, ed.ChoiceEditor):
                continue
            if f.kind == "pointer" and f.target in ("AuditSite", "User"):
                if not getattr(editor, "loaded", False):
                    editor.set_choices(pointer_choices(self.db, self.actor, f.target))
                    editor.loaded = True  # type: ignore[attr-defined]
            elif f.kind == "pointer" and f.target == "AuditReview":
                editor.set_choices(pointer_choices(self.db, self.actor, "AuditReview", site))
            elif name == "sourceId":
                target = LOG_TYPE_CLASS.get(self._value("logType") or "")
                editor.set_choices(pointer_choices(self.db, self.actor, target, site)
                                   if target else [])

    def _site(self) -> str | None:
        if self.cdef.name == "AuditSite":
            return self.object_id
        site_field = self.cdef.site_field
        return self._value(site_field) if site_field else None

    def _value(self, name: str | None) -> Any:
        if name is None:
            return None
        editor = self.editors.get(name)
        if editor is not None:
            return editor.value()
        return self.record.get(name)

    def _new_defaults(self) -> dict[str, Any]:
        actor = self.actor
        today = clock.today().isoformat()
        values: dict[str, Any] = {}
        if self.cdef.site_field:
            sites = services.visible_site_ids(self.db, actor)
            values["site"] = sites[0] if len(sites) == 1 else None
        for f in self.cdef.fields:
            if f.default is not None:
                values[f.name] = f.default
        name = self.cdef.name
        if name == "AspectImpactLog":
            values.update(loggedBy=actor.id, loggedAt=clock.now_iso(), actionStatus="open")
        elif name == "SpillKitLog":
            values.update(checkedBy=actor.id, lastCheckedAt=clock.now_iso())
        elif name == "LegalRegisterEntry":
            values.update(owner=actor.id, complianceStatus="not_assessed", dueDate=today)
        elif name == "AuditReview":
            values.update(auditDate=today, reviewStatus="planned")
            if actor.role == "auditor":
                values["leadAuditor"] = actor.id
        elif name == "AuditFinding":
            values.update(logType="general")
            if actor.role == "field_staff":
                values["severity"] = "observation"
        elif name == "AuditSite":
            values.update(siteOwner=actor.id if actor.role == "manager" else None)
        return values

    def _load(self, defaults: dict[str, Any]) -> None:
        if self.object_id is not None:
            record = engine.load(self.db, self.cdef, self.object_id)
            if record is None:
                self._show_banner("This record no longer exists.", error=True)
                record = {}
            self.record = record
            title = self._title(record)
            self.setWindowTitle(f"{self.cdef.label}: {title}")
            self.heading.setText(f"<span style='font-size:13pt; font-weight:600'>{self.cdef.label}"
                                 f"</span>  <span style='color:#495057'>{html.escape(title)}</span>"
                                 f"{self._state_text(record)}")
        else:
            self.record = {**self._new_defaults(), **{k: v for k, v in defaults.items()
                                                        if v is not None}}
            self.setWindowTitle(f"New {self.cdef.label.lower()}")
            self.heading.setText(f"<span style='font-size:13pt; font-weight:600'>New "
                                 f"{self.cdef.label.lower()}</span>  <span style='color:#6c757d'>"
                                 "fields marked * are required</span>")
        for editor in self.editors.values():
            editor.blockSignals(True)
        # pointers and sources need their choices before their values
        for name in ("site", "logType"):
            if name in self.editors:
                self.editors[name].set_value(self.record.get(name))
        self._pointer_refresh()
        for name, editor in self.editors.items():
            editor.set_value(self.record.get(name))
        for editor in self.editors.values():
            editor.blockSignals(False)
        self._pointer_refresh()
        for name in ("review", "sourceId"):
            if name in self.editors:
                self.editors[name].set_value(self.record.get(name))
        self._apply_permissions()
        self._update_derived()
        if self.evidence is not None:
            self.evidence.load(self.object_id, self._site())
        if self.history is not None:
            self.history.load(self.object_id)
        self._build_workflow()
        self._dirty = False

    def _state_text(self, record: dict[str, Any]) -> str:
        from desktop_audit.ui.table_models import row_state

        colour, why = row_state(self.cdef.name, record, clock.today().isoformat())
        if not why:
            return ""
        bg = colour.name() if colour is not None else "#e9ecef"
        return f"  <span style='background:{bg}; padding:2px 6px'>&nbsp;{html.escape(why)}&nbsp;</span>"

    def _title(self, record: dict[str, Any]) -> str:
        key = self.cdef.key
        if key != "objectId" and record.get(key):
            return str(record[key])
        for name in ("kitTag", "aspectDescription", "description", "auditDate"):
            if record.get(name):
                text = str(record[name])
                return text if len(text) < 60 else text[:57] + "…"
        return self.object_id or ""

    def _apply_permissions(self) -> None:
        if self.object_id is None:
            allowed, reason = actions.can_create(self.actor, self.cdef.name)
        else:
            allowed, reason = actions.can_edit(self.actor, self.cdef.name, self.record)
        self.read_only = not allowed
        for f_name, editor in self.editors.items():
            if self._editable(editor.field):
                editor.set_read_only(not allowed)
            if self.cdef.name == "User" and f_name == "sites" and self.object_id is not None:
                editor.set_read_only(True)  # through "Assign sites…"
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
        if name in ("site", "logType"):
            self._pointer_refresh()
        if name in self.errors:
            self.errors[name].setVisible(False)
        self._update_derived()

    def preview(self) -> dict[str, Any]:
        """The record as it would be saved, derived fields computed (invalid inputs left out)."""
        values = dict(self.record)
        for name, editor in self.editors.items():
            if not self._editable(editor.field):
                continue
            try:
                values[name] = rules.coerce(editor.field, editor.value())
            except ValidationError:
                values[name] = None
        threshold = None
        if self.cdef.name == "AspectImpactLog":
            site = engine.load(self.db, BY_NAME["AuditSite"], values.get("site") or "")
            threshold = (site or {}).get("significanceThreshold") or 12
            if self.object_id is not None and not ({"likelihood", "severity", "site",
                                                    "obligationRefs"} & self._changed_names()):
                threshold = None
        rules.derive(self.cdef, values, threshold=threshold)
        return values

    def _changed_names(self) -> set[str]:
        out = set()
        for name, editor in self.editors.items():
            if self._editable(editor.field) and editor.value() != self.record.get(name):
                out.add(name)
        return out

    def _update_derived(self) -> None:
        if not self.cdef.derived_fields:
            return
        values = self.preview()
        for f in self.cdef.derived_fields:
            editor = self.editors.get(f.name)
            if editor is not None:
                editor.set_value(values.get(f.name))
        if self.cdef.name == "SpillKitLog" and "inspectionStatus" in self.editors:
            err = self.errors["inspectionStatus"]
            if values.get("replenishmentNeeded") and self._value("inspectionStatus") == "pass":
                err.setText("A kit with missing items or a seal that is not intact cannot pass.")
                err.setVisible(True)

    # ------------------------------------------------------------------ saving
    def values(self) -> dict[str, Any]:
        out = {}
        for name, editor in self.editors.items():
            if not self._editable(editor.field):
                continue
            if self.object_id is not None and editor.value() == self.record.get(name):
                continue
            if self.object_id is None and editor.value() in (None, [], "") and \
                    self.record.get(name) in (None, [], ""):
                continue
            out[name] = editor.value()
        if self.cdef.name == "User" and self.object_id is not None:
            out.pop("sites", None)
        return out

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.setVisible(False)
        self.banner.setVisible(False)

    def show_error(self, exc: AuditError) -> None:
        if isinstance(exc, ValidationError) and exc.field in self.errors:
            label = self.errors[exc.field]
            label.setText(exc.reason[0].upper() + exc.reason[1:] if exc.reason else "")
            label.setVisible(True)
            editor = self.editors.get(exc.field)
            if editor is not None:
                self.tabs.setCurrentIndex(0)
                editor.focus_widget().setFocus()
            self._show_banner("Not saved: " + str(exc), error=True)
        else:
            self._show_banner("Not saved: " + str(exc), error=True)

    def save(self) -> bool:
        if not self.save_button.isEnabled():
            return False
        self.clear_errors()
        values = self.values()
        try:
            if self.object_id is None:
                if self.cdef.name == "User":
                    object_id = services.create_user(
                        self.db, self.actor, username=values.get("username") or "",
                        email=values.get("email") or "", role=values.get("role") or "",
                        password=self.password.text() if self.password else None,
                        full_name=values.get("fullName"), sites=values.get("sites") or [])
                else:
                    object_id = actions.CREATE[self.cdef.name](self.db, self.actor, **values)
                self.object_id = object_id
                # the password row belongs to a new user only
            else:
                if values:
                    actions.UPDATE[self.cdef.name](self.db, self.actor, self.object_id, **values)
        except AuditError as exc:
            self.show_error(exc)
            return False
        self.status.setText(f"Saved {clock.now().astimezone():%H:%M}")
        self._reload_after_save()
        self.saved.emit(self.object_id)
        return True

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
        self.password = None
        self._build_fields()
        self._load({})

    def reject(self) -> None:
        if getattr(self, "_dirty", False) and not self.read_only and self.isVisible() \
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

        for label, allowed, reason, slot in wf.buttons_for(self):
            button = QPushButton(label)
            button.setObjectName("action_" + label.strip("…").lower().replace(" ", "_"))
            button.setEnabled(allowed)
            button.setToolTip(reason)
            button.clicked.connect(slot)
            self.workflow.addWidget(button)

    def after_workflow(self) -> None:
        self._rebuild()
        if self.object_id:
            self.saved.emit(self.object_id)

    def can(self, action: str, **kw: Any) -> tuple[bool, str]:
        return permissions.can(self.actor, action, **kw)
