"""Laptops syncing at the same time through two server processes, as separate
`desktop-audit sync` processes (a small version of `./dev bench load`; the story and its
checks are in tests/sync/load.py): every record on the server exactly once, conflicts
kept and shown, the same legal reference made on two laptops held back on one of them,
and everyone converging.

Known gap, shown by the xfail test below: two laptops that push an edit of the same field
in the same instant (the second's write lands between the first's check of the server's
version and its write) leave one value on the server and no conflict anywhere; the lost
edit stays only in the audit trail. Parse Server's REST API has no conditional update, so
closing it needs the server to compare the version each write was based on."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from desktop_audit import services
from desktop_audit.schema import BY_NAME
from desktop_audit.store import rows
from desktop_audit.sync import engine as sync_engine
from desktop_audit.sync import wire
from desktop_audit.sync.parse_client import ParseClient
from tests.sync.conftest import (
    APP_ID,
    PASSWORD,
    SERVER_SH,
    Server,
    ServerGroup,
    Team,
    _server_env,
    add_aspect,
)
from tests.sync.fault_proxy import FaultProxy, Faults
from tests.sync.load import LoadWorld, Plan, scenario

pytestmark = pytest.mark.sync


def test_six_laptops_sync_at_once_through_two_processes(server_group: ServerGroup,
                                                        tmp_path: Path) -> None:
    if not server_group.running():
        server_group.start(2)
    server_group.reset()
    world = LoadWorld(tmp_path, server_group.urls, Plan(laptops=6, records=20, shared=2,
                                                        timeout=300))
    figures = scenario(world)
    assert figures["counts"]["AspectImpactLog"] == 2 + 6 * 20
    # Three laptops edited each shared record: one value on the server, the two others kept
    # as conflicts (or, in the known gap, overwritten in the same instant).
    assert figures["conflicts"] + len(figures["overwritten"]) == 6 - 2


@pytest.mark.xfail(strict=True, reason="an edit pushed between another laptop's version "
                                       "check and its write is overwritten without a conflict")
def test_two_edits_of_one_field_pushed_in_the_same_instant_are_both_kept(
        team: Team, server: Server, laptops: Any) -> None:
    a = team.laptop
    oid = add_aspect(a, team.site_a, 0)
    assert a.sync().exit_code == 0
    b = laptops.join("b", "admin")
    assert a.actor is not None and b.actor is not None
    services.update_aspect(a.db, a.actor, oid, controlMeasure="drip trays")
    services.update_aspect(b.db, b.actor, oid, controlMeasure="bunded store")
    b_synced: list[int] = []

    def b_pushes_first(method: str, target: str, body: bytes) -> None:
        # A has checked the server's version of the record and sends its edit: B's whole
        # sync runs before that write reaches the server.
        if (not b_synced and method == "POST" and target.endswith("/batch")
                and b'"PUT"' in body and oid.encode() in body):
            done = []
            t = threading.Thread(target=lambda: done.append(b.sync().exit_code), daemon=True)
            t.start()
            t.join(timeout=120)
            b_synced.extend(done or [-1])

    with FaultProxy(server.url, Faults()) as proxy:
        proxy.inspect = b_pushes_first
        assert a.sync(url=proxy.url).exit_code in (0, 3)
    assert b_synced == [0]
    for lap in (a, b, a):
        lap.sync()
    on_server = {o["objectId"]: o for o in server.all("AspectImpactLog")}[oid]
    kept = {on_server["controlMeasure"]} | {c.mine for lap in (a, b)
                                           for c in sync_engine.open_conflicts(lap.db)}
    assert kept == {"drip trays", "bunded store"}


def _psql(port: str, db: str) -> list[str]:
    return ["psql", "-h", "127.0.0.1", "-p", port, "-U", "parse", "-d", db, "-X", "-q", "-A",
            "-t", "-v", "ON_ERROR_STOP=1"]


def test_a_write_held_up_in_its_checks_is_stamped_when_it_is_written(
        team: Team, server: Server) -> None:
    """The laptops pull by `updatedAt >= cursor - 5 s`: a write stamped when its request
    began but committed seconds later (its checks waiting under load) could be paged past
    and never pulled. Held up here on purpose (the rulebook's table locked, which every
    record write's checks read), the write is stamped after the wait."""
    if not server.managed:
        pytest.skip("needs the database of this session's own server")
    status = subprocess.run([str(SERVER_SH), "status"], env=_server_env(),
                            capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"postgres: running on 127\.0\.0\.1:(\d+)", status)
    assert found, status
    psql = _psql(found.group(1), _server_env()["DESKTOP_AUDIT_PARSE_DB"])
    a = team.laptop
    assert a.sync().exit_code == 0 and a.actor is not None
    oid = add_aspect(a, team.site_a, 1)
    record = rows.load(a.db, BY_NAME["AspectImpactLog"], oid)
    assert record is not None
    body = wire.record_to_wire(BY_NAME["AspectImpactLog"], record, create=True)
    answer: list[Any] = []

    def write() -> None:
        with ParseClient(server.url, APP_ID, timeout=120) as c:
            c.login("admin", PASSWORD)
            answer.append(c.request("POST", "/classes/AspectImpactLog", body))

    env = dict(os.environ, PGCONNECT_TIMEOUT="10")
    lock = subprocess.Popen(psql, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    writer = threading.Thread(target=write, daemon=True)
    try:
        assert lock.stdin is not None and lock.stdout is not None
        lock.stdin.write('BEGIN; LOCK TABLE "RuleBook" IN ACCESS EXCLUSIVE MODE; '
                         "SELECT 'locked';\n")
        lock.stdin.flush()
        assert lock.stdout.readline().strip() == "locked"
        writer.start()
        waiting = "0"
        for _ in range(300):  # until the write waits for the lock (at most 60 s)
            waiting = subprocess.run(psql + ["-c", "SELECT count(*) FROM pg_locks WHERE NOT "
                                             "granted AND relation = '\"RuleBook\"'::regclass"],
                                     env=env, capture_output=True, text=True,
                                     timeout=30).stdout.strip()
            if waiting != "0":
                break
            time.sleep(0.2)
        assert waiting != "0", "the write never reached the rulebook"
        lock.stdin.write("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'); COMMIT;\n")
        lock.stdin.flush()
        released = lock.stdout.readline().strip()
        lock.stdin.close()
        lock.wait(timeout=30)
        writer.join(timeout=120)
    finally:
        if lock.poll() is None:
            lock.kill()
            lock.wait()
    assert answer, "the write did not finish"
    stamped = answer[0]["createdAt"]
    assert stamped >= released, (stamped, released)
    on_server = {o["objectId"]: o for o in server.all("AspectImpactLog")}[oid]
    assert on_server["updatedAt"] == on_server["createdAt"] == stamped
