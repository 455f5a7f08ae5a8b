"""Push and pull between the local database and a Parse Server: nothing lost, nothing doubled.

* **Push** reads the outbox (written in the same transaction as each change), in
  dependency order, and sends ``/batch`` chunks of at most 50.  objectIds are made
  on the laptop, so a create whose answer was lost answers ``137`` when retried
  and is recognised as already saved.  Transient failures are retried within the
  run; a refusal is quarantined with its reason (and retried on the next run),
  never dropped.  An outbox row is removed only once the server confirmed it.
* **Pull** asks, class by class, for ``updatedAt >= cursor - overlap`` (batch
  writes share milliseconds and commit out of order), pages by
  ``(updatedAt, objectId)``, and skips what it already has.  Deletes travel as
  tombstones (``deletedAt``).
* **Conflicts**: each row keeps the server version it was based on
  (``serverUpdatedAt`` and ``syncBase``).  Edits to different fields merge; the
  same field changed on both sides is recorded with both values, the local value
  stays, and the field is not pushed until someone resolves it.
* Evidence files go up once per SHA-256 before the records that point at them,
  and come down into the local file store, checked against their SHA-256.
* The audit trail goes first (``trail_sync.py``): keys, then this laptop's chains checked
  against what the server already holds of them, then their new segments, before the
  records they journal; pulled events are checked before they are stored.

Every step commits locally in its own transaction, so the process may be killed
at any moment and run again.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import peewee

from desktop_audit import clock, records, schema
from desktop_audit.domain import trail
from desktop_audit.errors import Cancelled, SyncError
from desktop_audit.jobs import Control
from desktop_audit.schema import BY_NAME, SYNC_ORDER, ClassDef
from desktop_audit.store import codec, journal, keyring, rows, sync_state
from desktop_audit.store.sync_state import Conflict, conflicts, quarantined
from desktop_audit.sync import trail_sync, wire
from desktop_audit.sync.parse_client import (
    DUPLICATE_VALUE,
    INVALID_SESSION,
    MAX_BATCH,
    ParseClient,
    ParseError,
    Retrier,
    TransientError,
    chunks,
)

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

PAGE = 1000
IN_FLIGHT = 2  # /batch requests of a class on their way at once (each on its own connection)
OVERLAP_MS = 5000  # how far back a pull looks past its cursor (late commits)
TRAIL = schema.TRAIL.name
NOT_STORED = -1  # quarantine code of a pulled record that clashes with a local one
CLASH = (sqlite3.IntegrityError, peewee.IntegrityError)


def pending_count(db: Database) -> int:
    """Records changed here and not yet confirmed by the server (the number a pack shows)."""
    return sync_state.pending_records(db)


def open_conflicts(db: Database) -> list[Conflict]:
    return conflicts(db)


def _norm(f: schema.Field | None, value: Any) -> Any:
    return wire.normal(f, value) if f is not None else value


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    merged: int = 0
    new_conflicts: int = 0
    open_conflicts: int = 0
    quarantined: list[tuple[str, str, str]] = field(default_factory=list)
    files_up: int = 0
    files_down: int = 0
    full_pulls: list[str] = field(default_factory=list)
    count_mismatches: list[str] = field(default_factory=list)
    # This laptop's chains that no longer match what the server holds (nothing pushed).
    anchor_problems: list[str] = field(default_factory=list)
    # Pulled trail events held back because they do not verify: (chain, seq, problem).
    held_events: list[tuple[str, int, str]] = field(default_factory=list)
    key_problems: list[str] = field(default_factory=list)
    retries: int = 0
    requests: int = 0
    seconds: float = 0.0
    # Seconds per step (sign-in, keys, audit trail, pull, push, counts), in order.
    timings: dict[str, float] = field(default_factory=dict)

    def timed(self, step: str, seconds: float) -> None:
        self.timings[step] = self.timings.get(step, 0.0) + seconds

    def timings_line(self) -> str:
        steps = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in self.timings.items())
        return f"sync steps: {steps}; {self.requests} requests"

    @property
    def exit_code(self) -> int:
        if self.quarantined or self.anchor_problems or self.held_events:
            return 1
        return 3 if self.open_conflicts else 0

    def summary(self) -> str:
        parts = [f"pushed {self.pushed}", f"pulled {self.pulled}"]
        if self.merged:
            parts.append(f"merged {self.merged}")
        if self.files_up or self.files_down:
            parts.append(f"files up {self.files_up} / down {self.files_down}")
        if self.retries:
            parts.append(f"{self.retries} retries")
        parts.append(f"{self.seconds:.1f} s")
        text = "sync: " + ", ".join(parts)
        for line in self.anchor_problems:
            text += (f"\nAUDIT TRAIL DIFFERS FROM THE SERVER: {line}; nothing of this chain was "
                     "pushed")
        for chain, seq, problem in self.held_events:
            text += f"\nheld back: audit trail event (chain {chain}, seq {seq}): {problem}"
        for line in self.key_problems:
            text += f"\nkey not registered by the server: {line}"
        if self.open_conflicts:
            text += (f"\n{self.open_conflicts} open conflict(s): see `desktop-audit conflicts`")
        if self.full_pulls:
            text += "\ncounts differed, pulled again in full: " + ", ".join(self.full_pulls)
        for line in self.count_mismatches:
            text += f"\ncount still differs: {line}"
        for cls, oid, reason in self.quarantined:
            if reason.startswith("pulled from the server"):
                text += f"\nheld back: {cls} {oid}: {reason}"
            else:
                text += f"\nnot accepted by the server: {cls} {oid}: {reason}"
        return text


@dataclass
class _Local:
    record: dict[str, Any]
    server_updated_at: str | None
    base: dict[str, Any] | None
    deleted_at: str | None


@dataclass
class _Chunk:
    """One /batch of a class: its requests and, per request, (objectId, newest outbox id,
    create or update, the values the server will hold)."""

    requests: list[dict[str, Any]]
    plan: list[tuple[str, int, str, dict[str, Any]]]


class SyncEngine:
    def __init__(self, db: Database, client: ParseClient, *, actor: Actor | None = None,
                 control: Control | None = None, retry_budget: float = 120.0) -> None:
        self.db = db
        self.client = client
        self.actor = actor
        self.control = control or Control()
        self.report = SyncReport()
        self.retry = Retrier(retry_budget, cancelled=lambda: self.control.cancelled,
                             on_retry=self._on_retry)
        self._uploaded: dict[tuple[str, str], dict[str, str]] = {}
        self._senders = threading.local()
        self._twins: list[ParseClient] = []
        self._twins_lock = threading.Lock()
        self._aside_requests = 0  # made by the push's sender threads

    # ------------------------------------------------------------------ helpers

    def _on_retry(self, _reason: str) -> None:
        self.report.retries += 1

    def _check_cancel(self) -> None:
        if self.control.cancelled:
            raise Cancelled("sync cancelled; what was confirmed is kept, run it again to finish")

    def _call(self, fn: Callable[[], Any]) -> Any:
        self._check_cancel()
        try:
            return self.retry(fn)
        except TransientError as exc:
            self._check_cancel()
            raise SyncError(f"the server did not answer in time ({exc}); nothing was lost, "
                            "run sync again") from exc
        except ParseError as exc:
            if exc.code == INVALID_SESSION:
                raise SyncError("the server session expired; log in again") from exc
            raise

    def _local(self, cdef: ClassDef, object_id: str) -> _Local | None:
        record = rows.load(self.db, cdef, object_id, include_deleted=True)
        if record is None:
            return None
        found = sync_state.marks(self.db, cdef, object_id)
        assert found is not None
        server_updated_at, base, deleted = found
        record[wire.TOMBSTONE] = deleted
        return _Local(record, server_updated_at, base, deleted)

    def _conflict_fields(self, class_name: str, object_id: str) -> set[str]:
        return sync_state.conflict_fields(self.db, class_name, object_id)

    def _dirty(self, class_name: str, object_id: str) -> bool:
        return sync_state.is_queued(self.db, class_name, object_id)

    @staticmethod
    def _base_of(cdef: ClassDef, values: dict[str, Any]) -> dict[str, Any]:
        base = {f.name: values.get(f.name) for f in wire.synced_fields(cdef)}
        base[wire.TOMBSTONE] = values.get(wire.TOMBSTONE)
        return base

    def _fields(self, cdef: ClassDef) -> list[schema.Field]:
        return wire.synced_fields(cdef)

    # ------------------------------------------------------------------ run

    def run(self, *, pull: bool = True) -> SyncReport:
        started = time.monotonic()
        before = self.client.requests_made
        try:
            self._timed("keys", self.sync_keys)
            self._timed("audit trail", self.push_trail)
            if pull:
                self._timed("pull", self.pull)
            self._timed("push", self.push)
            if pull:
                self._timed("counts", self.check_counts)
        finally:
            self.report.seconds = time.monotonic() - started
            self.report.requests = self.client.requests_made - before + self._aside_requests
            self.report.open_conflicts = sync_state.conflict_count(self.db)
            self.report.quarantined = sorted((c, o, r) for c, o, _code, r, _at
                                             in quarantined(self.db))
        with self.db.atomic():
            self.db.set_meta("sync_last_at", clock.now_iso())
            self.db.set_meta("sync_server", self.client.server_url)
        return self.report

    def _timed(self, step: str, fn: Callable[[], None]) -> None:
        started = time.monotonic()
        try:
            fn()
        finally:
            self.report.timed(step, time.monotonic() - started)

    # ------------------------------------------------------------------ push

    def pending(self) -> int:
        return sync_state.pending_total(self.db)

    # ------------------------------------------------------------------ trail

    def sync_keys(self) -> None:
        """Register the keys made here, then learn every key the server knows."""
        self._check_cancel()
        self.report.key_problems += trail_sync.register_keys(self.db, self.client, self.actor,
                                                             self._call)
        trail_sync.pull_keys(self.db, self.client, self._call)

    def push_trail(self) -> None:
        """This laptop's chains, each checked against the server's copy, then their new
        segments in order (before the records they journal)."""
        queued = sync_state.queued(self.db, TRAIL)
        if not queued:
            return
        rows = journal.rows_of(self.db, [oid for oid, _ in queued])
        max_ids = dict(queued)
        found = {r[0] for r in rows}
        gone = [(oid, m) for oid, m in queued if oid not in found]
        if gone:
            with self.db.atomic():
                self._unqueue(TRAIL, gone)
        by_chain: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_chain.setdefault(row[1], []).append(row)
        problems = trail_sync.check_anchors(self.db, self.client, by_chain, self._call)
        self.report.anchor_problems += [problems[c] for c in sorted(problems)]
        done = 0
        total = len(rows)
        for chain, events in by_chain.items():
            if chain in problems:
                continue
            if trail.is_legacy(chain):
                with self.db.atomic():
                    self._quarantine(TRAIL, events[0][0], 0, (
                        f"chain {chain}: {len(events)} event(s) recorded before the upgrade "
                        "never reached the server; the server takes new chains only"))
                continue
            for part in trail_sync.segments(events):
                self._check_cancel()
                body = {"chain": chain, "events": [trail_sync.wire_event(r) for r in part]}
                try:
                    answer = self._call(functools.partial(self.client.call, "appendTrail", body))
                except ParseError as exc:
                    with self.db.atomic():
                        self._quarantine(TRAIL, part[0][0], exc.code, exc.message)
                    break
                with self.db.atomic():
                    self._unqueue(TRAIL, [(r[0], max_ids[r[0]]) for r in part])
                self.report.pushed += int(answer.get("added", 0)) + int(answer.get("already", 0))
                done += len(part)
                self.control.progress(done, total, "push audit trail")

    def push(self) -> None:
        """Class by class in dependency order (each class done before the next starts); a
        class's chunks go as /batch requests, IN_FLIGHT at a time over their own connections,
        while the next chunk is read here and the answers are written back in order."""
        total = self.pending()
        done = 0
        self.control.progress(0, total, "push")
        try:
            with ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="push") as senders:
                for class_name in SYNC_ORDER:
                    cdef = BY_NAME[class_name]
                    if cdef.append_only:
                        continue  # pushed first, by push_trail
                    for count in self._push_class(cdef, senders):
                        done += count
                        self.control.progress(done, total, "push")
        finally:
            for twin in self._twins:
                self._aside_requests += twin.requests_made
                twin.close()
            self._twins.clear()

    def _push_class(self, cdef: ClassDef, senders: ThreadPoolExecutor) -> Iterator[int]:
        """Push one class's queued records; yields how many each landed chunk held."""
        queued = sync_state.queued(self.db, cdef.name)
        if cdef.accounts:
            for group in chunks(queued, MAX_BATCH):
                self._check_cancel()
                self._push_users(cdef, group)
                yield len(group)
            return
        flying: deque[tuple[int, _Chunk | None, Future[list[dict[str, Any]]] | None]] = deque()
        try:
            for group in chunks(queued, MAX_BATCH):
                self._check_cancel()
                chunk = self._plan_chunk(cdef, group)
                sent = None if chunk is None else senders.submit(self._send_aside, chunk)
                flying.append((len(group), chunk, sent))
                while len(flying) >= IN_FLIGHT or (flying and flying[0][2] is None):
                    yield self._land(cdef, *flying.popleft())
            while flying:
                yield self._land(cdef, *flying.popleft())
        finally:
            for _n, _chunk, sent in flying:  # a failure or a cancel: wait, keep nothing
                if sent is not None:
                    sent.cancel()
                    wait([sent])

    def _land(self, cdef: ClassDef, count: int, chunk: _Chunk | None,
              sent: Future[list[dict[str, Any]]] | None) -> int:
        if chunk is not None and sent is not None:
            self._settle_chunk(cdef, chunk, sent.result())
        return count

    def _send_aside(self, chunk: _Chunk) -> list[dict[str, Any]]:
        """_send on a sender thread, over that thread's own connection (the same session as
        the main one)."""
        client = getattr(self._senders, "client", None)
        if client is None:
            client = self.client.twin()
            self._senders.client = client
            with self._twins_lock:
                self._twins.append(client)
        return self._send(chunk, client)

    def _unqueue(self, class_name: str, done: Iterable[tuple[str, int]]) -> None:
        sync_state.unqueue(self.db, class_name, done)

    def _quarantine(self, class_name: str, object_id: str, code: int, reason: str) -> None:
        sync_state.quarantine(self.db, class_name, object_id, code, reason)

    def _mark_synced(self, cdef: ClassDef, object_id: str, server_updated_at: str,
                     base: dict[str, Any], created_at: str | None = None) -> None:
        if cdef.append_only:
            return  # the trail is append-only locally too; pushed events need no bookkeeping
        sync_state.mark_synced(self.db, cdef, object_id, server_updated_at, base, created_at)

    def _prepare(self, cdef: ClassDef, group: list[tuple[str, int]]
                 ) -> list[tuple[str, int, _Local | None]]:
        """The queued records of a chunk as they are here (read together)."""
        ids = [oid for oid, _ in group]
        found = {r["objectId"]: r for r in rows.select_in(self.db, cdef, "objectId", ids)}
        marks = sync_state.marks_of(self.db, cdef, ids)
        out: list[tuple[str, int, _Local | None]] = []
        for oid, max_id in group:
            record = found.get(oid)
            if record is None or oid not in marks:
                out.append((oid, max_id, None))
                continue
            server_updated_at, base, deleted = marks[oid]
            record[wire.TOMBSTONE] = deleted
            out.append((oid, max_id, _Local(record, server_updated_at, base, deleted)))
        return out

    def _guard_updates(self, cdef: ClassDef, items: list[tuple[str, int, _Local | None]]
                       ) -> list[tuple[str, int, _Local | None]]:
        """Before updating, make sure each row is still based on the server's version;
        where someone else saved in between, merge their version first."""
        ids = [oid for oid, _, loc in items if loc is not None and loc.server_updated_at]
        if not ids or cdef.append_only:
            return items
        remote = self._call(lambda: self.client.find(
            cdef.remote_name, where={"objectId": {"$in": ids}}, limit=len(ids)))
        changed = False
        with self.db.atomic():
            for obj in remote:
                loc = next(x[2] for x in items if x[0] == obj["objectId"])
                assert loc is not None
                if wire.iso_of(obj.get("updatedAt")) != loc.server_updated_at:
                    self.apply_remote(cdef, obj)
                    changed = True
        if not changed:
            return items
        return [(oid, max_id, self._local(cdef, oid)) for oid, max_id, _ in items]

    def _push_chunk(self, cdef: ClassDef, group: list[tuple[str, int]]) -> None:
        chunk = self._plan_chunk(cdef, group)
        if chunk is not None:
            self._settle_chunk(cdef, chunk, self._send(chunk, self.client))

    def _plan_chunk(self, cdef: ClassDef, group: list[tuple[str, int]]) -> _Chunk | None:
        """The /batch requests of one chunk of queued records (None: nothing to send)."""
        items = self._guard_updates(cdef, self._prepare(cdef, group))
        if cdef.has("file"):
            self._upload_files(cdef, items)
            items = [(oid, max_id, self._local(cdef, oid)) for oid, max_id, _ in items]
        remote = cdef.remote_name
        path = f"/classes/{remote}" if cdef.accounts else ParseClient.class_path(remote)
        requests: list[dict[str, Any]] = []
        plan: list[tuple[str, int, str, dict[str, Any]]] = []  # oid, max_id, method, snapshot
        nothing: list[tuple[str, int]] = []
        for oid, max_id, loc in items:
            if loc is None:
                nothing.append((oid, max_id))  # queued, then gone (never stored): nothing to send
                continue
            if cdef.has("file") and not (loc.record.get("file") or {}).get("url"):
                self._quarantine(cdef.name, oid, 0, "the photo file is missing on this laptop")
                continue
            snapshot = self._base_of(cdef, loc.record)
            if loc.server_updated_at is None:
                body = wire.record_to_wire(cdef, loc.record, create=True)
                requests.append({"method": "POST", "path": path, "body": body})
                plan.append((oid, max_id, "create", snapshot))
                continue
            held = self._conflict_fields(cdef.name, oid)
            base = loc.base or {}
            names = [f.name for f in self._fields(cdef) if f.name not in held and
                     wire.normal(f, loc.record.get(f.name)) != wire.normal(f, base.get(f.name))]
            if loc.deleted_at != base.get(wire.TOMBSTONE) and wire.TOMBSTONE not in held:
                names.append(wire.TOMBSTONE)
            if not names:
                nothing.append((oid, max_id))
                continue
            body = wire.record_to_wire(cdef, loc.record, names, create=False)
            requests.append({"method": "PUT", "path": f"{path}/{oid}", "body": body})
            # What the server will hold: the old base with the sent fields replaced.
            sent = dict(base)
            for n in names:
                sent[n] = snapshot.get(n)
            plan.append((oid, max_id, "update", sent))
        if nothing:
            with self.db.atomic():
                self._unqueue(cdef.name, nothing)
        return _Chunk(requests, plan) if requests else None

    def _send(self, chunk: _Chunk, client: ParseClient) -> list[dict[str, Any]]:
        """One /batch (retried when the answer is lost: objectIds are the laptop's)."""
        return list(self._call(lambda: client.batch([dict(r) for r in chunk.requests])))

    def _settle_chunk(self, cdef: ClassDef, chunk: _Chunk, results: list[dict[str, Any]]
                      ) -> None:
        """What the server answered: confirmed rows leave the outbox, refusals are quarantined
        with their reason, creates answered 137 are reconciled."""
        confirmed: list[tuple[str, int]] = []
        duplicates: list[tuple[str, int, dict[str, Any]]] = []
        with self.db.atomic():
            for (oid, max_id, method, snapshot), result in zip(chunk.plan, results, strict=True):
                if "success" in result:
                    ok = result["success"]
                    updated = wire.iso_of(ok.get("updatedAt") or ok.get("createdAt"))
                    assert updated
                    self._mark_synced(cdef, oid, updated, snapshot,
                                      wire.iso_of(ok.get("createdAt")))
                    confirmed.append((oid, max_id))
                    continue
                err = result.get("error") or {}
                code = int(err.get("code", 0))
                if code == DUPLICATE_VALUE and method == "create":
                    duplicates.append((oid, max_id, snapshot))
                    continue
                self._quarantine(cdef.name, oid, code, str(err.get("error", err)))
            self._unqueue(cdef.name, confirmed)
        self.report.pushed += len(confirmed)
        if duplicates:
            self._reconcile_duplicates(cdef, duplicates)

    def _reconcile_duplicates(self, cdef: ClassDef,
                              duplicates: list[tuple[str, int, dict[str, Any]]]) -> None:
        """A create answered 137: the id is already on the server (an earlier try whose
        answer was lost).  Take the server's copy as the base and push what differs."""
        if cdef.append_only:
            with self.db.atomic():
                self._unqueue(cdef.name, [(oid, m) for oid, m, _ in duplicates])
            self.report.pushed += len(duplicates)
            return
        ids = [oid for oid, _, _ in duplicates]
        remote = {o["objectId"]: o for o in self._call(lambda: self.client.find(
            cdef.remote_name, where={"objectId": {"$in": ids}}, limit=len(ids)))}
        requeue: list[tuple[str, int]] = []
        with self.db.atomic():
            for oid, max_id, _snapshot in duplicates:
                obj = remote.get(oid)
                if obj is None:
                    self._quarantine(cdef.name, oid, DUPLICATE_VALUE,
                                     "this id is taken on the server by a record you cannot see")
                    continue
                theirs = wire.record_from_wire(cdef, obj)
                base = self._base_of(cdef, theirs)
                ours = obj.get("createdAt") == obj.get("updatedAt")
                if ours:
                    # Unchanged since it was created: it is the copy this laptop sent.
                    self._mark_synced(cdef, oid, theirs["updatedAt"], base, theirs["createdAt"])
                else:
                    # Changed on the server since: merge like any pulled version.
                    sync_state.forget_base(self.db, cdef, oid)
                    self.apply_remote(cdef, obj, force_merge=True)
                requeue.append((oid, max_id))
        # Push whatever still differs from the server's copy (usually nothing).
        if requeue:
            self._push_chunk(cdef, requeue)

    def _push_users(self, cdef: ClassDef, group: list[tuple[str, int]]) -> None:
        items = self._guard_updates(cdef, self._prepare(cdef, group))
        payload = []
        plan = []
        nothing = []
        for oid, max_id, loc in items:
            if loc is None:
                nothing.append((oid, max_id))
                continue
            rec = loc.record
            held = self._conflict_fields(cdef.name, oid)
            data: dict[str, Any] = {"objectId": oid}
            for f in cdef.fields:
                if f.name in held:
                    continue
                value = rec.get(f.name)
                if f.kind == "secret":
                    if value and loc.server_updated_at is None:
                        data[f.name] = value
                    continue
                data[f.name] = value
            if loc.deleted_at:
                data[wire.TOMBSTONE] = loc.deleted_at
            payload.append(data)
            plan.append((oid, max_id, self._base_of(cdef, rec)))
        if nothing:
            with self.db.atomic():
                self._unqueue(cdef.name, nothing)
        if not payload:
            return
        try:
            results = self._call(lambda: self.client.call("saveUsers", {"users": payload}))
        except ParseError as exc:
            with self.db.atomic():
                for oid, _, _ in plan:
                    self._quarantine(cdef.name, oid, exc.code, exc.message)
            return
        confirmed = []
        with self.db.atomic():
            for (oid, max_id, base), result in zip(plan, results, strict=True):
                if "success" in result:
                    ok = result["success"]
                    self._mark_synced(cdef, oid, wire.iso_of(ok["updatedAt"]) or "", base,
                                      wire.iso_of(ok.get("createdAt")))
                    confirmed.append((oid, max_id))
                else:
                    err = result.get("error") or {}
                    self._quarantine(cdef.name, oid, int(err.get("code", 0)),
                                     str(err.get("error", err)))
            self._unqueue(cdef.name, confirmed)
        self.report.pushed += len(confirmed)

    def _upload_files(self, cdef: ClassDef, items: list[tuple[str, int, _Local | None]]
                      ) -> None:
        from desktop_audit.services.evidence import blob_path

        for oid, _max_id, loc in items:
            if loc is None:
                continue
            rec = loc.record
            current = rec.get("file") or {}
            if current.get("url"):
                continue
            sha = rec.get("sha256")
            site = rec.get("site")
            if not sha or not site:
                continue
            # Uploaded once per photo and site, named SITE-SHA256.ext (the server checks
            # that the uploader works on the site and that the content has this SHA-256).
            pointer = self._uploaded.get((site, sha)) or self._known_upload(sha, site)
            if pointer is None:
                path = blob_path(self.db, sha, rec.get("mimeType") or "image/jpeg")
                if not path.exists():
                    continue
                data = path.read_bytes()
                if hashlib.sha256(data).hexdigest() != sha:
                    continue
                mime = rec.get("mimeType") or "image/jpeg"
                ext = ".png" if mime == "image/png" else ".jpg"
                pointer = self._call(functools.partial(self.client.upload_file,
                                                       f"{site}-{sha}{ext}", data, mime))
                self.report.files_up += 1
            self._uploaded[(site, sha)] = pointer
            with self.db.atomic():
                sync_state.set_file(self.db, oid, pointer)

    def _known_upload(self, sha: str, site: str) -> dict[str, str] | None:
        return sync_state.known_upload(self.db, sha, site)

    # ------------------------------------------------------------------ pull

    def pull(self, classes: Iterable[str] = SYNC_ORDER) -> None:
        classes = list(classes)
        if TRAIL in classes:
            trail_sync.pull_keys(self.db, self.client, self._call)  # to check what comes
        for class_name in classes:
            self._check_cancel()
            self._pull_class(BY_NAME[class_name])
        if TRAIL in classes:
            self._settle_trail()
        self._download_files()

    def _settle_trail(self) -> None:
        with self.db.atomic():
            stored, _problems = trail_sync.settle(self.db)
        if trail_sync.unknown_keys(self.db):
            # Signed with a key registered after ours were fetched: fetch them once more.
            trail_sync.pull_keys(self.db, self.client, self._call)
            with self.db.atomic():
                more, _problems = trail_sync.settle(self.db)
            stored += more
        self.report.pulled += stored
        self.report.held_events = trail_sync.held_problems(self.db)

    def check_counts(self) -> None:
        """Anki's safeguard: compare what the server has with what is here, class by class;
        where the server has more than this laptop, pull that class again from the start
        (what is already here is skipped)."""
        for class_name in SYNC_ORDER:
            self._check_cancel()
            cdef = BY_NAME[class_name]
            for attempt in range(2):
                remote = self._call(functools.partial(
                    self.client.count, cdef.remote_name, {"objectId": {"$exists": True}}))
                local = sync_state.local_count(self.db, cdef)
                if cdef.append_only:
                    local += keyring.held_count(self.db)  # held back: counted, not pulled again
                if remote <= local:
                    break
                if attempt == 0:
                    self.report.full_pulls.append(class_name)
                    self._pull_class(cdef, from_start=True)
                    if cdef.append_only:
                        self._settle_trail()
                else:
                    self.report.count_mismatches.append(
                        f"{class_name}: {remote} on the server, {local} here")

    def _pull_class(self, cdef: ClassDef, *, from_start: bool = False) -> None:
        """Page through one class; the next page is fetched while this one is stored."""
        key = f"sync_cursor:{cdef.name}"
        cursor = None if from_start else self.db.meta(key)
        start = None
        if cursor:
            start = clock.iso(clock.parse_iso(cursor) - timedelta(milliseconds=OVERLAP_MS))

        def fetch(last: tuple[str, str] | None) -> list[dict[str, Any]]:
            if last is not None:
                when = {"__type": "Date", "iso": last[0]}
                where: dict[str, Any] = {"$or": [
                    {"updatedAt": {"$gt": when}},
                    {"updatedAt": when, "objectId": {"$gt": last[1]}},
                ]}
            elif start is not None:
                where = {"updatedAt": {"$gte": {"__type": "Date", "iso": start}}}
            else:
                where = {}
            return list(self._call(functools.partial(
                self.client.find, cdef.remote_name, where=where, order="updatedAt,objectId",
                limit=PAGE)))

        seen = 0
        with ThreadPoolExecutor(1, thread_name_prefix="pull") as ahead:
            pending = ahead.submit(fetch, None)
            while True:
                page = pending.result()
                self._check_cancel()
                if not page:
                    break
                tail = page[-1]
                last = (wire.iso_of(tail["updatedAt"]) or "", tail["objectId"])
                more = len(page) >= PAGE
                if more:
                    pending = ahead.submit(fetch, last)
                with self.db.atomic():
                    self._apply_page(cdef, page)
                    self.db.set_meta(key, last[0])
                seen += len(page)
                self.control.progress(seen, seen, f"pull {cdef.name}")
                if not more:
                    break

    def _apply_page(self, cdef: ClassDef, page: list[dict[str, Any]]) -> None:
        """A page of server objects: what is new is inserted in one go, what this laptop
        already has at that version is skipped, the rest is merged one by one."""
        ids = [o["objectId"] for o in page]
        column = "createdAt" if cdef.append_only else "serverUpdatedAt"
        known = sync_state.known_versions(self.db, cdef, ids, column)
        if cdef.append_only:
            # Checked before they are stored: they wait in the inbox until settled.
            trail_sync.stage(self.db, [trail_sync.event_from_wire(o) for o in page
                                       if o["objectId"] not in known])
            return
        fresh: list[dict[str, Any]] = []
        for obj in page:
            oid = obj["objectId"]
            if oid not in known:
                fresh.append(wire.record_from_wire(cdef, obj))
                continue
            if known[oid] == wire.iso_of(obj.get("updatedAt")):
                continue
            try:
                if self.apply_remote(cdef, obj):
                    self.report.pulled += 1
            except CLASH as exc:
                self._not_stored(cdef.name, oid, exc)
        if fresh:
            values = self._insert_rows(cdef, fresh)
            try:
                sync_state.insert_pulled(self.db, cdef, values)
            except CLASH:
                # A record that clashes with one here on a unique key (two laptops made
                # the same site code offline, before the server checked it): keep the
                # rest, and hold that one back, shown, until someone sorts it out.
                for rec, row in zip(fresh, values, strict=True):
                    try:
                        sync_state.insert_pulled(self.db, cdef, [row], one=True)
                    except CLASH as exc:
                        if not sync_state.exists(self.db, cdef, rec["objectId"]):
                            self._not_stored(cdef.name, rec["objectId"], exc)
            self.report.pulled += len(fresh)
        self._stored_again(cdef.name, ids)

    def _not_stored(self, class_name: str, object_id: str, exc: Exception) -> None:
        self._quarantine(class_name, object_id, NOT_STORED,
                         f"pulled from the server but not stored here: it clashes with a "
                         f"record on this laptop ({exc})")

    def _stored_again(self, class_name: str, ids: list[str]) -> None:
        if not sync_state.has_quarantined(self.db, class_name, NOT_STORED):
            return
        cdef = BY_NAME[class_name]
        for oid in ids:
            if sync_state.exists(self.db, cdef, oid):
                sync_state.release(self.db, class_name, oid, NOT_STORED)

    def _insert_rows(self, cdef: ClassDef, pulled: list[dict[str, Any]]) -> list[list[Any]]:
        """Pulled records as rows of ``sync_state.pulled_row_columns`` (stored form)."""
        cols = [*schema.SYSTEM_COLUMNS, *(f.name for f in cdef.fields)]
        kinds = {f.name: f.kind for f in cdef.fields}
        convert = [(c, kinds.get(c, "string")) for c in cols]
        plain = ("string", "text", "enum", "int", "date", "datetime", "pointer", "secret")
        base_names = [f.name for f in wire.synced_fields(cdef)] + [wire.TOMBSTONE]
        encode = codec.dumps
        to_db = codec.to_db
        out = []
        now = clock.now_iso()
        for theirs in pulled:
            values = []
            for c, kind in convert:
                v = theirs.get(c)
                if v is None:
                    if c in ("updatedAt", "createdAt"):
                        v = now
                    elif kind in ("string_list", "pointer_list"):
                        v = to_db(kind, [])
                elif kind not in plain:
                    v = to_db(kind, v)
                values.append(v)
            base = {n: theirs.get(n) for n in base_names}
            values += [theirs["updatedAt"], encode(base), theirs.get(wire.TOMBSTONE)]
            out.append(values)
        return out

    def apply_remote(self, cdef: ClassDef, obj: dict[str, Any], *,
                     force_merge: bool = False) -> bool:
        """Bring one server object into the local store; True when something changed.
        The caller holds the write transaction."""
        if cdef.append_only:
            return self._insert_trail(obj)
        theirs = wire.record_from_wire(cdef, obj)
        oid = theirs["objectId"]
        loc = self._local(cdef, oid)
        if loc is None:
            self._insert(cdef, theirs)
            return True
        if loc.server_updated_at == theirs["updatedAt"] and not force_merge:
            return False
        dirty = self._dirty(cdef.name, oid)
        fields = self._fields(cdef)
        rt = records.of(cdef.name)
        # Derived fields follow their merged inputs instead of being merged themselves (the
        # threshold applied stays the one the rating was judged by).
        recomputed = set(rt.self_derived)
        merged = dict(loc.record)
        if not dirty and not force_merge:
            for f in fields:
                merged[f.name] = theirs.get(f.name)
            merged[wire.TOMBSTONE] = theirs.get(wire.TOMBSTONE)
        else:
            base = loc.base or {}
            names: list[tuple[str, schema.Field | None]] = [
                (f.name, f) for f in fields if f.name not in recomputed]
            names.append((wire.TOMBSTONE, None))
            for name, fd in names:
                mine, their, was = (_norm(fd, loc.record.get(name)), _norm(fd, theirs.get(name)),
                                    _norm(fd, base.get(name)))
                if mine == their:
                    self._drop_conflict(cdef.name, oid, name)
                    continue
                if loc.base is not None and mine == was:
                    merged[name] = theirs.get(name)
                    continue
                if loc.base is not None and their == was:
                    continue  # only changed here: keep, push later
                if loc.base is not None and fd is not None and fd.is_list:
                    # Lists are sets (sites, checklist items): keep what either side added,
                    # drop what either side removed.
                    mine_l = list(loc.record.get(name) or [])
                    their_l = list(theirs.get(name) or [])
                    base_l = set(base.get(name) or [])
                    removed = (base_l - set(mine_l)) | (base_l - set(their_l))
                    merged[name] = [v for v in dict.fromkeys(their_l + mine_l)
                                    if v not in removed]
                    continue
                self._record_conflict(cdef.name, oid, name, loc.record.get(name),
                                      theirs.get(name), base.get(name), theirs["updatedAt"])
            if recomputed:
                rt.derive(merged, None, None)
            self.report.merged += 1
        self._write_row(cdef, oid, merged, theirs)
        return True

    def _insert(self, cdef: ClassDef, theirs: dict[str, Any]) -> None:
        sync_state.insert_pulled(self.db, cdef, self._insert_rows(cdef, [theirs]), one=True)

    def _write_row(self, cdef: ClassDef, oid: str, merged: dict[str, Any],
                   theirs: dict[str, Any]) -> None:
        sync_state.write_merged(self.db, cdef, oid, merged, self._fields(cdef),
                                theirs["updatedAt"], self._base_of(cdef, theirs),
                                touch=not self._dirty(cdef.name, oid))

    def _insert_trail(self, obj: dict[str, Any]) -> bool:
        if journal.exists(self.db, obj["objectId"]):
            return False
        if not trail_sync.stage(self.db, [trail_sync.event_from_wire(obj)]):
            return False  # this laptop's own chains are written here only
        stored, _problems = trail_sync.settle(self.db)
        return stored > 0

    def _record_conflict(self, class_name: str, oid: str, name: str, mine: Any, theirs: Any,
                         base: Any, theirs_at: str) -> None:
        sync_state.record_conflict(self.db, class_name, oid, name, mine, theirs, base, theirs_at)
        self.report.new_conflicts += 1

    def _drop_conflict(self, class_name: str, oid: str, name: str) -> None:
        sync_state.drop_conflict(self.db, class_name, oid, name)

    def _download_files(self) -> None:
        from desktop_audit.services.evidence import blob_path

        for _oid, sha, mime, pointer in sync_state.files_to_fetch(self.db):
            if not sha:
                continue
            path = blob_path(self.db, sha, mime or "image/jpeg")
            if path.exists():
                continue
            url = pointer.get("url") if isinstance(pointer, dict) else None
            if not url:
                continue
            data = self._call(functools.partial(self.client.download, url))
            if hashlib.sha256(data).hexdigest() != sha:
                continue  # a damaged download is not kept; the next sync tries again
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            self.report.files_down += 1


__all__ = ["Conflict", "SyncEngine", "SyncReport", "open_conflicts", "pending_count",
           "quarantined"]
