"""Live Query, tried with the official Parse JS SDK's LiveQuery client (tests/sync/
livequery_probe.js) by sessions of every role and none: no query shape widens a
subscription beyond the user's sites, and no event carries another site's version of a
record (the `original` of an update, an enter or a leave)."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import APP_ID, ROOT, Server, Team
from tests.sync.hostile import World, make_world, pointer

pytestmark = pytest.mark.sync

PARSE_DIR = ROOT / "resources" / "parse_server"
PROBE = Path(__file__).with_name("livequery_probe.js")
SAFETY = 120.0  # a probe that never answers fails the test instead of hanging it


@pytest.fixture
def world(team: Team, server: Server) -> World:
    return make_world(team, server)


class Probe:
    """The Node process holding the subscriptions, and every line it printed."""

    def __init__(self, world: World, subscriptions: list[dict[str, Any]], tmp: Path) -> None:
        node = shutil.which("node")
        assert node, "node is needed for the Live Query probe"
        parts = urllib.parse.urlsplit(world.server.url)
        spec = {"appId": APP_ID, "serverURL": world.server.url,
                "wsURL": f"ws://{parts.hostname}:{parts.port}{parts.path}",
                "subscriptions": subscriptions}
        path = tmp / "livequery-spec.json"
        path.write_text(json.dumps(spec))
        self.lines: list[dict[str, Any]] = []
        self.ended = False
        self.done = threading.Condition()
        self.proc = subprocess.Popen([node, str(PROBE), str(path)], cwd=PARSE_DIR,
                                     env={"PATH": "/usr/bin:/bin", "PARSE_SERVER_DIR":
                                          str(PARSE_DIR)},
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.done:
                self.lines.append(json.loads(line))
                self.done.notify_all()
        self.proc.wait()
        with self.done:
            self.ended = True
            self.done.notify_all()

    def wait(self, what: str, predicate: Callable[[list[dict[str, Any]]], bool]) -> None:
        deadline = time.monotonic() + SAFETY
        with self.done:
            while not predicate(self.lines):
                if self.ended:
                    err = self.proc.stderr.read() if self.proc.stderr else ""
                    raise AssertionError(f"the probe ended before {what}: {err[-2000:]}")
                left = deadline - time.monotonic()
                assert left > 0, f"the probe never saw {what}"
                self.done.wait(left)

    def of(self, sub: str) -> list[dict[str, Any]]:
        with self.done:
            return [line for line in self.lines if line.get("id") == sub]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def shapes(a: str, b: str) -> dict[str, dict[str, Any]]:
    """Query shapes a client might try to reach site *b* from a session of site *a*."""
    return {
        "everything": {},
        "pointer to the other site": {"site": pointer(b)},
        "$in mixing sites": {"site": {"$in": [pointer(a), pointer(b)]}},
        "$or": {"$or": [{"site": pointer(b)}, {"site": pointer(a)}]},
        "$and": {"$and": [{"site": pointer(b)}]},
        "nested": {"$or": [{"$and": [{"$or": [{"site": pointer(b)}]}]}]},
        "$ne": {"site": {"$ne": pointer(a)}},
        "$nin": {"site": {"$nin": [pointer(a)]}},
        "$exists": {"site": {"$exists": True}},
        "no site at all": {"site": {"$exists": False}},
        "$regex": {"description": {"$regex": ".*"}},
        "dotted key": {"site.objectId": b},
        "$nor": {"$nor": [{"site": pointer(a)}]},
        "objectId": {"objectId": {"$exists": True}},
    }


def _finding(world: World, site: str, text: str) -> str:
    oid = secrets.token_hex(5)
    a = world.raw.send("POST", "/classes/AuditFinding", {
        "objectId": oid, "site": pointer(site), "logType": "general",
        "severity": "observation", "description": text, "closed": False}, master=True)
    assert a.status == 201, a.body
    return oid


def _review(world: World, site: str, text: str) -> str:
    oid = secrets.token_hex(5)
    a = world.raw.send("POST", "/classes/AuditReview", {
        "objectId": oid, "site": pointer(site),
        "auditDate": {"__type": "Date", "iso": "2026-03-01T00:00:00.000Z"},
        "scope": text, "reviewStatus": "planned",
        "leadAuditor": {"__type": "Pointer", "className": "_User",
                        "objectId": world.ids["auditor"]}}, master=True)
    assert a.status == 201, a.body
    return oid


def _edit(world: World, cls: str, oid: str, **values: Any) -> None:
    a = world.raw.send("PUT", f"/classes/{cls}/{oid}", values, master=True)
    assert a.ok, a.body


SCOPED = ("manager", "coordinator", "auditor", "field_staff")


def test_no_subscription_reaches_another_site(world: World, tmp_path: Path) -> None:
    a, b = world.site_a, world.site_b
    subs: list[dict[str, Any]] = []
    for role in SCOPED:
        for name, where in shapes(a, b).items():
            subs.append({"id": f"{role}/{name}", "token": world.token(role),
                         "className": "AuditFinding", "where": where})
        subs.append({"id": f"{role}/reviews of the other site", "token": world.token(role),
                     "className": "AuditReview", "where": {"site": pointer(b)}})
        subs.append({"id": f"{role}/reviews", "token": world.token(role),
                     "className": "AuditReview", "where": {}})
    subs.append({"id": "admin/everything", "token": world.token("admin"),
                 "className": "AuditFinding", "where": {}})
    subs.append({"id": "none/everything", "token": None, "className": "AuditFinding",
                 "where": {}})
    subs.append({"id": "none/reviews", "token": None, "className": "AuditReview",
                 "where": {"site": pointer(a)}})
    probe = Probe(world, subs, tmp_path)
    try:
        ids = {s["id"] for s in subs}
        probe.wait("every subscription answered", lambda lines: ids <= {
            line["id"] for line in lines if line.get("op") in ("subscribed", "error")})
        refused = {line["id"] for line in probe.lines if line.get("op") == "error"}
        assert refused == {"none/everything", "none/reviews"}, refused

        # What happens on the server meanwhile (written with the master key).
        secret = _finding(world, b, "secret of site B")
        _edit(world, "AuditFinding", secret, description="still secret of site B")
        own = _finding(world, a, "a finding of site A")
        _edit(world, "AuditFinding", own, description="edited on site A")
        moved_in = _finding(world, b, "kept on site B, then moved to A")
        _edit(world, "AuditFinding", moved_in, rootCause="B's version")
        # Moved to A: A's users see the record as it is now, not as it was on B.
        _edit(world, "AuditFinding", moved_in, site=pointer(a), rootCause="A's version")
        moved_out = _finding(world, a, "made on A, then moved to B")
        _edit(world, "AuditFinding", moved_out, site=pointer(b),
              correctiveAction="B's action after the move")
        _review(world, b, "review of site B")
        own_review = _review(world, a, "review of site A")
        # Two sentinels, one after the other, on every role's own connection: what was
        # published before them has been delivered by then.
        for n in (1, 2):
            sentinel = _finding(world, a, f"sentinel {n}")
            probe.wait(f"sentinel {n}", lambda lines, s=sentinel: all(
                any(line.get("id") == f"{role}/everything" and
                    (line.get("object") or {}).get("objectId") == s for line in lines)
                for role in (*SCOPED, "admin")))
    finally:
        probe.close()

    events = [line for line in probe.lines if "object" in line]
    for line in events:
        if line["id"].startswith("admin/"):
            continue
        obj, original = line["object"], line.get("original") or {}
        assert (obj.get("site") or {}).get("objectId") == a, line
        assert obj["objectId"] != secret and "B's" not in json.dumps(obj), line
        if original:
            assert (original.get("site") or {}).get("objectId") in (a, None), line
            assert "B's" not in json.dumps(original), line
    # What is theirs still arrives, whatever the shape asked.
    for role in SCOPED:
        got = {(line["op"], line["object"]["objectId"]) for line in probe.of(f"{role}/everything")
               if "object" in line}
        assert {("create", own), ("update", own), ("enter", moved_in),
                ("leave", moved_out)} <= got, (role, got)
        assert not any(oid == secret for _, oid in got)
        mixed = {line["object"]["objectId"] for line in probe.of(f"{role}/$in mixing sites")
                 if "object" in line}
        assert own in mixed and secret not in mixed
        assert not [line for line in probe.of(f"{role}/pointer to the other site")
                    if "object" in line]
        assert not [line for line in probe.of(f"{role}/reviews of the other site")
                    if "object" in line]
        assert own_review in {line["object"]["objectId"] for line in probe.of(f"{role}/reviews")
                              if "object" in line}
    # The administrator hears every site (so the events above did happen).
    admin = {line["object"]["objectId"] for line in probe.of("admin/everything")
             if "object" in line}
    assert {secret, own, moved_in, moved_out} <= admin


def test_a_subscription_follows_the_account_as_it_is_now(world: World, tmp_path: Path) -> None:
    """Subscribed while assigned and active: once the deactivation (or the loss of a site)
    reaches the server, that subscription hears nothing more of it."""
    from desktop_audit import services

    a, b = world.site_a, world.site_b
    subs = [{"id": f"{role}/everything", "token": world.token(role),
             "className": "AuditFinding", "where": {}}
            for role in ("coordinator", "auditor", "field_staff")]
    probe = Probe(world, subs, tmp_path)
    try:
        probe.wait("subscribed", lambda lines: len(
            [line for line in lines if line.get("op") == "subscribed"]) == len(subs))
        before = _finding(world, a, "heard by all three")
        probe.wait("the first finding", lambda lines: all(
            any(line.get("id") == s["id"] and (line.get("object") or {}).get("objectId") ==
                before for line in lines) for s in subs))
        lap = world.team.laptop
        services.deactivate_user(lap.db, lap.actor, world.ids["auditor"])
        services.assign_sites(lap.db, lap.actor, world.ids["field_staff"], [b])
        world.sync_admin()
        after = _finding(world, a, "heard by the coordinator only")
        for n in (1, 2):
            sentinel = _finding(world, a, f"sentinel {n}")
            probe.wait(f"sentinel {n}", lambda lines, s=sentinel: any(
                line.get("id") == "coordinator/everything" and
                (line.get("object") or {}).get("objectId") == s for line in lines))
    finally:
        probe.close()
    heard = {role: {line["object"]["objectId"] for line in probe.of(f"{role}/everything")
                    if "object" in line} for role in ("coordinator", "auditor", "field_staff")}
    assert after in heard["coordinator"]
    assert before in heard["auditor"] and after not in heard["auditor"]
    assert before in heard["field_staff"] and after not in heard["field_staff"]
