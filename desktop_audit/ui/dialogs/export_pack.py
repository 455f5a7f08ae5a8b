"""Export the PDF evidence pack of a site: period, review, sections; progress and Cancel while
it is written off the GUI thread; the PDF opens when it is done."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_audit import clock, records, services
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuditError
from desktop_audit.jobs import Control
from desktop_audit.schema import REVIEW, SITE
from desktop_audit.store import rows
from desktop_audit.ui import format as fmt
from desktop_audit.ui.dialogs.error_dialog import show_error as show_unexpected
from desktop_audit.ui.runner import Op, runner_for


class ExportPackDialog(QDialog):
    exported = Signal(object)  # PackResult

    def __init__(self, db: Any, actor: Actor, *, site: str | None = None,
                 review: str | None = None, open_when_done: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from desktop_audit.reports import SECTION_TITLES, SECTIONS

        self.db = db
        self.actor = actor
        self.open_when_done = open_when_done
        self.task: Op | None = None
        self.result: Any = None
        self.setWindowTitle("Export evidence pack")
        self.setMinimumWidth(560)
        box = QVBoxLayout(self)
        form = QFormLayout()
        self.site = QComboBox()
        sites = records.of(SITE.name)
        for one in services.visible_sites(db, actor):
            self.site.addItem(sites.choice_label(one), one["objectId"])
        if site:
            self.site.setCurrentIndex(max(self.site.findData(site), 0))
        self.site.currentIndexChanged.connect(lambda _i: self._site_changed())
        form.addRow("Site", self.site)
        period = QHBoxLayout()
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addYears(-1))
        self.date_to = QDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        period.addWidget(self.date_from)
        period.addWidget(QLabel("to"))
        period.addWidget(self.date_to)
        period.addStretch(1)
        form.addRow("Period", period)
        self.review = QComboBox()
        form.addRow("Audit review", self.review)
        self.review_note = QLabel()
        self.review_note.setStyleSheet("color: #6c757d;")
        form.addRow("", self.review_note)
        self.review.currentIndexChanged.connect(lambda _i: self._review_note())
        out_row = QHBoxLayout()
        self.out = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        form.addRow("Save as", out_row)
        box.addLayout(form)
        group = QGroupBox("Sections (the cover and contents are always included)")
        grid = QGridLayout(group)
        self.sections: dict[str, QCheckBox] = {}
        for n, key in enumerate(SECTIONS):
            check = QCheckBox(SECTION_TITLES.get(key, key))
            check.setChecked(True)
            grid.addWidget(check, n // 2, n % 2)
            self.sections[key] = check
        box.addWidget(group)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setVisible(False)
        box.addWidget(self.bar)
        self.stage = QLabel()
        self.stage.setWordWrap(True)
        box.addWidget(self.stage)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self.reject)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        box.addLayout(buttons)
        self._site_changed()
        if review and self.review.findData(review) >= 0:
            self.review.setCurrentIndex(self.review.findData(review))

    def _site_changed(self) -> None:
        site = self.site.currentData()
        self.review.clear()
        self.review.addItem("No review (the pack is marked DRAFT)", None)
        if site:
            for review in rows.pick(self.db, REVIEW, ("auditDate", "reviewStatus"),
                                    {"site": site}, order=["-auditDate"]):
                oid, when, status = review["objectId"], review["auditDate"], review["reviewStatus"]
                self.review.addItem(f"Review of {when} ({fmt.enum_text(status).lower()})", oid)
                self.review.setItemData(self.review.count() - 1, status, Qt.ItemDataRole.UserRole + 1)
            approved = [i for i in range(self.review.count())
                        if self.review.itemData(i, Qt.ItemDataRole.UserRole + 1) == "approved"]
            if approved:
                self.review.setCurrentIndex(approved[0])  # the latest approved review
        code = self.site.currentText().split(" – ")[0] or "site"
        folder = Path.home() / "Documents"
        folder = folder if folder.is_dir() else Path.home()
        self.out.setText(str(folder / f"evidence-pack-{code}-{date.today().isoformat()}.pdf"))
        self._review_note()

    def _review_note(self) -> None:
        status = self.review.currentData(Qt.ItemDataRole.UserRole + 1)
        if self.review.currentData() is None:
            self.review_note.setText("Without an approved review every page carries DRAFT.")
        elif status != "approved":
            self.review_note.setText("This review is not approved yet: the pack is marked DRAFT.")
        else:
            self.review_note.setText("Approved review: a final pack.")

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save evidence pack", self.out.text(), "PDF (*.pdf)")
        if path:
            self.out.setText(path if path.lower().endswith(".pdf") else path + ".pdf")

    def chosen_sections(self) -> list[str]:
        return [k for k, box in self.sections.items() if box.isChecked()]

    def start(self) -> Op | None:
        from desktop_audit.reports import export_pack

        if self.task is not None and self.task.running:
            return self.task
        db, actor = self.db, self.actor
        site = self.site.currentData()
        if not site:
            self.stage.setText("Choose a site.")
            return None
        out = Path(self.out.text()).expanduser()
        d_from = self.date_from.date().toString("yyyy-MM-dd")
        d_to = self.date_to.date().toString("yyyy-MM-dd")
        review = self.review.currentData()
        sections = self.chosen_sections()
        as_of = clock.now_iso()

        def work(control: Control) -> Any:
            # On the database writer: the export journals itself when the file is written.
            return export_pack(db, actor, site, out, date_from=d_from, date_to=d_to,
                               review_id=review, as_of=as_of, sections=sections,
                               control=control)

        task = runner_for(db).write(work, title="exporting the evidence pack", parent=self)
        task.progress.connect(lambda done, _total, stage: (self.bar.setValue(done),
                                                           self.stage.setText(stage)))
        task.succeeded.connect(self._finished)
        task.failed.connect(self._failed)
        task.was_cancelled.connect(lambda msg: self._stopped(msg[0].upper() + msg[1:]))
        self.task = task
        self.bar.setValue(0)
        self.bar.setVisible(True)
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.stage.setText("Starting…")
        return task

    def _failed(self, exc: BaseException) -> None:
        if not isinstance(exc, AuditError):
            show_unexpected(exc, "exporting the evidence pack", self)
        self._stopped(f"Not exported: {exc}")

    def _finished(self, result: Any) -> None:
        self.result = result
        self.bar.setValue(1000)
        warn = ("<br>" + "<br>".join(result.warnings)) if result.warnings else ""
        self.stage.setText(f"Wrote {result.path.name}: {result.pages} pages, "
                           f"{result.size / 1e6:.1f} MB.{warn}")
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self.exported.emit(result)
        if self.open_when_done:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(result.path)))

    def _stopped(self, message: str) -> None:
        self.stage.setText(message)
        self.bar.setVisible(False)
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self.cancel_button.setEnabled(True)

    def reject(self) -> None:
        if self.task is not None and self.task.running:
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.stage.setText("Cancelling…")
            return
        super().reject()

