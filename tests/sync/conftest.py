"""The real local Parse Server for the sync tests, and laptops (separate databases) to sync.

The server is a test instance of resources/parse_server/server.sh on its own port
and database (so a developer's server on 1337 is left alone); it is started once
per session (a running one is reused) and emptied before each test.  Set
DESKTOP_AUDIT_TEST_SERVER=URL to use a server that is already running elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from desktop_audit import services
from desktop_audit.domain import auth, keys
from desktop_audit.domain.actor import Actor
from desktop_audit.store import Database, open_database
from desktop_audit.sync import session
from desktop_audit.sync.engine import SyncReport
from desktop_audit.sync.parse_client import ParseClient
from desktop_audit.sync.server_setup import apply_schema, ensure_admin

ROOT = Path(__file__).resolve().parents[2]
SERVER_SH = ROOT / "resources" / "parse_server" / "server.sh"
APP_ID = "desktop-audit-dev"
MASTER_KEY = "dev-master-key"
# A port of this checkout's own (other checkouts on the machine run their own tests).
TEST_PORT = os.environ.get(
    "DESKTOP_AUDIT_TEST_PORT",
    str(13400 + int(hashlib.sha1(str(ROOT).encode()).hexdigest()[:4], 16) % 500))
PASSWORD = "correct-horse-9"

pytestmark = pytest.mark.sync


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PARSE_PORT"] = TEST_PORT
    env["DESKTOP_AUDIT_PARSE_DB"] = "desktop_audit_test"
    return env


def server_sh(*args: str, timeout: float = 300) -> str:
    done = subprocess.run([str(SERVER_SH), *args], env=_server_env(), capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"server.sh {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


@dataclass
class Server:
    url: str
    managed: bool  # started by this test session (so also reset and restarted by it)

    def master(self) -> ParseClient:
        return ParseClient(self.url, APP_ID, master_key=MASTER_KEY, timeout=30)

    def count(self, class_name: str) -> int:
        with self.master() as c:
            return c.count(class_name, {"objectId": {"$exists": True}}, master=True)

    def count_where(self, class_name: str, where: dict[str, Any]) -> int:
        with self.master() as c:
            return c.count(class_name, where, master=True)

    def all(self, class_name: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with self.master() as c:
            while True:
                page = c.find(class_name, order="objectId", limit=1000, skip=len(out),
                              master=True)
                out += page
                if len(page) < 1000:
                    return out

    def restart(self) -> None:
        assert self.managed, "only a server this session started can be restarted"
        env = _server_env()
        subprocess.run([str(SERVER_SH), "stop"], env=env, capture_output=True, timeout=60,
                       check=True)
        subprocess.run([str(SERVER_SH), "start"], env=env, capture_output=True, timeout=120,
                       check=True)


# A second server group of this checkout (several Parse Server processes on one database):
# two ports of its own, beside the test server's.
GROUP_PORT = os.environ.get(
    "DESKTOP_AUDIT_GROUP_PORT",
    str(14000 + 2 * (int(hashlib.sha1(str(ROOT).encode()).hexdigest()[:4], 16) % 500)))


class ServerGroup:
    """``server.sh`` for a group of Parse Server processes with its own PARSE_PORT and
    database (started and stopped by the tests that use it)."""

    def __init__(self, port: str = GROUP_PORT, db: str = "desktop_audit_group") -> None:
        self.port = port
        self.db = db
        self.urls: list[str] = []

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PARSE_PORT"] = self.port
        env["DESKTOP_AUDIT_PARSE_DB"] = self.db
        return env

    def sh(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run([str(SERVER_SH), *args], env=self.env(), capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"server.sh {' '.join(args)} (PARSE_PORT={self.port}) failed:\n"
                               f"{done.stdout[-2000:]}{done.stderr[-3000:]}")
        return done.stdout.strip()

    def start(self, instances: int, *, fresh: bool = False) -> list[str]:
        self.sh("start", "--instances", str(instances), *(["--fresh"] if fresh else []))
        self.urls = self.sh("urls", timeout=30).split()
        assert len(self.urls) == instances, self.urls
        with self.server(0).master() as c:
            apply_schema(c, log=lambda _m: None)
        return self.urls

    def running(self) -> bool:
        return subprocess.run([str(SERVER_SH), "status"], env=self.env(), capture_output=True,
                              timeout=30).returncode == 0

    def status(self) -> str:
        return subprocess.run([str(SERVER_SH), "status"], env=self.env(), capture_output=True,
                              text=True, timeout=30).stdout

    def reset(self) -> None:
        self.sh("reset", timeout=120)
        with self.server(0).master() as c:
            apply_schema(c, log=lambda _m: None)

    def stop(self) -> None:
        self.sh("stop", timeout=120)

    def server(self, i: int) -> Server:
        return Server(self.urls[i], managed=False)


@pytest.fixture(scope="module")
def server_group() -> Iterator[ServerGroup]:
    """This module's own group of two Parse Server processes on a new database, stopped
    at the end of the module."""
    group = ServerGroup()
    try:
        group.start(2, fresh=True)
        yield group
    finally:
        group.stop()


@pytest.fixture(scope="session")
def parse_server() -> Iterator[Server]:
    given = os.environ.get("DESKTOP_AUDIT_TEST_SERVER")
    if given:
        yield Server(given.rstrip("/"), managed=False)
        return
    status = subprocess.run([str(SERVER_SH), "status"], env=_server_env(),
                            capture_output=True, text=True, timeout=30)
    was_running = status.returncode == 0
    url = server_sh("start")
    server = Server(url, managed=True)
    with server.master() as c:
        apply_schema(c, log=lambda _m: None)
    yield server
    if not was_running:
        subprocess.run([str(SERVER_SH), "stop"], env=_server_env(), capture_output=True,
                       timeout=60)


@pytest.fixture
def server(parse_server: Server) -> Server:
    """An empty server (schema kept) for each test."""
    if parse_server.managed:
        server_sh("reset")
    with parse_server.master() as c:
        apply_schema(c, log=lambda _m: None)
    return parse_server


@dataclass
class Laptop:
    """One laptop: its own database file, its user, and a way to sync it."""

    path: Path
    server: Server
    db: Database
    actor: Actor | None = None
    reports: list[SyncReport] = field(default_factory=list)

    def client(self, url: str | None = None) -> ParseClient:
        return ParseClient(url or self.server.url, APP_ID, timeout=10)

    def sync(self, password: str = PASSWORD, *, url: str | None = None,
             retry_budget: float = 60.0) -> SyncReport:
        assert self.actor is not None
        with self.client(url) as c:
            session.online_login(c, self.actor.username, password)
            report = session.sync(self.db, c, self.actor, retry_budget=retry_budget)
        self.actor = services.users.refresh_actor(self.db, self.actor)
        self.reports.append(report)
        return report

    def rows(self, table: str, *, where: str = "1=1") -> dict[str, dict[str, Any]]:
        cur = self.db.execute(f'SELECT * FROM "{table}" WHERE {where}')
        cols = [d[0] for d in cur.description]
        out = {}
        for row in cur.fetchall():
            rec = dict(zip(cols, row, strict=True))
            for k in ("serverUpdatedAt", "syncBase", "updatedAt", "createdAt",
                      "passwordVerifier"):
                rec.pop(k, None)
            if table == "user" and rec.get("sites"):
                rec["sites"] = sorted(json.loads(rec["sites"]))
            out[rec["objectId"]] = rec
        return out

    def close(self) -> None:
        self.db.close()


def laptop_factory(tmp_path: Path, server: Server) -> tuple[Any, list[Laptop]]:
    """``make(name)``: a new laptop database; ``make.join(name, username)``: a laptop that
    joined *server* as that user (first login, full pull).  The list holds every laptop
    made, to close them."""
    made: list[Laptop] = []

    def make(name: str) -> Laptop:
        lap = Laptop(tmp_path / f"{name}.sqlite", server, open_database(tmp_path /
                                                                     f"{name}.sqlite"))
        made.append(lap)
        return lap

    def join(name: str, username: str, password: str = PASSWORD) -> Laptop:
        with ParseClient(server.url, APP_ID, timeout=10) as c:
            db, report = session.join(tmp_path / f"{name}.sqlite", c, username, password)
        # Signed in on the new laptop as at the join (their key made there then, unsealed
        # with their password; the join journaled the sign-in and pushed it).
        user_id = db.execute('SELECT "objectId" FROM "user" WHERE "username" = ?',
                             (username,)).fetchone()[0]
        with db.atomic():
            signer = keys.sign_in(db, user_id, password)
        actor = services.users.refresh_actor(db, Actor(id=user_id, username=username, role="",
                                                       signer=signer))
        lap = Laptop(tmp_path / f"{name}.sqlite", server, db, actor, [report])
        made.append(lap)
        return lap

    make.join = join  # type: ignore[attr-defined]
    return make, made


@pytest.fixture
def laptops(tmp_path: Path, server: Server) -> Iterator[Any]:
    make, made = laptop_factory(tmp_path, server)
    yield make
    for lap in made:
        lap.close()


@dataclass
class Team:
    """An admin laptop with users of every role and two sites, adopted by the server."""

    laptop: Laptop
    admin: Actor
    ids: dict[str, str]
    site_a: str
    site_b: str


def build_team(laptops: Any, server: Server) -> Team:
    """The admin's laptop with users of every role and two sites, adopted by *server*."""
    lap: Laptop = laptops("admin")
    db = lap.db
    admin = services.bootstrap_admin(db, username="admin", email="admin@example.com",
                                     password=PASSWORD)
    ids = {}
    for role in ("manager", "coordinator", "auditor", "field_staff"):
        ids[role] = services.create_user(db, admin, username=role.replace("_", ""),
                                         email=f"{role}@example.com", role=role,
                                         password=PASSWORD, full_name=role.title())
    site_a = services.create_site(db, admin, siteCode="PLT-01", siteName="Plant One",
                                  region="North", siteOwner=ids["manager"])
    site_b = services.create_site(db, admin, siteCode="DEP-02", siteName="Łódź Süd",
                                  region="Łódzkie", siteOwner=admin.id)
    for role in ("coordinator", "auditor", "field_staff"):
        services.assign_sites(db, admin, ids[role], [site_a])
    with server.master() as c:
        ensure_admin(c, "admin", PASSWORD, db=db, log=lambda _m: None)
    lap.actor = auth.login(db, "admin", PASSWORD)
    return Team(lap, lap.actor, ids, site_a, site_b)


@pytest.fixture
def team(laptops: Any, server: Server) -> Team:
    return build_team(laptops, server)


def add_aspect(lap: Laptop, site: str, n: int = 0, **extra: Any) -> str:
    assert lap.actor is not None
    values = dict(site=site, aspectCategory="waste", aspectDescription=f"aspect {n}",
                  impact="soil contamination", likelihood=2, severity=3,
                  actionStatus="open", loggedAt="2026-01-05T10:00:00.000Z")
    values.update(extra)
    return services.add_aspect(lap.db, lap.actor, **values)


def add_kit(lap: Laptop, site: str, n: int = 0, **extra: Any) -> str:
    assert lap.actor is not None
    values = dict(site=site, kitTag=f"KIT-{n:05d}", kitLocation="bay 4",
                  lastCheckedAt="2026-01-05T10:00:00.000Z", inspectionStatus="pass",
                  sealStatus="intact", missingItems=[])
    values.update(extra)
    return services.add_spill_kit_check(lap.db, lap.actor, **values)


SYNCED_TABLES = ("user", "audit_site", "aspect_impact_log", "spill_kit_log",
                 "legal_register_entry", "audit_review", "audit_finding", "evidence",
                 "audit_trail_event")
REMOTE = {"user": "_User", "audit_site": "AuditSite", "aspect_impact_log": "AspectImpactLog",
          "spill_kit_log": "SpillKitLog", "legal_register_entry": "LegalRegisterEntry",
          "audit_review": "AuditReview", "audit_finding": "AuditFinding",
          "evidence": "Evidence", "audit_trail_event": "AuditTrailEvent"}


JOURNAL_ONLY = "\"action\" NOT IN ('sync', 'login', 'login_failed')"


def assert_converged(server: Server, *laps: Laptop, tables: tuple[str, ...] = SYNCED_TABLES
                     ) -> None:
    """Every laptop holds the same records with the same values, and as many as the server.

    Trail events of the sync runs themselves (and logins) are left out of the comparison:
    a laptop's last sync event reaches the others only at their next sync."""
    for table in tables:
        where = JOURNAL_ONLY if table == "audit_trail_event" else "1=1"
        first = laps[0].rows(table, where=where)
        for other in laps[1:]:
            theirs = other.rows(table, where=where)
            assert set(first) == set(theirs), f"{table}: different records"
            for oid, rec in first.items():
                assert rec == theirs[oid], f"{table} {oid} differs"
        if table == "audit_trail_event":
            remote = {o["objectId"] for o in server.all("AuditTrailEvent")}
            for lap in laps:
                assert set(lap.rows(table)) <= remote, "a trail event is missing on the server"
        else:
            assert len(first) == server.count(REMOTE[table]), f"{table}: server count differs"
    for lap in laps:
        assert lap.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
