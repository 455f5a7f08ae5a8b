"""A hostile client against the real server: raw REST, /batch and GraphQL, with sessions of
every role and none.  Every hole of the review (issue 10) that belongs to the rules: the
workflow gates, derived values, dates, authorship, cross-site links and what answers
reveal, hard deletes, ACLs, transaction batches, GraphQL errors.  Each refusal is checked
for its code and field, and that the server kept what it held."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from desktop_audit import clock, services
from tests.sync.conftest import Laptop, Server, Team, add_aspect, add_kit
from tests.sync.rest_tools import Answer, Rest, date, ptr

pytestmark = pytest.mark.sync

PAST = "2026-01-05T10:00:00.000Z"


@dataclass
class World:
    team: Team
    server: Server
    ids: dict[str, str]
    rest: dict[str, Rest] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name in self.rest:
            return self.rest[name]
        raise AttributeError(name)

    def stored(self, class_name: str, object_id: str) -> dict[str, Any]:
        answer = self.rest["master"].get(class_name, object_id)
        assert answer.ok, answer
        body = dict(answer.body)
        body.pop("updatedAt", None)
        return body


def _seed(lap: Laptop, team: Team) -> dict[str, str]:
    db, admin = lap.db, lap.actor
    assert admin is not None
    a, b = team.site_a, team.site_b
    ids = dict(team.ids)
    ids["admin"] = admin.id
    ids["bob"] = services.create_user(db, admin, username="bob", email="bob@example.com",
                                      role="auditor", password="correct-horse-9",
                                      sites=[b])
    ids["legal"] = services.add_legal_entry(
        db, admin, site=a, referenceCode="EPR-1", requirementTitle="Permit",
        requirementType="permit", jurisdiction="EA", reviewFrequency="annual",
        dueDate="2099-01-01", complianceStatus="compliant", owner=team.ids["manager"])
    ids["aspect"] = add_aspect(lap, a, 0)
    ids["kit_pass"] = add_kit(lap, a, 1)
    ids["kit_fail"] = add_kit(lap, a, 2, inspectionStatus="fail", sealStatus="broken",
                              missingItems=["gloves"])
    ids["kit_b"] = add_kit(lap, b, 3)
    past = (clock.today() - timedelta(days=10)).isoformat()
    future = (clock.today() + timedelta(days=30)).isoformat()
    review = dict(site=a, auditDate=past, scope="Spill response", criteria="ISO 14001 8.2")
    ids["review_done"] = services.plan_review(db, admin, reviewStatus="completed",
                                              leadAuditor=team.ids["auditor"], **review)
    ids["review_mgr"] = services.plan_review(db, admin, reviewStatus="completed",
                                             leadAuditor=team.ids["manager"], **review)
    ids["review_planned"] = services.plan_review(db, admin, **{**review, "auditDate": future},
                                                 reviewStatus="planned",
                                                 leadAuditor=team.ids["auditor"])
    ids["review_approved"] = services.plan_review(db, admin, reviewStatus="completed",
                                                  leadAuditor=team.ids["auditor"], **review)
    services.approve_review(db, admin, ids["review_approved"])
    ids["review_b"] = services.plan_review(db, admin, site=b, auditDate=past,
                                           reviewStatus="planned", leadAuditor=admin.id)
    ids["finding_open"] = services.raise_finding(
        db, admin, site=a, logType="legal", sourceId=ids["legal"], severity="minor_nc",
        description="permit copy missing", correctiveAction="file a copy",
        rootCause="no checklist", actionOwner=team.ids["manager"])
    ids["finding_kit"] = services.raise_finding(
        db, admin, site=a, logType="spill_kit", sourceId=ids["kit_fail"], severity="minor_nc",
        description="kit seal broken", correctiveAction="reseal", rootCause="used in a leak",
        actionOwner=team.ids["coordinator"], verificationNote="seen resealed")
    ids["finding_closed"] = services.raise_finding(
        db, admin, site=a, logType="general", severity="observation", description="drum lid",
        correctiveAction="fit a lid", actionOwner=team.ids["coordinator"])
    services.close_finding(db, admin, ids["finding_closed"], verificationNote="lid fitted")
    return ids


@pytest.fixture
def world(team: Team, server: Server) -> Iterator[World]:
    ids = _seed(team.laptop, team)
    report = team.laptop.sync()
    assert report.exit_code == 0, report.summary()
    w = World(team, server, ids)
    w.rest["master"] = Rest(server, master=True)
    w.rest["anonymous"] = Rest(server)
    for role, username in (("admin", "admin"), ("manager", "manager"),
                           ("coordinator", "coordinator"), ("auditor", "auditor"),
                           ("field_staff", "fieldstaff"), ("bob", "bob")):
        w.rest[role] = Rest(server, username=username)
    yield w
    for r in w.rest.values():
        r.close()


def refused(answer: Answer, code: int, field_name: str | None = None) -> None:
    assert not answer.ok and answer.code == code, answer
    assert answer.status < 500
    if field_name is not None:
        assert answer.error.startswith(f"{field_name}:"), answer


def finding_body(w: World, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site": ptr("AuditSite", w.team.site_a), "logType": "general", "severity": "minor_nc",
        "description": "oil under the pump", "correctiveAction": "fit a drip tray",
        "rootCause": "seal worn", "closed": False, "raisedBy": ptr("User", w.ids["admin"])}
    body.update(extra)
    return body


def near_now(iso: str) -> bool:
    return abs(clock.parse_iso(iso) - datetime.now(UTC)) < timedelta(minutes=3)


# ---------------------------------------------------------------- workflow gates


def test_workflow_gates_hold_over_rest_and_batch(world: World) -> None:
    w, ids = world, world.ids
    m = w.manager
    open_before = w.stored("AuditFinding", ids["finding_open"])
    # The action owner closes their own finding with someone else's name as the closer ...
    refused(m.update("AuditFinding", ids["finding_open"], {
        "closed": True, "closedBy": ptr("User", ids["admin"]), "closedAt": date(PAST),
        "verificationNote": "seen on file"}), 142, "actionOwner")
    # ... or by handing the action to someone else in the same write.
    refused(m.update("AuditFinding", ids["finding_open"], {
        "closed": True, "actionOwner": ptr("User", ids["coordinator"]),
        "verificationNote": "seen on file"}), 142, "actionOwner")
    assert w.stored("AuditFinding", ids["finding_open"]) == open_before
    # Created already closed: by a role that may not close, by the action owner.
    refused(w.coordinator.create("AuditFinding", finding_body(
        w, closed=True, closedBy=ptr("User", ids["manager"]), closedAt=date(PAST),
        verificationNote="fine", actionOwner=ptr("User", ids["auditor"]))), 119)
    refused(m.create("AuditFinding", finding_body(
        w, closed=True, verificationNote="fine", actionOwner=ptr("User", ids["manager"]),
        raisedBy=ptr("User", ids["manager"]))), 142, "actionOwner")
    # A manager who may close it: the closer and the time are the server's, not the body's.
    made = m.create("AuditFinding", finding_body(
        w, closed=True, closedBy=ptr("User", ids["admin"]), closedAt=date("2020-01-01"),
        verificationNote="tray fitted and dry", actionOwner=ptr("User", ids["auditor"]),
        raisedBy=ptr("User", ids["manager"])))
    assert made.ok, made
    stored = w.stored("AuditFinding", made.body["objectId"])
    assert stored["closedBy"]["objectId"] == ids["manager"]
    assert near_now(stored["closedAt"]["iso"])
    # A closed finding is not edited; not even by the closer's colleagues.
    closed_before = w.stored("AuditFinding", ids["finding_closed"])
    refused(w.auditor.update("AuditFinding", ids["finding_closed"], {"description": "changed"}),
            142, "closed")
    refused(m.update("AuditFinding", ids["finding_closed"], {"closedBy": ptr("User", ids["manager"])}),
            142, "closedBy")
    assert w.stored("AuditFinding", ids["finding_closed"]) == closed_before

    # Reviews: a manager approving one he leads, creating one approved, approving a planned one.
    refused(m.update("AuditReview", ids["review_mgr"], {"reviewStatus": "approved"}), 142,
            "leadAuditor")
    review = {"site": ptr("AuditSite", w.team.site_a), "auditDate": date(PAST[:10]),
              "reviewStatus": "approved", "leadAuditor": ptr("User", ids["manager"])}
    refused(m.create("AuditReview", review), 142, "leadAuditor")
    refused(w.coordinator.create("AuditReview", {**review,
                                                 "leadAuditor": ptr("User", ids["auditor"])}), 119)
    refused(m.update("AuditReview", ids["review_planned"], {"reviewStatus": "approved"}), 142,
            "reviewStatus")
    # ... nor completed before its audit date at the site.
    refused(w.coordinator.update("AuditReview", ids["review_planned"],
                                 {"reviewStatus": "completed"}), 142, "reviewStatus")
    # The lead auditor neither edits nor un-approves an approved review.
    approved = w.stored("AuditReview", ids["review_approved"])
    refused(w.auditor.update("AuditReview", ids["review_approved"], {"scope": "less"}), 142,
            "reviewStatus")
    refused(w.auditor.update("AuditReview", ids["review_approved"],
                             {"reviewStatus": "completed"}), 142, "reviewStatus")
    assert w.stored("AuditReview", ids["review_approved"]) == approved
    # The same refusals inside a /batch, each with its own answer.
    answer = m.batch([
        {"method": "PUT", "path": f"/classes/AuditFinding/{ids['finding_open']}",
         "body": {"closed": True, "verificationNote": "x"}},
        {"method": "PUT", "path": f"/classes/AuditReview/{ids['review_planned']}",
         "body": {"reviewStatus": "approved"}},
        {"method": "PUT", "path": f"/classes/AuditFinding/{ids['finding_closed']}",
         "body": {"rootCause": "x"}},
    ])
    assert answer.status == 200
    assert [r["error"]["code"] for r in answer.body] == [142, 142, 142]
    assert [r["error"]["error"].split(":")[0] for r in answer.body] == [
        "actionOwner", "reviewStatus", "closed"]
    # A legitimate approval: by whom and when are the server's (no journaled event yet).
    ok = m.update("AuditReview", ids["review_done"], {
        "reviewStatus": "approved", "approvedBy": ptr("User", ids["admin"]),
        "approvedAt": date("2020-01-01")})
    assert ok.ok, ok
    done = w.stored("AuditReview", ids["review_done"])
    assert done["approvedBy"]["objectId"] == ids["manager"] and near_now(done["approvedAt"]["iso"])


def test_the_journaled_step_names_who_and_when(world: World) -> None:
    """With the close journaled on the server (the trail travels before the records), the
    closer and the time are the event's, whoever's session carries the record."""
    w, ids = world, world.ids
    at = (datetime.now(UTC) - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    event = {"deviceId": "laptop-1", "seq": 1, "at": date(at), "actor": ids["admin"],
             "actorName": "admin", "action": "close", "recordClass": "AuditFinding",
             "recordId": ids["finding_kit"], "siteId": w.team.site_a,
             "changes": {"closed": [False, True]}, "prevHash": "0" * 64, "hash": "1" * 64}
    assert w.master.create("AuditTrailEvent", event).ok
    # The kit's latest inspection failed: the journaled close still meets the gate.
    refused(w.coordinator.update("AuditFinding", ids["finding_kit"], {"closed": True}), 142,
            "sourceId")
    assert w.master.update("SpillKitLog", ids["kit_fail"], {
        "inspectionStatus": "pass", "sealStatus": "intact", "missingItems": [],
        "replenishmentNeeded": False}).ok
    ok = w.coordinator.update("AuditFinding", ids["finding_kit"], {
        "closed": True, "closedBy": ptr("User", ids["coordinator"])})
    assert ok.ok, ok
    stored = w.stored("AuditFinding", ids["finding_kit"])
    assert stored["closedBy"]["objectId"] == ids["admin"]
    assert stored["closedAt"]["iso"] == at
    # A journaled time in the future is refused.
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert w.master.create("AuditTrailEvent", {**event, "seq": 2, "at": date(later),
                                               "action": "approve",
                                               "recordClass": "AuditReview",
                                               "recordId": ids["review_done"]}).ok
    refused(w.manager.update("AuditReview", ids["review_done"], {"reviewStatus": "approved"}),
            142, "approvedAt")


# ---------------------------------------------------------------- derived values


def aspect_body(w: World, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site": ptr("AuditSite", w.team.site_a), "aspectCategory": "waste",
        "aspectDescription": "oily rags", "impact": "soil", "operatingCondition": "normal",
        "likelihood": 3, "severity": 4, "riskRating": 12, "impactRating": "high",
        "thresholdApplied": 12, "significant": True, "actionStatus": "open",
        "loggedBy": ptr("User", w.ids["field_staff"]), "loggedAt": date(PAST)}
    body.update(extra)
    return body


def kit_body(w: World, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site": ptr("AuditSite", w.team.site_a), "kitTag": "KIT-9", "lastCheckedAt": date(PAST),
        "inspectionStatus": "needs_attention", "sealStatus": "intact", "missingItems": [],
        "replenishmentNeeded": False, "checkedBy": ptr("User", w.ids["field_staff"])}
    body.update(extra)
    return body


def test_derived_values_must_agree_with_their_inputs(world: World) -> None:
    w = world
    f = w.field_staff
    assert f.create("AspectImpactLog", aspect_body(w)).ok
    for wrong, name in (({"significant": False}, "significant"),
                        ({"impactRating": "low"}, "impactRating"),
                        ({"riskRating": 7}, "riskRating"),
                        ({"thresholdApplied": 20, "significant": False}, "thresholdApplied")):
        refused(f.create("AspectImpactLog", aspect_body(w, **wrong)), 142, name)
    body = aspect_body(w)
    del body["likelihood"], body["severity"]
    refused(f.create("AspectImpactLog", body), 142, "likelihood")
    refused(f.create("SpillKitLog", kit_body(w, missingItems=["gloves"])), 142,
            "replenishmentNeeded")
    refused(f.create("SpillKitLog", kit_body(w, sealStatus="broken")), 142, "replenishmentNeeded")
    refused(f.create("SpillKitLog", kit_body(w, inspectionStatus="pass", sealStatus="broken",
                                            replenishmentNeeded=True)), 142, "inspectionStatus")
    no_seal = kit_body(w)
    del no_seal["sealStatus"]
    refused(f.create("SpillKitLog", no_seal), 142, "sealStatus")
    # An edit that changes an input must bring the derived values along.
    made = f.create("AspectImpactLog", aspect_body(w))
    refused(f.update("AspectImpactLog", made.body["objectId"], {"severity": 1}), 142, "riskRating")
    refused(f.update("AspectImpactLog", made.body["objectId"], {"thresholdApplied": 25}), 142,
            "thresholdApplied")
    assert f.update("AspectImpactLog", made.body["objectId"], {
        "severity": 1, "riskRating": 3, "impactRating": "low", "significant": False}).ok


# ---------------------------------------------------------------- dates


def test_dates_in_the_future_are_refused_and_never_the_latest(world: World) -> None:
    w, ids = world, world.ids
    refused(w.field_staff.create("SpillKitLog", kit_body(
        w, kitTag="KIT-00002", inspectionStatus="pass", lastCheckedAt=date("2031-01-01T08:00:00.000Z"))),
        142, "lastCheckedAt")
    soon = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert w.field_staff.create("SpillKitLog", kit_body(w, kitTag="KIT-7",
                                                        lastCheckedAt=date(soon))).ok
    refused(w.field_staff.create("AspectImpactLog", aspect_body(
        w, loggedAt=date("2031-01-01T08:00:00.000Z"))), 142, "loggedAt")
    tomorrow = (clock.today() + timedelta(days=2)).isoformat()
    refused(w.coordinator.update("LegalRegisterEntry", ids["legal"],
                                 {"lastEvaluatedAt": date(tomorrow)}), 142, "lastEvaluatedAt")
    # A pass dated 2031 that reached the server before these rules does not count as the
    # kit's latest inspection: the finding about the failed kit stays open.
    assert w.master.create("SpillKitLog", kit_body(
        w, kitTag="KIT-00002", inspectionStatus="pass",
        lastCheckedAt=date("2031-01-01T08:00:00.000Z"))).ok
    refused(w.manager.update("AuditFinding", ids["finding_kit"], {"closed": True}), 142,
            "sourceId")


# ---------------------------------------------------------------- authorship


def test_who_did_the_work_is_not_a_bare_client_field(world: World) -> None:
    w, ids = world, world.ids
    refused(w.field_staff.create("AspectImpactLog", aspect_body(
        w, loggedBy=ptr("User", ids["manager"]))), 142, "loggedBy")
    refused(w.auditor.create("AuditFinding", finding_body(w, raisedBy=ptr("User", ids["admin"]))),
            142, "raisedBy")
    # An office role enters a paper inspection for someone assigned to the site ...
    assert w.coordinator.create("SpillKitLog", kit_body(w, kitTag="KIT-P")).ok
    # ... but not for someone who is not.
    refused(w.coordinator.create("SpillKitLog", kit_body(
        w, kitTag="KIT-Q", checkedBy=ptr("User", ids["bob"]))), 142, "checkedBy")
    # Field staff cannot hand their entry to someone else.
    own = w.field_staff.create("AspectImpactLog", aspect_body(w))
    refused(w.field_staff.update("AspectImpactLog", own.body["objectId"],
                                 {"loggedBy": ptr("User", ids["coordinator"])}), 119)
    # A shared laptop: what the coordinator entered for someone else reaches the server in
    # the field worker's session. Refused until the journaled create is there, then accepted.
    oid = "Shared0001"
    body = {**kit_body(w, kitTag="KIT-S", checkedBy=ptr("User", ids["auditor"])),
            "objectId": oid}
    refused(w.field_staff.create("SpillKitLog", body), 142, "checkedBy")
    assert w.master.create("AuditTrailEvent", {
        "deviceId": "laptop-2", "seq": 1, "at": date(PAST), "actor": ids["coordinator"],
        "actorName": "coordinator", "action": "create", "recordClass": "SpillKitLog",
        "recordId": oid, "siteId": w.team.site_a,
        "changes": {"checkedBy": [None, ids["auditor"]]},
        "prevHash": "0" * 64, "hash": "2" * 64}).ok
    assert w.field_staff.create("SpillKitLog", body).ok


# ---------------------------------------------------------------- sites and what answers say


def test_links_stay_on_their_site_and_answers_reveal_nothing(world: World) -> None:
    w, ids = world, world.ids
    c = w.coordinator
    missing = "Nope000000"
    # A finding on site A pointing at site B's review or kit: the answer is the one for an
    # id that does not exist.
    a = c.create("AuditFinding", finding_body(w, review=ptr("AuditReview", ids["review_b"])))
    b = c.create("AuditFinding", finding_body(w, review=ptr("AuditReview", missing)))
    refused(a, 142, "review")
    assert a.error.replace(ids["review_b"], "ID") == b.error.replace(missing, "ID")
    a = c.create("AuditFinding", finding_body(w, logType="spill_kit", sourceId=ids["kit_b"]))
    b = c.create("AuditFinding", finding_body(w, logType="spill_kit", sourceId=missing))
    refused(a, 142, "sourceId")
    assert a.error.replace(ids["kit_b"], "ID") == b.error.replace(missing, "ID")
    # The admin sees both sites: told plainly.
    refused(w.admin.create("AuditFinding", finding_body(w, review=ptr("AuditReview",
                                                                      ids["review_b"]))),
            142, "review")
    # Another site's records: reading, writing, deleting answer like a missing id.
    for call in (lambda i: c.get("SpillKitLog", i),
                 lambda i: c.update("SpillKitLog", i, {"notes": "x"}),
                 lambda i: c.delete("SpillKitLog", i)):
        theirs, nothing = call(ids["kit_b"]), call(missing)
        assert (theirs.status, theirs.code) == (nothing.status, nothing.code) == (404, 101)
        assert theirs.error.replace(ids["kit_b"], "ID") == nothing.error.replace(missing, "ID")
    # A site the user is not assigned to and one that does not exist: the same answer.
    theirs = c.create("SpillKitLog", kit_body(w, site=ptr("AuditSite", w.team.site_b)))
    nothing = c.create("SpillKitLog", kit_body(w, site=ptr("AuditSite", missing)))
    refused(theirs, 119, "site")
    assert (theirs.code, theirs.error) == (nothing.code, nothing.error)
    # 137 only for one's own records: a create reusing the id of another site's record is
    # answered like a missing record; reusing a visible one's id is the exactly-once 137.
    reuse = c.create("SpillKitLog", {**kit_body(w, kitTag="KIT-R"), "objectId": ids["kit_b"]})
    assert (reuse.status, reuse.code) == (404, 101), reuse
    again = c.create("SpillKitLog", {**kit_body(w, kitTag="KIT-R"), "objectId": ids["kit_pass"]})
    assert again.code == 137, again
    answer = c.batch([
        {"method": "POST", "path": "/classes/SpillKitLog",
         "body": {**kit_body(w, kitTag="KIT-T"), "objectId": ids["kit_b"]}},
        {"method": "POST", "path": "/classes/SpillKitLog",
         "body": {**kit_body(w, kitTag="KIT-T"), "objectId": ids["kit_pass"]}},
        {"method": "PUT", "path": f"/classes/SpillKitLog/{ids['kit_b']}", "body": {"notes": "x"}},
    ])
    assert [r["error"]["code"] for r in answer.body] == [101, 137, 101], answer
    # A unique key taken on the same site: the key's field, not a 137.
    clash = c.create("SpillKitLog", kit_body(w, kitTag="KIT-00001"))
    refused(clash, 142, "lastCheckedAt")


# ---------------------------------------------------------------- deletes and ACLs


def test_deletes_are_tombstones_and_acls_are_the_servers(world: World) -> None:
    w, ids = world, world.ids
    refused(w.admin.delete("AspectImpactLog", ids["aspect"]), 119)
    answer = w.admin.batch([{"method": "DELETE",
                             "path": f"/classes/AspectImpactLog/{ids['aspect']}"}])
    assert answer.body[0]["error"]["code"] == 119
    assert w.master.get("AspectImpactLog", ids["aspect"]).ok
    refused(w.coordinator.update("AspectImpactLog", ids["aspect"],
                                 {"deletedAt": date(PAST)}), 119)
    assert w.admin.update("AspectImpactLog", ids["aspect"], {"deletedAt": date(PAST)}).ok
    refused(w.coordinator.update("AspectImpactLog", ids["aspect"], {"controlMeasure": "x"}), 101)
    assert w.master.delete("AspectImpactLog", ids["aspect"]).ok
    # ACLs: set by the server only, for every session.
    hidden = {"ACL": {ids["field_staff"]: {"read": True, "write": True}}}
    refused(w.field_staff.create("SpillKitLog", {**kit_body(w, kitTag="KIT-A"), **hidden}), 119,
            "ACL")
    refused(w.admin.update("SpillKitLog", ids["kit_pass"], hidden), 119, "ACL")
    assert "ACL" not in w.stored("SpillKitLog", ids["kit_pass"])
    # No session at all: nothing.
    anonymous = w.anonymous.create("SpillKitLog", kit_body(w, kitTag="KIT-N"))
    assert not anonymous.ok and anonymous.status < 500


def test_transaction_batches_are_refused_plainly(world: World) -> None:
    w = world
    before = w.master.call("GET", "/classes/SpillKitLog?count=1&limit=0&where=%7B%7D").body
    answer = w.manager.batch([
        {"method": "POST", "path": "/classes/SpillKitLog", "body": kit_body(w, kitTag="KIT-X")},
        {"method": "POST", "path": "/classes/SpillKitLog",
         "body": kit_body(w, kitTag="KIT-Y", lastCheckedAt=date("2031-01-01T08:00:00.000Z"))},
    ], transaction=True)
    assert answer.status == 400 and answer.code == 119, answer
    assert "transaction" in answer.error
    after = w.master.call("GET", "/classes/SpillKitLog?count=1&limit=0&where=%7B%7D").body
    assert before == after


def test_graphql_writes_meet_the_same_rules_and_errors_carry_no_internals(world: World) -> None:
    w = world
    mutation = """mutation Raise($input: CreateAuditFindingInput!) {
      createAuditFinding(input: $input) { auditFinding { objectId } } }"""
    fields = {"site": {"link": w.team.site_a}, "logType": "general", "severity": "major_nc",
              "description": "x", "correctiveAction": "y", "closed": False,
              "raisedBy": {"link": w.ids["field_staff"]}}
    answer = w.field_staff.graphql(mutation, {"input": {"fields": fields}})
    text = str(answer.body)
    assert "errors" in answer.body, answer
    assert "observations only" in text
    for internal in ("/work/", "node_modules", "stacktrace", ".js:"):
        assert internal not in text, text
    broken = w.field_staff.graphql("query { nosuchthing { objectId } }")
    assert "errors" in broken.body
    for internal in ("/work/", "node_modules", "stacktrace", ".js:"):
        assert internal not in str(broken.body), broken.body
    assert w.master.call("GET", "/classes/AuditFinding?where=%7B%22severity%22%3A%22major_nc%22%7D"
                         ).body["results"] == []
