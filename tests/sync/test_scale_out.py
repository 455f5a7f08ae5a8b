"""Several Parse Server processes on one database (``server.sh start --instances 2``): each
answers on its own port; a change saved through one reaches Live Query subscribers of the
other; a photo pushed through one downloads through the other; an account deactivated and
class permissions changed through one hold at once, or as soon as the change is announced,
on the other; stopping that group leaves the tests' own server running.

The group is this module's own (its own PARSE_PORT and database), started here and
stopped at the end."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop_audit import services
from desktop_audit.sync import session
from desktop_audit.sync.live import LiveQuery
from desktop_audit.sync.parse_client import ParseClient, ParseError
from tests.sync.conftest import (
    APP_ID,
    PASSWORD,
    SERVER_SH,
    Server,
    ServerGroup,
    Team,
    _server_env,
    build_team,
    laptop_factory,
)

pytestmark = pytest.mark.sync


@pytest.fixture
def scaled(server_group: ServerGroup) -> ServerGroup:
    """The module's group with its two processes running, emptied (schema kept)."""
    if not server_group.running():
        server_group.start(2)
    server_group.reset()
    return server_group


@pytest.fixture
def world(scaled: ServerGroup, tmp_path: Path) -> Iterator[tuple[Team, Any, Any]]:
    """A team adopted through process A; laptops that join through A and through B."""
    through_a, made_a = laptop_factory(tmp_path, scaled.server(0))
    through_b, made_b = laptop_factory(tmp_path, scaled.server(1))
    team = build_team(through_a, scaled.server(0))
    yield team, through_a, through_b
    for lap in made_a + made_b:
        lap.close()


def _health(url: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/health",
                                     headers={"X-Parse-Application-Id": APP_ID})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.loads(answer.read()))


def _answers(url: str) -> bool:
    try:
        return _health(url).get("status") == "ok"
    except OSError:
        return False


def test_two_processes_answer_health_and_status_lists_both(scaled: ServerGroup) -> None:
    a, b = scaled.urls
    assert a != b
    assert _health(a)["status"] == "ok" and _health(b)["status"] == "ok"
    lines = [line for line in scaled.status().splitlines() if line.startswith("parse:")]
    assert len(lines) == 2 and all("running" in line for line in lines), lines
    assert {line.rsplit(" ", 1)[-1] for line in lines} == {a, b}
    pids = {line.split("pid ", 1)[1].split(")", 1)[0] for line in lines}
    assert len(pids) == 2  # two processes, not one answering twice


def test_a_finding_saved_through_a_reaches_a_subscriber_on_b(
        world: tuple[Team, Any, Any], scaled: ServerGroup) -> None:
    team, through_a, _ = world
    a = team.laptop
    assert a.sync().exit_code == 0  # through A
    m = through_a.join("m", "manager")
    arrived = threading.Event()
    seen: list[tuple[str, str, str]] = []

    def on_change(event: str, class_name: str, object_id: str) -> None:
        seen.append((event, class_name, object_id))
        arrived.set()

    with ParseClient(scaled.urls[1], APP_ID) as c:  # the admin's app listens on B
        c.login("admin", PASSWORD)
        live = LiveQuery(a.db, c, on_change=on_change)
        live.start()
        try:
            fid = services.raise_finding(m.db, m.actor, site=team.site_a, logType="general",
                                         severity="minor_nc", description="no bund",
                                         correctiveAction="build a bund")
            assert m.sync().exit_code == 0  # the manager's laptop saves it through A
            assert arrived.wait(30), live.error
        finally:
            live.stop()
    assert ("create", "AuditFinding", fid) in seen
    assert fid in a.rows("audit_finding")


def _photo(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (16, 12), (40, 120, 77)).save(path, "PNG")
    return path


def test_a_photo_pushed_through_a_downloads_through_b(world: tuple[Team, Any, Any],
                                                     tmp_path: Path) -> None:
    team, _, through_b = world
    a = team.laptop
    assert a.actor is not None
    oid = services.add_aspect(a.db, a.actor, site=team.site_a, aspectCategory="waste",
                              aspectDescription="oily rags", impact="soil contamination",
                              likelihood=2, severity=3, actionStatus="open",
                              loggedAt="2026-01-05T10:00:00.000Z")
    photo = _photo(tmp_path / "bund.png")
    services.add_evidence(a.db, a.actor, parentClass="AspectImpactLog", parentId=oid,
                          path=photo, caption="the bund")
    report = a.sync()  # through A
    assert report.exit_code == 0 and report.files_up == 1, report.summary()
    c = through_b.join("c", "coordinator")  # joins and pulls through B
    assert c.reports[0].files_down == 1, c.reports[0].summary()
    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    from desktop_audit.services.evidence import blob_path

    stored = blob_path(c.db, sha, "image/png")
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha


def test_an_account_deactivated_through_a_is_refused_at_once_by_b(
        world: tuple[Team, Any, Any], scaled: ServerGroup) -> None:
    team, _, _ = world
    assert team.laptop.sync().exit_code == 0
    with ParseClient(scaled.urls[1], APP_ID) as on_b:
        session.online_login(on_b, "auditor", PASSWORD)
        assert on_b.find("AuditSite")  # B has now seen this session and its account
        with scaled.server(0).master() as on_a:
            on_a.request("PUT", f"/users/{team.ids['auditor']}", {"active": False},
                         master=True)
        with pytest.raises(ParseError):
            on_b.find("AuditSite")


def test_class_permissions_changed_through_a_hold_on_b(world: tuple[Team, Any, Any],
                                                       scaled: ServerGroup) -> None:
    team, _, _ = world
    assert team.laptop.sync().exit_code == 0
    with scaled.server(0).master() as on_a:
        clp = on_a.request("GET", "/schemas/AuditSite", master=True)["classLevelPermissions"]
    with ParseClient(scaled.urls[1], APP_ID) as on_b:
        session.online_login(on_b, "coordinator", PASSWORD)
        assert on_b.find("AuditSite")
        with scaled.server(0).master() as on_a:
            on_a.request("PUT", "/schemas/AuditSite", {
                "className": "AuditSite",
                "classLevelPermissions": {**clp, "find": {}, "get": {}}}, master=True)
        # B hears of the change through PostgreSQL and reloads the schema: the next
        # queries there are refused (waited for, at most 30 s).
        refused: ParseError | None = None
        for _ in range(150):
            try:
                on_b.find("AuditSite")
            except ParseError as exc:
                refused = exc
                break
            time.sleep(0.2)
        assert refused is not None and refused.code == 119, refused


def test_stopping_the_group_leaves_the_test_server_running(scaled: ServerGroup,
                                                           server: Server) -> None:
    import subprocess

    urls = list(scaled.urls)
    assert all(_answers(u) for u in urls)
    scaled.stop()
    assert not any(_answers(u) for u in urls)
    assert "parse: stopped" in scaled.status()
    assert _answers(server.url)
    if server.managed:
        main = subprocess.run([str(SERVER_SH), "status"], env=_server_env(),
                              capture_output=True, text=True, timeout=30)
        assert main.returncode == 0, main.stdout
        assert "running (pid" in main.stdout and server.url in main.stdout
