"""An HTTP proxy for the sync tests that injects faults between client and server.

Per request, by seeded chance: ``reset`` closes the connection before the server
sees the request; ``drop`` forwards it, lets the server commit, then closes the
connection instead of answering; ``unavailable`` answers 503 without forwarding;
``delay`` waits before forwarding (the only sleeps in the tests).  ``down`` makes
every request fail while set (a server that is away).  Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Faults:
    reset: float = 0.0
    drop: float = 0.0
    unavailable: float = 0.0
    delay: float = 0.0
    max_delay: float = 0.3
    seed: int = 1
    only_methods: tuple[str, ...] = ()  # empty: every method
    counts: Counter[str] = field(default_factory=Counter)


class FaultProxy:
    def __init__(self, upstream: str, faults: Faults) -> None:
        parts = urllib.parse.urlsplit(upstream)
        assert parts.hostname in ("127.0.0.1", "localhost", "::1")
        self.up_host = parts.hostname
        self.up_port = parts.port or 80
        self.path = parts.path
        self.faults = faults
        self.down = threading.Event()
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}{self.path}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.requests = 0
        # Called as hook(n, phase) for the n-th request: phase "before" it is forwarded,
        # "after" the server answered and before the answer is passed on.
        self.hook: Callable[[int, str], None] | None = None
        # Called as inspect(method, target, body) before each request is forwarded.
        self.inspect: Callable[[str, str, bytes], None] | None = None

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _choose(self, method: str) -> tuple[str, float, int]:
        f = self.faults
        with self._lock:
            self.requests += 1
            n = self.requests
            if self.down.is_set():
                f.counts["down"] += 1
                return "reset", 0.0, n
            if f.only_methods and method not in f.only_methods:
                return "pass", 0.0, n
            r = self._rng.random()
            delay = self._rng.random() * f.max_delay if self._rng.random() < f.delay else 0.0
            for name, p in (("reset", f.reset), ("drop", f.drop),
                            ("unavailable", f.unavailable)):
                if r < p:
                    f.counts[name] += 1
                    return name, delay, n
                r -= p
            if delay:
                f.counts["delay"] += 1
            return "pass", delay, n

    @staticmethod
    def _read_request(conn: socket.socket, buf: bytes) -> tuple[bytes, bytes, bytes] | None:
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return head, rest[:length], rest[length:]

    @staticmethod
    def _abort(conn: socket.socket) -> None:
        # RST, not FIN: the client sees "connection reset".
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        conn.close()

    def _handle(self, conn: socket.socket) -> None:
        upstream: http.client.HTTPConnection | None = None
        buf = b""
        try:
            conn.settimeout(30)
            while True:
                got = self._read_request(conn, buf)
                if got is None:
                    return
                head, body, buf = got
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() not in ("connection", "content-length", "host"):
                        headers[name.strip()] = value.strip()
                action, delay, n = self._choose(method)
                if self.inspect:
                    self.inspect(method, target, body)
                if self.hook:
                    self.hook(n, "before")
                if delay:
                    time.sleep(delay)
                if action == "reset":
                    self._abort(conn)
                    return
                if action == "unavailable":
                    msg = b'{"code":1,"error":"service unavailable"}'
                    conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
                                 b"application/json\r\nContent-Length: "
                                 + str(len(msg)).encode() + b"\r\n\r\n" + msg)
                    continue
                if upstream is None:
                    upstream = http.client.HTTPConnection(self.up_host, self.up_port,
                                                          timeout=60)
                try:
                    upstream.request(method, target, body=body or None, headers=headers)
                    resp = upstream.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException):
                    upstream.close()
                    upstream = None
                    self._abort(conn)
                    return
                if self.hook:
                    self.hook(n, "after")
                if action == "drop":
                    self._abort(conn)  # the server committed; the answer never arrives
                    return
                out = [f"HTTP/1.1 {resp.status} {resp.reason}"]
                for name, value in resp.getheaders():
                    if name.lower() not in ("transfer-encoding", "content-length",
                                            "connection", "keep-alive"):
                        out.append(f"{name}: {value}")
                out.append(f"Content-Length: {len(data)}")
                conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data)
        except OSError:
            return
        finally:
            if upstream is not None:
                upstream.close()
            try:
                conn.close()
            except OSError:
                pass
