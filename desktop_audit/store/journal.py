"""The audit trail's table: appending events, reading chains and one record's history.

Hand-written SQL: appending runs once per written record (``./dev bench core``: import of
200,000 findings writes 200,000 events) and verifying reads every event in order, so
both stay plain ``executemany`` / cursor walks.  The hashing and the rules of the chain
are in ``domain/trail.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from desktop_audit.store import search_index

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

# The columns of an event row, in the order ``append`` takes them.
EVENT_COLUMNS = ("objectId", "chain", "deviceId", "seq", "at", "actor", "actorName", "action",
                 "recordClass", "recordId", "siteId", "changes", "keyId", "prevHash", "hash",
                 "signature", "createdAt", "updatedAt")
_AT = EVENT_COLUMNS.index("at")
_QUOTED = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
_INSERT = (f"INSERT INTO audit_trail_event ({_QUOTED}) "
           f'VALUES ({", ".join("?" for _ in EVENT_COLUMNS)})')
_INSERT_IGNORE = _INSERT.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
_QUEUE = 'INSERT INTO outbox ("className", "objectId", "queuedAt") VALUES (?, ?, ?)'


def head(db: Database, chain: str) -> tuple[int, str] | None:
    """(seq, hash) of the last event of a chain, or None for an empty chain."""
    row = db.handle.execute_sql(
        'SELECT "seq", "hash" FROM audit_trail_event WHERE "chain" = ? '
        'ORDER BY "seq" DESC LIMIT 1', (chain,)).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def append(db: Database, rows: Sequence[Sequence[Any]], heads: Sequence[tuple[str, int, str]],
           *, queue: bool = True) -> None:
    """Insert event rows (EVENT_COLUMNS order), queue them for sync and remember the heads
    this laptop wrote."""
    cursor = db.handle.cursor()
    with search_index.inserting(db, "audit_trail_event", len(rows)):
        cursor.executemany(_INSERT, rows)
    if queue:
        cursor.executemany(_QUEUE, [("AuditTrailEvent", r[0], r[_AT]) for r in rows])
    cursor.executemany('INSERT INTO trail_head ("chain", "seq", "hash") VALUES (?, ?, ?) '
                       'ON CONFLICT("chain") DO UPDATE SET "seq" = excluded."seq", '
                       '"hash" = excluded."hash"', heads)


def written_heads(db: Database) -> dict[str, tuple[int, str]]:
    """{chain: (seq, hash)} of the last event this laptop wrote on each of its chains."""
    return {r[0]: (int(r[1]), r[2]) for r in db.handle.execute_sql(
        'SELECT "chain", "seq", "hash" FROM trail_head').fetchall()}


def insert_pulled(db: Database, rows: Sequence[Sequence[Any]]) -> None:
    """Events written on other laptops (pulled and verified), stored beside this laptop's
    own; an event already here is left as it is."""
    db.handle.cursor().executemany(_INSERT_IGNORE, rows)


def at_seq(db: Database, chain: str, seq: int, names: Sequence[str]) -> tuple[Any, ...] | None:
    cols = ", ".join(f'"{c}"' for c in names)
    return db.handle.execute_sql(
        f'SELECT {cols} FROM audit_trail_event WHERE "chain" = ? AND "seq" = ?',
        (chain, seq)).fetchone()


def hashes(db: Database, chain: str, start: int, end: int) -> dict[int, str]:
    """{seq: hash} of a chain's events from *start* to *end* (inclusive)."""
    return {int(r[0]): r[1] for r in db.handle.execute_sql(
        'SELECT "seq", "hash" FROM audit_trail_event WHERE "chain" = ? AND "seq" BETWEEN ? AND ?',
        (chain, start, end)).fetchall()}


def exists(db: Database, object_id: str) -> bool:
    return db.handle.execute_sql('SELECT 1 FROM audit_trail_event WHERE "objectId" = ?',
                                 (object_id,)).fetchone() is not None


def chains(db: Database) -> list[str]:
    return [r[0] for r in db.handle.execute_sql(
        'SELECT DISTINCT "chain" FROM audit_trail_event ORDER BY "chain"').fetchall()]


def chain(db: Database, chain_id: str, names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Every event of one chain in order, as tuples of *names*."""
    cols = ", ".join(f'"{c}"' for c in names)
    yield from db.handle.execute_sql(
        f'SELECT {cols} FROM audit_trail_event WHERE "chain" = ? ORDER BY "seq"',
        (chain_id,))


def rows_of(db: Database, ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """Event rows (EVENT_COLUMNS order) by objectId, by chain and seq."""
    out: list[tuple[Any, ...]] = []
    cols = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
    for i in range(0, len(ids), 500):
        part = list(ids[i:i + 500])
        marks = ", ".join("?" for _ in part)
        out += db.handle.execute_sql(
            f'SELECT {cols} FROM audit_trail_event WHERE "objectId" IN ({marks})', part
        ).fetchall()
    out.sort(key=lambda r: (r[1], r[3]))
    return out


def history(db: Database, record_class: str, record_id: str,
            names: Sequence[str]) -> list[tuple[Any, ...]]:
    """Every event about one record, from every device, oldest first."""
    cols = ", ".join(f'"{c}"' for c in names)
    return list(db.handle.execute_sql(
        f'SELECT {cols} FROM audit_trail_event WHERE "recordClass" = ? AND "recordId" = ? '
        'ORDER BY "at", "chain", "seq"', (record_class, record_id)))


def recent_logins(db: Database, chain_id: str, username: str, limit: int
                  ) -> list[tuple[str, str]]:
    """(action, at) of the last login attempts of *username* in this device's chain of events
    about no site, newest first; attempts refused because they came too soon after a failure
    do not count."""
    return [(r[0], r[1]) for r in db.handle.execute_sql(
        'SELECT "action", "at" FROM audit_trail_event WHERE "chain" = ? '
        'AND "action" IN (\'login\', \'login_failed\') AND "actorName" = ? '
        'AND "changes" NOT LIKE \'%too soon%\' ORDER BY "seq" DESC LIMIT ?',
        (chain_id, username, limit)).fetchall()]


def later_changes(db: Database, record_class: str, after: str) -> Iterator[tuple[str, str, str]]:
    """(recordId, action, changes) of the events about a class after an instant, newest
    first (a pack rolls them back to show records as they stood)."""
    yield from db.handle.execute_sql(
        'SELECT "recordId", "action", "changes" FROM audit_trail_event '
        'WHERE "recordClass" = ? AND "at" > ? ORDER BY "at" DESC, "chain", "seq" DESC',
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
    sql += ' ORDER BY "at", "chain", "seq"'
    return list(db.handle.execute_sql(sql, params))


def counts_until(db: Database, until: str) -> dict[str, int]:
    """Events per chain journaled up to an instant."""
    return {str(d): int(n) for d, n in db.handle.execute_sql(
        'SELECT "chain", count(*) FROM audit_trail_event WHERE "at" <= ? GROUP BY "chain"',
        (until,)).fetchall()}


def heads_until(db: Database, until: str, site_id: str | None = None
                ) -> list[tuple[str, int, str]]:
    """(chain, seq, hash) of each chain's last event journaled up to an instant; with
    *site_id*, of the chains holding events about that site."""
    sql = ('SELECT e."chain", e."seq", e."hash" FROM audit_trail_event e JOIN ('
           'SELECT "chain", max("seq") AS s FROM audit_trail_event WHERE "at" <= ?')
    params: list[Any] = [until]
    if site_id is not None:
        sql += ' AND "chain" IN (SELECT DISTINCT "chain" FROM audit_trail_event WHERE "siteId" = ?)'
        params.append(site_id)
    sql += ' GROUP BY "chain") m ON m."chain" = e."chain" AND m.s = e."seq" ORDER BY e."chain"'
    return [(r[0], int(r[1]), r[2]) for r in db.handle.execute_sql(sql, params).fetchall()]


def last_action_at(db: Database, action: str, until: str) -> str | None:
    row = db.handle.execute_sql('SELECT max("at") FROM audit_trail_event WHERE "action" = ? '
                                'AND "at" <= ?', (action, until)).fetchone()
    return row[0] if row and row[0] else None


def record_of(db: Database, event_id: str) -> tuple[str | None, str | None]:
    row = db.handle.execute_sql('SELECT "recordClass", "recordId" FROM audit_trail_event '
                                'WHERE "objectId" = ?', (event_id,)).fetchone()
    return (row[0], row[1]) if row else (None, None)
