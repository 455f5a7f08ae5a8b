"""Accounts on the server, tried as a hostile client would (raw REST, /batch, GraphQL) with
sessions of every role and none: protected fields, deactivation, the per-username lockout
and firstLogin's fair queue."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from desktop_audit import services
from desktop_audit.sync.parse_client import ParseClient
from tests.sync.conftest import APP_ID, PASSWORD, Server, Team, server_sh
from tests.sync.hostile import (
    ROLES,
    USERNAME,
    WRONG,
    Raw,
    World,
    add_user,
    graphql_refused,
    jpeg,
    make_world,
    upload_name,
)

pytestmark = pytest.mark.sync


@pytest.fixture
def world(team: Team, server: Server) -> World:
    return make_world(team, server)


PROTECTED = {
    "username": "someone-else",
    "role": "admin",
    "active": False,
    "sites": [],
    "deletedAt": {"__type": "Date", "iso": "2026-01-01T00:00:00.000Z"},
    "ACL": {"*": {"read": True}},
    "emailVerified": True,
}


def test_no_session_changes_protected_account_fields(world: World) -> None:
    raw = world.raw
    for role in ROLES:
        me = world.ids[role]
        token = world.token(role)
        for name, value in PROTECTED.items():
            if name == "role" and role == "admin":
                value = "manager"
            a = raw.send("PUT", f"/users/{me}", {name: value}, token=token)
            assert not a.ok and a.code == 119, (role, name, a.body)
            b = raw.send("POST", "/batch", {"requests": [
                {"method": "PUT", "path": f"/parse/users/{me}", "body": {name: value}}]},
                token=token)
            assert b.ok and "error" in b.body[0], (role, name, b.body)
        # An administrator's session does not change another account's role either: the
        # administrator's sync does (through saveUsers, with the master key).
        other = world.ids["auditor" if role != "auditor" else "coordinator"]
        a = raw.send("PUT", f"/users/{other}", {"role": "admin"}, token=token)
        assert not a.ok, (role, a.body)
        # GraphQL: the same.
        g = raw.graphql('mutation($id: ID!) { updateUser(input: {id: $id, fields: '
                        '{username: "renamed"}}) { user { username } } }', {"id": me},
                        token=token)
        assert graphql_refused(g), (role, g.body)
        # What stays theirs: their own name (by REST and by the same GraphQL mutation).
        ok = raw.send("PUT", f"/users/{me}", {"fullName": f"{role} renamed"}, token=token)
        assert ok.ok, (role, ok.body)
        g = raw.graphql('mutation($id: ID!) { updateUser(input: {id: $id, fields: '
                        '{fullName: "again"}}) { user { fullName } } }', {"id": me}, token=token)
        assert not graphql_refused(g), (role, g.body)
    # Without a session: nothing at all.
    a = raw.send("PUT", f"/users/{world.ids['auditor']}", {"fullName": "x"})
    assert not a.ok
    assert not raw.send("GET", "/users").ok
    with world.server.master() as m:
        users = {u["objectId"]: u for u in m.find("_User", master=True)}
    for role in ROLES:
        u = users[world.ids[role]]
        assert u["username"] == USERNAME[role] and u["role"] == role
        assert u.get("active", True) is True and "deletedAt" not in u


def test_a_deactivated_user_is_shut_out_at_the_admins_next_sync(world: World, tmp_path: Any
                                                                ) -> None:
    raw = world.raw
    old = world.token("auditor")
    assert raw.send("GET", "/users/me", token=old).ok
    lap = world.team.laptop
    services.deactivate_user(lap.db, lap.actor, world.ids["auditor"])
    # Not yet synced: the server still knows the account as active.
    assert raw.send("GET", "/users/me", token=old).ok
    world.sync_admin()
    # The session is gone: it reads, lists, uploads and creates nothing.
    data = jpeg(1)
    for method, path, body in (
            ("GET", "/users/me", None), ("GET", "/users", None),
            ("GET", "/classes/AuditFinding", None), ("POST", "/roles",
                                                     {"name": "x", "ACL": {}}),
            ("POST", "/functions/saveUsers", {"users": []})):
        a = raw.send(method, path, body, token=old)
        assert not a.ok and a.code in (209, 119), (path, a.body)
    up = raw.send("POST", f"/files/{upload_name(world.site_a, data)}", data=data,
                  content_type="image/jpeg", token=old)
    assert not up.ok, up.body
    # It cannot sign in again anywhere, with the right password, and the answer is a
    # wrong password's.
    assert raw.login("auditor", PASSWORD).body == WRONG
    assert raw.send("POST", "/verifyPassword", {"username": "auditor",
                                                "password": PASSWORD}).body == WRONG
    b = raw.send("POST", "/batch", {"requests": [{"method": "POST", "path": "/parse/login",
                                                  "body": {"username": "auditor",
                                                           "password": PASSWORD}}]})
    assert b.body[0] == {"error": WRONG}
    g = raw.graphql('mutation($u: String!, $p: String!) { logIn(input: {username: $u, '
                    'password: $p}) { viewer { sessionToken } } }',
                    {"u": "auditor", "p": PASSWORD})
    assert graphql_refused(g)
    # An account that had not signed in online yet cannot make its first login either.
    add_user(world.team, "newbie", "auditor", [world.site_a])
    world.sync_admin()
    newbie = services.users.find_user(lap.db, "newbie")
    services.deactivate_user(lap.db, lap.actor, newbie["objectId"])
    world.sync_admin()
    a = raw.send("POST", "/functions/firstLogin", {"username": "newbie", "password": PASSWORD})
    assert a.body == WRONG
    # Activated again (at the next sync): the account signs in.
    services.activate_user(lap.db, lap.actor, world.ids["auditor"])
    assert raw.login("auditor", PASSWORD).body == WRONG
    world.sync_admin()
    assert raw.login("auditor", PASSWORD).ok
    trail = lap.db.execute("SELECT action FROM audit_trail_event WHERE recordId = ? AND "
                           "action IN ('deactivate', 'activate') ORDER BY seq",
                           (world.ids["auditor"],)).fetchall()
    assert [t[0] for t in trail] == ["deactivate", "activate"]


def _fail(raw: Raw, way: str, username: str, password: str = "not-the-password") -> Any:
    """One failed password check by one of the ways a client can ask for one."""
    if way == "login":
        return raw.login(username, password).body
    if way == "verify":
        return raw.send("GET", "/verifyPassword?" + f"username={username}&password={password}"
                        ).body
    if way == "batch":
        return raw.send("POST", "/batch", {"requests": [
            {"method": "POST", "path": "/parse/login",
             "body": {"username": username, "password": password}}]}).body[0]["error"]
    if way == "graphql":
        g = raw.graphql('mutation($u: String!, $p: String!) { logIn(input: {username: $u, '
                        'password: $p}) { viewer { sessionToken } } }',
                        {"u": username, "p": password})
        assert graphql_refused(g)
        return WRONG
    if way == "first":
        return raw.send("POST", "/functions/firstLogin",
                        {"username": username, "password": password}).body
    raise AssertionError(way)


WAYS = ("login", "verify", "batch", "graphql", "first")


def test_ten_failures_lock_a_username_and_unlock_lifts_it(world: World) -> None:
    raw = world.raw
    # Ten failures, by every way a client can check a password, spelled in two cases.
    for n in range(10):
        answer = _fail(raw, WAYS[n % len(WAYS)], "Auditor" if n % 3 else "auditor")
        assert answer == WRONG
    # Locked: the right password gets a wrong password's answer, by every way.
    for way in ("login", "verify", "batch"):
        assert _fail(raw, way, "auditor", PASSWORD) == WRONG, way
    # An unknown username answers the same before and after ten failures.
    for _ in range(11):
        assert raw.login("nobody-here", "whatever-1").body == WRONG
    # Others are not affected (by any way).
    assert raw.login("coordinator", PASSWORD).ok
    g = raw.graphql('mutation($u: String!, $p: String!) { logIn(input: {username: $u, '
                    'password: $p}) { viewer { sessionToken } } }',
                    {"u": "manager", "p": PASSWORD})
    assert not graphql_refused(g), g.body
    # The lock is in PostgreSQL: it holds across a restart of the server ...
    if world.server.managed:
        world.server.restart()
        assert raw.login("auditor", PASSWORD).body == WRONG
    # ... and for another server process on the same database.
    second = _second_server(world.server)
    if second is not None:
        try:
            assert Raw(second).login("auditor", PASSWORD).body == WRONG
        finally:
            _stop_second_server()
        # Stopping that server stopped its own Redis, not this one's.
        assert "redis: running" in server_sh("status")
    # The administrator unlocks the account; the server learns it at their next sync.
    lap = world.team.laptop
    services.unlock_user(lap.db, lap.actor, world.ids["auditor"])
    assert services.users.pending_unlocks(lap.db) == [world.ids["auditor"]]
    assert raw.login("auditor", PASSWORD).body == WRONG
    world.sync_admin()
    assert services.users.pending_unlocks(lap.db) == []
    assert raw.login("auditor", PASSWORD).ok
    assert lap.db.execute("SELECT COUNT(*) FROM audit_trail_event WHERE action = 'unlock'"
                          ).fetchone()[0] == 1


def test_only_an_administrators_sync_delivers_an_unlock(world: World) -> None:
    """An administrator unlocks on a shared laptop; a coordinator syncs there first: the
    unlock waits for an administrator's sync."""
    from desktop_audit.domain import auth

    for _ in range(10):
        assert world.raw.login("manager", "wrong-password-1").body == WRONG
    lap = world.team.laptop
    services.unlock_user(lap.db, lap.actor, world.ids["manager"])
    admin = lap.actor
    lap.actor = auth.login(lap.db, "coordinator", PASSWORD)
    assert lap.sync().exit_code == 0
    assert services.users.pending_unlocks(lap.db) == [world.ids["manager"]]
    assert world.raw.login("manager", PASSWORD).body == WRONG
    lap.actor = admin
    world.sync_admin()
    assert world.raw.login("manager", PASSWORD).ok


SECOND_PORT_OFFSET = 250


def _second_server(server: Server) -> str | None:
    """Another Parse Server process on the same database (as a second machine behind a load
    balancer would run), or None when this session did not start the server."""
    if not server.managed:
        return None
    import os

    from tests.sync import conftest

    port = str(int(conftest.TEST_PORT) + SECOND_PORT_OFFSET)
    env = dict(os.environ, PARSE_PORT=port, DESKTOP_AUDIT_PARSE_DB="desktop_audit_test")
    import subprocess

    done = subprocess.run([str(conftest.SERVER_SH), "start"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def _stop_second_server() -> None:
    import os
    import subprocess

    from tests.sync import conftest

    port = str(int(conftest.TEST_PORT) + SECOND_PORT_OFFSET)
    env = dict(os.environ, PARSE_PORT=port, DESKTOP_AUDIT_PARSE_DB="desktop_audit_test")
    subprocess.run([str(conftest.SERVER_SH), "stop"], env=env, capture_output=True, timeout=120)


def test_junk_first_logins_do_not_starve_a_real_one(world: World) -> None:
    """A flood of firstLogin calls from one address (unknown usernames, random passwords)
    waits in that address's own line, in worker threads: a colleague's first login from
    another address, and every other request, are answered while the flood still waits."""
    add_user(world.team, "newcomer", "auditor", [world.site_a])
    world.sync_admin()
    raw = world.raw
    answered: list[int] = []
    lock = threading.Lock()

    def junk(n: int) -> Any:
        body = raw.send("POST", "/functions/firstLogin",
                        {"username": f"junk-{n}", "password": f"guess-{n}"},
                        address="10.66.0.1").body
        with lock:
            answered.append(n)
        return body

    with ThreadPoolExecutor(40) as pool:
        flood = [pool.submit(junk, n) for n in range(40)]
        # Every other request is answered while the flood waits (no check on the event loop).
        assert raw.send("GET", "/classes/AuditSite", token=world.token("coordinator")).ok
        real = raw.send("POST", "/functions/firstLogin",
                        {"username": "newcomer", "password": PASSWORD}, address="10.7.0.1")
        with lock:
            still_waiting = 40 - len(answered)
        results = [f.result() for f in flood]
    assert real.ok, real.body
    assert still_waiting >= 10, f"only {still_waiting} junk calls were still waiting"
    assert all(r == WRONG for r in results)
    assert raw.login("newcomer", PASSWORD).ok


def test_first_login_still_works_for_a_laptop_made_account(world: World) -> None:
    add_user(world.team, "fresh", "coordinator", [world.site_a])
    world.sync_admin()
    with ParseClient(world.server.url, APP_ID) as c:
        from desktop_audit.sync import session

        user = session.online_login(c, "fresh", PASSWORD)
    assert user["role"] == "coordinator"
    # Its /login before the first login is not counted as a failure: ten more wrong
    # passwords are needed to lock it, as for everyone.
    for _ in range(9):
        assert world.raw.login("fresh", "wrong-password-2").body == WRONG
    assert world.raw.login("fresh", PASSWORD).ok
