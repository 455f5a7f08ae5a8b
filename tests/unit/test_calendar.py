"""One calendar: a due date is a date at the site, whatever the laptop's or the server's zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from desktop_audit import clock, services
from desktop_audit.errors import ValidationError
from desktop_audit.records.findings import FINDINGS
from desktop_audit.records.legal import LEGAL_ENTRIES
from desktop_audit.schema import SITE
from desktop_audit.store import open_database, rows
from desktop_audit.store.migrations import migrate
from tests.conftest import World

# From UTC−12 to UTC+14, with half-hour and southern-hemisphere zones between.
ZONES = ("Etc/GMT+12", "Pacific/Pago_Pago", "America/Los_Angeles", "America/St_Johns",
         "America/New_York", "UTC", "Europe/Warsaw", "Asia/Kolkata", "Asia/Tokyo",
         "Pacific/Auckland", "Pacific/Kiritimati")
DAY = date(2026, 11, 18)


def _half_past_eleven(zone: str, day: date = DAY) -> datetime:
    """23:30 on *day* at the site, as an instant."""
    return datetime.combine(day, time(23, 30), tzinfo=ZoneInfo(zone))


def test_today_is_the_sites_date_at_half_past_eleven_in_the_evening() -> None:
    for zone in ZONES:
        with clock.frozen(_half_past_eleven(zone)):
            assert clock.today(zone) == DAY, zone
            # Across the world the date differs by at most two days at any instant.
            others = {clock.today(z) for z in ZONES}
            assert max(others) - min(others) <= timedelta(days=2)
    # 23:30 at the westernmost site is already the day after tomorrow at the easternmost.
    with clock.frozen(_half_past_eleven("Etc/GMT+12")):
        assert clock.today("Pacific/Kiritimati") == DAY + timedelta(days=2)


def test_the_due_date_rule() -> None:
    assert not clock.is_overdue(DAY.isoformat(), DAY)  # due today is not overdue
    assert clock.is_overdue((DAY - timedelta(days=1)).isoformat(), DAY)
    assert not clock.is_overdue(None, DAY)
    assert clock.is_due_within((DAY + timedelta(days=7)).isoformat(), DAY, 7)
    assert not clock.is_due_within((DAY + timedelta(days=8)).isoformat(), DAY, 7)


def _site_in(w: World, zone: str, code: str) -> str:
    site = services.create_site(w.db, w.admin, siteCode=code, siteName=f"Site in {zone}",
                                region="Anywhere", siteOwner=w.manager.id, timeZone=zone)
    return site


@pytest.mark.parametrize("zone", ZONES)
def test_overdue_and_closing_follow_the_sites_calendar(world: World, zone: str) -> None:
    """At 23:30 on the due date at the site the obligation is not yet overdue, so a finding
    about it may be closed; a day later it is overdue and the close is refused, wherever
    the laptop is."""
    site = _site_in(world, zone, "TZ-1")
    entries = {}
    for name, due in (("today", DAY), ("yesterday", DAY - timedelta(days=1))):
        entries[name] = services.add_legal_entry(
            world.db, world.admin, site=site, referenceCode=f"REF-{name}",
            requirementTitle="Permit", requirementType="permit", jurisdiction="Anywhere",
            reviewFrequency="annual", dueDate=due.isoformat(), owner=world.coordinator.id,
            complianceStatus="compliant")
    findings = {name: services.raise_finding(
        world.db, world.admin, site=site, logType="legal", sourceId=oid, severity="observation",
        description="Permit evidence", correctiveAction="File it",
        verificationNote="Seen on file") for name, oid in entries.items()}
    manager = services.users.refresh_actor(world.db, world.manager)  # now owns the new site
    with clock.frozen(_half_past_eleven(zone)):
        today = clock.today(zone)
        due_today = rows.load(world.db, LEGAL_ENTRIES.cdef, entries["today"])
        due_yesterday = rows.load(world.db, LEGAL_ENTRIES.cdef, entries["yesterday"])
        assert not LEGAL_ENTRIES.is_overdue(due_today, today)
        assert LEGAL_ENTRIES.is_overdue(due_yesterday, today)
        assert LEGAL_ENTRIES.row_state(due_yesterday, today).why == "evaluation overdue"
        finding = rows.load(world.db, FINDINGS.cdef, findings["today"])
        assert services.closing_blockers(world.db, manager, finding) == []
        services.close_finding(world.db, manager, findings["today"])
        with pytest.raises(ValidationError, match="overdue"):
            services.close_finding(world.db, manager, findings["yesterday"])


def test_an_evaluation_without_a_date_is_dated_at_the_site(world: World) -> None:
    site = _site_in(world, "Pacific/Kiritimati", "TZ-2")
    oid = services.add_legal_entry(
        world.db, world.admin, site=site, referenceCode="REF-1", requirementTitle="Permit",
        requirementType="permit", jurisdiction="Anywhere", reviewFrequency="monthly",
        dueDate=DAY.isoformat(), owner=world.coordinator.id)
    # 11:00 UTC on the 18th is already 01:00 on the 19th at the site.
    with clock.frozen(datetime(2026, 11, 18, 11, 0, tzinfo=ZoneInfo("UTC"))):
        due = services.record_legal_evaluation(world.db, world.admin, oid,
                                               complianceStatus="compliant")
    entry = rows.load(world.db, LEGAL_ENTRIES.cdef, oid)
    assert entry["lastEvaluatedAt"] == "2026-11-19"
    assert due == "2026-12-19"


def test_a_new_site_gets_the_laptops_zone_and_a_bad_zone_is_refused(world: World) -> None:
    oid = services.create_site(world.db, world.admin, siteCode="TZ-3", siteName="Laptop zone",
                               region="Here", siteOwner=world.manager.id)
    assert rows.load(world.db, SITE, oid)["timeZone"] == clock.local_zone_name()
    with pytest.raises(ValidationError, match="not a time zone"):
        services.update_site(world.db, world.admin, oid, timeZone="Mars/Olympus_Mons")


def test_the_upgrade_gives_existing_sites_the_laptops_zone(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = open_database(path, migrate=False)
    migrate(db, target=3)
    db.execute('INSERT INTO "user" ("objectId", "createdAt", "updatedAt", "username", "role") '
               "VALUES ('u000000001', 'x', 'x', 'boss', 'admin')")
    db.execute('INSERT INTO audit_site ("objectId", "createdAt", "updatedAt", "siteCode", '
               '"siteName", "region", "siteOwner") VALUES '
               "('s000000001', 'x', 'x', 'OLD-1', 'Old', 'North', 'u000000001')")
    db.close()
    db = open_database(path)
    try:
        site = rows.load(db, SITE, "s000000001")
        assert site["timeZone"] == clock.local_zone_name()
        # Queued for the next sync, so the server and the other laptops learn it.
        queued = db.execute('SELECT "className", "objectId" FROM outbox').fetchall()
        assert ("AuditSite", "s000000001") in queued
    finally:
        db.close()
