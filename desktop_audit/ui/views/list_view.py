"""The list of one class: site filter, quick filters, search, sort, column chooser, import and
export of the current filter; Enter or a double-click opens the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_audit import records, services
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuditError
from desktop_audit.records.base import Decision
from desktop_audit.schema import SITE, ClassDef
from desktop_audit.services.unit_of_work import UnitOfWork
from desktop_audit.store import listing
from desktop_audit.ui.dialogs.error_dialog import show_error as show_unexpected
from desktop_audit.ui.runner import Op, runner_for
from desktop_audit.ui.table_models import RecordTableModel


def may_create(db: Any, actor: Actor, rt: records.RecordType) -> Decision:
    """Whether the actor may add a record as a new form would start it."""
    values = rt.prefill(actor, UnitOfWork(db, actor),
                        site_ids=services.visible_site_ids(db, actor))
    return rt.can(actor, "create", None, values)


class _EnterOpens(QObject):
    def __init__(self, view: ListView) -> None:
        super().__init__(view)
        self.view = view

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and \
                event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.view.open_current()
            return True
        return False


class ListView(QWidget):
    """One class's list; ``open_record`` asks the window to show a record's form."""

    open_record = Signal(str, str)  # class name, objectId ("" for a new record)
    count_changed = Signal(int)

    def __init__(self, db: Any, actor: Actor, cdef: ClassDef, *,
                 settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.cdef = cdef
        self.rt = rt = records.of(cdef.name)
        self.settings = settings
        self.model = RecordTableModel(db, actor, cdef, parent=self)
        self.tasks: list[Op] = []
        self._generation = 0
        self.total: int | None = None

        box = QVBoxLayout(self)
        self.box = box
        box.setContentsMargins(8, 8, 8, 4)
        title = QLabel(f"<span style='font-size:16pt; font-weight:600'>{cdef.plural}</span>"
                       + (f"  <span style='color:#6c757d'>ISO 14001 {cdef.iso_clause}</span>"
                          if cdef.iso_clause else ""))
        box.addWidget(title)
        bar = QHBoxLayout()
        self.noun = rt.list_noun or cdef.plural.lower()
        self.new_button = QPushButton(f"New {cdef.label.lower()}".replace("&", "&&"))
        allowed, reason = may_create(db, actor, rt)
        self.new_button.setEnabled(allowed)
        self.new_button.setToolTip("Ctrl+N" if allowed else reason)
        self.new_button.clicked.connect(self.new_record)
        self.new_button.setVisible(rt.writable_by_hand)
        bar.addWidget(self.new_button)
        self.site = QComboBox()
        self.site.setMinimumWidth(200)
        self.site.addItem("All my sites" if not actor.is_admin else "All sites", None)
        sites = records.of(SITE.name)
        for site in services.visible_sites(db, actor):
            self.site.addItem(sites.choice_label(site), site["objectId"])
        self.site.currentIndexChanged.connect(lambda _i: self._filters_changed())
        # Rows of a site (not the sites themselves, whose list needs no site filter).
        self.site.setVisible(rt.site_column not in (None, "objectId"))
        self.site.setToolTip("Show one site only")
        bar.addWidget(self.site)
        self.quick = QComboBox()
        self.quick.addItem("All records", None)
        for q in rt.quick_filters:
            self.quick.addItem(q.label, q.key)
        self.quick.currentIndexChanged.connect(lambda _i: self._filters_changed())
        bar.addWidget(self.quick)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        self.search.returnPressed.connect(self._search_all)
        bar.addWidget(self.search, 1)
        self.equals_label = QPushButton()
        self.equals_label.setVisible(False)
        self.equals_label.setToolTip("Click to remove this filter")
        self.equals_label.clicked.connect(lambda: self.set_equals({}))
        bar.addWidget(self.equals_label)
        self.columns_button = QToolButton()
        self.columns_button.setText("Columns")
        self.columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QMenu(self)
        self.columns_button.setMenu(self.columns_menu)
        bar.addWidget(self.columns_button)
        self.import_button = QPushButton("Import…")
        self.import_button.clicked.connect(self.choose_import)
        can_import = rt.importable and allowed
        self.import_button.setEnabled(can_import)
        self.import_button.setToolTip("Add or update records from a .csv or .xlsx file (all or "
                                      "nothing)" if can_import else
                                      (reason or f"{cdef.plural} cannot be imported"))
        self.import_button.setVisible(rt.writable_by_hand)
        bar.addWidget(self.import_button)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the rows of the current filter to .csv or .xlsx")
        self.export_button.clicked.connect(self.choose_export)
        bar.addWidget(self.export_button)
        box.addLayout(bar)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(False)
        self.table.setSortingEnabled(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.sectionClicked.connect(self._header_clicked)
        self.table.doubleClicked.connect(lambda _i: self.open_current())
        self.table.installEventFilter(_EnterOpens(self))
        box.addWidget(self.table, 1)
        self.footer = QLabel()
        self.footer.setStyleSheet("color: #495057;")
        box.addWidget(self.footer)
        self._build_columns_menu()
        self.count_timer = QTimer(self)
        self.count_timer.setSingleShot(True)
        self.count_timer.setInterval(300)
        self.count_timer.timeout.connect(self._start_count)
        self.model.refreshed.connect(self._after_refresh)
        self._size_columns()
        self.model.refresh()

    # ------------------------------------------------------------------ columns
    def _hidden_key(self) -> str:
        return f"columns/{self.cdef.name}/hidden"

    def _build_columns_menu(self) -> None:
        hidden = listing.default_hidden(self.rt)
        if self.settings is not None:
            saved = self.settings.value(self._hidden_key())
            if isinstance(saved, str):
                hidden = {h for h in saved.split(",") if h}
            elif isinstance(saved, list):
                hidden = set(saved)
        self.columns_menu.clear()
        for n, col in enumerate(self.model.cols):
            act = QAction(col.label, self.columns_menu)
            act.setCheckable(True)
            act.setChecked(col.name not in hidden)
            act.toggled.connect(lambda on, i=n: self.set_column_visible(i, on))
            self.columns_menu.addAction(act)
            self.table.setColumnHidden(n, col.name in hidden)

    def set_column_visible(self, index: int, visible: bool) -> None:
        self.table.setColumnHidden(index, not visible)
        if self.settings is not None:
            hidden = [c.name for n, c in enumerate(self.model.cols) if self.table.isColumnHidden(n)]
            self.settings.setValue(self._hidden_key(), ",".join(hidden))

    def visible_columns(self) -> list[str]:
        return [c.name for n, c in enumerate(self.model.cols) if not self.table.isColumnHidden(n)]

    def _size_columns(self) -> None:
        fm = self.table.fontMetrics()
        for n, col in enumerate(self.model.cols):
            kind = col.kind
            width = {"bool": 9, "int": 8, "date": 11, "datetime": 16, "enum": 16, "pointer": 14,
                     "text": 40, "string": 18}.get(kind, 18)
            if kind == "string" and col.field is not None and (col.field.max_length or 0) > 150:
                width = 34
            width = max(width, len(col.label) + 3)
            self.table.setColumnWidth(n, fm.horizontalAdvance("M") * width // 1 * 3 // 4)

    # ------------------------------------------------------------------ filtering
    def _filters_changed(self) -> None:
        self.model.query.site = self.site.currentData()
        self.model.query.quick = self.quick.currentData()
        self.model.refresh()

    def _search_changed(self, text: str) -> None:
        self.model.set_search(text)

    def _search_all(self) -> None:
        self.model.search_all()

    def set_filter(self, *, site: str | None = None, quick: str | None = None,
                   equals: dict[str, Any] | None = None, search: str = "") -> None:
        """Show the list narrowed as the dashboard asks (one refresh)."""
        for combo, value in ((self.site, site), (self.quick, quick)):
            combo.blockSignals(True)
            i = combo.findData(value)
            combo.setCurrentIndex(max(i, 0))
            combo.blockSignals(False)
        self.search.blockSignals(True)
        self.search.setText(search)
        self.search.blockSignals(False)
        q = self.model.query
        q.site, q.quick, q.search = self.site.currentData(), self.quick.currentData(), search
        q.equals = dict(equals or {})
        self._show_equals()
        self.model.refresh()

    def set_equals(self, values: dict[str, Any]) -> None:
        self.model.query.equals = dict(values)
        self._show_equals()
        self.model.refresh()

    def _show_equals(self) -> None:
        eq = self.model.query.equals
        if eq:
            text = ", ".join(f"{self.cdef.get(k).label if self.cdef.has(k) else k} = {v}"
                             for k, v in eq.items())
            self.equals_label.setText(f"{text}  ✕")
        self.equals_label.setVisible(bool(eq))

    def _header_clicked(self, section: int) -> None:
        current, order = self.model.sort_section()
        if current == section:
            order = (Qt.SortOrder.AscendingOrder if order == Qt.SortOrder.DescendingOrder
                     else Qt.SortOrder.DescendingOrder)
        else:
            order = Qt.SortOrder.AscendingOrder
        self.model.sort(section, order)

    def _after_refresh(self) -> None:
        section, order = self.model.sort_section()
        self.table.horizontalHeader().setSortIndicator(section, order)
        self._count()

    def _count(self) -> None:
        """The number of matching rows is counted off the GUI thread (it can take a full scan),
        once typing pauses."""
        self._generation += 1
        shown = self.model.rowCount()
        more = self.model.canFetchMore()
        self.footer.setText(f"{shown}{'+' if more else ''} {self.noun}" + self._bounded_note()
                            + (" · counting…" if more else ""))
        if not more:
            self.total = shown
            self.count_changed.emit(shown)
            self.count_timer.stop()
            return
        self.total = None
        self.count_timer.start()

    def _start_count(self) -> None:
        generation = self._generation
        db, query = self.db, self.model.query.copy()
        plan = "bounded" if self.model.bounded else None
        op = runner_for(db).read(lambda _c: listing.count(db, query, plan),
                                 title="counting rows", parent=self)
        op.succeeded.connect(lambda n: self._counted(generation, int(n)))
        self._track(op)

    def _bounded_note(self) -> str:
        if not self.model.bounded:
            return ""
        return (f" in the first {listing.BOUND:,} rows (words of one or two letters look no "
                "further) · press Enter to search every row")

    def _track(self, op: Op) -> None:
        self.tasks.append(op)
        op.ended.connect(lambda: self.tasks.remove(op) if op in self.tasks else None)

    def _counted(self, generation: int, total: int) -> None:
        if generation != self._generation:
            return
        self.total = total
        self.footer.setText(f"{total:,} {self.noun} match" + self._bounded_note()
                            + f" · showing the first {self.model.rowCount():,}; scroll for more")
        self.count_changed.emit(total)

    # ------------------------------------------------------------------ records
    def current_id(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.object_id(index.row())

    def open_current(self) -> None:
        oid = self.current_id()
        if oid:
            self.open_record.emit(self.cdef.name, oid)

    def new_record(self) -> None:
        if self.new_button.isEnabled() and self.new_button.isVisible():
            self.open_record.emit(self.cdef.name, "")

    def reload(self) -> None:
        current = self.current_id()
        self.model.refresh()
        if current:
            row = self.model.row_of(current)
            if row >= 0:
                self.table.selectRow(row)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # ------------------------------------------------------------------ files
    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Import {self.cdef.plural.lower()}",
                                              str(Path.home()), "Spreadsheets (*.csv *.xlsx)")
        if path:
            self.start_import(Path(path))

    def start_import(self, path: Path, *, show_progress: bool = True) -> Op:
        from desktop_audit.io.tabular import import_file

        db, actor, name = self.db, self.actor, self.cdef.name
        title = f"Importing {path.name}"
        op = runner_for(db).write(lambda control: import_file(db, actor, name, path,
                                                              control=control),
                                  title=title, parent=self)
        op.succeeded.connect(lambda counts: self._imported(path, counts))
        op.failed.connect(lambda exc: self._problem(f"{path.name} was not imported", exc))
        op.was_cancelled.connect(lambda msg: self.footer.setText(msg))
        self._run(op, title, show_progress)
        return op

    def _imported(self, path: Path, counts: dict[str, int]) -> None:
        self.model.refresh()
        self.footer.setText(f"Imported {path.name}: {counts['created']} created, "
                            f"{counts['updated']} updated, {counts['unchanged']} unchanged")

    def choose_export(self) -> None:
        default = str(Path.home() / f"{self.cdef.plural.lower().replace(' ', '-')}.xlsx")
        path, _ = QFileDialog.getSaveFileName(self, "Export the current list", default,
                                              "Excel workbook (*.xlsx);;CSV (*.csv)")
        if path:
            self.start_export(Path(path))

    def start_export(self, path: Path, *, show_progress: bool = True) -> Op:
        from desktop_audit.io.list_export import export_list

        db, query = self.db, self.model.query.copy()
        title = f"Exporting to {path.name}"
        op = runner_for(db).read(lambda control: export_list(db, query, path, control=control),
                                 title=title, parent=self)
        op.succeeded.connect(lambda n: self.footer.setText(f"Exported {n:,} rows to {path}"))
        op.failed.connect(lambda exc: self._problem("Export failed", exc))
        op.was_cancelled.connect(lambda msg: self.footer.setText(msg))
        self._run(op, title, show_progress)
        return op

    def _run(self, op: Op, title: str, show_progress: bool) -> None:
        self._track(op)
        if show_progress:
            from desktop_audit.ui.widgets.progress import ProgressDialog

            ProgressDialog(op, title, self).open()

    def _problem(self, title: str, exc: BaseException) -> None:
        if not isinstance(exc, AuditError):
            self.footer.setText(f"{title}: an unexpected problem (see the log)")
            show_unexpected(exc, title.lower(), self)
            return
        message = str(exc)
        self.footer.setText(f"{title}: {message}")
        if self.isVisible():
            box = QMessageBox(QMessageBox.Icon.Warning, title, message,
                              QMessageBox.StandardButton.Ok, self)
            box.setObjectName("problem")
            box.open()  # not exec(): the window keeps running
