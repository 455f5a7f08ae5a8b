"""Every view renders offscreen at 1280×800 with real fonts and real content."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QFontDatabase, QImage
from pytestqt.qtbot import QtBot

from desktop_audit import demo
from desktop_audit.commands.app import VIEWS
from desktop_audit.domain.auth import actor_from_row
from desktop_audit.schema import USER
from desktop_audit.store import rows
from desktop_audit.ui.app import render


def distinct_colours(image: QImage, step: int = 16) -> int:
    seen = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            seen.add(image.pixel(x, y))
    return len(seen)


@pytest.fixture
def demo_db(db):  # noqa: ANN001, ANN201
    demo.first_run(db)
    return db


def test_every_view_renders_with_fonts_and_content(qtbot: QtBot, demo_db,  # noqa: ANN001
                                                   tmp_path: Path) -> None:
    row = demo_db.execute('SELECT "objectId" FROM "user" WHERE "username" = ?',
                          (demo.ADMIN[0],)).fetchone()
    admin = actor_from_row(rows.load(demo_db, USER, row[0]))
    for view in VIEWS:
        out = render(demo_db, admin, view, tmp_path / f"{view}.png")
        image = QImage(str(out))
        assert (image.width(), image.height()) == (1280, 800), view
        assert distinct_colours(image) > 20, f"{view} looks blank"
    assert QFontDatabase.families(), "no fonts: text would not render"


def test_the_screenshot_command(tmp_path: Path) -> None:
    env = dict(os.environ, DESKTOP_AUDIT_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen",
               DESKTOP_AUDIT_PASSWORD=demo.USERS[2][4])
    db = str(tmp_path / "audit.sqlite")
    cli = [sys.executable, "-m", "desktop_audit", "--db", db]
    made = subprocess.run([*cli, "demo"], env=env, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "findings.png"
    shot = subprocess.run([*cli, "--user", demo.USERS[2][0], "screenshot", "findings", "--out",
                           str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert shot.returncode == 0, shot.stderr
    assert distinct_colours(QImage(str(out))) > 20
    refused = subprocess.run([*cli, "--user", demo.USERS[2][0], "screenshot", "users", "--out",
                              str(tmp_path / "users.png")], env=env, capture_output=True,
                             text=True, timeout=300)
    assert refused.returncode == 1
    assert "only an admin" in refused.stderr
