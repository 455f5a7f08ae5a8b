"""The lazy table model, without any widget: pages, SQL filters, sort, scope, row state."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from desktop_audit import services
from desktop_audit.schema import BY_NAME
from desktop_audit.ui.table_models import RED, RecordTableModel
from tests.conftest import World
from tests.ui.conftest import add_aspect, add_finding, add_legal


def _column(model: RecordTableModel, name: str) -> list[str]:
    col = model.column_index(name)
    return [model.data(model.index(r, col)) for r in range(model.rowCount())]


def test_pages_load_lazily_and_fetch_more_reads_the_next_page(world: World) -> None:
    for n in range(25):
        add_finding(world, text=f"Finding number {n:02d}")
    model = RecordTableModel(world.db, world.admin, BY_NAME["AuditFinding"], page=10)
    model.refresh()
    assert model.rowCount() == 10
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 25
    assert not model.canFetchMore(QModelIndex())


def test_search_and_quick_filters_narrow_the_rows_in_sql(world: World) -> None:
    add_finding(world, text="Bund wall cracked", severity="major_nc")
    add_finding(world, text="Drum store unlabelled")
    add_finding(world, text="Old overdue action", due_in=-3)
    model = RecordTableModel(world.db, world.admin, BY_NAME["AuditFinding"])
    model.refresh()
    assert model.rowCount() == 3
    model.set_search("bund")
    assert _column(model, "description") == ["Bund wall cracked"]
    model.set_search("")
    model.set_quick("past_due")
    assert _column(model, "description") == ["Old overdue action"]
    model.set_quick("open_major_nc")
    assert _column(model, "severity") == ["Major NC"]


def test_site_filter_and_what_a_user_may_see(world: World) -> None:
    add_finding(world, text="On site A")
    add_finding(world, text="On site B", site=world.site_b)
    admin = RecordTableModel(world.db, world.admin, BY_NAME["AuditFinding"])
    admin.refresh()
    assert admin.rowCount() == 2
    admin.set_site(world.site_b)
    assert _column(admin, "description") == ["On site B"]
    auditor = RecordTableModel(world.db, world.auditor, BY_NAME["AuditFinding"])
    auditor.refresh()
    assert _column(auditor, "description") == ["On site A"]
    assert _column(auditor, "site") == ["PLT-01"]


def test_sorting_runs_in_sql_and_values_read_as_people_expect(world: World) -> None:
    add_aspect(world, likelihood=1, severity=2, text="small")
    add_aspect(world, likelihood=5, severity=5, text="huge")
    add_aspect(world, likelihood=3, severity=3, text="middle")
    model = RecordTableModel(world.db, world.admin, BY_NAME["AspectImpactLog"])
    model.refresh()
    assert _column(model, "aspectDescription") == ["huge", "middle", "small"]  # risk, highest first
    model.sort(model.column_index("riskRating"), Qt.SortOrder.AscendingOrder)
    assert _column(model, "riskRating") == ["2", "9", "25"]
    assert _column(model, "impactRating") == ["Low", "Medium", "Critical"]
    assert _column(model, "significant") == ["No", "No", "Yes"]


def test_rows_are_coloured_by_state(world: World) -> None:
    add_legal(world, code="OK-1", status="compliant")
    add_legal(world, code="BAD-1", status="non_compliant")
    model = RecordTableModel(world.db, world.admin, BY_NAME["LegalRegisterEntry"])
    model.refresh()
    codes = _column(model, "referenceCode")
    bad = codes.index("BAD-1")
    brush = model.data(model.index(bad, 0), Qt.ItemDataRole.BackgroundRole)
    assert brush.color() == RED
    assert "non-compliant" in model.data(model.index(bad, 0), Qt.ItemDataRole.ToolTipRole)


def test_a_new_record_appears_after_refresh_and_deleted_ones_do_not(world: World) -> None:
    model = RecordTableModel(world.db, world.admin, BY_NAME["AuditFinding"])
    model.refresh()
    assert model.rowCount() == 0
    oid = add_finding(world)
    model.refresh()
    assert model.object_id(0) == oid
    services.delete_record(world.db, world.admin, "AuditFinding", oid)
    model.refresh()
    assert model.rowCount() == 0


@pytest.mark.parametrize("plan", ["walk", "index", "bounded"])
def test_a_search_pages_the_same_rows_whichever_plan_reads_them(
        world: World, monkeypatch, plan: str) -> None:  # noqa: ANN001
    from desktop_audit.store import listing, search_index

    for n in range(30):
        add_finding(world, text=f"Leaking valve {n:02d}" if n % 3 == 0 else f"Other {n:02d}")
    usual = RecordTableModel(world.db, world.admin, BY_NAME["AuditFinding"], page=4)
    usual.set_search("valve")
    while usual.canFetchMore(QModelIndex()):
        usual.fetchMore(QModelIndex())
    if plan == "walk":
        monkeypatch.setattr(listing, "FEW", 0)
        monkeypatch.setattr(listing, "WALK_BUDGET", 60.0)
    elif plan == "index":
        monkeypatch.setattr(listing, "FEW", 10**9)
    else:  # the index cannot narrow the search and every walk is interrupted
        monkeypatch.setattr(search_index, "narrowing", lambda *_a: None)
        monkeypatch.setattr(listing, "WALK_BUDGET", -1.0)
        monkeypatch.setattr(listing, "CHECK_EVERY", 1)
    forced = RecordTableModel(world.db, world.admin, BY_NAME["AuditFinding"], page=4)
    forced.set_search("valve")
    assert forced.plan == plan
    while forced.canFetchMore(QModelIndex()):
        forced.fetchMore(QModelIndex())
    assert forced.rowCount() == usual.rowCount() == 10
    assert [forced.object_id(r) for r in range(10)] == [usual.object_id(r) for r in range(10)]


def test_a_closed_finding_reads_grey_and_an_overdue_one_red(world: World) -> None:
    from desktop_audit.ui.table_models import GREY

    late = add_finding(world, text="Late", due_in=-2)
    done = add_finding(world, text="Done")
    services.close_finding(world.db, world.admin, done, verificationNote="Checked",
                           rootCause="No procedure")
    model = RecordTableModel(world.db, world.admin, BY_NAME["AuditFinding"])
    model.refresh()
    row = {model.object_id(r): r for r in range(model.rowCount())}
    closed = model.index(row[done], 0)
    assert model.data(closed, Qt.ItemDataRole.ForegroundRole).color() == GREY
    assert model.data(closed, Qt.ItemDataRole.BackgroundRole) is None
    overdue = model.index(row[late], 0)
    assert model.data(overdue, Qt.ItemDataRole.BackgroundRole).color() == RED
    assert "past its due date" in model.data(overdue, Qt.ItemDataRole.ToolTipRole)
