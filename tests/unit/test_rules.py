"""Rules that hold wherever a record is written: fields, derived values, closing a finding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from desktop_audit import services
from desktop_audit.errors import ValidationError
from desktop_audit.schema import ASPECT, FINDING, LEGAL, SPILL_KIT
from desktop_audit.store import rows
from tests.conftest import World

TODAY = date.today()


def aspect(w: World, **kw: object) -> str:
    values = dict(site=w.site_a, aspectCategory="waste", aspectDescription="Oily rags",
                  impact="Hazardous waste", likelihood=2, severity=3, actionStatus="open")
    values.update(kw)
    return services.add_aspect(w.db, w.admin, **values)


def count(w: World, table: str) -> int:
    return w.db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("likelihood", 6, "out of range (1 to 5)"),
    ("severity", 0, "out of range (1 to 5)"),
    ("likelihood", "three", "not a whole number"),
    ("aspectCategory", "smells", "not one of"),
    ("actionStatus", None, "is required"),
    ("impact", "   ", "is required"),
    ("loggedAt", "2026-02-30", "not a date and time"),
    ("loggedAt", (datetime.now(UTC) + timedelta(days=2)).isoformat(), "in the future"),
    ("site", "NoSuchSite", "no site with id"),
])
def test_a_bad_field_is_named_and_nothing_is_written(world: World, field: str, value: object,
                                                     reason: str) -> None:
    before = count(world, "aspect_impact_log"), count(world, "audit_trail_event")
    with pytest.raises(ValidationError) as err:
        aspect(world, **{field: value})
    assert err.value.field == field
    assert reason in err.value.reason
    assert (count(world, "aspect_impact_log"), count(world, "audit_trail_event")) == before


def test_risk_rating_and_significance_are_derived(world: World) -> None:
    oid = aspect(world, likelihood=3, severity=4)
    rec = rows.load(world.db, ASPECT, oid)
    assert (rec["riskRating"], rec["impactRating"], rec["thresholdApplied"], rec["significant"]) == (
        12, "high", 12, True)
    services.update_aspect(world.db, world.admin, oid, severity=1)
    rec = rows.load(world.db, ASPECT, oid)
    assert (rec["riskRating"], rec["impactRating"], rec["significant"]) == (3, "low", False)
    services.update_aspect(world.db, world.admin, oid, obligationRefs=["EPA-34"])
    assert rows.load(world.db, ASPECT, oid)["significant"] is True  # tied to an obligation


def test_the_threshold_applied_is_the_sites_at_rating_time(world: World) -> None:
    services.update_site(world.db, world.admin, world.site_a, significanceThreshold=8)
    oid = aspect(world, likelihood=3, severity=3)
    rec = rows.load(world.db, ASPECT, oid)
    assert (rec["thresholdApplied"], rec["significant"]) == (8, True)
    services.update_site(world.db, world.admin, world.site_a, significanceThreshold=15)
    services.update_aspect(world.db, world.admin, oid, controlMeasure="Covered skip")
    assert rows.load(world.db, ASPECT, oid)["thresholdApplied"] == 8  # not re-rated


def test_derived_fields_cannot_be_typed(world: World) -> None:
    with pytest.raises(ValidationError, match="derived from likelihood and severity"):
        aspect(world, riskRating=25)
    with pytest.raises(ValidationError, match="replenishmentNeeded"):
        services.add_spill_kit_check(world.db, world.admin, site=world.site_a, kitTag="SK-1",
                                     inspectionStatus="pass", sealStatus="intact",
                                     replenishmentNeeded=False)


def test_replenishment_follows_missing_items_and_seal(world: World) -> None:
    oid = services.add_spill_kit_check(world.db, world.admin, site=world.site_a, kitTag="SK-1",
                                       inspectionStatus="fail", sealStatus="intact",
                                       missingItems="gloves; absorbent pads")
    rec = rows.load(world.db, SPILL_KIT, oid)
    assert rec["missingItems"] == ["gloves", "absorbent pads"] and rec["replenishmentNeeded"]
    with pytest.raises(ValidationError, match="cannot pass"):
        services.add_spill_kit_check(world.db, world.admin, site=world.site_a, kitTag="SK-2",
                                     inspectionStatus="pass", sealStatus="broken")


def test_inspections_are_unique_per_kit_and_time_and_not_in_the_future(world: World) -> None:
    at = "2026-01-05T09:00:00Z"
    kw = dict(site=world.site_a, kitTag="SK-1", inspectionStatus="pass", sealStatus="intact")
    services.add_spill_kit_check(world.db, world.admin, lastCheckedAt=at, **kw)
    with pytest.raises(ValidationError, match="already has an inspection"):
        services.add_spill_kit_check(world.db, world.admin, lastCheckedAt=at, **kw)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    with pytest.raises(ValidationError, match="in the future") as err:
        services.add_spill_kit_check(world.db, world.admin, lastCheckedAt=future, **kw)
    assert err.value.field == "lastCheckedAt"


def test_site_codes_are_unique_and_owners_are_assigned(world: World) -> None:
    with pytest.raises(ValidationError, match="already used"):
        services.create_site(world.db, world.admin, siteCode="plt-01", siteName="Dup",
                             region="X", siteOwner=world.manager.id)
    with pytest.raises(ValidationError, match="must be a manager or an admin"):
        services.create_site(world.db, world.admin, siteCode="NEW-1", siteName="N", region="X",
                             siteOwner=world.field_staff.id)
    services.update_site(world.db, world.admin, world.site_b, siteOwner=world.manager.id)
    owner = services.users.refresh_actor(world.db, world.manager)
    assert world.site_b in owner.site_ids


def test_legal_evaluation_moves_the_due_date_on(world: World) -> None:
    oid = services.add_legal_entry(world.db, world.admin, site=world.site_a,
                                   referenceCode="EPA-34", requirementTitle="Duty of care",
                                   requirementType="legislation", jurisdiction="England",
                                   reviewFrequency="quarterly", dueDate="2026-01-31",
                                   owner=world.coordinator.id)
    due = services.record_legal_evaluation(world.db, world.coordinator, oid,
                                           complianceStatus="compliant", evaluatedOn="2025-11-30")
    assert due == "2026-02-28"  # month end clamps
    rec = rows.load(world.db, LEGAL, oid)
    assert (rec["lastEvaluatedAt"], rec["complianceStatus"]) == ("2025-11-30", "compliant")
    with pytest.raises(ValidationError, match="not a date"):
        services.record_legal_evaluation(world.db, world.coordinator, oid,
                                         complianceStatus="compliant", evaluatedOn="31/11/2025")


def _finding(w: World, **kw: object) -> str:
    values = dict(site=w.site_a, logType="general", severity="minor_nc",
                  description="Bund valve open", correctiveAction="Padlock the valve",
                  actionOwner=w.coordinator.id)
    values.update(kw)
    return services.raise_finding(w.db, w.admin, **values)


def test_closing_a_finding_needs_every_rule(world: World) -> None:
    oid = _finding(world)
    with pytest.raises(ValidationError, match="root cause") as err:
        services.close_finding(world.db, world.manager, oid, verificationNote="Seen locked")
    assert err.value.field == "rootCause"
    services.update_finding(world.db, world.auditor, oid, rootCause="No lock fitted")
    with pytest.raises(ValidationError) as err:
        services.close_finding(world.db, world.manager, oid)
    assert err.value.field == "verificationNote"
    services.close_finding(world.db, world.manager, oid, verificationNote="Seen locked twice")
    rec = rows.load(world.db, FINDING, oid)
    assert rec["closed"] and rec["closedBy"] == world.manager.id and rec["closedAt"]
    with pytest.raises(ValidationError, match="closed finding cannot be edited"):
        services.update_finding(world.db, world.auditor, oid, correctiveAction="Other")


def test_the_action_owner_does_not_verify_their_own_action(world: World) -> None:
    oid = _finding(world, severity="observation", actionOwner=world.manager.id,
                   verificationNote="ok")
    with pytest.raises(ValidationError, match="action owner cannot verify"):
        services.close_finding(world.db, world.manager, oid)


def test_a_finding_closes_only_when_its_record_is_in_a_closing_state(world: World) -> None:
    a = aspect(world)
    f = _finding(world, logType="aspect", sourceId=a, rootCause="r", verificationNote="v")
    with pytest.raises(ValidationError, match="must be controlled or closed"):
        services.close_finding(world.db, world.manager, f)
    services.update_aspect(world.db, world.admin, a, actionStatus="controlled")
    services.close_finding(world.db, world.manager, f)

    kit = dict(site=world.site_a, kitTag="SK-7")
    k1 = services.add_spill_kit_check(world.db, world.admin, inspectionStatus="fail",
                                      sealStatus="broken", lastCheckedAt="2026-01-01T08:00:00Z", **kit)
    f2 = _finding(world, logType="spill_kit", sourceId=k1, rootCause="r", verificationNote="v")
    with pytest.raises(ValidationError, match="latest inspection of kit SK-7 is fail"):
        services.close_finding(world.db, world.manager, f2)
    services.add_spill_kit_check(world.db, world.admin, inspectionStatus="pass",
                                 sealStatus="intact", lastCheckedAt="2026-01-02T08:00:00Z", **kit)
    services.close_finding(world.db, world.manager, f2)

    lg = services.add_legal_entry(world.db, world.admin, site=world.site_a, referenceCode="R-1",
                                  requirementTitle="T", requirementType="permit", jurisdiction="J",
                                  reviewFrequency="annual", complianceStatus="compliant",
                                  dueDate=(TODAY - timedelta(days=3)).isoformat(),
                                  owner=world.coordinator.id)
    f3 = _finding(world, logType="legal", sourceId=lg, rootCause="r", verificationNote="v")
    with pytest.raises(ValidationError, match="overdue"):
        services.close_finding(world.db, world.manager, f3)
    services.record_legal_evaluation(world.db, world.coordinator, lg, complianceStatus="non_compliant")
    with pytest.raises(ValidationError, match="non-compliant"):
        services.close_finding(world.db, world.manager, f3)
    services.record_legal_evaluation(world.db, world.coordinator, lg, complianceStatus="compliant")
    services.close_finding(world.db, world.manager, f3)


def test_a_finding_about_a_record_must_name_one_on_its_site(world: World) -> None:
    with pytest.raises(ValidationError, match="sourceId"):
        _finding(world, logType="aspect")
    other = services.add_aspect(world.db, world.admin, site=world.site_b, aspectCategory="waste",
                                aspectDescription="d", impact="i", likelihood=1, severity=1,
                                actionStatus="open")
    with pytest.raises(ValidationError, match="on another site"):
        _finding(world, logType="aspect", sourceId=other)


def test_reviews_are_approved_once_completed_and_not_by_their_lead(world: World) -> None:
    rv = services.plan_review(world.db, world.admin, site=world.site_a, auditDate="2026-03-01",
                              leadAuditor=world.manager.id)
    with pytest.raises(ValidationError, match="only a completed review"):
        services.approve_review(world.db, world.admin, rv)
    with pytest.raises(ValidationError, match="approved by a manager"):
        services.update_review(world.db, world.admin, rv, reviewStatus="approved")
    services.update_review(world.db, world.admin, rv, reviewStatus="completed")
    with pytest.raises(ValidationError, match="cannot approve their own"):
        services.approve_review(world.db, world.manager, rv)
    services.approve_review(world.db, world.admin, rv)
    with pytest.raises(ValidationError, match="no longer be edited"):
        services.update_review(world.db, world.admin, rv, scope="x")


def test_a_review_is_completed_and_approved_only_once_its_audit_date_has_come(
        world: World) -> None:
    from desktop_audit import clock
    from desktop_audit.schema import REVIEW

    services.update_site(world.db, world.admin, world.site_a, timeZone="Pacific/Kiritimati")
    # 23:30 UTC is already the next day at UTC+14: the review dated that day may be done.
    with clock.frozen("2026-05-01T23:30:00Z"):
        rv = services.plan_review(world.db, world.admin, site=world.site_a,
                                  auditDate="2026-05-03", leadAuditor=world.auditor.id)
        with pytest.raises(ValidationError, match="before its audit date") as err:
            services.update_review(world.db, world.admin, rv, reviewStatus="completed")
        assert err.value.field == "reviewStatus"
        with pytest.raises(ValidationError, match="before its audit date"):
            services.plan_review(world.db, world.admin, site=world.site_a,
                                 auditDate="2026-05-03", leadAuditor=world.auditor.id,
                                 reviewStatus="completed")
        services.update_review(world.db, world.admin, rv, auditDate="2026-05-02")
        services.update_review(world.db, world.admin, rv, reviewStatus="completed")
        # Moving the date of a completed review into the future is the same thing.
        with pytest.raises(ValidationError, match="before its audit date"):
            services.update_review(world.db, world.admin, rv, auditDate="2026-05-09")
        services.approve_review(world.db, world.manager, rv)
    rec = rows.load(world.db, REVIEW, rv)
    assert rec["reviewStatus"] == "approved"
    # Who approved and when: the actor and the time of the journaled approval.
    assert rec["approvedBy"] == world.manager.id and rec["approvedAt"] == "2026-05-01T23:30:00.000Z"
    from desktop_audit.domain import trail

    (approval,) = [e for e in trail.history(world.db, "AuditReview", rv)
                   if e["action"] == "approve"]
    assert approval["at"] == rec["approvedAt"] and approval["actor"] == world.manager.id


def test_closing_stamps_the_journaled_actor_and_time(world: World) -> None:
    from desktop_audit import clock
    from desktop_audit.domain import trail

    oid = _finding(world, rootCause="no lock")
    with clock.frozen("2026-02-02T08:00:00Z"):
        services.close_finding(world.db, world.manager, oid, verificationNote="seen locked")
    rec = rows.load(world.db, FINDING, oid)
    (event,) = [e for e in trail.history(world.db, "AuditFinding", oid) if e["action"] == "close"]
    assert (rec["closedBy"], rec["closedAt"]) == (world.manager.id, "2026-02-02T08:00:00.000Z")
    assert (event["actor"], event["at"]) == (rec["closedBy"], rec["closedAt"])


def test_a_record_made_and_changed_in_one_unit_is_stored_as_changed(world: World) -> None:
    from desktop_audit.schema import REVIEW
    from desktop_audit.services.unit_of_work import UnitOfWork

    with world.db.atomic():
        u = UnitOfWork(world.db, world.admin)
        rv = services.plan_review(world.db, world.admin, uow=u, site=world.site_a,
                                  auditDate="2026-01-02", reviewStatus="completed",
                                  leadAuditor=world.auditor.id)
        services.approve_review(world.db, world.admin, rv, uow=u)
        u.flush()
    rec = rows.load(world.db, REVIEW, rv)
    assert (rec["reviewStatus"], rec["approvedBy"]) == ("approved", world.admin.id)
