"""Starting the Qt application: the window loop for `gui`, and offscreen rendering for
`screenshot`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QPainter
from PySide6.QtWidgets import QApplication, QDialog

from desktop_audit import config

SIZE = (1280, 800)


def make_app(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setApplicationName("desktop-audit")
    QGuiApplication.setOrganizationName("desktop-audit")
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setStyle("Fusion")
    load_fonts()
    return app


def load_fonts() -> None:
    """Bundled fonts first (a frozen build has no system fonts to rely on), then the system's."""
    folder = config.asset_path("fonts")
    if folder.is_dir():
        for path in sorted(folder.glob("*.ttf")):
            QFontDatabase.addApplicationFont(str(path))
    for candidate in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",):
        if not QFontDatabase.families() and Path(candidate).exists():
            QFontDatabase.addApplicationFont(candidate)
    families = QFontDatabase.families()
    if "DejaVu Sans" in families and sys.platform.startswith("linux"):
        font = QFont("DejaVu Sans")
        font.setPointSize(10)
        QApplication.setFont(font)


def ui_settings() -> QSettings:
    path = config.data_dir() / "window.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)


def run_window(db: Any) -> int:
    """Sign in (or set up an empty database), then the main window until it closes.
    Unexpected failures go to the log file and an error dialog; the database's one writer
    finishes its queue before the program ends."""
    from desktop_audit import logs
    from desktop_audit.ui.dialogs.error_dialog import install_excepthook
    from desktop_audit.ui.runner import close_runner

    app = make_app()
    logs.setup()
    install_excepthook()
    try:
        return _sign_in_and_run(app, db)
    finally:
        close_runner(db)  # the queued writes finish before the database is closed


def _sign_in_and_run(app: QApplication, db: Any) -> int:
    from desktop_audit.services import users
    from desktop_audit.ui.dialogs.login import FirstRunDialog, LoginDialog
    from desktop_audit.ui.main_window import MainWindow

    settings = ui_settings()
    while True:
        username = str(settings.value("login/username") or "")
        if not users.count_users(db):
            first = FirstRunDialog(db)
            if first.exec() != QDialog.DialogCode.Accepted:
                return 0
            if first.choice == "admin" and first.actor is not None:
                username = first.actor.username
        login = LoginDialog(db, username=username)
        QTimer.singleShot(0, lambda: print(f"desktop-audit: window open on {app.platformName()} "
                                           f"({db.path.name})", flush=True))
        if login.exec() != QDialog.DialogCode.Accepted or login.actor is None:
            return 0
        settings.setValue("login/username", login.actor.username)
        window = MainWindow(db, login.actor, settings=settings)
        signed_out: list[bool] = []
        window.signed_out.connect(signed_out.append)
        window.show()
        app.exec()
        if not signed_out:
            return 0


def settle(app: QApplication, db: Any = None, rounds: int = 5) -> None:
    """Let queued work finish: background counts, charts, layouts."""
    from desktop_audit.ui.runner import runner_for

    for _ in range(rounds):
        if db is not None:
            runner_for(db).drain()
        app.processEvents()


def render(db: Any, actor: Any, view: str, out: Path) -> Path:
    """Render one view (or the form of an open finding) at 1280×800 into a PNG."""
    from desktop_audit.ui.main_window import VIEW_KEYS, MainWindow, sees_view

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = make_app()
    form_view = view == "finding-form"
    if not form_view and view not in VIEW_KEYS:
        from desktop_audit.errors import ValidationError

        raise ValidationError("VIEW", f"unknown view {view!r} (one of {', '.join(VIEW_KEYS)}, "
                                      "finding-form)")
    if view == "users" and not sees_view(actor, "User"):
        from desktop_audit.errors import PermissionDenied

        raise PermissionDenied("only an admin sees the Users view")
    window = MainWindow(db, actor, settings=None, view="findings" if form_view else view)
    window.resize(*SIZE)
    window.show()
    settle(app, db)
    image = window.grab()
    if form_view:
        dialog = open_finding_form(db, actor, window)
        dialog.resize(860, 740)
        dialog.show()
        settle(app, db)
        form = dialog.grab()
        painter = QPainter(image)
        painter.fillRect(image.rect(), _shade())
        x = (image.width() - form.width()) // 2
        y = (image.height() - form.height()) // 2
        painter.drawPixmap(x, max(y, 0), form)
        painter.end()
        dialog.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        from desktop_audit.errors import FileFormatError

        raise FileFormatError(f"cannot write {out}")
    window.close()
    settle(app, db, 1)
    return out


def _shade() -> Any:
    from PySide6.QtGui import QColor

    return QColor(0, 0, 0, 90)


def open_finding_form(db: Any, actor: Any, window: Any) -> Any:
    """The edit form of the open finding with the most to show (photos, history)."""
    import peewee

    from desktop_audit.errors import NotFound
    from desktop_audit.schema import EVIDENCE, FINDING
    from desktop_audit.services import visible_site_ids
    from desktop_audit.store import rows

    f, e = rows.model(FINDING), rows.model(EVIDENCE)
    photos = e.select(peewee.fn.COUNT(e.objectId)).where(e.parentId == f.objectId)
    found = (f.select(f.objectId)
             .where(f.deletedAt.is_null(), f.closed == False,  # noqa: E712 - SQL, not Python
                    f.site.in_(visible_site_ids(db, actor)))
             .order_by(peewee.Desc(photos), f.severity, f.updatedAt.desc()).limit(1).tuples())
    row = next(iter(found), None)
    if row is None:
        raise NotFound("no open finding to show")
    return window.open_record(FINDING.name, row[0])
