"""Writing prepared records: inserts grouped into one ``executemany`` per class, updates
of the changed columns only, and the outbox rows that queue them for sync.

Hand-written SQL: this is the bulk path of every write and of the import of 200,000
findings (``./dev bench core``), where peewee's per-row query building would cost more
than the rest of the import together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from desktop_audit.schema import SYSTEM_COLUMNS, ClassDef
from desktop_audit.store import codec, search_index

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

TOMBSTONE = "deletedAt"
_QUEUE = 'INSERT INTO outbox ("className", "objectId", "queuedAt") VALUES (?, ?, ?)'


def _insert_sql(cdef: ClassDef) -> tuple[str, list[str], list[tuple[int, str]]]:
    cols = [*SYSTEM_COLUMNS, *(f.name for f in cdef.fields)]
    kinds: dict[str, str] = {f.name: f.kind for f in cdef.fields}
    quoted = ", ".join(f'"{c}"' for c in cols)
    sql = f'INSERT INTO "{cdef.table}" ({quoted}) VALUES ({", ".join("?" for _ in cols)})'
    # Only lists, objects and booleans are stored differently from how they are held.
    converted: list[tuple[int, str]] = [
        (n, str(kinds[c])) for n, c in enumerate(cols)
        if kinds.get(c) in codec.JSON_KINDS or kinds.get(c) == "bool"]
    return sql, cols, converted


_INSERTS: dict[str, tuple[str, list[str], list[tuple[int, str]]]] = {}


def insert(db: Database, cdef: ClassDef, records: Iterable[Mapping[str, Any]]) -> None:
    """New records (each holding objectId, createdAt, updatedAt and the fields)."""
    if cdef.name not in _INSERTS:
        _INSERTS[cdef.name] = _insert_sql(cdef)
    sql, cols, converted = _INSERTS[cdef.name]
    to_db = codec.to_db

    def row(rec: Mapping[str, Any]) -> list[Any]:
        values = [rec.get(c) for c in cols]
        for n, kind in converted:
            values[n] = to_db(kind, values[n])
        return values

    rows = [row(rec) for rec in records]
    with search_index.inserting(db, cdef.table, len(rows)):
        db.handle.cursor().executemany(sql, rows)


def update(db: Database, cdef: ClassDef, object_id: str, values: Mapping[str, Any],
           updated_at: str) -> None:
    """Set the given fields (and the tombstone, when given) of one record."""
    kinds = {f.name: f.kind for f in cdef.fields}
    names = [n for n in values if n in kinds or n == TOMBSTONE]
    sets = [f'"{n}" = ?' for n in names] + ['"updatedAt" = ?']
    params = [codec.to_db(kinds.get(n, "string"), values[n]) for n in names]
    db.handle.execute_sql(f'UPDATE "{cdef.table}" SET {", ".join(sets)} WHERE "objectId" = ?',
                          [*params, updated_at, object_id])


def queue(db: Database, entries: Sequence[tuple[str, str, str]]) -> None:
    """Outbox rows (className, objectId, queuedAt): changed here, to be pushed."""
    db.handle.cursor().executemany(_QUEUE, entries)


def set_local(db: Database, cdef: ClassDef, object_id: str, values: Mapping[str, Any]) -> None:
    """Set columns that stay on this laptop (a password verifier learnt at an online login):
    no outbox row, no new updatedAt."""
    kinds = {f.name: f.kind for f in cdef.fields}
    sets = ", ".join(f'"{n}" = ?' for n in values)
    db.handle.execute_sql(f'UPDATE "{cdef.table}" SET {sets} WHERE "objectId" = ?',
                          [*(codec.to_db(kinds[n], v) for n, v in values.items()), object_id])
