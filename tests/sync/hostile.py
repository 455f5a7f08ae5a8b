"""What the hostile-client tests share: raw HTTP to the real server (no retries, every
answer seen), sessions of every role, GraphQL, and a spy on the sync client's answers."""

from __future__ import annotations

import hashlib
import http.client
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from desktop_audit import services
from desktop_audit.sync import session
from desktop_audit.sync.parse_client import ParseClient
from tests.sync.conftest import APP_ID, MASTER_KEY, PASSWORD, Server, Team

ROLES = ("admin", "manager", "coordinator", "auditor", "field_staff")
USERNAME = {"admin": "admin", "manager": "manager", "coordinator": "coordinator",
            "auditor": "auditor", "field_staff": "fieldstaff"}
WRONG = {"code": 101, "error": "Invalid username/password."}
TOO_MANY = {"code": 100, "error": "Too many requests."}


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> int | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def error(self) -> str:
        return str(self.body.get("error", "")) if isinstance(self.body, dict) else ""


class Raw:
    """One HTTP exchange per call against the server's origin: what a hostile client sends."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.base = parts.path.rstrip("/")  # /parse

    def send(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             master: bool = False, headers: dict[str, str] | None = None,
             data: bytes | None = None, content_type: str = "application/json",
             address: str | None = None, root: bool = False) -> Answer:
        h = {"X-Parse-Application-Id": APP_ID, "Content-Type": content_type}
        if token:
            h["X-Parse-Session-Token"] = token
        if master:
            h["X-Parse-Master-Key"] = MASTER_KEY
        if address:
            h["X-Forwarded-For"] = address
        h.update(headers or {})
        payload = data if data is not None else (
            None if body is None else json.dumps(body).encode())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, (path if root else self.base + path), body=payload, headers=h)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                decoded: Any = json.loads(raw) if raw else None
            except ValueError:
                decoded = raw
            return Answer(resp.status, decoded, {k.lower(): v for k, v in resp.getheaders()})
        finally:
            conn.close()

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *,
                token: str | None = None, address: str | None = None) -> Answer:
        return self.send("POST", "/graphql", {"query": query, "variables": variables or {}},
                         token=token, address=address, root=True)

    def login(self, username: str, password: str, **kw: Any) -> Answer:
        return self.send("POST", "/login", {"username": username, "password": password}, **kw)


def graphql_refused(answer: Answer) -> bool:
    """GraphQL answers 200 with an `errors` list when it refuses."""
    return not answer.ok or bool(isinstance(answer.body, dict) and answer.body.get("errors"))


@dataclass
class World:
    """A team on the server (sites A and B), with a session of every role."""

    team: Team
    server: Server
    raw: Raw
    tokens: dict[str, str]
    ids: dict[str, str]

    @property
    def site_a(self) -> str:
        return self.team.site_a

    @property
    def site_b(self) -> str:
        return self.team.site_b

    def token(self, role: str) -> str | None:
        return self.tokens.get(role)

    def sync_admin(self) -> None:
        report = self.team.laptop.sync()
        assert report.exit_code == 0, report.summary()


def pointer(site: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": "AuditSite", "objectId": site}


def make_world(team: Team, server: Server) -> World:
    team.laptop.sync()
    ids = dict(team.ids)
    ids["admin"] = team.admin.id
    tokens = {}
    for role in ROLES:
        with ParseClient(server.url, APP_ID, timeout=60) as c:
            user = session.online_login(c, USERNAME[role], PASSWORD)
            tokens[role] = user["sessionToken"]
    return World(team, server, Raw(server.url), tokens, ids)


def upload_name(site: str, data: bytes, ext: str = "jpg") -> str:
    return f"{site}-{hashlib.sha256(data).hexdigest()}.{ext}"


def jpeg(seed: int = 0, size: tuple[int, int] = (32, 24)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (seed % 256, (seed * 7) % 256, 90)).save(out, "JPEG")
    return out.getvalue()


def png(seed: int = 0) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (seed % 256, 20, (seed * 3) % 256)).save(out, "PNG")
    return out.getvalue()


@contextmanager
def answers_seen() -> Iterator[list[int]]:
    """Every HTTP status the sync client receives meanwhile (a spy; the server is real)."""
    seen: list[int] = []
    original = ParseClient.raw

    def spy(self: ParseClient, method: str, path: str, body: bytes | None,
            headers: dict[str, str]) -> tuple[int, bytes]:
        status, data = original(self, method, path, body, headers)
        seen.append(status)
        return status, data

    ParseClient.raw = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        ParseClient.raw = original  # type: ignore[method-assign]


def add_user(team: Team, username: str, role: str, sites: list[str]) -> str:
    return services.create_user(team.laptop.db, team.admin, username=username,
                                email=f"{username}@example.com", role=role,
                                password=PASSWORD, sites=sites)
