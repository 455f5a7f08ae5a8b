"""Sync figures against the local Parse Server (a test instance on its own port):

* `sync` pushing 5,000 new records (the whole command: start-up, login, and their 5,000
  trail events) beside a bare script posting 5,000 objects as /batch requests of 50;
* a new laptop pulling them (the whole `sync` on a missing database) beside a bare
  paginated GET of the same objects;
* side by side, one request per object, the path of the Parse SDKs' offline queue.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

N = int(os.environ.get("BENCH_SYNC_RECORDS", "5000"))
PASSWORD = "bench-admin-pass"
ROOT = Path(__file__).resolve().parents[2]


def _server() -> tuple[str, bool]:
    """The sync tests' server instance, emptied; and whether it was running before."""
    from tests.sync.conftest import SERVER_SH, _server_env, server_sh

    was_running = subprocess.run([str(SERVER_SH), "status"], env=_server_env(),
                                 capture_output=True, timeout=60).returncode == 0
    url = server_sh("start")
    server_sh("reset")
    return url, was_running


def _master(url: str) -> Any:
    from desktop_audit.sync.parse_client import ParseClient
    from tests.sync.conftest import APP_ID, MASTER_KEY

    return ParseClient(url, APP_ID, master_key=MASTER_KEY, timeout=60)


def _laptop(path: Path, url: str) -> str:
    """An admin's database with N new aspect records, adopted by the server."""
    from desktop_audit import services
    from desktop_audit.services.unit_of_work import UnitOfWork
    from desktop_audit.store import open_database
    from desktop_audit.sync.server_setup import apply_schema, ensure_admin

    db = open_database(path)
    admin = services.bootstrap_admin(db, username="admin", email="a@example.com",
                                     password=PASSWORD)
    site = services.create_site(db, admin, siteCode="PLT-01", siteName="Plant", region="N",
                                siteOwner=admin.id)
    with db.atomic():
        u = UnitOfWork(db, admin, deferred=True)
        for i in range(N):
            services.add_aspect(db, admin, uow=u, site=site, aspectCategory="waste",
                                aspectDescription=f"aspect {i}", impact="soil", likelihood=2,
                                severity=3, actionStatus="open",
                                loggedAt="2026-01-05T10:00:00.000Z")
        u.flush()
    db.close()
    with _master(url) as c:
        apply_schema(c, log=lambda _m: None)
        ensure_admin(c, "admin", PASSWORD, db=open_database(path), log=lambda _m: None)
    return site


def _cli(db: Path, *args: str) -> float:
    env = dict(os.environ, DESKTOP_AUDIT_PASSWORD=PASSWORD)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "desktop_audit", "--db", str(db), "--user",
                           "admin", *args], env=env, capture_output=True, text=True,
                          timeout=1800)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stdout + done.stderr)
    return elapsed


class _Raw:
    """A bare REST client: one keep-alive connection, no library."""

    def __init__(self, url: str) -> None:
        from urllib.parse import urlsplit

        from tests.sync.conftest import APP_ID

        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.base = parts.path
        self.headers = {"X-Parse-Application-Id": APP_ID, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        self.conn.request(method, self.base + path, body=None if body is None else
                          json.dumps(body), headers=self.headers)
        resp = self.conn.getresponse()
        data = json.loads(resp.read())
        if resp.status >= 400:
            raise RuntimeError(data)
        return data

    def login(self) -> None:
        token = self.call("POST", "/login", {"username": "admin", "password": PASSWORD})
        self.headers["X-Parse-Session-Token"] = token["sessionToken"]


def _objects(site: str, prefix: str) -> list[dict[str, Any]]:
    ptr = {"__type": "Pointer", "className": "AuditSite", "objectId": site}
    return [{"objectId": f"{prefix}{i:07d}", "site": ptr, "aspectCategory": "waste",
             "aspectDescription": f"aspect {i}", "impact": "soil", "likelihood": 2,
             "severity": 3, "riskRating": 6, "impactRating": "medium", "actionStatus": "open",
             "loggedAt": {"__type": "Date", "iso": "2026-01-05T10:00:00.000Z"}}
            for i in range(N)]


def _floor_batch(url: str, site: str, prefix: str) -> float:
    raw = _Raw(url)
    raw.login()
    objs = _objects(site, prefix)
    started = time.perf_counter()
    for i in range(0, len(objs), 50):
        raw.call("POST", "/batch", {"requests": [
            {"method": "POST", "path": "/parse/classes/AspectImpactLog", "body": o}
            for o in objs[i:i + 50]]})
    return time.perf_counter() - started


def _delete_floor(url: str, prefix: str) -> None:
    with _master(url) as c:
        ids = [f"{prefix}{i:07d}" for i in range(N)]
        for i in range(0, N, 50):
            c.batch([{"method": "DELETE", "path": f"/classes/AspectImpactLog/{oid}"}
                     for oid in ids[i:i + 50]], master=True)


def _floor_one_by_one(url: str, site: str, prefix: str) -> float:
    raw = _Raw(url)
    raw.login()
    objs = _objects(site, prefix)
    started = time.perf_counter()
    for o in objs:
        raw.call("POST", "/classes/AspectImpactLog", o)
    return time.perf_counter() - started


def _floor_get(url: str, classes: list[str]) -> tuple[float, int]:
    raw = _Raw(url)
    raw.login()
    started = time.perf_counter()
    total = 0
    for cls in classes:
        path = "/users" if cls == "_User" else f"/classes/{cls}"
        last = None
        while True:
            where = {"$or": [{"updatedAt": {"$gt": last[0]}},
                             {"updatedAt": last[0], "objectId": {"$gt": last[1]}}]} if last else {}
            q = f"?limit=1000&order=updatedAt,objectId&where={json.dumps(where)}"
            from urllib.parse import quote

            page = raw.call("GET", path + quote(q, safe="?=&"))["results"]
            total += len(page)
            if len(page) < 1000:
                break
            last = ({"__type": "Date", "iso": page[-1]["updatedAt"]}, page[-1]["objectId"])
    return time.perf_counter() - started, total


def run(report: Any) -> None:
    from tests.sync.conftest import server_sh

    url, was_running = _server()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site = _laptop(work / "a.sqlite", url)
        # The machine is shared: the floor is measured before and after, and averaged.
        before = _floor_batch(url, site, "F")
        _delete_floor(url, "F")  # so that the sync does not also pull them
        push = _cli(work / "a.sqlite", "sync", "--server", url, "--quiet")
        after = _floor_batch(url, site, "G")
        floor = (before + after) / 2
        report.add(f"sync push of {N} new records (whole command, +{N} trail events)", push,
                   floor_name=f"bare /batch of 50, {N} objects", floor_value=floor,
                   note=f"floor before {before:.2f} s, after {after:.2f} s")
        from desktop_audit.schema import BY_NAME, SYNC_ORDER

        classes = [BY_NAME[c].remote_name for c in SYNC_ORDER]
        # Interleaved twice, the faster of each kept (the machine is shared).
        floors, pulls = [], []
        for n in range(2):
            get_floor, objects = _floor_get(url, classes)
            floors.append(get_floor)
            pulls.append(_cli(work / f"b{n}.sqlite", "sync", "--server", url, "--quiet"))
        report.add(f"new laptop pulls {objects} objects (whole command)", min(pulls),
                   floor_name=f"bare paginated GET of the same {objects}",
                   floor_value=min(floors),
                   note="runs " + ", ".join(f"{p:.2f}/{f:.2f} s" for p, f in
                                            zip(pulls, floors, strict=True)))
        one = _floor_one_by_one(url, site, "S")
        report.add(f"one request per object, {N} objects (the SDK offline-queue path)", one,
                   floor_name=f"bare /batch of 50, {N} objects", floor_value=floor)
    server_sh("reset")
    if not was_running:
        server_sh("stop")
