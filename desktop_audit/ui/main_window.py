"""The main window: navigation, one view per class, the dashboard, a status bar with the user,
the database file and the changes not yet synced."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QWidget,
)

from desktop_audit import __version__, records
from desktop_audit.domain.actor import Actor
from desktop_audit.schema import ASPECT, BY_NAME, FINDING, LEGAL, REVIEW, SITE, SPILL_KIT, TRAIL, USER
from desktop_audit.ui.runner import Op, runner_for

if TYPE_CHECKING:  # the form is imported when the first record opens, not at start-up
    from desktop_audit.ui.dialogs.record_form import RecordDialog

# (key used by `desktop-audit screenshot`, navigation label, class shown, how it is shown)
VIEWS: tuple[tuple[str, str, str | None, str], ...] = (
    ("dashboard", "Dashboard", None, "dashboard"),
    ("sites", "Sites", SITE.name, "list"),
    ("aspects", "Aspects & impacts", ASPECT.name, "list"),
    ("spill-kits", "Spill kits", SPILL_KIT.name, "list"),
    ("legal", "Legal register", LEGAL.name, "list"),
    ("reviews", "Audit reviews", REVIEW.name, "list"),
    ("findings", "Findings", FINDING.name, "list"),
    ("trail", "Audit trail", TRAIL.name, "trail"),
    ("users", "Users", USER.name, "list"),
)
VIEW_KEYS = tuple(v[0] for v in VIEWS)


def sees_view(actor: Actor, class_name: str | None) -> bool:
    return class_name is None or actor.role in records.of(class_name).list_roles


class MainWindow(QMainWindow):
    signed_out = Signal(bool)
    live_changed = Signal(str, str)  # class name, objectId: a colleague's change arrived

    def __init__(self, db: Any, actor: Actor, *, settings: QSettings | None = None,
                 view: str | None = None, parent: QWidget | None = None) -> None:
        """Opens on *view*, else on the view shown last, else the dashboard; the other views
        are built when first shown."""
        super().__init__(parent)
        self.db = db
        self.actor = actor
        self.settings = settings
        self.dialogs: list[RecordDialog] = []
        self.setWindowTitle(f"desktop_audit – {actor.display}")
        self.views: dict[str, QWidget] = {}
        self.keys = [k for k, _label, cls, _kind in VIEWS if sees_view(actor, cls)]

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setFixedWidth(180)
        self.nav.setStyleSheet("QListWidget { font-size: 11pt; border: none; background: #f1f3f5; }"
                               "QListWidget::item { padding: 8px 10px; }"
                               "QListWidget::item:selected { background: #1f6feb; color: white; }")
        for key, label, _cls, _kind in VIEWS:
            if key in self.keys:
                item = QListWidgetItem(label)
                item.setData(Qt.ItemDataRole.UserRole, key)
                self.nav.addItem(item)
        self.stack = QStackedWidget()
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.nav.currentRowChanged.connect(lambda row: self.show_view(self.keys[row]))

        self._menus()
        self._status_bar()
        size = settings.value("window/size") if settings is not None else None
        self.resize(size if isinstance(size, QSize) else QSize(1280, 800))
        last = view or (settings.value("window/view") if settings is not None else None)
        self.show_view(last if isinstance(last, str) and last in self.keys else "dashboard")

    # ------------------------------------------------------------------ chrome
    def _menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.export_pack_action = QAction("Export evidence pack…", self)
        self.export_pack_action.triggered.connect(self.export_pack)
        file_menu.addAction(self.export_pack_action)
        self._pack_available()
        self.sync_action = QAction("Sync with the server…", self)
        self.sync_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.sync_action.triggered.connect(self.open_sync)
        file_menu.addAction(self.sync_action)
        file_menu.addSeparator()
        sign_out = QAction("Sign out", self)
        sign_out.triggered.connect(self._sign_out)
        file_menu.addAction(sign_out)
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        record = bar.addMenu("&Record")
        new = QAction("New", self)
        new.setShortcut(QKeySequence.StandardKey.New)
        new.triggered.connect(self.new_record)
        record.addAction(new)
        find = QAction("Search", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.focus_search)
        record.addAction(find)
        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.reload_views)
        record.addAction(refresh)
        view = bar.addMenu("&View")
        for n, key in enumerate(self.keys):
            label = next(lbl for k, lbl, _c, _v in VIEWS if k == key)
            act = QAction(label, self)
            act.setShortcut(QKeySequence(f"Ctrl+{n + 1}"))
            act.triggered.connect(lambda _c=False, k=key: self.show_view(k))
            view.addAction(act)
        help_menu = bar.addMenu("&Help")
        about = QAction("About desktop_audit", self)
        about.triggered.connect(lambda: QMessageBox.about(
            self, "desktop_audit", f"desktop_audit {__version__}\nISO 14001 environmental audits, "
                                   f"offline first.\nDatabase: {self.db.path}"))
        help_menu.addAction(about)

    def _pack_available(self) -> None:
        try:
            import importlib.util

            found = importlib.util.find_spec("desktop_audit.reports") is not None
        except (ImportError, ValueError):
            found = False
        allowed, reason = records.of(SITE.name).can(self.actor, "export_pack")
        self.export_pack_action.setEnabled(found and allowed)
        self.export_pack_action.setToolTip(reason if not allowed else
                                           ("" if found else "evidence packs are not available in "
                                                             "this version"))

    def _status_bar(self) -> None:
        status = self.statusBar()
        self.user_label = QLabel(f"Signed in as {self.actor.display}")
        self.db_label = QLabel(f"Database: {self.db.path.name}")
        self.db_label.setToolTip(str(self.db.path))
        # Sync: online or offline, the last sync and the changes not yet sent.
        self.sync_label = QPushButton()
        self.sync_label.setFlat(True)
        self.sync_label.setObjectName("sync_status")
        self.sync_label.setCursor(Qt.CursorShape.PointingHandCursor)
        self.sync_label.clicked.connect(self.open_sync)
        self.sync_label.setText("Checking sync status…")
        self.online: bool | None = None
        self.live: Any = None  # the Live Query session while online (after a sync)
        self.live_changed.connect(lambda _cls, _oid: self.reload_views())
        self.status_task: Op | None = None
        status.addWidget(self.user_label)
        status.addWidget(self.db_label)
        status.addPermanentWidget(self.sync_label)
        self.update_sync_status()
        self.timer = QTimer(self)
        self.timer.setInterval(30_000)
        self.timer.timeout.connect(self.update_sync_status)
        self.timer.start()

    def update_sync_status(self) -> None:
        """Pending changes and, when a server is set, whether it answers (off the GUI thread)."""
        if self.status_task is not None and self.status_task.running:
            return
        db = self.db
        live = self.live

        def work(_control: Any) -> tuple[int, str | None, bool | None]:
            from desktop_audit.errors import AuditError
            from desktop_audit.store import sync_state

            if live is not None:
                try:  # back online after a drop: pull what was missed, subscribe again
                    live.keep_alive()
                except (AuditError, OSError, ValueError):
                    pass
            online = None
            if db.meta("sync_server"):  # the sync itself is loaded only when a server is set
                from desktop_audit.sync import status

                online = status.is_online(db)
            return sync_state.pending_records(db), db.meta("sync_last_at"), online

        task = runner_for(db).read(work, title="checking the server", parent=self)
        task.succeeded.connect(self._show_sync_status)
        self.status_task = task

    def _show_sync_status(self, state: tuple[int, str | None, bool | None]) -> None:
        from desktop_audit.ui import format as fmt

        pending, last, online = state
        self.online = online
        where = {True: "Online", False: "Offline (server not reachable)",
                 None: "Offline (no server set)"}[online]
        last_text = f" · last sync {fmt.local_datetime(last)}" if last else ""
        self.sync_label.setText(f"{where}{last_text} · {pending:,} changes not yet synced")
        self.sync_label.setToolTip("Changes made on this laptop wait here until they are sent to "
                                   "the server. Click to sync.")

    def open_sync(self) -> None:
        from desktop_audit.ui.dialogs.sync_dialog import SyncDialog

        dialog = SyncDialog(self.db, self.actor, parent=self, on_live_change=self._live_event)
        dialog.synced.connect(lambda _ok, _msg: (self.reload_views(), self.update_sync_status()))
        dialog.live_started.connect(self._set_live)
        self.sync_dialog = dialog
        dialog.open()

    # ------------------------------------------------------------------ views
    def view(self, key: str) -> QWidget:
        if key not in self.views:
            cls, kind = next((c, v) for k, _l, c, v in VIEWS if k == key)
            widget: QWidget
            if kind == "dashboard":
                from desktop_audit.ui.views.dashboard import Dashboard

                widget = Dashboard(self.db, self.actor)
                widget.navigate.connect(self.navigate)
                widget.open_record.connect(self.open_record)
            elif kind == "trail":
                from desktop_audit.ui.views.trail_view import TrailView

                widget = TrailView(self.db, self.actor, settings=self.settings)
                widget.open_record.connect(self.open_record)
            else:
                from desktop_audit.ui.views.list_view import ListView

                widget = ListView(self.db, self.actor, BY_NAME[cls or ""], settings=self.settings)
                widget.open_record.connect(self.open_record)
            widget.setObjectName(f"view_{key}")
            self.views[key] = widget
            self.stack.addWidget(widget)
        return self.views[key]

    def show_view(self, key: str) -> QWidget:
        widget = self.view(key)
        self.stack.setCurrentWidget(widget)
        row = self.keys.index(key)
        if self.nav.currentRow() != row:
            self.nav.blockSignals(True)
            self.nav.setCurrentRow(row)
            self.nav.blockSignals(False)
        if self.settings is not None:
            self.settings.setValue("window/view", key)
        return widget

    def current_key(self) -> str:
        return self.keys[self.nav.currentRow()]

    def navigate(self, class_name: str, spec: dict[str, Any]) -> None:
        key = next(k for k, _l, c, _v in VIEWS if c == class_name)
        widget = self.show_view(key)
        list_view = getattr(widget, "list", widget)
        list_view.set_filter(site=spec.get("site"), quick=spec.get("quick"),
                             equals=spec.get("equals"))

    def list_view(self, key: str | None = None) -> Any:
        widget = self.views.get(key or self.current_key())
        return getattr(widget, "list", widget)

    def new_record(self) -> None:
        view = self.list_view()
        if hasattr(view, "new_record"):
            view.new_record()

    def focus_search(self) -> None:
        view = self.list_view()
        if hasattr(view, "focus_search"):
            view.focus_search()

    def open_record(self, class_name: str, object_id: str) -> RecordDialog:
        for dialog in self.dialogs:
            if dialog.cdef.name == class_name and dialog.object_id == object_id and object_id:
                dialog.raise_()
                dialog.activateWindow()
                return dialog
        defaults = {}
        view = self.list_view()
        site = getattr(getattr(view, "site", None), "currentData", lambda: None)()
        site_field = BY_NAME[class_name].site_field
        if site and site_field and not object_id:
            defaults[site_field] = site  # a new record of the site the list shows
        from desktop_audit.ui.dialogs.record_form import RecordDialog

        dialog = RecordDialog(self.db, self.actor, BY_NAME[class_name], object_id or None,
                              defaults=defaults, parent=self)
        dialog.setWindowFlag(Qt.WindowType.Window, True)
        dialog.saved.connect(lambda _oid: self.reload_views())
        dialog.finished.connect(lambda _r: self.dialogs.remove(dialog)
                                if dialog in self.dialogs else None)
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    # ------------------------------------------------------------ live updates
    def _live_event(self, _event: str, class_name: str, object_id: str) -> None:
        """From the Live Query thread: hand over to the GUI thread (a queued signal)."""
        self.live_changed.emit(class_name, object_id)

    def _set_live(self, live: Any) -> None:
        if self.live is not None and self.live is not live:
            self.live.stop()
        self.live = live

    def reload_views(self) -> None:
        for widget in self.views.values():
            if hasattr(widget, "reload"):
                widget.reload()
            elif hasattr(widget, "refresh"):
                widget.refresh()
        self.update_sync_status()

    def export_pack(self) -> None:
        from desktop_audit.ui.dialogs import export_pack

        view = self.list_view()
        site = getattr(getattr(view, "site", None), "currentData", lambda: None)()
        dialog = export_pack.ExportPackDialog(self.db, self.actor, site=site, parent=self)
        dialog.open()

    def _sign_out(self) -> None:
        self.signed_out.emit(True)
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.live is not None:
            self.live.stop()
            self.live = None
        if self.settings is not None:
            self.settings.setValue("window/size", self.size())
            self.settings.sync()
        for dialog in list(self.dialogs):
            dialog.close()
        super().closeEvent(event)
