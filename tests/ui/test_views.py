"""The main window, the lists, the dashboard, the trail, login and first run, long work."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from desktop_audit import clock, services
from desktop_audit.schema import BY_NAME
from desktop_audit.ui.dialogs.login import FirstRunDialog, LoginDialog
from desktop_audit.ui.dialogs.record_form import RecordDialog
from desktop_audit.ui.main_window import MainWindow
from desktop_audit.ui.runner import runner_for
from desktop_audit.ui.views.list_view import ListView
from tests.conftest import PASSWORD, World
from tests.ui.conftest import add_aspect, add_finding, add_legal, click_save, finish


def window(qtbot: QtBot, w: World, role: str = "admin",
           settings: QSettings | None = None) -> MainWindow:
    win = MainWindow(w.db, w.actor(role), settings=settings)
    qtbot.addWidget(win)
    win.show()
    return win


def listing(qtbot: QtBot, w: World, cls: str, role: str = "admin") -> ListView:
    view = ListView(w.db, w.actor(role), BY_NAME[cls])
    qtbot.addWidget(view)
    view.show()
    return view


def test_login_refuses_a_wrong_password_and_accepts_the_right_one(qtbot: QtBot,
                                                                   world: World) -> None:
    dlg = LoginDialog(world.db)
    qtbot.addWidget(dlg)
    qtbot.keyClicks(dlg.username, "auditor")
    qtbot.keyClicks(dlg.password, "wrong-password")
    # One instant for both attempts: the second comes before the 1 s wait has passed, however
    # long the machine takes over the first.
    with clock.frozen("2026-06-01T10:00:00Z"):
        dlg.sign_in.click()
        finish(qtbot, dlg.op)
        assert dlg.actor is None
        assert "wrong username or password" in dlg.error.text()
        dlg.password.setText(PASSWORD)
        dlg.sign_in.click()
        finish(qtbot, dlg.op)
    assert "too many failed logins" in dlg.error.text()  # the growing delay holds in the UI too


def test_login_accepts_the_right_password(qtbot: QtBot, world: World) -> None:
    dlg = LoginDialog(world.db, username="coordinator")
    qtbot.addWidget(dlg)
    dlg.password.setText(PASSWORD)
    with qtbot.waitSignal(dlg.accepted):
        dlg.sign_in.click()
    assert dlg.actor is not None and dlg.actor.role == "coordinator"


def test_first_run_creates_the_administrator(qtbot: QtBot, db) -> None:  # noqa: ANN001
    dlg = FirstRunDialog(db)
    qtbot.addWidget(dlg)
    dlg.email.setText("me@example.com")
    dlg.password.setText("long-enough-1")
    dlg.again.setText("different-99")
    dlg.create.click()
    assert dlg.task is None and "differ" in dlg.error.text()
    assert services.users.count_users(db) == 0
    dlg.again.setText("long-enough-1")
    with qtbot.waitSignal(dlg.accepted):
        dlg.create.click()
    assert services.users.count_users(db) == 1 and dlg.actor is not None


def test_navigation_status_bar_and_users_only_for_admin(qtbot: QtBot, world: World) -> None:
    win = window(qtbot, world, "admin")
    assert "users" in win.keys
    for key in win.keys:
        win.show_view(key)
        assert win.stack.currentWidget() is win.views[key]
    assert "Alex" not in win.user_label.text() and "admin" in win.user_label.text()
    qtbot.waitUntil(lambda: "changes not yet synced" in win.sync_label.text(), timeout=10_000)
    n = int(win.sync_label.text().split("·")[-1].split()[0].replace(",", ""))
    assert n > 0
    auditor = window(qtbot, world, "auditor")
    assert "users" not in auditor.keys
    assert auditor.nav.count() == len(auditor.keys)


def test_the_window_remembers_its_size_and_last_view(qtbot: QtBot, world: World,
                                                      settings: QSettings) -> None:
    win = window(qtbot, world, settings=settings)
    win.show_view("legal")
    win.resize(1100, 700)
    win.close()
    again = window(qtbot, world, settings=settings)
    assert again.current_key() == "legal"
    assert again.size().width() == 1100


def test_filters_narrow_the_list(qtbot: QtBot, world: World) -> None:
    add_finding(world, text="Bund wall cracked", severity="major_nc")
    add_finding(world, text="Drum store unlabelled")
    add_finding(world, text="Closed long ago", site=world.site_b)
    view = listing(qtbot, world, "AuditFinding")
    assert view.model.rowCount() == 3
    assert view.footer.text().startswith("3 findings")
    qtbot.keyClicks(view.search, "cracked")
    assert view.model.rowCount() == 1
    view.search.clear()
    view.site.setCurrentIndex(view.site.findData(world.site_b))
    assert view.model.rowCount() == 1
    view.site.setCurrentIndex(0)
    view.quick.setCurrentIndex(view.quick.findData("open_major_nc"))
    assert view.model.rowCount() == 1
    assert view.model.record(0)["description"] == "Bund wall cracked"


def test_legal_and_aspect_filters(qtbot: QtBot, world: World) -> None:
    add_legal(world, code="LATE", due_in=-10)
    add_legal(world, code="BAD", status="non_compliant")
    add_legal(world, code="FINE")
    legal = listing(qtbot, world, "LegalRegisterEntry")
    legal.quick.setCurrentIndex(legal.quick.findData("overdue"))
    assert [legal.model.record(r)["referenceCode"] for r in range(legal.model.rowCount())] == ["LATE"]
    legal.quick.setCurrentIndex(legal.quick.findData("non_compliant"))
    assert legal.model.record(0)["referenceCode"] == "BAD" and legal.model.rowCount() == 1
    add_aspect(world, likelihood=5, severity=4)
    add_aspect(world, likelihood=1, severity=1)
    aspects = listing(qtbot, world, "AspectImpactLog")
    aspects.quick.setCurrentIndex(aspects.quick.findData("significant"))
    assert aspects.model.rowCount() == 1 and aspects.model.record(0)["riskRating"] == 20


def test_column_chooser_hides_and_remembers(qtbot: QtBot, world: World,
                                            settings: QSettings) -> None:
    view = ListView(world.db, world.admin, BY_NAME["AuditFinding"], settings=settings)
    qtbot.addWidget(view)
    assert "description" in view.visible_columns()
    assert "rootCause" not in view.visible_columns()
    col = view.model.column_index("description")
    view.columns_menu.actions()[col].setChecked(False)
    assert "description" not in view.visible_columns()
    again = ListView(world.db, world.admin, BY_NAME["AuditFinding"], settings=settings)
    qtbot.addWidget(again)
    assert "description" not in again.visible_columns()


def test_keyboard_new_search_and_enter_opens(qtbot: QtBot, world: World) -> None:
    oid = add_finding(world)
    win = window(qtbot, world, "auditor")
    win.show_view("findings")
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    QTest.keySequence(win, QKeySequence(QKeySequence.StandardKey.New))
    assert len(win.dialogs) == 1 and win.dialogs[0].object_id is None
    win.dialogs[0].close()
    QTest.keySequence(win, QKeySequence(QKeySequence.StandardKey.Find))
    view = win.list_view()
    qtbot.waitUntil(lambda: view.search.hasFocus())
    view.table.setFocus()
    view.table.selectRow(0)
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    opened = [d for d in win.dialogs if d.object_id == oid]
    assert opened
    QTest.keyClick(opened[0], Qt.Key.Key_Escape)
    assert not opened[0].isVisible()


def test_saving_a_form_refreshes_the_list(qtbot: QtBot, world: World) -> None:
    win = window(qtbot, world, "coordinator")
    view = win.show_view("findings")
    assert view.model.rowCount() == 0
    dialog: RecordDialog = win.open_record("AuditFinding", "")
    e = dialog.editors
    e["site"].set_value(world.site_a)
    e["severity"].set_value("minor_nc")
    e["description"].set_value("No spill drill this year")
    e["correctiveAction"].set_value("Hold a drill")
    click_save(qtbot, dialog)
    assert view.model.rowCount() == 1


def test_dashboard_counts_and_clicks_through(qtbot: QtBot, world: World) -> None:
    add_aspect(world, likelihood=5, severity=4)
    add_aspect(world, likelihood=2, severity=2)
    add_finding(world, severity="major_nc", due_in=-2)
    add_legal(world, code="LATE", due_in=-1)
    win = window(qtbot, world, "manager")
    dash = win.views["dashboard"]
    qtbot.waitUntil(lambda: dash.ready)  # read off the GUI thread
    assert dash.cards["AspectImpactLog"].number.text() == "2"
    assert "1 significant" in dash.cards["AspectImpactLog"].note.text()
    assert dash.open_by_severity["major_nc"] == 1
    assert dash.heat.item(0, 3).text() == "1"  # likelihood 5 (top row) × severity 4
    _head, overdue = dash.lists["overdue"]
    assert "LATE" in overdue.item(0).text()
    dash.heat.cellClicked.emit(0, 3)
    assert win.current_key() == "aspects"
    aspects = win.list_view()
    assert aspects.model.rowCount() == 1 and aspects.model.record(0)["riskRating"] == 20
    win.show_view("dashboard")
    dash.lists["past_due"][0].click()
    assert win.current_key() == "findings"
    assert win.list_view().quick.currentData() == "past_due"
    assert win.list_view().model.rowCount() == 1


def test_trail_view_verifies_off_the_gui_thread(qtbot: QtBot, world: World) -> None:
    win = window(qtbot, world, "admin")
    trail = win.show_view("trail")
    qtbot.waitUntil(lambda: trail.ok is not None, timeout=10_000)
    assert trail.ok is True
    assert "Audit trail verified" in trail.state.text()
    assert trail.list.model.rowCount() > 0


def test_import_and_export_run_in_the_background(qtbot: QtBot, world: World,
                                                 tmp_path: Path) -> None:
    add_finding(world, text="Already here")
    view = listing(qtbot, world, "AuditFinding", role="coordinator")
    out = tmp_path / "findings.csv"
    task = view.start_export(out, show_progress=False)
    qtbot.waitUntil(lambda: task.delivered, timeout=10_000)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["description"] for r in rows] == ["Already here"]
    assert rows[0]["site"] == "PLT-01"
    new = tmp_path / "new.csv"
    with new.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["site", "logType", "severity", "description", "correctiveAction"])
        for n in range(3):
            writer.writerow(["PLT-01", "general", "observation", f"Imported {n}", "Look"])
    task = view.start_import(new, show_progress=False)
    qtbot.waitUntil(lambda: task.delivered, timeout=10_000)
    assert "3 created" in view.footer.text()
    assert view.model.rowCount() == 4


def test_a_cancelled_import_changes_nothing(qtbot: QtBot, world: World, tmp_path: Path) -> None:
    view = listing(qtbot, world, "AuditFinding", role="coordinator")
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["site", "logType", "severity", "description", "correctiveAction"])
        for n in range(1200):
            writer.writerow(["PLT-01", "general", "observation", f"Row {n}", "Look"])
    # The writer is busy, so Cancel is pressed before the import has begun.
    earlier = threading.Event()
    runner_for(world.db).write(lambda _control: earlier.wait(30), title="an earlier write")
    task = view.start_import(big, show_progress=False)
    task.cancel()
    with qtbot.waitSignal(task.was_cancelled, timeout=10_000) as result:
        earlier.set()
    assert "nothing was imported" in result.args[0]
    view.reload()
    assert view.model.rowCount() == 0


def test_a_failed_import_says_which_row_and_field(qtbot: QtBot, world: World,
                                                 tmp_path: Path) -> None:
    view = listing(qtbot, world, "AuditFinding", role="coordinator")
    bad = tmp_path / "bad.csv"
    bad.write_text("site,logType,severity,description,correctiveAction\n"
                   "PLT-01,general,catastrophic,Oops,Fix\n", encoding="utf-8")
    task = view.start_import(bad, show_progress=False)
    qtbot.waitUntil(lambda: task.delivered, timeout=10_000)  # its failure reached the view
    assert "row 2" in view.footer.text() and "severity" in view.footer.text()
    assert view.model.rowCount() == 0


def test_enter_on_a_trail_event_opens_the_record_it_is_about(qtbot: QtBot, world: World) -> None:
    oid = add_finding(world, text="Traced finding")
    win = window(qtbot, world, "admin")
    trail = win.show_view("trail")
    view = trail.list
    view.search.setText(oid)
    assert view.model.rowCount() == 1
    view.table.selectRow(0)
    view.open_current()
    assert any(d.object_id == oid and d.cdef.name == "AuditFinding" for d in win.dialogs)


def test_actions_a_role_may_not_take_are_disabled_with_the_reason(qtbot: QtBot,
                                                                   world: World) -> None:
    legal = listing(qtbot, world, "LegalRegisterEntry", role="field_staff")
    assert not legal.new_button.isEnabled()
    assert "may not change the legal register" in legal.new_button.toolTip()
    assert not legal.import_button.isEnabled()
    findings = listing(qtbot, world, "AuditFinding", role="field_staff")
    assert findings.new_button.isEnabled()  # observations
    trail = listing(qtbot, world, "AuditTrailEvent", role="admin")
    assert not trail.new_button.isVisible() and not trail.import_button.isVisible()


def test_a_bar_of_the_severity_chart_opens_those_findings(qtbot: QtBot, world: World) -> None:
    add_finding(world, severity="minor_nc", text="Minor one")
    add_finding(world, severity="major_nc", text="Major one")
    win = window(qtbot, world, "manager")
    dash = win.views["dashboard"]
    qtbot.waitUntil(lambda: dash.ready)
    series = dash.severity_chart.chart().series()[0]
    order = list(reversed(("major_nc", "minor_nc", "observation", "opportunity")))
    series.clicked.emit(order.index("major_nc"), series.barSets()[0])
    assert win.current_key() == "findings"
    view = win.list_view()
    assert view.quick.currentData() == "open_major_nc"
    assert [view.model.record(r)["description"] for r in range(view.model.rowCount())] == \
        ["Major one"]


def test_a_short_word_searches_the_first_rows_says_so_and_enter_searches_all(
        qtbot: QtBot, world: World, monkeypatch) -> None:  # noqa: ANN001
    from desktop_audit.store import listing as list_sql

    late = add_finding(world, text="Old spill near zq gate")  # the oldest: last in the list
    for n in range(12):
        add_finding(world, text=f"Drum {n}")
    monkeypatch.setattr(list_sql, "WALK_BUDGET", -1.0)  # as on a large list: the walk is slow
    monkeypatch.setattr(list_sql, "CHECK_EVERY", 1)
    monkeypatch.setattr(list_sql, "BOUND", 5)
    view = listing(qtbot, world, "AuditFinding")
    qtbot.keyClicks(view.search, "zq")
    assert view.model.rowCount() == 0 and view.model.bounded
    assert "in the first 5 rows" in view.footer.text()
    assert "press Enter to search every row" in view.footer.text()
    QTest.keyClick(view.search, Qt.Key.Key_Return)
    assert view.model.rowCount() == 1 and view.model.object_id(0) == late
    assert not view.model.bounded and "first 5 rows" not in view.footer.text()
    qtbot.keyClicks(view.search, "x")  # typing on starts a new search
    assert view.model.rowCount() == 0
