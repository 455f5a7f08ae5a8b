"""The sync dialog and the status bar, without a server: what a laptop offline shows."""

from __future__ import annotations

import socket

from pytestqt.qtbot import QtBot

from desktop_audit.ui.dialogs.sync_dialog import SyncDialog
from desktop_audit.ui.main_window import MainWindow
from tests.conftest import PASSWORD, World
from tests.ui.conftest import add_finding, finish


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_status_bar_counts_changes_waiting_and_says_offline(qtbot: QtBot, world: World) -> None:
    add_finding(world)
    win = MainWindow(world.db, world.coordinator)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: "changes not yet synced" in win.sync_label.text(), timeout=10_000)
    assert win.sync_label.text().startswith("Offline (no server set)")
    def pending() -> int:
        return int(win.sync_label.text().split("·")[-1].split()[0].replace(",", ""))

    before = pending()
    add_finding(world, text="Another one")  # one record more (its trail event is not counted)
    win.update_sync_status()
    qtbot.waitUntil(lambda: pending() == before + 1, timeout=60_000)


def test_a_server_that_does_not_answer_is_reported_and_nothing_is_lost(qtbot: QtBot,
                                                                      world: World) -> None:
    add_finding(world)
    dlg = SyncDialog(world.db, world.coordinator)
    qtbot.addWidget(dlg)
    assert "Last sync: <b>never</b>" in dlg.state.text()
    dlg.server.setText("")
    assert dlg.start() is None
    assert "server" in dlg.stage.text().lower()
    dlg.server.setText(f"http://127.0.0.1:{_closed_port()}/parse")
    dlg.password.setText(PASSWORD)
    with qtbot.waitSignal(dlg.synced, timeout=60_000) as result:
        task = dlg.start()
        assert task is not None and dlg.close_button.text() == "Cancel"
    reached, message = result.args
    assert "cannot reach" in message or "not reachable" in message or "refused" in message, message
    assert dlg.sync_button.isEnabled() and dlg.close_button.text() == "Close"
    assert world.db.meta("sync_server", "").startswith("http://127.0.0.1:")
    pending = world.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    assert pending > 0


def test_a_conflict_is_resolved_with_a_typed_value(qtbot: QtBot, world: World) -> None:
    from desktop_audit.domain import trail
    from desktop_audit.schema import FINDING
    from desktop_audit.store import rows

    fid = add_finding(world)
    # What a sync records when the same field changed on this laptop and on the server.
    world.db.execute(
        'INSERT INTO sync_conflict ("className", "objectId", "field", "mine", "theirs", "base", '
        '"theirsUpdatedAt", "detectedAt") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        ("AuditFinding", fid, "correctiveAction", '"Fit a padlock"', '"Weld the valve shut"',
         '"Padlock the valve"', "2026-11-27T10:00:00.000Z", "2026-11-27T10:00:01.000Z"))
    dlg = SyncDialog(world.db, world.manager)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.conflicts.count() == 1 and "Weld the valve shut" in dlg.conflicts.item(0).text()
    assert dlg.edited.text() == "Fit a padlock"  # starts from my value
    dlg.edited.setText("Fit a padlock and a valve-position sign")
    dlg.use_edited.click()
    finish(qtbot, dlg.resolving)
    assert dlg.conflicts.count() == 0 and not dlg.use_edited.isVisible()
    record = rows.load(world.db, FINDING, fid)
    assert record["correctiveAction"] == "Fit a padlock and a valve-position sign"
    history = trail.history(world.db, "AuditFinding", fid)
    assert history[-1]["action"] == "resolve"
    assert "Weld the valve shut" in str(history[-1]["changes"])
