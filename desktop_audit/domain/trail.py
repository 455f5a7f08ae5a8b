"""The audit trail: append-only, hash-chained, one chain per device.

Each event's SHA-256 covers its content and the previous event's hash, so any
edit, removal or reordering of the history is detectable.  Events written on
other laptops (pulled by sync) sit beside this device's chain under their own
deviceId and are verified as their own chains; they are never re-chained.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.store import codec, journal
from desktop_audit.store.db import new_object_id

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

GENESIS = "0" * 64
# The fields the hash covers, in this order (a released order never changes).
HASHED = ("objectId", "deviceId", "seq", "at", "actor", "actorName", "action", "recordClass",
          "recordId", "siteId", "changes")
COLUMNS = (*HASHED, "prevHash", "hash", "createdAt", "updatedAt")
assert COLUMNS == journal.EVENT_COLUMNS

_dumps = codec.dumps


def event_hash(event: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the previous hash, the event's fields and its changes exactly as stored.

    ``event["changes"]`` is the stored JSON text, so any byte changed in it shows."""
    head = _dumps([event.get(k) for k in HASHED if k != "changes"])
    text = f"{prev_hash}\n{head}\n{event.get('changes') or '{}'}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One thing to journal: who did what to which record, and what changed."""

    action: str
    record_class: str | None = None
    record_id: str | None = None
    site_id: str | None = None
    changes: dict[str, list[Any]] | None = None


def _head(db: Database, device_id: str) -> tuple[int, str]:
    return journal.head(db, device_id) or (0, GENESIS)


def append(db: Database, actor: Actor | None, entries: Sequence[Entry] | Entry, *,
           actor_name: str | None = None, at: str | None = None) -> list[str]:
    """Append events to this device's chain; the caller holds the write transaction."""
    if isinstance(entries, Entry):
        entries = [entries]
    device = db.device_id
    seq, prev = _head(db, device)
    at = at or clock.now_iso()
    rows = []
    ids: list[str] = []
    for entry in entries:
        seq += 1
        event = {
            "objectId": new_object_id(),
            "deviceId": device,
            "seq": seq,
            "at": at,
            "actor": actor.id if actor else None,
            "actorName": actor.username if actor else actor_name,
            "action": entry.action,
            "recordClass": entry.record_class,
            "recordId": entry.record_id,
            "siteId": entry.site_id,
            "changes": _dumps(entry.changes or {}),
        }
        digest = event_hash(event, prev)
        rows.append((*(event[k] for k in HASHED), prev, digest, at, at))
        ids.append(str(event["objectId"]))
        prev = digest
    journal.append(db, rows)
    db.set_meta("trail_head", f"{seq}:{prev}")
    return ids


@dataclass
class ChainReport:
    device_id: str
    events: int
    problem: str | None = None  # the first event that fails, in words


def verify(db: Database) -> list[ChainReport]:
    """Recompute every chain; each report names the first event that fails, if any."""
    reports = []
    devices = journal.devices(db)
    own = db.device_id
    if own not in devices:
        devices.append(own)
    names = (*HASHED, "prevHash", "hash")
    for device in devices:
        cursor = journal.chain(db, device, names)
        prev = GENESIS
        expected = 1
        count = 0
        problem = None
        for row in cursor:
            event = dict(zip((*HASHED, "prevHash", "hash"), row, strict=True))
            where = f"event {event['objectId']} (device {device}, seq {event['seq']})"
            if event["seq"] != expected:
                problem = (f"{where}: expected seq {expected}; "
                           f"events {expected}..{event['seq'] - 1} are missing")
                break
            if event["prevHash"] != prev:
                problem = f"{where}: does not follow the event before it (prevHash differs)"
                break
            if event_hash(event, prev) != event["hash"]:
                problem = f"{where}: its content was changed after it was written (hash differs)"
                break
            prev = event["hash"]
            expected += 1
            count += 1
        if problem is None and device == own:
            head = db.meta("trail_head")
            if head:
                head_seq = int(head.split(":", 1)[0])
                if head_seq != count:
                    problem = (f"device {device}: the chain ends at seq {count} but "
                               f"{head_seq} events were written (events removed from the end)")
        reports.append(ChainReport(device, count, problem))
    return reports


def history(db: Database, record_class: str, record_id: str) -> list[dict[str, Any]]:
    """Every event about one record, from every device, oldest first."""
    cols = ("deviceId", "seq", "at", "actor", "actorName", "action", "changes")
    out = []
    for row in journal.history(db, record_class, record_id, cols):
        event = dict(zip(cols, row, strict=True))
        event["changes"] = codec.loads(event["changes"]) if event["changes"] else {}
        out.append(event)
    return out


def diff(old: dict[str, Any] | None, new: dict[str, Any],
         fields: Iterable[str]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    out = {}
    for name in fields:
        before = old.get(name) if old else None
        after = new.get(name)
        if before != after and not (old is None and after in (None, [], "")):
            out[name] = [before, after]
    return out
