"""Parse Server's own classes and the Cloud Code's records, tried as a hostile client would
(raw REST, /batch, GraphQL) with sessions of every role and none: no roles, installations,
sessions, audiences, jobs, hooks or configuration, no new class and no new field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sync.conftest import Server, Team
from tests.sync.hostile import ROLES, World, graphql_refused, make_world, pointer

pytestmark = pytest.mark.sync


@pytest.fixture
def world(team: Team, server: Server) -> World:
    return make_world(team, server)


def attempts(world: World) -> list[tuple[str, str, Any]]:
    finding = {"site": pointer(world.site_a), "logType": "general", "severity": "observation",
               "description": "rags", "evilField": "x"}
    return [
        ("POST", "/roles", {"name": "Administrators", "ACL": {"*": {"read": True}}}),
        ("GET", "/roles", None),
        ("POST", "/classes/_Role", {"name": "Managers", "ACL": {"*": {"read": True}}}),
        ("POST", "/installations", {"deviceType": "android", "installationId": "0123-4567",
                                    "evilColumn": "x"}),
        ("GET", "/installations", None),
        ("POST", "/sessions", {}),
        ("POST", "/classes/_Session", {}),
        ("PUT", "/sessions/me", {"expiresAt": {"__type": "Date",
                                               "iso": "2099-01-01T00:00:00.000Z"}}),
        ("POST", "/classes/_Audience", {"name": "all", "query": "{}"}),
        ("GET", "/classes/_PushStatus", None),
        ("POST", "/classes/_JobStatus", {"jobName": "x"}),
        ("GET", "/classes/_Hooks", None),
        ("GET", "/classes/_GlobalConfig", None),
        ("POST", "/classes/_GraphQLConfig", {"config": {}}),
        ("GET", "/classes/_Idempotency", None),
        ("GET", "/classes/_JobSchedule", None),
        ("GET", "/classes/StoredFile", None),
        ("POST", "/classes/StoredFile", {"name": "x", "site": world.site_a}),
        ("GET", "/classes/LoginFailure", None),
        ("POST", "/classes/LoginFailure", {"key": "admin"}),
        ("POST", "/classes/Backdoor", {"anything": 1}),
        ("POST", "/classes/AuditFinding", finding),
        ("PUT", "/schemas/AuditFinding", {"className": "AuditFinding",
                                          "fields": {"evilField": {"type": "String"}}}),
        ("POST", "/schemas/Backdoor", {"className": "Backdoor"}),
        ("GET", "/schemas", None),
        ("PUT", "/config", {"params": {"x": 1}}),
        ("POST", "/hooks/functions", {"functionName": "x", "url": "http://example.com"}),
        ("POST", "/push", {"where": {}, "data": {"alert": "hi"}}),
        ("POST", "/jobs/anything", {}),
    ]


def test_system_classes_are_closed_to_every_session_and_none(world: World) -> None:
    raw = world.raw
    with world.server.master() as m:
        sessions = m.count("_Session", {"objectId": {"$exists": True}}, master=True)
    for role in (*ROLES, None):
        token = world.token(role) if role else None
        for method, path, body in attempts(world):
            a = raw.send(method, path, body, token=token)
            assert not a.ok, (role, method, path, a.status, a.body)
            b = raw.send("POST", "/batch", {"requests": [
                {"method": method, "path": "/parse" + path, "body": body or {}}]}, token=token)
            assert not b.ok or "error" in b.body[0], (role, "batch", method, path, b.body)
        for query in (
                'mutation { createRole(input: {fields: {name: "Administrators"}}) '
                '{ role { objectId } } }',
                'query { roles { count } }',
                'mutation { createClass(input: {name: "Backdoor"}) { class { name } } }',
                'query { installations { count } }'):
            assert graphql_refused(raw.graphql(query, token=token)), (role, query)
        # Sessions: each sees their own only.
        mine = raw.send("GET", "/sessions", token=token)
        if role is None:
            assert not mine.ok
        else:
            users = {s["user"]["objectId"] for s in mine.body["results"]}
            assert users == {world.ids[role]}, (role, users)
    with world.server.master() as m:
        assert m.count("_Role", {"objectId": {"$exists": True}}, master=True) == 0
        assert m.count("_Installation", {"objectId": {"$exists": True}}, master=True) == 0
        assert m.count("StoredFile", {"objectId": {"$exists": True}}, master=True) == 0
        finding_fields = m.request("GET", "/schemas/AuditFinding", master=True)["fields"]
        assert "evilField" not in finding_fields
        installation = m.request("GET", "/schemas/_Installation", master=True)["fields"]
        assert "evilColumn" not in installation
        names = {c["className"] for c in m.request("GET", "/schemas", master=True)["results"]}
        assert "Backdoor" not in names
        # Sessions: only those of the sign-ins.
        assert m.count("_Session", {"objectId": {"$exists": True}}, master=True) == sessions


def test_what_sessions_need_still_works(world: World) -> None:
    """Closing Parse Server's classes leaves the laptops' own calls alone: who am I, sign
    out, sign in again."""
    raw = world.raw
    for role in ROLES:
        token = world.token(role)
        me = raw.send("GET", "/users/me", token=token)
        assert me.ok and me.body["role"] == role
        assert raw.send("GET", "/sessions/me", token=token).ok
        assert raw.send("POST", "/logout", {}, token=token).ok
        assert raw.send("GET", "/users/me", token=token).code == 209
