"""Sync through a fault-injecting proxy: answers lost after the server committed,
connections reset, 503s, delays, a server restart in the middle, and kill -9 of the
sync process.  After retries: as many records on the server as on the laptop, no
duplicates, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from typing import Any

import pytest

from desktop_audit.domain import trail
from desktop_audit.errors import SyncError
from desktop_audit.sync.engine import SyncReport
from tests.sync.conftest import (
    PASSWORD,
    ROOT,
    Laptop,
    Server,
    Team,
    add_aspect,
    add_kit,
    assert_converged,
)
from tests.sync.fault_proxy import FaultProxy, Faults

pytestmark = pytest.mark.sync


def _sync_until_done(lap: Laptop, url: str, *, runs: int = 6, budget: float = 30.0
                     ) -> SyncReport:
    """Run sync again after a run that gave up, as a user would; bounded."""
    last: Exception | None = None
    for _ in range(runs):
        try:
            report = lap.sync(url=url, retry_budget=budget)
        except SyncError as exc:
            last = exc
            continue
        if report.exit_code == 0:
            return report
    raise AssertionError(f"no clean sync in {runs} runs: {last}")


def _no_duplicates(server: Server) -> None:
    events = server.all("AuditTrailEvent")
    seqs = Counter((e["chain"], e["seq"]) for e in events)
    assert max(seqs.values()) == 1, "a trail event is on the server twice"
    assert len({e["objectId"] for e in events}) == len(events)
    kits = server.all("SpillKitLog")
    keys = Counter((k["site"]["objectId"], k["kitTag"], k["lastCheckedAt"]["iso"]) for k in kits)
    assert max(keys.values(), default=1) == 1, "a spill kit check is on the server twice"


def _work(team: Team, n: int) -> None:
    for i in range(n):
        add_aspect(team.laptop, team.site_a if i % 2 else team.site_b, i)
        add_kit(team.laptop, team.site_a, i)


def test_lost_answers_resets_503s_and_delays(team: Team, server: Server, laptops: Any) -> None:
    _work(team, 150)
    faults = Faults(drop=0.2, reset=0.1, unavailable=0.1, delay=0.2, max_delay=0.2, seed=7)
    with FaultProxy(server.url, faults) as proxy:
        report = _sync_until_done(team.laptop, proxy.url)
        b = laptops.join("b", "admin")
        # The second laptop's own run goes through the same faults.
        _sync_until_done(b, proxy.url)
    assert faults.counts["drop"] > 5 and faults.counts["reset"] > 2, faults.counts
    assert report.exit_code == 0
    assert server.count("AspectImpactLog") == 150
    assert server.count("SpillKitLog") == 150
    _no_duplicates(server)
    _sync_until_done(team.laptop, server.url)
    assert_converged(server, team.laptop, b)
    for lap in (team.laptop, b):
        assert all(r.problem is None for r in trail.verify(lap.db))


def test_every_answer_lost_once(team: Team, server: Server) -> None:
    """The worst case of the SDKs' offline queue: each write's answer is lost the first time."""
    _work(team, 60)
    lost: set[int] = set()
    faults = Faults(seed=3)
    with FaultProxy(server.url, faults) as proxy:
        original = proxy._choose

        def drop_posts_once(method: str) -> tuple[str, float, int]:
            action, delay, n = original(method)
            if method == "POST" and len(lost) < 1000 and n not in lost and n % 2 == 1:
                lost.add(n)
                return "drop", delay, n
            return action, delay, n

        proxy._choose = drop_posts_once  # type: ignore[method-assign]
        _sync_until_done(team.laptop, proxy.url)
    assert server.count("AspectImpactLog") == 60
    assert server.count("SpillKitLog") == 60
    _no_duplicates(server)
    assert team.laptop.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def test_server_restart_in_the_middle_of_a_sync(team: Team, server: Server) -> None:
    if not server.managed:
        pytest.skip("the server is not this session's to restart")
    _work(team, 400)
    restarted = threading.Event()

    def restart_at(n: int, phase: str) -> None:
        if n == 6 and phase == "after" and not restarted.is_set():
            restarted.set()
            server.restart()

    with FaultProxy(server.url, Faults()) as proxy:
        proxy.hook = restart_at
        report = _sync_until_done(team.laptop, proxy.url, budget=60)
    assert restarted.is_set()
    assert report.exit_code == 0
    assert server.count("AspectImpactLog") == 400
    assert server.count("SpillKitLog") == 400
    _no_duplicates(server)


def _cli(lap: Laptop, *args: str) -> list[str]:
    return [sys.executable, "-m", "desktop_audit", "--db", str(lap.path), "--user", "admin",
            *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["DESKTOP_AUDIT_PASSWORD"] = PASSWORD
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_kill_9_at_any_moment_then_run_again(team: Team, server: Server) -> None:
    _work(team, 300)
    lap = team.laptop
    lap.db.close()
    # Kill the sync process right after the server committed a request and before the
    # answer reaches it, at several points of the run; then run it to the end.
    for kill_at in (4, 9, 15, 23):
        with FaultProxy(server.url, Faults()) as proxy:
            proc = subprocess.Popen(_cli(lap, "sync", "--server", proxy.url, "--quiet"),
                                    env=_env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)

            def kill(n: int, phase: str, at: int = kill_at,
                     p: subprocess.Popen[bytes] = proc) -> None:
                if n == at and phase == "after":
                    os.kill(p.pid, signal.SIGKILL)

            proxy.hook = kill
            proc.communicate(timeout=120)
        assert proc.returncode in (-signal.SIGKILL, 0, 3), proc.returncode
    done = subprocess.run(_cli(lap, "sync", "--server", server.url, "--quiet"), env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    from desktop_audit.store import open_database

    lap.db = open_database(lap.path)
    assert server.count("AspectImpactLog") == 300
    assert server.count("SpillKitLog") == 300
    _no_duplicates(server)
    assert lap.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    local_events = lap.db.execute("SELECT COUNT(*) FROM audit_trail_event").fetchone()[0]
    assert server.count("AuditTrailEvent") == local_events
    assert all(r.problem is None for r in trail.verify(lap.db))


def test_cli_conflict_exit_codes_and_resolve(team: Team, server: Server,
                                             laptops: Any) -> None:
    a = team.laptop
    from desktop_audit import services

    oid = add_aspect(a, team.site_a, 0)
    assert a.sync().exit_code == 0
    b = laptops.join("b", "admin")
    services.update_aspect(a.db, a.actor, oid, impact="river")
    services.update_aspect(b.db, b.actor, oid, impact="canal")
    assert a.sync().exit_code == 0
    b.db.close()
    run = subprocess.run(_cli(b, "sync", "--server", server.url, "--quiet"), env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 3, run.stdout + run.stderr
    shown = subprocess.run(_cli(b, "conflicts"), env=_env(), capture_output=True, text=True,
                           timeout=60)
    line = shown.stdout.strip().splitlines()[0]
    conflict_id = line.split("\t", 1)[0]
    assert '"river"' in line and '"canal"' in line and "impact" in line
    res = subprocess.run(_cli(b, "resolve", conflict_id, "--keep", "theirs"), env=_env(),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    run = subprocess.run(_cli(b, "sync", "--quiet"), env=_env(), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert subprocess.run(_cli(b, "conflicts"), env=_env(), capture_output=True, text=True,
                          timeout=60).stdout.strip() == ""
    # A server that does not answer: exit 1 with one line, not a traceback.
    dead = subprocess.run(_cli(b, "sync", "--server", "http://127.0.0.1:9/parse",
                               "--retry-budget", "1", "--quiet"), env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert dead.returncode == 1 and "Traceback" not in dead.stderr


def test_a_password_changed_on_another_laptop_is_learnt_at_sync(team: Team, server: Server,
                                                               laptops: Any) -> None:
    a = team.laptop
    assert a.sync().exit_code == 0
    b = laptops.join("b", "admin")
    with server.master() as c:
        c.request("PUT", f"/users/{team.admin.id}", {"password": "a-new-password-1"},
                  master=True)
    b.db.close()
    env = _env()
    env["DESKTOP_AUDIT_PASSWORD"] = "a-new-password-1"
    run = subprocess.run(_cli(b, "sync", "--quiet"), env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    from desktop_audit.domain import auth
    from desktop_audit.store import open_database

    b.db = open_database(b.path)
    assert auth.login(b.db, "admin", "a-new-password-1").role == "admin"


def test_someone_new_syncs_on_an_existing_laptop(team: Team, server: Server,
                                                 laptops: Any) -> None:
    from desktop_audit import services

    a = team.laptop
    assert a.sync().exit_code == 0
    b = laptops.join("b", "admin")
    newbie = services.create_user(a.db, a.actor, username="newbie", email="n@example.com",
                                  role="coordinator", password="newbie-pass-1",
                                  sites=[team.site_a])
    assert a.sync().exit_code == 0
    b.db.close()
    env = _env()
    env["DESKTOP_AUDIT_PASSWORD"] = "newbie-pass-1"
    cmd = [sys.executable, "-m", "desktop_audit", "--db", str(b.path), "--user", "newbie",
           "sync", "--server", server.url, "--quiet"]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    from desktop_audit.domain import auth
    from desktop_audit.store import open_database

    b.db = open_database(b.path)
    assert auth.login(b.db, "newbie", "newbie-pass-1").id == newbie
