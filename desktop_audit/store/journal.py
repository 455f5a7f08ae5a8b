"""The audit trail's table: appending events, reading chains and one record's history.

Hand-written SQL: appending runs once per written record (``./dev bench core``: import of
200,000 findings writes 200,000 events) and verifying reads every event in order, so
both stay plain ``executemany`` / cursor walks.  The hashing and the rules of the chain
are in ``domain/trail.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

# The columns of an event row, in the order ``append`` takes them.
EVENT_COLUMNS = ("objectId", "deviceId", "seq", "at", "actor", "actorName", "action",
                 "recordClass", "recordId", "siteId", "changes", "prevHash", "hash",
                 "createdAt", "updatedAt")
_QUOTED = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
_INSERT = (f"INSERT INTO audit_trail_event ({_QUOTED}) "
           f'VALUES ({", ".join("?" for _ in EVENT_COLUMNS)})')
_INSERT_IGNORE = _INSERT.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
_QUEUE = 'INSERT INTO outbox ("className", "objectId", "queuedAt") VALUES (?, ?, ?)'


def head(db: Database, device_id: str) -> tuple[int, str] | None:
    """(seq, hash) of the last event of a device's chain, or None for an empty chain."""
    row = db.handle.execute_sql(
        'SELECT "seq", "hash" FROM audit_trail_event WHERE "deviceId" = ? '
        'ORDER BY "seq" DESC LIMIT 1', (device_id,)).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def append(db: Database, rows: Sequence[Sequence[Any]], *, queue: bool = True) -> None:
    """Insert event rows (EVENT_COLUMNS order) and queue them for sync."""
    cursor = db.handle.cursor()
    cursor.executemany(_INSERT, rows)
    if queue:
        cursor.executemany(_QUEUE, [("AuditTrailEvent", r[0], r[3]) for r in rows])


def insert_pulled(db: Database, rows: Sequence[Sequence[Any]]) -> None:
    """Events written on other laptops (pulled), stored beside this laptop's own."""
    db.handle.cursor().executemany(_INSERT_IGNORE, rows)


def exists(db: Database, object_id: str) -> bool:
    return db.handle.execute_sql('SELECT 1 FROM audit_trail_event WHERE "objectId" = ?',
                                 (object_id,)).fetchone() is not None


def devices(db: Database) -> list[str]:
    return [r[0] for r in db.handle.execute_sql(
        'SELECT DISTINCT "deviceId" FROM audit_trail_event ORDER BY "deviceId"').fetchall()]


def chain(db: Database, device_id: str, names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Every event of one device's chain in order, as tuples of *names*."""
    cols = ", ".join(f'"{c}"' for c in names)
    yield from db.handle.execute_sql(
        f'SELECT {cols} FROM audit_trail_event WHERE "deviceId" = ? ORDER BY "seq"',
        (device_id,))


def history(db: Database, record_class: str, record_id: str,
            names: Sequence[str]) -> list[tuple[Any, ...]]:
    """Every event about one record, from every device, oldest first."""
    cols = ", ".join(f'"{c}"' for c in names)
    return list(db.handle.execute_sql(
        f'SELECT {cols} FROM audit_trail_event WHERE "recordClass" = ? AND "recordId" = ? '
        'ORDER BY "at", "deviceId", "seq"', (record_class, record_id)))


def recent_logins(db: Database, device_id: str, username: str, limit: int
                  ) -> list[tuple[str, str]]:
    """(action, at) of the last login attempts of *username* on this device, newest first;
    attempts refused because they came too soon after a failure do not count."""
    return [(r[0], r[1]) for r in db.handle.execute_sql(
        'SELECT "action", "at" FROM audit_trail_event WHERE "deviceId" = ? '
        'AND "action" IN (\'login\', \'login_failed\') AND "actorName" = ? '
        'AND "changes" NOT LIKE \'%too soon%\' ORDER BY "seq" DESC LIMIT ?',
        (device_id, username, limit)).fetchall()]


def later_changes(db: Database, record_class: str, after: str) -> Iterator[tuple[str, str, str]]:
    """(recordId, action, changes) of the events about a class after an instant, newest
    first (a pack rolls them back to show records as they stood)."""
    yield from db.handle.execute_sql(
        'SELECT "recordId", "action", "changes" FROM audit_trail_event '
        'WHERE "recordClass" = ? AND "at" > ? ORDER BY "at" DESC, "deviceId", "seq" DESC',
        (record_class, after))


def site_events(db: Database, site_id: str, until: str, start: str | None, end: str | None,
                names: Sequence[str]) -> list[tuple[Any, ...]]:
    """The events about one site up to an instant, within [start, end), oldest first."""
    cols = ", ".join(f'"{c}"' for c in names)
    sql = f'SELECT {cols} FROM audit_trail_event WHERE "siteId" = ? AND "at" <= ?'
    params: list[Any] = [site_id, until]
    if start:
        sql += ' AND "at" >= ?'
        params.append(start)
    if end:
        sql += ' AND "at" < ?'
        params.append(end)
    sql += ' ORDER BY "at", "deviceId", "seq"'
    return list(db.handle.execute_sql(sql, params))


def counts_until(db: Database, until: str) -> dict[str, int]:
    """Events per device journaled up to an instant."""
    return {str(d): int(n) for d, n in db.handle.execute_sql(
        'SELECT "deviceId", count(*) FROM audit_trail_event WHERE "at" <= ? GROUP BY "deviceId"',
        (until,)).fetchall()}


def last_action_at(db: Database, action: str, until: str) -> str | None:
    row = db.handle.execute_sql('SELECT max("at") FROM audit_trail_event WHERE "action" = ? '
                                'AND "at" <= ?', (action, until)).fetchone()
    return row[0] if row and row[0] else None


def record_of(db: Database, event_id: str) -> tuple[str | None, str | None]:
    row = db.handle.execute_sql('SELECT "recordClass", "recordId" FROM audit_trail_event '
                                'WHERE "objectId" = ?', (event_id,)).fetchone()
    return (row[0], row[1]) if row else (None, None)
