"""The sync dialog and the status bar, without a server: what a laptop offline shows."""

from __future__ import annotations

import socket

from pytestqt.qtbot import QtBot

from desktop_audit.ui.dialogs.sync_dialog import SyncDialog
from desktop_audit.ui.main_window import MainWindow
from tests.conftest import PASSWORD, World
from tests.ui.conftest import add_finding


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
    add_finding(world, text="Another one")  # the finding and its trail event
    win.update_sync_status()
    qtbot.waitUntil(lambda: pending() == before + 2, timeout=10_000)


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
