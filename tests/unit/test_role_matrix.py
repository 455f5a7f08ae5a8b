"""The whole role matrix of DOMAIN.md, every role x action, at the service layer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from desktop_audit import records, services
from desktop_audit.errors import NotFound, PermissionDenied
from desktop_audit.schema import BY_NAME, FINDING
from desktop_audit.store import rows
from tests.conftest import World

ROLES = ("admin", "manager", "coordinator", "auditor", "field_staff")
TODAY = date.today()


def _aspect(w: World, by: str, site: str | None = None) -> str:
    return services.add_aspect(w.db, w.admin, site=site or w.site_a, aspectCategory="waste",
                               aspectDescription="Oily rags", impact="Hazardous waste",
                               likelihood=2, severity=3, actionStatus="open",
                               loggedBy=w.actor(by).id)


def _kit(w: World, by: str) -> str:
    return services.add_spill_kit_check(w.db, w.admin, site=w.site_a, kitTag="SK-1",
                                        inspectionStatus="pass", sealStatus="intact",
                                        checkedBy=w.actor(by).id)


def _legal(w: World) -> str:
    return services.add_legal_entry(w.db, w.admin, site=w.site_a, referenceCode="EPA-34",
                                    requirementTitle="Duty of care", requirementType="legislation",
                                    jurisdiction="England", reviewFrequency="annual",
                                    dueDate=(TODAY + timedelta(days=30)).isoformat(),
                                    owner=w.coordinator.id)


def _review(w: World, lead: str = "auditor", status: str = "planned") -> str:
    return services.plan_review(w.db, w.admin, site=w.site_a, auditDate=TODAY.isoformat(),
                                reviewStatus=status, leadAuditor=w.actor(lead).id)


def _finding(w: World) -> str:
    return services.raise_finding(w.db, w.admin, site=w.site_a, logType="general",
                                  severity="observation", description="Bund valve open",
                                  correctiveAction="Padlock the valve",
                                  actionOwner=w.coordinator.id, verificationNote="Seen closed")


Action = Callable[[World, str], object]

ACTIONS: dict[str, tuple[Action, set[str]]] = {
    "manage users": (lambda w, r: services.create_user(
        w.db, w.actor(r), username="newbie", email="n@example.com", role="auditor",
        password="long-enough-1"), {"admin"}),
    "assign sites": (lambda w, r: services.assign_sites(
        w.db, w.actor(r), w.auditor.id, [w.site_a, w.site_b]), {"admin"}),
    "create a site they own": (lambda w, r: services.create_site(
        w.db, w.actor(r), siteCode="NEW-9", siteName="New", region="East",
        siteOwner=w.actor(r).id if r in ("admin", "manager") else w.manager.id),
        {"admin", "manager"}),
    "create a site owned by another": (lambda w, r: services.create_site(
        w.db, w.actor(r), siteCode="NEW-8", siteName="New", region="East",
        siteOwner=w.other_manager.id), {"admin"}),
    "edit own site": (lambda w, r: services.update_site(
        w.db, w.actor(r), w.site_a, region="South"), {"admin", "manager"}),
    "edit another's site": (lambda w, r: services.update_site(
        w.db, w.actor(r), w.site_b, region="South"), {"admin"}),
    "add aspect": (lambda w, r: services.add_aspect(
        w.db, w.actor(r), site=w.site_a, aspectCategory="energy_use",
        aspectDescription="Compressor", impact="CO2", likelihood=2, severity=2,
        actionStatus="open"), set(ROLES)),
    "add aspect on an unassigned site": (lambda w, r: services.add_aspect(
        w.db, w.actor(r), site=w.site_b, aspectCategory="energy_use",
        aspectDescription="Compressor", impact="CO2", likelihood=2, severity=2,
        actionStatus="open"), {"admin"}),
    "add spill kit check": (lambda w, r: services.add_spill_kit_check(
        w.db, w.actor(r), site=w.site_a, kitTag="SK-9", inspectionStatus="fail",
        sealStatus="broken", missingItems=["gloves"]), set(ROLES)),
    "edit someone else's aspect": (lambda w, r: services.update_aspect(
        w.db, w.actor(r), _aspect(w, "manager"), controlMeasure="Covered bin"),
        {"admin", "manager", "coordinator"}),
    "edit own aspect": (lambda w, r: services.update_aspect(
        w.db, w.actor(r), _aspect(w, r), controlMeasure="Covered bin"), set(ROLES)),
    "edit someone else's kit check": (lambda w, r: services.update_spill_kit_check(
        w.db, w.actor(r), _kit(w, "manager"), notes="Rechecked"),
        {"admin", "manager", "coordinator"}),
    "edit own kit check": (lambda w, r: services.update_spill_kit_check(
        w.db, w.actor(r), _kit(w, r), notes="Rechecked"), set(ROLES)),
    "create legal entry": (lambda w, r: services.add_legal_entry(
        w.db, w.actor(r), site=w.site_a, referenceCode="NEW-1", requirementTitle="New",
        requirementType="permit", jurisdiction="EU", reviewFrequency="monthly",
        dueDate=TODAY.isoformat(), owner=w.coordinator.id), {"admin", "manager", "coordinator"}),
    "edit legal entry": (lambda w, r: services.update_legal_entry(
        w.db, w.actor(r), _legal(w), jurisdiction="UK"), {"admin", "manager", "coordinator"}),
    "record legal evaluation": (lambda w, r: services.record_legal_evaluation(
        w.db, w.actor(r), _legal(w), complianceStatus="compliant"),
        {"admin", "manager", "coordinator"}),
    "plan review led by the auditor": (lambda w, r: services.plan_review(
        w.db, w.actor(r), site=w.site_a, auditDate=TODAY.isoformat(),
        leadAuditor=w.auditor.id), {"admin", "manager", "coordinator", "auditor"}),
    "plan review led by someone else": (lambda w, r: services.plan_review(
        w.db, w.actor(r), site=w.site_a, auditDate=TODAY.isoformat(),
        leadAuditor=w.manager.id), {"admin", "manager", "coordinator"}),
    "edit review as its lead": (lambda w, r: services.update_review(
        w.db, w.actor(r), _review(w, lead="auditor"), scope="Waste"),
        {"admin", "manager", "coordinator", "auditor"}),
    "edit review led by someone else": (lambda w, r: services.update_review(
        w.db, w.actor(r), _review(w, lead="coordinator"), scope="Waste"),
        {"admin", "manager", "coordinator"}),
    "approve review": (lambda w, r: services.approve_review(
        w.db, w.actor(r), _review(w, lead="coordinator", status="completed")),
        {"admin", "manager"}),
    "raise observation": (lambda w, r: services.raise_finding(
        w.db, w.actor(r), site=w.site_a, logType="general", severity="observation",
        description="d", correctiveAction="c"), set(ROLES)),
    "raise nonconformity": (lambda w, r: services.raise_finding(
        w.db, w.actor(r), site=w.site_a, logType="general", severity="minor_nc",
        description="d", correctiveAction="c"), {"admin", "manager", "coordinator", "auditor"}),
    "edit corrective action": (lambda w, r: services.update_finding(
        w.db, w.actor(r), _finding(w), correctiveAction="Lock and tag"),
        {"admin", "manager", "coordinator", "auditor"}),
    "close finding": (lambda w, r: services.close_finding(w.db, w.actor(r), _finding(w)),
                      {"admin", "manager"}),
    "delete": (lambda w, r: services.delete_record(w.db, w.actor(r), FINDING.name, _finding(w)),
               {"admin"}),
}


UNSEEN = {"edit another's site"}  # the record itself is on site B


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_matrix(world: World, action: str, role: str) -> None:
    run, allowed = ACTIONS[action]
    if role in allowed:
        run(world, role)
    elif action in UNSEEN and not world.actor(role).sees_site(world.site_b):
        # A site they are not assigned to is, to them, not there (as on the server).
        with pytest.raises(NotFound):
            run(world, role)
    else:
        with pytest.raises(PermissionDenied):
            run(world, role)


@pytest.mark.parametrize("role", ROLES)
def test_export_pack_permission(world: World, role: str) -> None:
    site = rows.load(world.db, BY_NAME["AuditSite"], world.site_a)
    allowed, reason = records.of("AuditSite").can(world.actor(role), "export_pack", site)
    assert allowed == (role != "field_staff")
    if not allowed:
        assert "export evidence packs" in reason


def test_refusal_names_the_reason(world: World) -> None:
    with pytest.raises(PermissionDenied, match="field staff may raise observations only"):
        services.raise_finding(world.db, world.field_staff, site=world.site_a, logType="general",
                               severity="major_nc", description="d", correctiveAction="c")
    with pytest.raises(PermissionDenied, match="may only edit their own entries"):
        services.update_aspect(world.db, world.auditor, _aspect(world, "manager"),
                               impact="x")


def test_unassigned_users_do_not_see_other_sites_records(world: World) -> None:
    oid = _aspect(world, "other_manager", site=world.site_b)
    from desktop_audit.errors import NotFound

    with pytest.raises(NotFound):
        services.update_aspect(world.db, world.coordinator, oid, impact="x")
    assert rows.load(world.db, BY_NAME["AspectImpactLog"], oid)["impact"] != "x"
