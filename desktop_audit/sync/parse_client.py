"""Parse Server REST over one keep-alive HTTP connection, with timeouts.

Errors come in two kinds: ``TransientError`` (the network, a timeout, a reset,
a 5xx or 429, an answer that never came) is worth retrying; ``ParseError`` is the
server's own refusal, with its Parse error code, and is not.  A laptop never
holds the master key; ``master_key`` is only for ``server-setup``.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# Parse error codes the sync engine looks at.
OBJECT_NOT_FOUND = 101
INVALID_SESSION = 209
DUPLICATE_VALUE = 137
SCRIPT_FAILED = 141
VALIDATION_ERROR = 142
OPERATION_FORBIDDEN = 119
CONNECTION_FAILED = 100

MAX_BATCH = 50
# A kept-alive connection idle this long is not used again: Parse Server (Node) closes idle
# connections after 5 s, and a request sent on one it is closing fails.
IDLE_REUSE = 4.0


# Parse Server's own class of sign-in accounts (a protocol name, not one of ours).
PARSE_ACCOUNTS = "_User"

class ParseError(Exception):
    """The server answered and refused: HTTP status, Parse code and message."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"{message} (code {code})")


class TransientError(Exception):
    """No usable answer (network, timeout, reset, 5xx, 429): the request may be retried."""


class ParseClient:
    def __init__(self, server_url: str, app_id: str, *, client_key: str | None = None,
                 master_key: str | None = None, session_token: str | None = None,
                 timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(server_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not a server URL: {server_url!r}")
        self.server_url = server_url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.app_id = app_id
        self.client_key = client_key
        self.master_key = master_key
        self.session_token = session_token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._used = 0.0
        self.requests_made = 0

    def twin(self) -> ParseClient:
        """Another connection to the same server, as the same session (one per thread)."""
        twin = ParseClient(self.server_url, self.app_id, client_key=self.client_key,
                           master_key=self.master_key, session_token=self.session_token,
                           timeout=self.timeout)
        return twin

    # ------------------------------------------------------------------ transport

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None and time.monotonic() - self._used > IDLE_REUSE:
            self.close()  # the server has closed it by now, or is about to
        if self._conn is None:
            if self.scheme == "https":
                self._conn = http.client.HTTPSConnection(self.host, self.port,
                                                         timeout=self.timeout)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port,
                                                        timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> ParseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def headers(self, *, master: bool = False, content_type: str = "application/json"
                ) -> dict[str, str]:
        h = {"X-Parse-Application-Id": self.app_id, "Content-Type": content_type,
             "Accept": "application/json", "Connection": "keep-alive"}
        if self.client_key:
            h["X-Parse-REST-API-Key"] = self.client_key
            h["X-Parse-Javascript-Key"] = self.client_key
        if master:
            if not self.master_key:
                raise ParseError(OPERATION_FORBIDDEN, "this command needs the master key", 403)
            h["X-Parse-Master-Key"] = self.master_key
        elif self.session_token:
            h["X-Parse-Session-Token"] = self.session_token
        return h

    def raw(self, method: str, path: str, body: bytes | None, headers: dict[str, str]
            ) -> tuple[int, bytes]:
        """One HTTP exchange; any failure to get a whole answer is a TransientError."""
        url = self.base_path + path
        conn = self._connection()
        try:
            conn.request(method, url, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransientError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        finally:
            self.requests_made += 1
            self._used = time.monotonic()
        return status, data

    def request(self, method: str, path: str, body: Any = None, *,
                params: dict[str, Any] | None = None, master: bool = False) -> Any:
        if params:
            path = path + "?" + urllib.parse.urlencode(
                {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
                 for k, v in params.items()})
        payload = None if body is None else json.dumps(
            body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        status, data = self.raw(method, path, payload, self.headers(master=master))
        return self._decode(method, path, status, data)

    @staticmethod
    def _decode(method: str, path: str, status: int, data: bytes) -> Any:
        try:
            answer = json.loads(data) if data else None
        except ValueError:
            answer = None
        if status >= 500 or status == 429:
            detail = answer.get("error") if isinstance(answer, dict) else data[:200]
            raise TransientError(f"{method} {path}: HTTP {status}: {detail!r}")
        if status >= 400:
            if isinstance(answer, dict) and "code" in answer:
                raise ParseError(int(answer["code"]), str(answer.get("error", "")), status)
            raise ParseError(0, f"HTTP {status}: {data[:200]!r}", status)
        if answer is None and data:
            raise TransientError(f"{method} {path}: an answer that is not JSON")
        return answer

    # ------------------------------------------------------------------ Parse API

    def health(self) -> bool:
        try:
            answer = self.request("GET", "/health")
        except (TransientError, ParseError):
            return False
        return isinstance(answer, dict) and answer.get("status") == "ok"

    def login(self, username: str, password: str) -> dict[str, Any]:
        user = self.request("POST", "/login", {"username": username, "password": password})
        self.session_token = user["sessionToken"]
        return dict(user)

    def logout(self) -> None:
        if self.session_token:
            try:
                self.request("POST", "/logout", {})
            finally:
                self.session_token = None

    def me(self) -> dict[str, Any]:
        return dict(self.request("GET", "/users/me"))

    def call(self, function: str, params: dict[str, Any], *, master: bool = False) -> Any:
        return self.request("POST", f"/functions/{function}", params, master=master)["result"]

    def batch(self, requests: list[dict[str, Any]], *, master: bool = False
              ) -> list[dict[str, Any]]:
        """Send at most 50 sub-requests; one result per request, success or error."""
        if len(requests) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} requests")
        for r in requests:
            if not r["path"].startswith(self.base_path):
                r["path"] = self.base_path + r["path"]
        answer = self.request("POST", "/batch", {"requests": requests}, master=master)
        if not isinstance(answer, list) or len(answer) != len(requests):
            raise TransientError("a batch answer that does not match its requests")
        return answer

    def find(self, class_name: str, *, where: dict[str, Any] | None = None,
             order: str | None = None, limit: int = 1000, skip: int = 0,
             keys: str | None = None, master: bool = False) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if where:
            params["where"] = where
        if order:
            params["order"] = order
        if skip:
            params["skip"] = skip
        if keys:
            params["keys"] = keys
        answer = self.request("GET", self.class_path(class_name), params=params, master=master)
        return list(answer["results"])

    def count(self, class_name: str, where: dict[str, Any] | None = None, *,
              master: bool = False) -> int:
        params: dict[str, Any] = {"limit": 0, "count": 1}
        if where:
            params["where"] = where
        answer = self.request("GET", self.class_path(class_name), params=params, master=master)
        return int(answer["count"])

    def upload_file(self, name: str, data: bytes, mime_type: str) -> dict[str, str]:
        safe = urllib.parse.quote(name, safe="")
        status, body = self.raw("POST", f"/files/{safe}", data,
                                self.headers(content_type=mime_type))
        answer = self._decode("POST", "/files", status, body)
        return {"__type": "File", "name": answer["name"], "url": answer["url"]}

    def download(self, url: str) -> bytes:
        parts = urllib.parse.urlsplit(url)
        path = parts.path
        if path.startswith(self.base_path):
            path = path[len(self.base_path):]
        status, data = self.raw("GET", path, None, self.headers())
        if status >= 500:
            raise TransientError(f"GET {path}: HTTP {status}")
        if status >= 400:
            raise ParseError(OBJECT_NOT_FOUND, f"file not found: {url}", status)
        return data

    @staticmethod
    def class_path(class_name: str) -> str:
        """The REST path of a class (Parse answers its own account class at /users)."""
        return "/users" if class_name == PARSE_ACCOUNTS else f"/classes/{class_name}"


class Retrier:
    """Retries transient failures with capped exponential backoff, within a time budget.

    The budget is for the whole run, not for each call: a sync that cannot reach
    the server for that long gives up cleanly and can be run again.
    """

    def __init__(self, budget: float = 120.0, *, first_delay: float = 0.05,
                 max_delay: float = 5.0, cancelled: Callable[[], bool] | None = None,
                 on_retry: Callable[[str], None] | None = None) -> None:
        self.deadline = time.monotonic() + budget
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.cancelled = cancelled or (lambda: False)
        self.on_retry = on_retry
        self.retries = 0

    def __call__(self, fn: Callable[[], T]) -> T:
        delay = self.first_delay
        while True:
            try:
                return fn()
            except TransientError as exc:
                if time.monotonic() + delay > self.deadline or self.cancelled():
                    raise
                self.retries += 1
                if self.on_retry:
                    self.on_retry(str(exc))
                time.sleep(delay)
                delay = min(delay * 2, self.max_delay)


def chunks(items: list[T], size: int = MAX_BATCH) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
