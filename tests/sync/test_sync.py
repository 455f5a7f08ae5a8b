"""Laptops that work offline and sync through the real Parse Server converge: nothing lost,
nothing doubled, the same field edited twice is a conflict that keeps both values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from desktop_audit import services
from desktop_audit.domain import trail
from desktop_audit.jobs import Control
from desktop_audit.schema import BY_NAME
from desktop_audit.store import rows
from desktop_audit.sync import engine as sync_engine
from desktop_audit.sync.parse_client import ParseClient
from tests.sync.conftest import (
    APP_ID,
    PASSWORD,
    Server,
    Team,
    add_aspect,
    add_kit,
    assert_converged,
)

pytestmark = pytest.mark.sync


def test_first_sync_pushes_everything_once(team: Team, server: Server) -> None:
    lap = team.laptop
    for n in range(60):
        add_aspect(lap, team.site_a, n)
    report = lap.sync()
    assert report.exit_code == 0, report.summary()
    assert server.count("AspectImpactLog") == 60
    assert server.count("_User") == 5
    assert server.count("AuditSite") == 2
    local_trail = lap.db.execute("SELECT COUNT(*) FROM audit_trail_event").fetchone()[0]
    assert server.count("AuditTrailEvent") == local_trail
    # A second run has nothing to send but its own journal entry.
    again = lap.sync()
    assert again.exit_code == 0
    assert server.count("AspectImpactLog") == 60
    assert lap.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def test_two_laptops_edit_offline_and_converge(team: Team, server: Server,
                                               laptops: Any) -> None:
    a = team.laptop
    ids = [add_aspect(a, team.site_a, n) for n in range(20)]
    assert a.sync().exit_code == 0
    b = laptops.join("b", "admin")
    assert_converged(server, a, b)
    # Offline on both: different records, different fields of one record, new records.
    services.update_aspect(a.db, a.actor, ids[0], controlMeasure="bunded store")
    services.update_aspect(b.db, b.actor, ids[0], likelihood=4)
    services.update_aspect(b.db, b.actor, ids[1], impact="groundwater")
    kit_a = add_kit(a, team.site_b, 1)
    kit_b = add_kit(b, team.site_a, 2)
    assert a.sync().exit_code == 0
    assert b.sync().exit_code == 0
    assert a.sync().exit_code == 0
    assert_converged(server, a, b)
    merged = rows.load(a.db, BY_NAME["AspectImpactLog"], ids[0])
    assert merged is not None
    assert merged["controlMeasure"] == "bunded store" and merged["likelihood"] == 4
    assert merged["riskRating"] == 12  # derived again from the merged inputs
    assert {kit_a, kit_b} <= set(a.rows("spill_kit_log"))
    # Every chain verifies on both laptops, and both laptops hold the same chains: one per
    # laptop and site it wrote about, and one per laptop for events about no site.
    held = []
    for lap in (a, b):
        reports = trail.verify(lap.db)
        assert all(r.problem is None for r in reports), reports
        held.append({r.chain for r in reports if r.events})
    assert held[0] == held[1] == {f"{a.db.device_id}/-", f"{a.db.device_id}/{team.site_a}",
                                  f"{a.db.device_id}/{team.site_b}", f"{b.db.device_id}/-",
                                  f"{b.db.device_id}/{team.site_a}"}


def test_three_laptops_with_first_logins(team: Team, server: Server, laptops: Any) -> None:
    a = team.laptop
    add_aspect(a, team.site_a, 0)
    assert a.sync().exit_code == 0
    # The manager and the field worker were made on the admin's laptop: their first
    # online login is checked against the verifier made there.
    m = laptops.join("manager", "manager")
    f = laptops.join("field", "fieldstaff")
    assert m.actor.role == "manager" and f.actor.role == "field_staff"
    assert set(f.rows("audit_site")) == {team.site_a}  # field staff see their site only
    add_kit(f, team.site_a, 7)
    add_aspect(m, team.site_a, 8)
    services.raise_finding(f.db, f.actor, site=team.site_a, logType="general",
                           severity="observation", description="drum without lid",
                           correctiveAction="fit a lid")
    add_aspect(a, team.site_b, 9)
    for lap in (f, m, a, f, m):
        assert lap.sync().exit_code == 0, lap.reports[-1].summary()
    site_a_only = f'"site" = \'{team.site_a}\''
    for table in ("aspect_impact_log", "spill_kit_log", "audit_finding"):
        rows = [lap.rows(table, where=site_a_only) for lap in (a, m, f)]
        assert rows[0] == rows[1] == rows[2], table
    assert len(a.rows("aspect_impact_log")) == server.count("AspectImpactLog") == 3
    assert len(f.rows("aspect_impact_log")) == 2  # not the one on site B
    # After their online login, they can log in offline on that laptop.
    from desktop_audit.domain import auth

    assert auth.login(f.db, "fieldstaff", PASSWORD).role == "field_staff"


def test_same_field_edited_twice_is_a_conflict(team: Team, server: Server,
                                              laptops: Any) -> None:
    a = team.laptop
    oid = add_aspect(a, team.site_a, 0)
    other = add_aspect(a, team.site_a, 1)
    assert a.sync().exit_code == 0
    b = laptops.join("b", "admin")
    services.update_aspect(a.db, a.actor, oid, controlMeasure="drip trays")
    services.update_aspect(b.db, b.actor, oid, controlMeasure="bunded store")
    services.update_aspect(a.db, a.actor, other, controlMeasure="lid kept shut")
    services.update_aspect(b.db, b.actor, other, controlMeasure="lid kept shut")
    assert a.sync().exit_code == 0
    report = b.sync()
    assert report.exit_code == 3  # in sync, but with a conflict to resolve
    conflicts = sync_engine.open_conflicts(b.db)
    assert len(conflicts) == 1  # the same new value on both sides is no conflict
    c = conflicts[0]
    assert (c.object_id, c.field, c.mine, c.theirs) == (oid, "controlMeasure",
                                                        "bunded store", "drip trays")
    # The server copy was not overwritten by the conflicting value.
    assert server.all("AspectImpactLog")[0]["objectId"]
    remote = {o["objectId"]: o for o in server.all("AspectImpactLog")}
    assert remote[oid]["controlMeasure"] == "drip trays"
    # Keep mine: pushed at the next sync, and every laptop gets it.
    services.resolve_conflict(b.db, b.actor, c.id, "mine")
    assert b.sync().exit_code == 0
    assert a.sync().exit_code == 0
    remote = {o["objectId"]: o for o in server.all("AspectImpactLog")}
    assert remote[oid]["controlMeasure"] == "bunded store"
    assert_converged(server, a, b, tables=("aspect_impact_log",))
    # Both values are in the trail: each laptop's edit, and the resolution.
    history = trail.history(b.db, "AspectImpactLog", oid)
    values = [e["changes"].get("controlMeasure") for e in history]
    assert [None, "drip trays"] in values and [None, "bunded store"] in values
    (settled,) = [e for e in history if e["action"] == "resolve"]
    # Keeping this laptop's value changed nothing here: the event says so, with both values.
    assert "controlMeasure" not in settled["changes"]
    assert settled["changes"]["conflict"][1] == {"field": "controlMeasure", "kept": "mine",
                                                 "mine": "bunded store", "theirs": "drip trays"}

    # Now the other way: keep theirs.
    services.update_aspect(a.db, a.actor, oid, impact="river")
    services.update_aspect(b.db, b.actor, oid, impact="canal")
    assert a.sync().exit_code == 0
    assert b.sync().exit_code == 3
    (c2,) = sync_engine.open_conflicts(b.db)
    services.resolve_conflict(b.db, b.actor, c2.id, "theirs")
    theirs_event = [e for e in trail.history(b.db, "AspectImpactLog", oid)
                    if e["action"] == "resolve"][-1]
    assert theirs_event["changes"]["impact"] == ["canal", "river"]  # as it really changed here
    assert b.sync().exit_code == 0
    assert a.sync().exit_code == 0
    assert_converged(server, a, b, tables=("aspect_impact_log",))
    local = a.rows("aspect_impact_log")[oid]
    assert local["impact"] == "river"

    # Or an edited value that is neither.
    services.update_aspect(a.db, a.actor, oid, lifeCycleStage="use")
    services.update_aspect(b.db, b.actor, oid, lifeCycleStage="disposal")
    assert a.sync().exit_code == 0
    assert b.sync().exit_code == 3
    (c3,) = sync_engine.open_conflicts(b.db)
    services.resolve_conflict(b.db, b.actor, c3.id, "edit", "use and disposal")
    assert b.sync().exit_code == 0
    assert a.sync().exit_code == 0
    assert a.rows("aspect_impact_log")[oid]["lifeCycleStage"] == "use and disposal"


def test_evidence_file_travels_once(team: Team, server: Server, laptops: Any,
                                    tmp_path: Path) -> None:
    from PIL import Image

    a = team.laptop
    oid = add_aspect(a, team.site_a, 0)
    photo = tmp_path / "leak.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo, "JPEG")
    e1 = services.add_evidence(a.db, a.actor, parentClass="AspectImpactLog", parentId=oid,
                               path=photo, caption="first")
    e2 = services.add_evidence(a.db, a.actor, parentClass="AspectImpactLog", parentId=oid,
                               path=photo, caption="same photo again")
    report = a.sync()
    assert report.exit_code == 0, report.summary()
    assert report.files_up == 1  # stored once by SHA-256
    remote = {o["objectId"]: o for o in server.all("Evidence")}
    assert set(remote) == {e1, e2}
    assert all(o["file"]["url"] for o in remote.values())
    b = laptops.join("b", "admin")
    assert b.reports[-1].files_down + b.reports[0].files_down >= 1
    from desktop_audit.services.evidence import blob_path

    rec = b.rows("evidence")[e1]
    assert blob_path(b.db, rec["sha256"], rec["mimeType"]).read_bytes() == photo.read_bytes()


def test_delete_travels_as_a_tombstone(team: Team, server: Server, laptops: Any) -> None:
    a = team.laptop
    oid = add_aspect(a, team.site_a, 0)
    assert a.sync().exit_code == 0
    b = laptops.join("b", "admin")
    services.delete_record(a.db, a.actor, "AspectImpactLog", oid)
    assert a.sync().exit_code == 0
    assert b.sync().exit_code == 0
    assert b.rows("aspect_impact_log")[oid]["deletedAt"]
    remote = {o["objectId"]: o for o in server.all("AspectImpactLog")}
    assert remote[oid]["deletedAt"]


def test_raw_rest_is_refused_what_the_roles_forbid(team: Team, server: Server,
                                                   laptops: Any) -> None:
    a = team.laptop
    legal = services.add_legal_entry(
        a.db, a.actor, site=team.site_a, referenceCode="EPR-1", requirementTitle="Permit",
        requirementType="permit", jurisdiction="EA", reviewFrequency="annual",
        dueDate="2027-01-01", complianceStatus="compliant", owner=team.ids["manager"])
    finding = services.raise_finding(a.db, a.actor, site=team.site_a, logType="general",
                                     severity="observation", description="oily rags",
                                     correctiveAction="metal bin")
    assert a.sync().exit_code == 0
    f = laptops.join("f", "fieldstaff")
    assert f.actor.role == "field_staff"
    from desktop_audit.sync.parse_client import ParseError

    with ParseClient(server.url, APP_ID) as c:
        # Unauthenticated: nothing.
        for cls in ("LegalRegisterEntry", "AuditFinding", "_User", "AuditTrailEvent"):
            with pytest.raises(ParseError):
                c.find(cls)
        c.login("fieldstaff", PASSWORD)
        with pytest.raises(ParseError) as err:
            c.request("PUT", f"/classes/LegalRegisterEntry/{legal}",
                      {"complianceStatus": "non_compliant"})
        assert err.value.code in (119, 141, 142)
        with pytest.raises(ParseError):
            c.request("PUT", f"/classes/AuditFinding/{finding}",
                      {"closed": True, "verificationNote": "fine", "rootCause": "x"})
        with pytest.raises(ParseError):
            c.request("PUT", f"/users/{f.actor.id}", {"role": "admin"})
        with pytest.raises(ParseError):
            c.request("POST", "/classes/AuditFinding", {
                "site": {"__type": "Pointer", "className": "AuditSite",
                         "objectId": team.site_a},
                "logType": "general", "severity": "major_nc", "description": "x",
                "correctiveAction": "y", "closed": False})
        # Not assigned to site B: cannot write there, and does not see it.
        with pytest.raises(ParseError):
            c.request("POST", "/classes/SpillKitLog", {
                "site": {"__type": "Pointer", "className": "AuditSite",
                         "objectId": team.site_b}, "kitTag": "X"})
        assert {s["objectId"] for s in c.find("AuditSite")} == {team.site_a}
        ev = c.find("AuditTrailEvent", limit=1)[0]
        c.logout()
    with server.master() as m:
        for method, body in (("PUT", {"action": "delete"}), ("DELETE", None)):
            with pytest.raises(ParseError):
                m.request(method, f"/classes/AuditTrailEvent/{ev['objectId']}", body,
                          master=True)
        # A sign-up that makes itself admin is refused.
        with pytest.raises(ParseError):
            ParseClient(server.url, APP_ID).request(
                "POST", "/users", {"username": "mallory", "password": "x" * 10,
                                   "role": "admin"})


def test_first_login_needs_the_laptop_password(team: Team, server: Server) -> None:
    assert team.laptop.sync().exit_code == 0
    from desktop_audit.errors import AuthError
    from desktop_audit.sync import session

    with ParseClient(server.url, APP_ID) as c:
        with pytest.raises(AuthError):
            session.online_login(c, "auditor", "not-the-password")
        user = session.online_login(c, "auditor", PASSWORD)
        assert user["role"] == "auditor"
        assert "passwordVerifier" not in user
    with server.master() as m:
        u = m.find("_User", where={"username": "auditor"}, master=True)[0]
        assert "passwordVerifier" not in u  # used once, then gone


def test_conflicts_table_lines(team: Team) -> None:
    c = sync_engine.Conflict(7, "AuditFinding", "abc", "rootCause", "a", "b", None, "now")
    assert c.line().startswith("7\t")
    assert json.dumps("a") in c.line() and json.dumps("b") in c.line()


def test_a_row_the_cursor_missed_is_found_by_the_count_check(team: Team, server: Server,
                                                            laptops: Any) -> None:
    a = team.laptop
    add_aspect(a, team.site_a, 0)
    assert a.sync().exit_code == 0
    b = laptops.join("b", "admin")
    late = add_aspect(a, team.site_a, 1)
    assert a.sync().exit_code == 0
    # As if the row had committed behind b's cursor (late commit, clock step).
    with b.db.atomic():
        b.db.set_meta("sync_cursor:AspectImpactLog", "2099-01-01T00:00:00.000Z")
    report = b.sync()
    assert report.exit_code == 0
    assert report.full_pulls == ["AspectImpactLog"]
    assert late in b.rows("aspect_impact_log")


def test_live_query_brings_a_colleagues_finding_within_seconds(team: Team, server: Server,
                                                               laptops: Any) -> None:
    import threading

    from desktop_audit.sync.live import LiveQuery

    a = team.laptop
    assert a.sync().exit_code == 0
    m = laptops.join("m", "manager")
    arrived = threading.Event()
    seen: list[tuple[str, str, str]] = []

    def on_change(event: str, class_name: str, object_id: str) -> None:
        seen.append((event, class_name, object_id))
        arrived.set()

    with ParseClient(server.url, APP_ID) as c:
        c.login("admin", PASSWORD)
        live = LiveQuery(a.db, c, on_change=on_change)
        live.start()
        try:
            fid = services.raise_finding(m.db, m.actor, site=team.site_a, logType="general",
                                         severity="minor_nc", description="no bund",
                                         correctiveAction="build a bund")
            assert m.sync().exit_code == 0
            assert arrived.wait(10), live.error
        finally:
            live.stop()
    assert ("create", "AuditFinding", fid) in seen
    assert fid in a.rows("audit_finding")


def test_a_finding_closed_offline_is_accepted_by_the_server(team: Team, server: Server,
                                                            laptops: Any) -> None:
    a = team.laptop
    legal = services.add_legal_entry(
        a.db, a.actor, site=team.site_a, referenceCode="EPR-9", requirementTitle="Permit",
        requirementType="permit", jurisdiction="EA", reviewFrequency="annual",
        dueDate="2099-01-01", complianceStatus="compliant", owner=team.ids["manager"])
    fid = services.raise_finding(a.db, a.actor, site=team.site_a, logType="legal",
                                 sourceId=legal, severity="minor_nc",
                                 description="permit copy not on site",
                                 correctiveAction="file a copy", rootCause="no checklist",
                                 actionOwner=team.ids["coordinator"])
    assert a.sync().exit_code == 0
    m = laptops.join("m", "manager")
    services.close_finding(m.db, m.actor, fid, verificationNote="copy seen in the office")
    report = m.sync()
    assert report.exit_code == 0, report.summary()
    remote = {o["objectId"]: o for o in server.all("AuditFinding")}[fid]
    assert remote["closed"] is True and remote["closedBy"]["objectId"] == m.actor.id
    assert a.sync().exit_code == 0
    assert a.rows("audit_finding")[fid]["closed"] == 1


def test_a_refused_change_is_quarantined_not_dropped(team: Team, server: Server,
                                                     laptops: Any) -> None:
    a = team.laptop
    assert a.sync().exit_code == 0
    f = laptops.join("f", "fieldstaff")
    # While the field worker is offline, the admin takes them off site A on the server.
    with server.master() as c:
        c.request("PUT", f"/users/{f.actor.id}", {"sites": []}, master=True)
    kit = add_kit(f, team.site_a, 1)
    report = f.sync()
    assert report.exit_code == 1
    assert [q[:2] for q in report.quarantined] == [("SpillKitLog", kit)]
    assert "not accepted by the server" in report.summary()
    assert f.db.execute("SELECT COUNT(*) FROM outbox WHERE objectId = ?",
                        (kit,)).fetchone()[0] >= 1
    # Assigned again: the next sync delivers it and the quarantine is empty.
    with server.master() as c:
        c.request("PUT", f"/users/{f.actor.id}", {"sites": [
            {"__type": "Pointer", "className": "AuditSite", "objectId": team.site_a}]},
            master=True)
    report = f.sync()
    assert report.exit_code == 0, report.summary()
    assert kit in {o["objectId"] for o in server.all("SpillKitLog")}
    assert sync_engine.quarantined(f.db) == []


def test_status_and_sync_now_for_the_app(team: Team, server: Server) -> None:

    from desktop_audit.errors import Cancelled
    from desktop_audit.sync import status

    a = team.laptop
    add_aspect(a, team.site_a, 0)
    st = status.sync_status(a.db)
    assert st.settings.server is None and st.last_sync_at is None and st.pending > 0
    assert not status.is_online(a.db)
    status.save_settings(a.db, status.SyncSettings(server.url, APP_ID))
    assert status.is_online(a.db)
    stop = Control()
    stop.cancel()
    with pytest.raises(Cancelled):
        status.sync_now(a.db, a.actor, PASSWORD, control=stop)
    seen: list[tuple[str, int, int]] = []
    report = status.sync_now(a.db, a.actor, PASSWORD,
                             control=Control(lambda done, total, stage: seen.append(
                                 (stage, done, total))))
    assert report.exit_code == 0
    assert any(stage == "push" and done == total and total > 0 for stage, done, total in seen)
    st = status.sync_status(a.db)
    assert st.pending == 0 and st.last_sync_at and st.conflicts == [] and st.quarantined == []


def test_the_same_site_code_made_on_two_laptops_is_held_back_not_crashing(
        team: Team, server: Server, laptops: Any) -> None:
    a = team.laptop
    assert a.sync().exit_code == 0
    b = laptops.join("b", "admin")
    site_a9 = services.create_site(a.db, a.actor, siteCode="PLT-09", siteName="North yard",
                                   region="North", siteOwner=a.actor.id)
    site_b9 = services.create_site(b.db, b.actor, siteCode="PLT-09", siteName="South yard",
                                   region="South", siteOwner=b.actor.id)
    assert a.sync().exit_code == 0
    report = b.sync()
    assert report.exit_code == 1
    held = {(q[0], q[1]) for q in report.quarantined}
    assert held == {("AuditSite", site_a9), ("AuditSite", site_b9)}, report.summary()
    assert report.open_conflicts == 0  # both added a site to the admin's list: merged
    assert "held back" in report.summary() and "not accepted by the server" in report.summary()
    assert {o["objectId"] for o in server.all("AuditSite")} >= {site_a9}
    assert site_b9 not in {o["objectId"] for o in server.all("AuditSite")}
    # Sorted out on laptop b: its site gets another code; then both sites everywhere.
    services.update_site(b.db, b.actor, site_b9, siteCode="PLT-10")
    report = b.sync()
    assert report.exit_code == 0, report.summary()
    assert a.sync().exit_code == 0
    assert_converged(server, a, b, tables=("audit_site",))
