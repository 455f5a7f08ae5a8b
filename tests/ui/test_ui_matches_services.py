"""What the UI offers is what the services accept, for every role and every action.

For each record type, each role (users of every role on site A; an other manager who owns
site B and works there) and each action the type has (create, edit, delete and its
workflow actions), on records as their users would have them (their own entries, others'
entries, a closed finding, an approved review, a completed review led by someone else or by
themselves): open the real widget (the list's New button, the form's Save button, a
workflow button, the Photos tab's buttons), read whether it is enabled and its tooltip,
then call the service.  The UI enables exactly when the service accepts, and when the
service refuses, the UI gave the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from desktop_audit import config, records, services
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuditError, ValidationError
from desktop_audit.schema import BY_NAME, TRAIL
from desktop_audit.store import rows
from desktop_audit.ui.dialogs.record_form import RecordDialog
from desktop_audit.ui.views.list_view import ListView
from tests.conftest import PASSWORD, World

ROLES = ("admin", "manager", "coordinator", "auditor", "field_staff", "other_manager")
SAVE_REFUSED = "You cannot save: "
TODAY = date.today()
PHOTO = next(config.asset_path("demo_photos").glob("*.jpg"))

# ---------------------------------------------------------------- the records users have


def home(w: World, actor: Actor) -> str:
    """The site the actor works on (the other manager's is site B)."""
    return w.site_b if actor.id == w.other_manager.id else w.site_a


def boss(w: World, actor: Actor) -> Actor:
    """The manager who owns the actor's site."""
    return w.other_manager if home(w, actor) == w.site_b else w.manager


def someone_else(w: World, actor: Actor) -> Actor:
    """Another user working on the actor's site (the admin, or the site's manager)."""
    return boss(w, actor) if actor.id == w.admin.id else w.admin


def aspect(w: World, by: Actor, site: str, status: str = "open") -> str:
    return services.add_aspect(w.db, by, site=site, aspectCategory="waste",
                               aspectDescription="Oily rags", impact="Hazardous waste",
                               likelihood=2, severity=3, actionStatus=status)


def kit_check(w: World, by: Actor, site: str) -> str:
    return services.add_spill_kit_check(w.db, by, site=site, kitTag="SK-1", sealStatus="intact",
                                        inspectionStatus="pass")


def legal_entry(w: World, actor: Actor) -> str:
    return services.add_legal_entry(w.db, w.admin, site=home(w, actor), referenceCode="EPA-34",
                                    requirementTitle="Duty of care", jurisdiction="England",
                                    requirementType="legislation", reviewFrequency="annual",
                                    dueDate=(TODAY + timedelta(days=30)).isoformat(),
                                    owner=boss(w, actor).id)


def review(w: World, actor: Actor, lead: Actor, status: str = "planned") -> str:
    rid = services.plan_review(w.db, w.admin, site=home(w, actor), leadAuditor=lead.id,
                               auditDate=(TODAY - timedelta(days=3)).isoformat(), scope="Waste")
    if status in ("completed", "approved"):
        services.update_review(w.db, w.admin, rid, reviewStatus="completed")
    if status == "approved":
        approver = w.admin if lead.id != w.admin.id else boss(w, actor)
        services.approve_review(w.db, approver, rid, summaryNote="On track")
    return rid


def finding(w: World, actor: Actor, **extra: Any) -> str:
    values: dict[str, Any] = dict(site=home(w, actor), logType="general", severity="minor_nc",
                                  description="Drum store unlabelled",
                                  correctiveAction="Label the drums", rootCause="No procedure",
                                  verificationNote="Checked on two visits")
    values.update(extra)
    return services.raise_finding(w.db, w.admin, **values)


def closed_finding(w: World, actor: Actor) -> str:
    fid = finding(w, actor)
    services.close_finding(w.db, w.admin, fid)
    return fid


# ---------------------------------------------------------------- the cases


Build = Callable[[World, Actor], str | None]  # the record acted on (None: a new one)
Call = Callable[[World, Actor, str | None, dict[str, Any]], None]  # the service


@dataclass(frozen=True)
class Case:
    name: str
    action: str
    record: Build
    call: Call


def _none(_w: World, _a: Actor) -> None:
    return None


def create(cls: str) -> Case:
    def call(w: World, actor: Actor, _oid: str | None, values: dict[str, Any]) -> None:
        services.CREATE[cls](w.db, actor, **values)
    return Case("create", "create", _none, call)


def delete(cls: str, record: Build, name: str = "delete") -> Case:
    def call(w: World, actor: Actor, oid: str | None, _values: dict[str, Any]) -> None:
        assert oid is not None
        services.delete_record(w.db, actor, cls, oid)
    return Case(name, "delete", record, call)


def edit(cls: str, record: Build, name: str, **change: Any) -> Case:
    def call(w: World, actor: Actor, oid: str | None, _values: dict[str, Any]) -> None:
        services.UPDATE[cls](w.db, actor, oid, **change)
    return Case(name, "edit", record, call)


def step(action: str, record: Build, name: str, service: Callable[..., Any], **kw: Any) -> Case:
    def call(w: World, actor: Actor, oid: str | None, _values: dict[str, Any]) -> None:
        service(w.db, actor, oid, **kw)
    return Case(name, action, record, call)


# What a person types into a new form besides what it starts with.
TYPED: dict[str, Callable[[World, Actor], dict[str, Any]]] = {
    "AuditSite": lambda w, a: dict(siteCode="NEW-09", siteName="New site", region="East",
                                   siteOwner=a.id),
    "AspectImpactLog": lambda w, a: dict(site=home(w, a), aspectCategory="waste", likelihood=2,
                                         aspectDescription="Oily rags", severity=3,
                                         impact="Hazardous waste"),
    "SpillKitLog": lambda w, a: dict(site=home(w, a), kitTag="SK-2", sealStatus="intact",
                                     inspectionStatus="pass"),
    "LegalRegisterEntry": lambda w, a: dict(site=home(w, a), referenceCode="NEW-1",
                                            requirementTitle="Permit", jurisdiction="England",
                                            requirementType="permit", reviewFrequency="annual"),
    "AuditReview": lambda w, a: dict(site=home(w, a), scope="Waste", leadAuditor=a.id),
    "AuditFinding": lambda w, a: dict(site=home(w, a), description="Bund cracked",
                                      severity="observation", correctiveAction="Repair"),
    "User": lambda w, a: dict(username="newperson", email="new@example.com", role="auditor"),
}


def _user_create(w: World, actor: Actor, _oid: str | None, values: dict[str, Any]) -> None:
    services.create_user(w.db, actor, username=values["username"], email=values["email"],
                         role=values["role"], password=PASSWORD)


def _target_user(w: World, actor: Actor) -> str:
    return (w.coordinator if actor.id == w.auditor.id else w.auditor).id


def _other_site(w: World, actor: Actor) -> str:
    return w.site_a if home(w, actor) == w.site_b else w.site_b


def _export_pack(db: Any, actor: Actor, site: str, *, out: Path) -> None:
    from desktop_audit.reports import export_pack

    export_pack(db, actor, site, out, journal=False)


CASES: dict[str, list[Case]] = {
    "AuditSite": [
        create("AuditSite"),
        edit("AuditSite", lambda w, a: home(w, a), "edit their site", region="West"),
        edit("AuditSite", _other_site, "edit another site", region="West"),
        delete("AuditSite", lambda w, a: home(w, a)),
        Case("export_pack", "export_pack", lambda w, a: home(w, a),
             lambda w, a, oid, _v: _export_pack(w.db, a, str(oid), out=w.db.path.parent / "p.pdf")),
    ],
    "AspectImpactLog": [
        create("AspectImpactLog"),
        edit("AspectImpactLog", lambda w, a: aspect(w, a, home(w, a)), "edit own entry",
             impact="Soil"),
        edit("AspectImpactLog", lambda w, a: aspect(w, someone_else(w, a), home(w, a)),
             "edit another's entry", impact="Soil"),
        delete("AspectImpactLog", lambda w, a: aspect(w, a, home(w, a))),
    ],
    "SpillKitLog": [
        create("SpillKitLog"),
        edit("SpillKitLog", lambda w, a: kit_check(w, a, home(w, a)), "edit own check",
             notes="Restocked"),
        edit("SpillKitLog", lambda w, a: kit_check(w, someone_else(w, a), home(w, a)),
             "edit another's check", notes="Restocked"),
        delete("SpillKitLog", lambda w, a: kit_check(w, a, home(w, a))),
    ],
    "LegalRegisterEntry": [
        create("LegalRegisterEntry"),
        edit("LegalRegisterEntry", legal_entry, "edit", jurisdiction="Scotland"),
        step("evaluate", legal_entry, "evaluate", services.record_legal_evaluation,
             complianceStatus="compliant"),
        delete("LegalRegisterEntry", legal_entry),
    ],
    "AuditReview": [
        create("AuditReview"),
        edit("AuditReview", lambda w, a: review(w, a, a), "edit one they lead", scope="Energy"),
        edit("AuditReview", lambda w, a: review(w, a, someone_else(w, a)),
             "edit one another leads", scope="Energy"),
        edit("AuditReview", lambda w, a: review(w, a, someone_else(w, a), "approved"),
             "edit an approved one", scope="Energy"),
        step("approve", lambda w, a: review(w, a, someone_else(w, a), "completed"),
             "approve a completed one another led", services.approve_review),
        step("approve", lambda w, a: review(w, a, a, "completed"),
             "approve a completed one they led", services.approve_review),
        step("approve", lambda w, a: review(w, a, someone_else(w, a)),
             "approve a planned one", services.approve_review),
        delete("AuditReview", lambda w, a: review(w, a, someone_else(w, a))),
    ],
    "AuditFinding": [
        create("AuditFinding"),
        edit("AuditFinding", finding, "edit an open one", description="Edited"),
        edit("AuditFinding", closed_finding, "edit a closed one", description="Edited"),
        step("close", finding, "close", services.close_finding, verificationNote="Seen fixed"),
        step("close", lambda w, a: finding(w, a, actionOwner=a.id), "close their own action",
             services.close_finding, verificationNote="Seen fixed"),
        step("close", lambda w, a: finding(w, a, logType="aspect",
                                           sourceId=aspect(w, w.admin, home(w, a))),
             "close one about an open aspect", services.close_finding,
             verificationNote="Seen fixed"),
        step("reopen", closed_finding, "reopen", services.reopen_finding, reason="Came back"),
        delete("AuditFinding", finding),
    ],
    "User": [
        Case("create", "create", _none, _user_create),
        edit("User", _target_user, "edit", fullName="Renamed"),
        step("assign", _target_user, "assign sites",
             lambda db, a, oid: services.assign_sites(db, a, oid, [])),
        step("reset_password", _target_user, "reset a password",
             lambda db, a, oid: services.set_password(db, a, oid, "a-new-pass-2026")),
        delete("User", _target_user),
    ],
}


def params(cls: str) -> list[Any]:
    return [pytest.param(role, case, id=f"{role}-{case.name.replace(' ', '_')}")
            for case in CASES[cls] for role in ROLES]


# ---------------------------------------------------------------- reading the UI


def offered(button: QPushButton | None) -> tuple[bool, str]:
    """Whether the UI offers the action (shown and enabled), and its tooltip."""
    if button is None:
        return False, ""
    return button.isEnabled() and not button.isHidden(), button.toolTip()


def form(qtbot: QtBot, w: World, actor: Actor, cls: str, oid: str | None) -> RecordDialog:
    dialog = RecordDialog(w.db, actor, BY_NAME[cls], oid)
    qtbot.addWidget(dialog)
    return dialog


def ui_create(qtbot: QtBot, w: World, actor: Actor, cls: str) -> tuple[bool, str, dict[str, Any]]:
    """The list's New button and a new form's Save button (they agree), and what the form
    would send once the person has typed the rest."""
    view = ListView(w.db, actor, BY_NAME[cls])
    qtbot.addWidget(view)
    allowed, tip = offered(view.new_button)
    dialog = form(qtbot, w, actor, cls, None)
    saves, save_tip = offered(dialog.save_button)
    assert saves == allowed, (tip, save_tip)
    if not allowed:
        assert save_tip == SAVE_REFUSED + tip
    for name, value in TYPED[cls](w, actor).items():
        dialog.editors[name].set_value(value)
    return allowed, tip, dialog.values()


def ui_answer(qtbot: QtBot, w: World, actor: Actor, cls: str, action: str,
              oid: str) -> tuple[bool, str]:
    dialog = form(qtbot, w, actor, cls, oid)
    if action == "edit":
        allowed, tip = offered(dialog.save_button)
        return allowed, tip.removeprefix(SAVE_REFUSED)
    button = dialog.workflow_button(action)
    assert button is not None, f"the form offers no {action} button"
    return offered(button)


# ---------------------------------------------------------------- the service's answer


def service_answer(call: Callable[[], None]) -> tuple[bool, str]:
    try:
        call()
    except ValidationError as exc:
        return False, exc.reason
    except AuditError as exc:
        return False, str(exc)
    return True, ""


def agree(ui: tuple[bool, str], service: tuple[bool, str], what: str) -> None:
    (offers, why), (accepts, refusal) = ui, service
    assert offers == accepts, f"{what}: the UI says {offers} ({why!r}), the service {accepts} " \
                              f"({refusal!r})"
    if not accepts:
        assert why == refusal, what


def check(qtbot: QtBot, w: World, cls: str, role: str, case: Case) -> None:
    actor = w.actor(role)
    oid = case.record(w, actor)
    values: dict[str, Any] = {}
    if case.action == "create":
        allowed, why, values = ui_create(qtbot, w, actor, cls)
        ui = (allowed, why)
    else:
        assert oid is not None
        rt = records.of(cls)
        scoped = rt.site_column is not None and not rt.siteless_rows  # as the unit of work
        if scoped and not actor.is_admin and \
                not actor.sees_site(rt.site_of(rows.load(w.db, rt.cdef, oid))):
            # A record of a site the actor is not assigned to is, to them, not there: the list
            # does not show it and the service answers as for a missing one (as the server).
            view = ListView(w.db, actor, BY_NAME[cls])
            qtbot.addWidget(view)
            assert oid not in {view.model.object_id(r) for r in range(view.model.rowCount())}
            service = service_answer(lambda: case.call(w, actor, oid, values))
            assert service == (False, f"no {rt.label.lower()} with id {oid!r}"), service
            return
        ui = ui_answer(qtbot, w, actor, cls, case.action, oid)
    service = service_answer(lambda: case.call(w, actor, oid, values))
    agree(ui, service, f"{role} {case.name} ({cls})")


# ---------------------------------------------------------------- one test per record type


@pytest.mark.parametrize(("role", "case"), params("AuditSite"))
def test_sites(qtbot: QtBot, world: World, role: str, case: Case) -> None:
    check(qtbot, world, "AuditSite", role, case)


@pytest.mark.parametrize(("role", "case"), params("AspectImpactLog"))
def test_aspects(qtbot: QtBot, world: World, role: str, case: Case) -> None:
    check(qtbot, world, "AspectImpactLog", role, case)


@pytest.mark.parametrize(("role", "case"), params("SpillKitLog"))
def test_spill_kit_checks(qtbot: QtBot, world: World, role: str, case: Case) -> None:
    check(qtbot, world, "SpillKitLog", role, case)


@pytest.mark.parametrize(("role", "case"), params("LegalRegisterEntry"))
def test_legal_register(qtbot: QtBot, world: World, role: str, case: Case) -> None:
    check(qtbot, world, "LegalRegisterEntry", role, case)


@pytest.mark.parametrize(("role", "case"), params("AuditReview"))
def test_reviews(qtbot: QtBot, world: World, role: str, case: Case) -> None:
    check(qtbot, world, "AuditReview", role, case)


@pytest.mark.parametrize(("role", "case"), params("AuditFinding"))
def test_findings(qtbot: QtBot, world: World, role: str, case: Case) -> None:
    check(qtbot, world, "AuditFinding", role, case)


@pytest.mark.parametrize(("role", "case"), params("User"))
def test_users(qtbot: QtBot, world: World, role: str, case: Case) -> None:
    check(qtbot, world, "User", role, case)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["create", "edit", "delete"])
def test_photo_evidence(qtbot: QtBot, world: World, role: str, action: str) -> None:
    """Photos are added, captioned and deleted on the Photos tab of the record they show."""
    w, actor = world, world.actor(role)
    parent = finding(w, actor)
    photo = services.add_evidence(w.db, w.admin, parentClass="AuditFinding", parentId=parent,
                                  path=PHOTO)
    panel = form(qtbot, w, actor, "AuditFinding", parent).evidence
    assert panel is not None
    qtbot.waitUntil(lambda: panel.current_photo() is not None)  # thumbnails from a worker
    button = {"create": panel.add_button, "edit": panel.caption_button,
              "delete": panel.delete_button}[action]
    ui = offered(button)
    calls: dict[str, Callable[[], Any]] = {
        "create": lambda: services.add_evidence(w.db, actor, parentClass="AuditFinding",
                                                parentId=parent, path=PHOTO),
        "edit": lambda: services.update_caption(w.db, actor, photo, "Drums in the rain"),
        "delete": lambda: services.delete_record(w.db, actor, "Evidence", photo),
    }
    agree(ui, service_answer(calls[action]), f"{role} {action} a photo")


@pytest.mark.parametrize("role", ROLES)
def test_audit_trail_events(qtbot: QtBot, world: World, role: str) -> None:
    """Trail events are written by the program: no role may delete one, and no form offers
    a change."""
    actor = world.actor(role)
    finding(world, actor)
    event = rows.first(world.db, TRAIL, {"siteId": home(world, actor)}, order=["-at"])
    assert event is not None
    dialog = form(qtbot, world, actor, "AuditTrailEvent", event["objectId"])
    assert not dialog.save_button.isEnabled()
    view = ListView(world.db, actor, TRAIL)
    qtbot.addWidget(view)
    assert view.new_button.isHidden() and view.import_button.isHidden()
    ui = offered(dialog.workflow_button("delete"))
    refusal = service_answer(lambda: services.delete_record(world.db, actor, "AuditTrailEvent",
                                                            event["objectId"]))
    agree(ui, refusal, f"{role} delete a trail event")
