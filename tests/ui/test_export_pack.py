"""The evidence pack dialog: exported off the GUI thread with progress, cancellable."""

from __future__ import annotations

import threading
from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop_audit.ui.dialogs.export_pack import ExportPackDialog
from desktop_audit.ui.main_window import MainWindow
from desktop_audit.ui.runner import runner_for
from tests.conftest import World
from tests.ui.conftest import add_aspect, add_finding


def test_export_a_pack_with_chosen_sections(qtbot: QtBot, world: World, tmp_path: Path) -> None:
    add_aspect(world)
    add_finding(world)
    dlg = ExportPackDialog(world.db, world.auditor, open_when_done=False)
    qtbot.addWidget(dlg)
    assert dlg.site.count() == 1  # the auditor's one site
    out = tmp_path / "pack.pdf"
    dlg.out.setText(str(out))
    for key, box in dlg.sections.items():
        box.setChecked(key in ("findings", "aspects"))
    assert dlg.chosen_sections() == ["aspects", "findings"]
    with qtbot.waitSignal(dlg.exported, timeout=60_000) as result:
        dlg.export_button.click()
    assert result.args[0].pages >= 2
    assert out.read_bytes()[:5] == b"%PDF-"
    assert "pages" in dlg.stage.text()
    assert dlg.export_button.isEnabled()


def test_cancel_leaves_no_file(qtbot: QtBot, world: World, tmp_path: Path) -> None:
    dlg = ExportPackDialog(world.db, world.manager, open_when_done=False)
    qtbot.addWidget(dlg)
    out = tmp_path / "pack.pdf"
    dlg.out.setText(str(out))
    # The writer is busy with an earlier job, so Cancel is pressed before the pack's first step.
    earlier = threading.Event()
    runner_for(world.db).write(lambda _control: earlier.wait(30), title="an earlier write")
    task = dlg.start()
    assert task is not None
    task.cancel()
    earlier.set()
    qtbot.waitUntil(lambda: task.delivered, timeout=60_000)
    assert "cancelled" in dlg.stage.text().lower()
    assert not out.exists()


def test_field_staff_cannot_export_a_pack(qtbot: QtBot, world: World) -> None:
    win = MainWindow(world.db, world.field_staff)
    qtbot.addWidget(win)
    assert not win.export_pack_action.isEnabled()
    assert "may not export evidence packs" in win.export_pack_action.toolTip()
    manager = MainWindow(world.db, world.manager)
    qtbot.addWidget(manager)
    assert manager.export_pack_action.isEnabled()


def test_the_pack_dialog_opens_on_a_review(qtbot: QtBot, world: World) -> None:
    from datetime import date

    from desktop_audit import services

    rid = services.plan_review(world.db, world.admin, site=world.site_a,
                               auditDate=date.today().isoformat(), leadAuditor=world.auditor.id)
    dlg = ExportPackDialog(world.db, world.coordinator, site=world.site_a, review=rid,
                           open_when_done=False)
    qtbot.addWidget(dlg)
    assert dlg.review.currentData() == rid
    assert "not approved yet" in dlg.review_note.text()


def test_close_shuts_the_pack_dialog_when_idle(qtbot: QtBot, world: World) -> None:
    dlg = ExportPackDialog(world.db, world.manager, open_when_done=False)
    qtbot.addWidget(dlg)
    dlg.show()
    with qtbot.waitSignal(dlg.rejected):
        dlg.cancel_button.click()
    assert not dlg.isVisible()
