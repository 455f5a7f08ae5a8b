"""The app while online: after Sync now it stays subscribed, so a colleague's finding shows
up in the open findings list within seconds, without pressing Sync again."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from desktop_audit import services
from desktop_audit.sync import status
from desktop_audit.ui.main_window import MainWindow
from tests.conftest import PASSWORD
from tests.sync.conftest import APP_ID, Server, Team


def _descriptions(win: MainWindow) -> list[str]:
    model = win.list_view("findings").model
    return [model.record(r)["description"] for r in range(model.rowCount())]


def test_a_colleagues_finding_appears_in_the_open_list(qtbot: QtBot, team: Team, server: Server,
                                                       laptops: Any) -> None:
    a = team.laptop
    status.save_settings(a.db, status.SyncSettings(server.url, APP_ID))
    win = MainWindow(a.db, a.actor)
    qtbot.addWidget(win)
    win.show()
    win.show_view("findings")
    assert _descriptions(win) == []

    win.open_sync()
    dialog = win.sync_dialog
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.synced, timeout=120_000) as outcome:
        dialog.start()
    assert outcome.args[0], outcome.args[1]
    qtbot.waitUntil(lambda: win.live is not None and win.live.running, timeout=20_000)
    dialog.close()

    m = laptops.join("m", "manager")
    services.raise_finding(m.db, m.actor, site=team.site_a, logType="general",
                           severity="minor_nc", description="Bund drain valve left open",
                           correctiveAction="Padlock the valve")
    assert m.sync().exit_code == 0
    # No Sync pressed on this laptop: the Live Query brings it and the list reloads.
    qtbot.waitUntil(lambda: "Bund drain valve left open" in _descriptions(win), timeout=20_000)

    # The connection drops (server side gone for this client): the next status check
    # pulls what was missed and subscribes again.
    win.live.live.stop()
    assert not win.live.running
    services.raise_finding(m.db, m.actor, site=team.site_a, logType="general",
                           severity="observation", description="Drip tray under pump full",
                           correctiveAction="Empty and log")
    assert m.sync().exit_code == 0

    def reconnected() -> bool:
        win.update_sync_status()  # the status bar's periodic check (a no-op while one runs)
        return bool(win.live.running and win.live.reconnects == 1)

    qtbot.waitUntil(reconnected, timeout=30_000)
    win.reload_views()
    qtbot.waitUntil(lambda: "Drip tray under pump full" in _descriptions(win), timeout=20_000)
    win.close()
    assert win.live is None
