"""A list's "overdue" is judged by the date at each row's site, not the laptop's.

At 23:30 somewhere, sites from UTC-12 to UTC+14 are on up to three different dates.  A
legal entry due today at its site is not overdue there (even where that date is already
yesterday or still tomorrow for the laptop); one due yesterday at its site is.  The quick
filter, the row colour and the dashboard's count say the same.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop_audit import clock, services
from desktop_audit.schema import LEGAL
from desktop_audit.store import listing
from desktop_audit.ui.table_models import AMBER, GREEN, RecordTableModel
from desktop_audit.ui.views.dashboard import Dashboard
from tests.conftest import World

ZONES = ("Etc/GMT+12", "America/Los_Angeles", "UTC", "Europe/Warsaw", "Asia/Tokyo",
         "Pacific/Kiritimati")
DAY = date(2026, 3, 10)


def add_sites(w: World) -> dict[str, str]:
    return {zone: services.create_site(w.db, w.admin, siteCode=f"Z-{n}", siteName=zone,
                                       region="World", siteOwner=w.manager.id, timeZone=zone)
            for n, zone in enumerate(ZONES)}


def add_entry(w: World, site: str, code: str, due: date) -> str:
    return services.add_legal_entry(w.db, w.admin, site=site, referenceCode=code,
                                    requirementTitle="Permit", requirementType="permit",
                                    jurisdiction="Here", reviewFrequency="annual",
                                    dueDate=due.isoformat(), complianceStatus="compliant",
                                    owner=w.admin.id)


@pytest.mark.parametrize("evening_in", ZONES)
def test_due_today_at_the_site_is_not_overdue_and_due_yesterday_is(
        qtbot: QtBot, world: World, evening_in: str) -> None:
    sites = add_sites(world)
    with clock.frozen(datetime.combine(DAY, time(23, 30), tzinfo=ZoneInfo(evening_in))):
        assert len({clock.today(zone) for zone in ZONES}) >= 2  # the sites disagree on the date
        late = set()
        for zone, site in sites.items():
            today = clock.today(zone)
            add_entry(world, site, "DUE-TODAY", today)
            late.add(add_entry(world, site, "DUE-YESTERDAY", today - timedelta(days=1)))

        model = RecordTableModel(world.db, world.admin, LEGAL)
        model.set_quick("overdue")
        assert {model.object_id(r) for r in range(model.rowCount())} == late

        model.set_quick(None)
        assert model.rowCount() == 2 * len(ZONES)
        for r in range(model.rowCount()):
            brush = model.data(model.index(r, 0), Qt.ItemDataRole.BackgroundRole)
            why = model.data(model.index(r, 0), Qt.ItemDataRole.ToolTipRole)
            if model.object_id(r) in late:
                assert brush.color() == AMBER and why == "evaluation overdue"
            else:
                assert brush.color() == GREEN and why == "compliant"

        dashboard = Dashboard(world.db, world.admin)
        qtbot.addWidget(dashboard)
        qtbot.waitUntil(lambda: dashboard.ready)
        assert dashboard.cards[LEGAL.name].note.text() == f"{len(late)} overdue"


def test_today_is_one_parameter_when_every_site_has_the_same_date() -> None:
    here = clock.local_zone_name()
    with clock.frozen(datetime.combine(DAY, time(12, 0), tzinfo=ZoneInfo("UTC"))):
        sql, params = listing.today_sql("site", {"A": here, "B": here})
        assert (sql, params) == ("?", [clock.today(None).isoformat()])
        sql, params = listing.today_sql("site", {"A": "Pacific/Kiritimati", "B": "Etc/GMT+12"})
        assert sql.startswith("CASE") and sql.count("?") == len(params)
        assert {"2026-03-11", "2026-03-10"} <= set(params)  # sites a day apart
