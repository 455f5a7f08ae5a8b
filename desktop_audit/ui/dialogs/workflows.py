"""The workflows beyond a plain edit: record a legal evaluation, close or reopen a finding,
approve a review, assign a user's sites, raise a finding about a record, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt
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

from desktop_audit import services
from desktop_audit.domain import rules
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuditError, ValidationError
from desktop_audit.schema import BY_NAME, LOG_TYPE_CLASS
from desktop_audit.ui import format as fmt

if TYPE_CHECKING:
    from desktop_audit.ui.dialogs.record_form import RecordDialog

Button = tuple[str, bool, str, Callable[[], None]]
LOG_TYPE_OF = {cls: key for key, cls in LOG_TYPE_CLASS.items()}


def _text(initial: str | None = None, height: int = 70) -> QPlainTextEdit:
    edit = QPlainTextEdit(initial or "")
    edit.setFixedHeight(height)
    edit.setTabChangesFocus(True)
    return edit


class _ActionDialog(QDialog):
    """A dialog around one service call: a refusal is shown in the dialog, which stays open."""

    error: QLabel

    def add_error_label(self, box: QVBoxLayout) -> None:
        self.error = QLabel()
        self.error.setStyleSheet("color: #b02a37;")
        self.error.setWordWrap(True)
        box.addWidget(self.error)

    def run(self, call: Callable[[], Any]) -> None:
        try:
            call()
        except AuditError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


class CloseFindingDialog(_ActionDialog):
    """Closing a finding: the rules of DOMAIN.md, each shown ticked or saying what blocks."""

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

    def blockers(self) -> list[tuple[str, str]]:
        out = services.closing_blockers(self.db, self.candidate())
        if self.finding.get("actionOwner") == self.actor.id:
            out.append(("actionOwner", "the action owner cannot verify and close their own "
                                       "corrective action"))
        return out

    def check(self) -> None:
        blockers = self.blockers()
        lines = [f"<span style='color:#b02a37'>✗ {reason[0].upper() + reason[1:]}</span>"
                 for _, reason in blockers]
        if not blockers:
            lines = ["<span style='color:#146c43'>✓ Every closing rule holds.</span>"]
        self.rules.setText("<br>".join(lines))
        self.close_button.setEnabled(not blockers)
        self.close_button.setToolTip(blockers[0][1] if blockers else "")

    def submit(self) -> None:
        c = self.candidate()
        self.run(lambda: services.close_finding(
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
        self.setWindowTitle(f"Evaluate compliance: {entry.get('referenceCode')}")
        box = QVBoxLayout(self)
        box.addWidget(QLabel(f"<b>{entry.get('referenceCode')}</b> – "
                             f"{entry.get('requirementTitle')}<br>Reviewed "
                             f"{entry.get('reviewFrequency')}; due {entry.get('dueDate')}"))
        form = QFormLayout()
        self.status = QComboBox()
        for c in ("compliant", "partially_compliant", "non_compliant"):
            self.status.addItem(fmt.enum_text(c), c)
        self.on = QDateEdit(QDate.currentDate())
        self.on.setCalendarPopup(True)
        self.on.setDisplayFormat("yyyy-MM-dd")
        self.on.setMaximumDate(QDate.currentDate())
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
        due = rules.next_due(date(d.year(), d.month(), d.day()), self.entry["reviewFrequency"])
        self.next_label.setText(f"Next evaluation will be due on <b>{due.isoformat()}</b>.")

    def submit(self) -> None:
        def record() -> None:
            self.new_due = services.record_legal_evaluation(
                self.db, self.actor, self.entry["objectId"], complianceStatus=self.status.currentData(),
                evaluatedOn=self.on.date().toString("yyyy-MM-dd"),
                evidenceNote=self.note.toPlainText().strip() or None)

        self.run(record)


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
        for oid, code, name in db.execute('SELECT "objectId", "siteCode", "siteName" FROM audit_site '
                                          'WHERE "deletedAt" IS NULL ORDER BY "siteCode"'):
            item = QListWidgetItem(f"{code} – {name}")
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

    def submit(self) -> None:
        self.run(lambda: services.assign_sites(self.db, self.actor, self.user["objectId"],
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

    def submit(self) -> None:
        self.run(lambda: services.approve_review(
            self.db, self.actor, self.review["objectId"],
            summaryNote=self.summary.toPlainText().strip() or None))


def buttons_for(form: RecordDialog) -> list[Button]:
    """The workflow buttons of a record form, each enabled or disabled with the reason."""
    db, actor, rec, name = form.db, form.actor, form.record, form.cdef.name
    site = rec.get("site")
    out: list[Button] = []

    def run(dialog: QDialog) -> None:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            form.after_workflow()

    if name == "AuditFinding":
        if rec.get("closed"):
            ok, why = form.can("finding_close", site_id=site)

            def reopen() -> None:
                reason, given = QInputDialog.getText(form, "Reopen finding",
                                                     "Why is the finding reopened?")
                if given:
                    try:
                        services.reopen_finding(db, actor, rec["objectId"], reason=reason)
                    except AuditError as exc:
                        form.show_error(exc)
                        return
                    form.after_workflow()
            out.append(("Reopen…", ok, why, reopen))
        else:
            ok, why = form.can("finding_close", site_id=site)
            out.append(("Close finding…", ok, why or "Check the closing rules and close",
                        lambda: run(CloseFindingDialog(db, actor, rec, form))))
    if name == "LegalRegisterEntry":
        ok, why = form.can("legal_write", site_id=site)
        out.append(("Record evaluation…", ok, why or "Record the result of an evaluation",
                    lambda: run(EvaluationDialog(db, actor, rec, form))))
    if name == "AuditReview":
        ok, why = form.can("review_approve", site_id=site)
        if ok and rec.get("reviewStatus") != "completed":
            ok, why = False, f"the review is {fmt.enum_text(rec.get('reviewStatus')).lower()}; " \
                             "only a completed review can be approved"
        if ok and rec.get("leadAuditor") == actor.id:
            ok, why = False, "the lead auditor cannot approve their own review"
        out.append(("Approve…", ok, why, lambda: run(ApproveDialog(db, actor, rec, form))))
        ok, why = form.can("export_pack", site_id=site)

        def export() -> None:
            from desktop_audit.ui.dialogs.export_pack import ExportPackDialog

            ExportPackDialog(db, actor, site=site, review=rec["objectId"], parent=form).open()
        out.append(("Evidence pack…", ok, why or "Export this review's PDF evidence pack", export))
    if name in LOG_TYPE_OF:
        ok, why = form.can("finding_raise", site_id=site)

        def raise_finding() -> None:
            from desktop_audit.ui.dialogs.record_form import RecordDialog

            defaults = {"site": site, "logType": LOG_TYPE_OF[name], "sourceId": rec["objectId"]}
            if name == "AuditReview":
                defaults = {"site": site, "logType": "review", "sourceId": rec["objectId"],
                            "review": rec["objectId"]}
            dialog = RecordDialog(db, actor, BY_NAME["AuditFinding"], defaults=defaults,
                                  parent=form.parentWidget())
            dialog.saved.connect(form.saved)
            dialog.show()
        out.append(("Raise finding…", ok, why or "Raise a finding about this record", raise_finding))
    if name == "User":
        ok, why = form.can("manage_users")
        out.append(("Assign sites…", ok, why, lambda: run(AssignSitesDialog(db, actor, rec, form))))

        def reset() -> None:
            password, given = QInputDialog.getText(form, "Reset password", "New password:",
                                                   QLineEdit.EchoMode.Password)
            if given:
                try:
                    services.set_password(db, actor, rec["objectId"], password)
                except AuditError as exc:
                    form.show_error(exc)
                    return
                form.status.setText("Password reset")
        out.append(("Reset password…", ok, why, reset))
    if name not in ("User", "AuditTrailEvent"):
        ok, why = form.can("delete")
        if ok:
            def delete() -> None:
                if QMessageBox.question(form, "Delete", "Delete this record? It stays in the audit "
                                        "trail.") == QMessageBox.StandardButton.Yes:
                    try:
                        services.delete_record(db, actor, name, rec["objectId"])
                    except (AuditError, ValidationError) as exc:
                        form.show_error(exc)
                        return
                    form.saved.emit(rec["objectId"])
                    form.accept()
            out.append(("Delete…", ok, why, delete))
    return out
