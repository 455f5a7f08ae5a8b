"""Live Query: while online, a colleague's change to a finding or review arrives within
seconds, without pressing Sync.

A small WebSocket client (RFC 6455, text frames only) on the standard library, run in
a background thread.  Each event's object is merged through the sync engine's own
path (so a local edit is never overwritten: the same field changed on both sides
becomes a conflict).  Live Query does not replay what was missed while offline, so a
normal pull still runs on every reconnect; this only shortens the wait in between.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from desktop_audit import records
from desktop_audit.schema import BY_NAME

if TYPE_CHECKING:
    from desktop_audit.store.db import Database
    from desktop_audit.sync.parse_client import ParseClient

LIVE_CLASSES = tuple(rt.name for rt in records.live())
Listener = Callable[[str, str, str], None]  # (event, className, objectId)
# Runs a piece of database work where the program does its writes (the app's one writer
# thread) and returns when it is done; by default, right here.
WriteRunner = Callable[[Callable[[], None]], None]


def _run_here(work: Callable[[], None]) -> None:
    work()


class WebSocket:
    """Just enough of a WebSocket client for Parse Live Query."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("ws", "http"):
            raise ValueError("only ws:// (plain) Live Query URLs are supported here")
        port = parts.port or 80
        self.sock = socket.create_connection((parts.hostname, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = parts.path or "/"
        request = (f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}:{port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the Live Query server closed the connection")
            head += chunk
        status, _, rest = head.partition(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"no WebSocket upgrade: {status[:80]!r}")
        self._buf = rest
        self.sock.settimeout(None)

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def send(self, text: str, opcode: int = 0x1) -> None:
        data = text.encode()
        header = bytes([0x80 | opcode])
        n = len(data)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + body)

    def receive(self) -> str | None:
        """The next text message; None when the server closed the connection."""
        parts: list[bytes] = []
        while True:
            b1, b2 = self._read(2)
            opcode = b1 & 0x0F
            n = b2 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b2 & 0x80 else b""
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                return None
            if opcode == 0x9:
                self.send(payload.decode(errors="replace"), opcode=0xA)
                continue
            if opcode in (0x1, 0x0, 0x2):
                parts.append(payload)
                if b1 & 0x80:
                    return b"".join(parts).decode()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class LiveQuery:
    """Subscribes to findings and reviews; merges each event into the local database.

    ``start()`` returns once the subscriptions are confirmed; ``stop()`` ends the thread.
    *on_change* is called from the background thread after each merged event (a GUI
    posts it to its own thread)."""

    def __init__(self, db: Database, client: ParseClient, *,
                 on_change: Listener | None = None,
                 classes: tuple[str, ...] = LIVE_CLASSES,
                 run_write: WriteRunner | None = None) -> None:
        if not client.session_token:
            raise ValueError("Live Query needs a logged-in client")
        self.db = db
        self.client = client
        self.on_change = on_change
        self.classes = classes
        self.run_write = run_write or _run_here
        parts = urllib.parse.urlsplit(client.server_url)
        self.url = f"ws://{parts.hostname}:{parts.port or 80}{parts.path}"
        self._ws: WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.error: str | None = None
        self.events = 0

    def start(self, timeout: float = 10.0) -> None:
        self._ws = WebSocket(self.url, timeout=timeout)
        self._send({"op": "connect", "applicationId": self.client.app_id,
                    "sessionToken": self.client.session_token,
                    **({"restAPIKey": self.client.client_key} if self.client.client_key
                       else {})})
        for n, class_name in enumerate(self.classes, start=1):
            self._send({"op": "subscribe", "requestId": n, "sessionToken":
                        self.client.session_token,
                        "query": {"className": BY_NAME[class_name].remote_name, "where": {}}})
        self._thread = threading.Thread(target=self._run, name="live-query", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise ConnectionError(self.error or "Live Query did not confirm the subscriptions")

    def _send(self, message: dict[str, Any]) -> None:
        assert self._ws is not None
        self._ws.send(json.dumps(message))

    def _run(self) -> None:
        from desktop_audit.sync.engine import SyncEngine

        engine = SyncEngine(self.db, self.client)
        subscribed = 0
        ws = self._ws
        assert ws is not None
        try:
            while True:
                text = ws.receive()
                if text is None:
                    return
                msg = json.loads(text)
                op = msg.get("op")
                if op == "subscribed":
                    subscribed += 1
                    if subscribed == len(self.classes):
                        self._ready.set()
                elif op == "error":
                    self.error = str(msg.get("error"))
                    self._ready.set()
                elif op in ("create", "update", "enter") and "object" in msg:
                    obj = msg["object"]
                    class_name = next(c for c in self.classes
                                      if BY_NAME[c].remote_name == obj.get("className"))
                    def merge(cdef: Any = BY_NAME[class_name], obj: Any = obj) -> None:
                        with self._lock, self.db.atomic():
                            engine.apply_remote(cdef, obj)

                    self.run_write(merge)
                    self.events += 1
                    if self.on_change:
                        self.on_change(op, class_name, obj["objectId"])
        except (OSError, ConnectionError, ValueError) as exc:
            self.error = str(exc)
        finally:
            self._ready.set()
            try:
                self.db.handle.close()  # this thread's own SQLite connection
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    @property
    def running(self) -> bool:
        """Subscribed and listening (False once the connection dropped or was stopped)."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
