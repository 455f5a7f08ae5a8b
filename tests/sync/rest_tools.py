"""Raw REST against the real test server, as a hostile client would send it: bodies built
by hand (or the way sync/wire.py builds them), answers read as they come (HTTP status and
Parse code), sessions of each role."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from desktop_audit.schema import BY_NAME
from desktop_audit.sync import session as sync_session
from desktop_audit.sync.parse_client import ParseClient, TransientError
from tests.sync.conftest import APP_ID, PASSWORD, Server


def ptr(class_name: str, object_id: str) -> dict[str, str]:
    return {"__type": "Pointer", "className": BY_NAME[class_name].remote_name,
            "objectId": object_id}


def date(iso: str) -> dict[str, str]:
    return {"__type": "Date", "iso": iso if "T" in iso else f"{iso}T00:00:00.000Z"}


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return self.status < 300

    @property
    def code(self) -> int | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def error(self) -> str:
        return str(self.body.get("error", "")) if isinstance(self.body, dict) else ""


class Rest:
    """One session (or none, or the master key) speaking raw REST."""

    def __init__(self, server: Server, *, username: str | None = None,
                 master: bool = False) -> None:
        from tests.sync.conftest import MASTER_KEY

        self.client = ParseClient(server.url, APP_ID, timeout=30,
                                  master_key=MASTER_KEY if master else None)
        self.master = master
        self.user: dict[str, Any] = {}
        if username:
            self.user = sync_session.online_login(self.client, username, PASSWORD)

    @property
    def user_id(self) -> str:
        return str(self.user["objectId"])

    def call(self, method: str, path: str, body: Any = None) -> Answer:
        payload = None if body is None else json.dumps(body).encode()
        headers = self.client.headers(master=self.master)
        try:
            status, data = self.client.raw(method, path, payload, headers)
        except TransientError:
            # An idle keep-alive connection the server closed: once more, on a new one.
            status, data = self.client.raw(method, path, payload, headers)
        try:
            answer = json.loads(data) if data else None
        except ValueError:
            answer = data.decode(errors="replace")
        return Answer(status, answer)

    def create(self, class_name: str, body: dict[str, Any]) -> Answer:
        return self.call("POST", ParseClient.class_path(BY_NAME[class_name].remote_name), body)

    def update(self, class_name: str, object_id: str, body: dict[str, Any]) -> Answer:
        path = ParseClient.class_path(BY_NAME[class_name].remote_name)
        return self.call("PUT", f"{path}/{object_id}", body)

    def delete(self, class_name: str, object_id: str) -> Answer:
        path = ParseClient.class_path(BY_NAME[class_name].remote_name)
        return self.call("DELETE", f"{path}/{object_id}")

    def get(self, class_name: str, object_id: str) -> Answer:
        path = ParseClient.class_path(BY_NAME[class_name].remote_name)
        return self.call("GET", f"{path}/{object_id}")

    def batch(self, requests: list[dict[str, Any]], **extra: Any) -> Answer:
        for r in requests:
            if not r["path"].startswith(self.client.base_path):
                r["path"] = self.client.base_path + r["path"]
        return self.call("POST", "/batch", {"requests": requests, **extra})

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Answer:
        import http.client

        conn = http.client.HTTPConnection(self.client.host, self.client.port, timeout=30)
        headers = self.client.headers(master=self.master)
        try:
            conn.request("POST", "/graphql", body=json.dumps(
                {"query": query, "variables": variables or {}}).encode(), headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        try:
            return Answer(resp.status, json.loads(data))
        except ValueError:
            return Answer(resp.status, data.decode(errors="replace"))

    def close(self) -> None:
        self.client.close()
