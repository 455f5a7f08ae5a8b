"""Request rate limits (Parse Server's rateLimit, counted in the server's Redis), both
sides: a burst of junk from one address is limited (sign-in, firstLogin, uploads per user
and per address, GraphQL), while a team's legitimate work never meets a limit: twenty
laptops syncing at once from one address, a sync of 5,000 records with their photos, and
a sync retrying through a flaky network."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from desktop_audit import services
from desktop_audit.errors import SyncError
from desktop_audit.services.unit_of_work import UnitOfWork
from desktop_audit.sync.engine import SyncReport
from tests.sync.conftest import PASSWORD, Laptop, Server, Team, add_aspect, assert_converged
from tests.sync.fault_proxy import FaultProxy, Faults
from tests.sync.hostile import (
    TOO_MANY,
    World,
    add_user,
    answers_seen,
    make_world,
    upload_name,
)

pytestmark = pytest.mark.sync

# resources/parse_server/limits.js
LOGIN_PER_MINUTE = 300
FIRST_LOGIN_PER_MINUTE = 60
UPLOADS_PER_USER = 600
UPLOADS_PER_ADDRESS = 1200
GRAPHQL_PER_MINUTE = 600


@pytest.fixture
def world(team: Team, server: Server) -> World:
    return make_world(team, server)


def _until_limited(send: Any, bound: int) -> tuple[int, Any]:
    """Send until the first 429 (at most *bound* requests; a fixed window that turns over
    during the burst still leaves one window with more than its count)."""
    for n in range(1, bound + 1):
        answer = send(n)
        if answer.status == 429:
            return n, answer
    raise AssertionError(f"no 429 after {bound} requests")


def test_a_burst_of_junk_from_one_address_is_limited(world: World) -> None:
    raw = world.raw
    n, a = _until_limited(lambda i: raw.login("nobody", f"guess-{i}", address="10.9.0.1"),
                          2 * LOGIN_PER_MINUTE + 1)
    assert a.body == TOO_MANY and n > LOGIN_PER_MINUTE // 2
    # Per address: a colleague elsewhere signs in.
    assert raw.login("coordinator", PASSWORD, address="10.9.0.2").ok
    n, a = _until_limited(lambda i: raw.send("POST", "/functions/firstLogin",
                                             {"username": "nobody", "password": f"g{i}"},
                                             address="10.9.0.3"),
                          2 * FIRST_LOGIN_PER_MINUTE + 1)
    assert a.body == TOO_MANY
    junk = b"MZ\x90\x00 not a photo"
    name = upload_name(world.site_a, junk)
    n, a = _until_limited(lambda i: raw.send("POST", f"/files/{name}", data=junk,
                                             content_type="image/jpeg",
                                             token=world.token("auditor"),
                                             address="10.9.0.4"),
                          2 * UPLOADS_PER_USER + 1)
    assert a.body == TOO_MANY
    # Per user: the same address, another user, still uploads (and is refused as junk).
    b = raw.send("POST", f"/files/{name}", data=junk, content_type="image/jpeg",
                 token=world.token("coordinator"), address="10.9.0.4")
    assert b.code == 142
    # Per address: users who each stay under their own count, from one address.
    tokens = itertools.cycle([world.token(r) for r in ("admin", "manager", "coordinator",
                                                        "field_staff")])
    n, a = _until_limited(lambda i: raw.send("POST", f"/files/{name}", data=junk,
                                             content_type="image/jpeg", token=next(tokens),
                                             address="10.9.0.5"),
                          2 * UPLOADS_PER_ADDRESS + 1)
    assert a.body == TOO_MANY and n // 4 < UPLOADS_PER_USER
    n, a = _until_limited(lambda i: raw.graphql("query { health }", address="10.9.0.6"),
                          2 * GRAPHQL_PER_MINUTE + 1)
    assert a.status == 429


def _sync_until_done(lap: Laptop, url: str | None = None, *, runs: int = 8) -> SyncReport:
    last: Exception | None = None
    for _ in range(runs):
        try:
            report = lap.sync(url=url, retry_budget=30.0)
        except SyncError as exc:
            last = exc
            continue
        if report.exit_code == 0:
            return report
    raise AssertionError(f"no clean sync in {runs} runs: {last}")


def _photo(tmp: Path, n: int) -> Path:
    from PIL import Image

    path = tmp / f"photo-{n}.png"
    Image.new("RGB", (8, 8), (n % 256, (n // 256) % 256, 77)).save(path, "PNG")
    return path


def test_twenty_laptops_sync_at_once_from_one_address(world: World, laptops: Any,
                                                      tmp_path: Path) -> None:
    team = world.team
    names = [f"auditor{n:02d}" for n in range(20)]
    for name in names:
        add_user(team, name, "auditor", [world.site_a])
    for n in range(30):
        add_aspect(team.laptop, world.site_a, n)
    world.sync_admin()

    def work(n: int) -> SyncReport:
        lap = laptops.join(f"lap{n:02d}", names[n])  # first login, pull everything
        oid = add_aspect(lap, world.site_a, 100 + n)
        services.add_evidence(lap.db, lap.actor, parentClass="AspectImpactLog", parentId=oid,
                              path=_photo(tmp_path, n), caption=f"from laptop {n}")
        report = lap.sync()
        assert report.exit_code == 0, report.summary()
        return report

    with answers_seen() as statuses, ThreadPoolExecutor(20) as pool:
        reports = list(pool.map(work, range(20)))
    assert 429 not in statuses
    assert sum(r.files_up for r in reports) == 20
    assert world.server.count("Evidence") == 20
    assert world.server.count("AspectImpactLog") == 30 + 20


def test_a_sync_of_5000_records_with_photos_meets_no_limit(world: World,
                                                          tmp_path: Path) -> None:
    lap = world.team.laptop
    assert lap.actor is not None
    u = UnitOfWork(lap.db, lap.actor, deferred=True)
    ids = [add_aspect_in(u, lap, world.site_a if n % 2 else world.site_b, n)
           for n in range(4800)]
    with lap.db.atomic():
        u.flush()
    for n in range(200):
        services.add_evidence(lap.db, lap.actor, parentClass="AspectImpactLog",
                              parentId=ids[n], path=_photo(tmp_path, n), caption=f"{n}")
    with answers_seen() as statuses:
        report = lap.sync()
    assert report.exit_code == 0, report.summary()
    # No answer was a limit (a retry after a timeout on a loaded machine is not one).
    assert 429 not in statuses
    assert report.files_up == 200
    assert world.server.count("AspectImpactLog") == 4800
    assert world.server.count("Evidence") == 200


def add_aspect_in(u: UnitOfWork, lap: Laptop, site: str, n: int) -> str:
    assert lap.actor is not None
    return services.add_aspect(lap.db, lap.actor, uow=u, site=site, aspectCategory="waste",
                               aspectDescription=f"aspect {n}", impact="soil contamination",
                               likelihood=2, severity=3, actionStatus="open",
                               loggedAt="2026-01-05T10:00:00.000Z")


def test_a_sync_retrying_through_a_flaky_network_meets_no_limit(world: World, laptops: Any,
                                                                tmp_path: Path) -> None:
    team = world.team
    for n in range(60):
        oid = add_aspect(team.laptop, world.site_a, n)
        if n % 3 == 0:
            services.add_evidence(team.laptop.db, team.admin, parentClass="AspectImpactLog",
                                  parentId=oid, path=_photo(tmp_path, n), caption=str(n))
    faults = Faults(reset=0.15, drop=0.15, unavailable=0.15, seed=7)
    with answers_seen() as statuses, FaultProxy(world.server.url, faults) as proxy:
        _sync_until_done(team.laptop, proxy.url)
        other = laptops.join("b", "coordinator")
        _sync_until_done(other, proxy.url)
    assert 429 not in statuses
    assert sum(faults.counts.values()) > 10, faults.counts
    assert world.server.count("Evidence") == 20
    assert_converged(world.server, team.laptop, other, tables=("aspect_impact_log",
                                                               "evidence"))
