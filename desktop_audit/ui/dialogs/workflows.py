"""The workflows beyond a plain edit: record a legal evaluation, close or reopen a finding,
approve a review, assign a user's sites, deactivate, activate or unlock an account, export
an evidence pack, raise a finding about a record, reset a password, delete.

Which buttons a record's form shows, and whether each is enabled and why not, is asked of
the record type: its workflow actions for the record's state, ``can`` (role, site,
condition, the record's state) and ``blockers`` (what stops the step itself).  The
services enforce the same answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_audit import clock, records, services
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuditError
from desktop_audit.records.base import Blocker, Decision, RecordType, refused
from desktop_audit.records.legal import EVALUATED, next_due
from desktop_audit.schema import FINDING, SITE
from desktop_audit.services.unit_of_work import UnitOfWork
from desktop_audit.store import rows
from desktop_audit.ui import format as fmt
from desktop_audit.ui.dialogs.error_dialog import show_error as show_unexpected
from desktop_audit.ui.runner import Op, runner_for

if TYPE_CHECKING:
    from desktop_audit.ui.dialogs.record_form import RecordDialog


@dataclass
class Button:
    """A workflow button of a record's form: enabled or not, and what it does or why not."""

    key: str  # the action: close, reopen, evaluate, approve, assign, delete ...
    label: str
    allowed: bool
    tooltip: str
    run: Callable[[], object]
    visible: bool = True


def gate(db: Any, actor: Actor, rt: RecordType, action: str, record: dict[str, Any]
         ) -> Decision:
    """May *actor* take this workflow step on the record now?  The permission first, then
    what blocks the step, leaving out what the step's own dialog asks for (a closing note
    is typed in the Close dialog)."""
    decision = rt.can(actor, action, record)
    if not decision:
        return decision
    asked = set(rt.workflow_inputs.get(action, ()))
    found = [b for b in rt.blockers(action, record, actor, UnitOfWork(db, actor))
             if b.field not in asked]
    return refused(found[0].reason, found[0].field) if found else decision


def blocker_lines(blockers: list[Blocker]) -> str:
    """The closing checklist: each blocker, with a link to the record that must change."""
    if not blockers:
        return "<span style='color:#146c43'>✓ Every closing rule holds.</span>"
    lines = []
    for b in blockers:
        link = f" <a href='{b.opens[0]}/{b.opens[1]}'>Open it</a>" if b.opens else ""
        lines.append(f"<span style='color:#b02a37'>✗ {_sentence(b.reason)}</span>{link}")
    return "<br>".join(lines)


def _sentence(reason: str) -> str:
    return reason[0].upper() + reason[1:] if reason else ""


def _text(initial: str | None = None, height: int = 70) -> QPlainTextEdit:
    edit = QPlainTextEdit(initial or "")
    edit.setFixedHeight(height)
    edit.setTabChangesFocus(True)
    return edit


class _ActionDialog(QDialog):
    """A dialog around one service call: a refusal is shown in the dialog, which stays open."""

    error: QLabel
    db: Any

    def add_error_label(self, box: QVBoxLayout) -> None:
        self.error = QLabel()
        self.error.setStyleSheet("color: #b02a37;")
        self.error.setWordWrap(True)
        box.addWidget(self.error)

    op: Op | None = None

    def run(self, call: Callable[[], Any]) -> Op | None:
        """Run the service call on the database writer; the dialog closes when it is done
        and stays open, saying why, when it is refused."""
        if self.op is not None and self.op.running:
            return None
        self.error.setText("Working…")
        self.setEnabled(False)
        op = runner_for(self.db).write(lambda _control: call(), title=self.windowTitle(),
                                       parent=self)
        op.succeeded.connect(lambda _result: self.accept())
        op.failed.connect(self._refused)
        op.ended.connect(lambda: self.setEnabled(True))
        self.op = op
        return op

    def _refused(self, exc: BaseException) -> None:
        if isinstance(exc, AuditError):
            self.error.setText(str(exc))
        else:
            self.error.setText("")
            show_unexpected(exc, self.windowTitle(), self)


class CloseFindingDialog(_ActionDialog):
    """Closing a finding: every closing rule the services enforce, each saying what blocks
    (with a link to the record that must change)."""

    open_record = Signal(str, str)  # class, objectId of a record a blocker names

    def __init__(self, db: Any, actor: Actor, finding: dict[str, Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.finding = finding
        self.setWindowTitle("Close finding")
        self.resize(620, 520)
        box = QVBoxLayout(self)
        intro = QLabel(f"<b>{fmt.enum_text(finding.get('severity'))}</b>: "
                       f"{finding.get('description') or ''}")
        intro.setWordWrap(True)
        box.addWidget(intro)
        form = QFormLayout()
        self.corrective = _text(finding.get("correctiveAction"))
        self.root = _text(finding.get("rootCause"))
        self.verification = _text(finding.get("verificationNote"))
        self.verification.setPlaceholderText("How the effectiveness of the action was verified")
        form.addRow("Corrective action", self.corrective)
        form.addRow("Root cause", self.root)
        form.addRow("Verification of effectiveness", self.verification)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        box.addLayout(form)
        box.addWidget(QLabel("<b>Before a finding can be closed</b>"))
        self.rules = QLabel()
        self.rules.setWordWrap(True)
        self.rules.setObjectName("closing_rules")
        self.rules.linkActivated.connect(lambda link: self.open_record.emit(*link.split("/", 1)))
        box.addWidget(self.rules)
        self.add_error_label(box)
        box.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = QPushButton("Close finding")
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.rejected.connect(self.reject)
        self.close_button.clicked.connect(self.submit)
        box.addWidget(buttons)
        for edit in (self.corrective, self.root, self.verification):
            edit.textChanged.connect(self.check)
        self.check()

    def candidate(self) -> dict[str, Any]:
        out = dict(self.finding)
        out["correctiveAction"] = self.corrective.toPlainText().strip() or None
        out["rootCause"] = self.root.toPlainText().strip() or None
        out["verificationNote"] = self.verification.toPlainText().strip() or None
        return out

    def blockers(self) -> list[Blocker]:
        return services.closing_blockers(self.db, self.actor, self.candidate())

    def check(self) -> None:
        blockers = self.blockers()
        self.rules.setText(blocker_lines(blockers))
        self.close_button.setEnabled(not blockers)
        self.close_button.setToolTip(blockers[0].reason if blockers else "")

    def submit(self) -> Op | None:
        c = self.candidate()
        return self.run(lambda: services.close_finding(
            self.db, self.actor, self.finding["objectId"], verificationNote=c["verificationNote"],
            rootCause=c["rootCause"], correctiveAction=c["correctiveAction"]))


class EvaluationDialog(_ActionDialog):
    """Record an evaluation of compliance; the next due date moves on by the review frequency."""

    def __init__(self, db: Any, actor: Actor, entry: dict[str, Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.entry = entry
        self.new_due: str | None = None
        site = rows.load(db, SITE, entry.get("site"))
        today = clock.today((site or {}).get("timeZone"))  # the evaluation is dated at the site
        on = QDate(today.year, today.month, today.day)
        self.setWindowTitle(f"Evaluate compliance: {entry.get('referenceCode')}")
        box = QVBoxLayout(self)
        box.addWidget(QLabel(f"<b>{entry.get('referenceCode')}</b> – "
                             f"{entry.get('requirementTitle')}<br>Reviewed "
                             f"{entry.get('reviewFrequency')}; due {entry.get('dueDate')}"))
        form = QFormLayout()
        self.status = QComboBox()
        for c in EVALUATED:
            self.status.addItem(fmt.enum_text(c), c)
        self.on = QDateEdit(on)
        self.on.setCalendarPopup(True)
        self.on.setDisplayFormat("yyyy-MM-dd")
        self.on.setMaximumDate(on)
        self.note = _text(entry.get("evidenceNote"))
        form.addRow("Result", self.status)
        form.addRow("Evaluated on", self.on)
        form.addRow("Evidence", self.note)
        box.addLayout(form)
        self.next_label = QLabel()
        box.addWidget(self.next_label)
        self.add_error_label(box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record evaluation")
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self.on.dateChanged.connect(self._next)
        self._next()

    def _next(self) -> None:
        d = self.on.date()
        due = next_due(date(d.year(), d.month(), d.day()), self.entry["reviewFrequency"])
        self.next_label.setText(f"Next evaluation will be due on <b>{due.isoformat()}</b>.")

    def submit(self) -> Op | None:
        def record() -> None:
            self.new_due = services.record_legal_evaluation(
                self.db, self.actor, self.entry["objectId"], complianceStatus=self.status.currentData(),
                evaluatedOn=self.on.date().toString("yyyy-MM-dd"),
                evidenceNote=self.note.toPlainText().strip() or None)

        return self.run(record)


class AssignSitesDialog(_ActionDialog):
    def __init__(self, db: Any, actor: Actor, user: dict[str, Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.user = user
        self.setWindowTitle(f"Sites of {user.get('fullName') or user.get('username')}")
        box = QVBoxLayout(self)
        box.addWidget(QLabel("The user sees and works on the ticked sites only."))
        self.list = QListWidget()
        sites = records.of(SITE.name)
        for site in services.visible_sites(db, actor):
            oid = site["objectId"]
            item = QListWidgetItem(sites.choice_label(site))
            item.setData(Qt.ItemDataRole.UserRole, oid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if oid in (user.get("sites") or [])
                               else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        box.addWidget(self.list)
        self.add_error_label(box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)

    def ticked(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def submit(self) -> Op | None:
        return self.run(lambda: services.assign_sites(self.db, self.actor, self.user["objectId"],
                                               self.ticked()))


class ApproveDialog(_ActionDialog):
    def __init__(self, db: Any, actor: Actor, review: dict[str, Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.review = review
        self.setWindowTitle("Approve audit review")
        box = QVBoxLayout(self)
        box.addWidget(QLabel(f"Approve the review of {review.get('auditDate')}? An approved review "
                             "can no longer be edited."))
        self.summary = _text(review.get("summaryNote"), 100)
        form = QFormLayout()
        form.addRow("Summary", self.summary)
        box.addLayout(form)
        self.add_error_label(box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Approve")
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)

    def submit(self) -> Op | None:
        return self.run(lambda: services.approve_review(
            self.db, self.actor, self.review["objectId"],
            summaryNote=self.summary.toPlainText().strip() or None))


# ---------------------------------------------------------------- the buttons of a form


@dataclass(frozen=True)
class Workflow:
    """What a workflow action's button says and does."""

    label: str
    what: str  # the tooltip while it is enabled
    open: Callable[[RecordDialog], None]


def _run(form: RecordDialog, dialog: QDialog) -> None:
    if dialog.exec() == QDialog.DialogCode.Accepted:
        form.after_workflow()


def _close(form: RecordDialog) -> None:
    dialog = CloseFindingDialog(form.db, form.actor, form.record, form)
    dialog.open_record.connect(lambda cls, oid: open_form(form, cls, oid))
    _run(form, dialog)


def _reopen(form: RecordDialog) -> None:
    reason, given = QInputDialog.getText(form, "Reopen finding", "Why is the finding reopened?")
    if not given:
        return
    oid = form.record["objectId"]
    form.run_write(lambda: services.reopen_finding(form.db, form.actor, oid, reason=reason),
                   title="reopening the finding", done=lambda _r: form.after_workflow())


# An account's steps: (the question asked first, the service, what the status line says).
ACCOUNT_STEPS: dict[str, tuple[str, Callable[..., None], str]] = {
    "deactivate": ("Deactivate {name}? They can no longer sign in; on the server their "
                   "sessions end at your next sync. Their records stay.",
                   services.deactivate_user, "Deactivated"),
    "activate": ("Activate {name}? They may sign in again (on the server after your next "
                 "sync).", services.activate_user, "Activated"),
    "unlock": ("Unlock {name}? The server lifts its lockout after failed sign-ins at your "
               "next sync.", services.unlock_user, "Unlocked; the server learns it at your "
                                                   "next sync"),
}


def _account_step(action: str) -> Callable[[RecordDialog], None]:
    question, service, done = ACCOUNT_STEPS[action]

    def run(form: RecordDialog) -> None:
        name = form.record.get("fullName") or form.record.get("username")
        if QMessageBox.question(form, action.title(), question.format(name=name)) != \
                QMessageBox.StandardButton.Yes:
            return
        oid = form.record["objectId"]

        def finished(_result: object) -> None:
            form.after_workflow()
            form.status.setText(done)

        form.run_write(lambda: service(form.db, form.actor, oid), title=f"{action} the account",
                       done=finished)
    return run


WORKFLOWS: dict[str, Workflow] = {
    "close": Workflow("Close finding…", "Check the closing rules and close", _close),
    "reopen": Workflow("Reopen…", "Reopen the finding, saying why", _reopen),
    "evaluate": Workflow("Record evaluation…", "Record the result of an evaluation",
                         lambda f: _run(f, EvaluationDialog(f.db, f.actor, f.record, f))),
    "approve": Workflow("Approve…", "Approve the completed review",
                        lambda f: _run(f, ApproveDialog(f.db, f.actor, f.record, f))),
    "assign": Workflow("Assign sites…", "Choose the sites the user works on",
                       lambda f: _run(f, AssignSitesDialog(f.db, f.actor, f.record, f))),
    "deactivate": Workflow("Deactivate…", "Stop this account from signing in",
                           _account_step("deactivate")),
    "activate": Workflow("Activate…", "Let this account sign in again", _account_step("activate")),
    "unlock": Workflow("Unlock…", "Lift the server's lockout after failed sign-ins",
                       _account_step("unlock")),
}


def open_form(form: RecordDialog, class_name: str, object_id: str = "", *,
              defaults: dict[str, Any] | None = None) -> RecordDialog:
    """Another record's form beside this one (a saved change refreshes what this one came
    from)."""
    from desktop_audit.schema import BY_NAME
    from desktop_audit.ui.dialogs.record_form import RecordDialog

    dialog = RecordDialog(form.db, form.actor, BY_NAME[class_name], object_id or None,
                          defaults=defaults, parent=form.parentWidget())
    dialog.saved.connect(form.saved)
    dialog.show()
    return dialog


def buttons_for(form: RecordDialog) -> list[Button]:
    """The workflow buttons of a record's form, each enabled or disabled with the reason."""
    rt, rec = form.rt, form.record
    out = [_workflow(form, action) for action in rt.workflow_actions(rec) if action in WORKFLOWS]
    if rt.exports_pack:
        out.append(_pack(form))
    if rt.log_type:
        out.append(_raise_finding(form))
    if any(f.kind == "secret" for f in rt.cdef.fields):
        out.append(_reset_password(form))
    out.append(_delete(form))
    return out


def _workflow(form: RecordDialog, action: str) -> Button:
    flow = WORKFLOWS[action]
    ok, why = gate(form.db, form.actor, form.rt, action, form.record)
    return Button(action, flow.label, ok, why or flow.what, lambda: flow.open(form))


def _pack(form: RecordDialog) -> Button:
    site_id = form.rt.site_of(form.record)
    site = rows.load(form.db, SITE, site_id)
    ok, why = records.of(SITE.name).can(form.actor, "export_pack", site)

    def export() -> None:
        from desktop_audit.ui.dialogs.export_pack import ExportPackDialog

        # The record is chosen as the pack's review when it is one of the site's reviews.
        ExportPackDialog(form.db, form.actor, site=site_id, review=form.record["objectId"],
                         parent=form).open()
    return Button("export_pack", "Evidence pack…", ok,
                  why or "Export the site's PDF evidence pack", export)


def finding_about(form: RecordDialog) -> dict[str, Any]:
    """What a finding raised from this record starts with: its site, the record it is about
    (the class named by the finding's log type), and every pointer of a finding to it."""
    findings, rt, rec = records.of(FINDING.name), form.rt, form.record
    values: dict[str, Any] = {findings.cdef.site_field or "site": rt.site_of(rec)}
    for pointer, naming in findings.dynamic_pointers.items():
        values.update({naming: rt.log_type, pointer: rec["objectId"]})
    for f in findings.cdef.fields:
        if f.kind == "pointer" and f.target == rt.name:
            values[f.name] = rec["objectId"]  # a finding of this review
    return values


def _raise_finding(form: RecordDialog) -> Button:
    findings = records.of(FINDING.name)
    about = finding_about(form)
    site = about.get(findings.cdef.site_field or "site")
    start = findings.prefill(form.actor, UnitOfWork(form.db, form.actor),
                             site_ids=[site] if site else [])
    ok, why = findings.can(form.actor, "create", None, {**start, **about})
    return Button("raise_finding", "Raise finding…", ok,
                  why or "Raise a finding about this record",
                  lambda: open_form(form, findings.name, defaults=about))


def _reset_password(form: RecordDialog) -> Button:
    ok, why = form.rt.can(form.actor, "edit", form.record)

    def reset() -> None:
        password, given = QInputDialog.getText(form, "Reset password", "New password:",
                                               QLineEdit.EchoMode.Password)
        if not given:
            return
        oid = form.record["objectId"]
        form.run_write(lambda: services.set_password(form.db, form.actor, oid, password),
                       title="resetting the password",
                       done=lambda _r: form.status.setText("Password reset"))
    return Button("reset_password", "Reset password…", ok, why or "Set a new password", reset)


def _delete(form: RecordDialog) -> Button:
    """Shown only to whom may delete (an admin): a tombstone, kept in the audit trail."""
    ok, why = form.rt.can(form.actor, "delete", form.record)

    def delete() -> None:
        if QMessageBox.question(form, "Delete", "Delete this record? It stays in the audit "
                                "trail.") != QMessageBox.StandardButton.Yes:
            return
        oid = form.record["objectId"]

        def deleted(_result: object) -> None:
            form.saved.emit(oid)
            form.accept()

        form.run_write(lambda: services.delete_record(form.db, form.actor, form.rt.name, oid),
                       title="deleting the record", done=deleted)
    return Button("delete", "Delete…", ok, why or "Delete this record", delete, visible=ok)
