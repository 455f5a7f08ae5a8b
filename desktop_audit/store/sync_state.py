"""The sync's own tables: the outbox, open conflicts, quarantined changes, and the pull's
cursors.  A field changed on both sides keeps both values in ``sync_conflict`` until
someone resolves it; a change the server refused waits in ``sync_quarantine`` with the
reason, never dropped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.schema import SYSTEM_COLUMNS, ClassDef
from desktop_audit.store import codec

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

TOMBSTONE = "deletedAt"

# Classes whose outbox rows are records (trail events are not counted as changes).
TRAIL = "AuditTrailEvent"


@dataclass
class Conflict:
    id: int
    class_name: str
    object_id: str
    field: str
    mine: Any
    theirs: Any
    base: Any
    detected_at: str

    def line(self) -> str:
        def show(v: Any) -> str:
            return codec.dumps(v)
        return (f"{self.id}\t{self.class_name} {self.object_id}\t{self.field}\t"
                f"mine={show(self.mine)}\ttheirs={show(self.theirs)}")


def _conflict(row: tuple[Any, ...]) -> Conflict:
    def load(text: Any) -> Any:
        return codec.loads(text) if text else None
    return Conflict(row[0], row[1], row[2], row[3], load(row[4]), load(row[5]), load(row[6]),
                    row[7])


_CONFLICT_COLS = ('"id", "className", "objectId", "field", "mine", "theirs", "base", '
                  '"detectedAt"')


def conflicts(db: Database) -> list[Conflict]:
    return [_conflict(r) for r in db.handle.execute_sql(
        f'SELECT {_CONFLICT_COLS} FROM sync_conflict ORDER BY "id"').fetchall()]


def conflict(db: Database, conflict_id: int) -> Conflict | None:
    row = db.handle.execute_sql(f'SELECT {_CONFLICT_COLS} FROM sync_conflict WHERE "id" = ?',
                                (conflict_id,)).fetchone()
    return _conflict(row) if row else None


def conflict_count(db: Database) -> int:
    return int(db.handle.execute_sql("SELECT COUNT(*) FROM sync_conflict").fetchone()[0])


def conflict_fields(db: Database, class_name: str, object_id: str) -> set[str]:
    return {r[0] for r in db.handle.execute_sql(
        'SELECT "field" FROM sync_conflict WHERE "className" = ? AND "objectId" = ?',
        (class_name, object_id)).fetchall()}


def record_conflict(db: Database, class_name: str, object_id: str, name: str, mine: Any,
                    theirs: Any, base: Any, theirs_at: str) -> None:
    db.handle.execute_sql(
        'INSERT INTO sync_conflict ("className", "objectId", "field", "mine", "theirs", '
        '"base", "theirsUpdatedAt", "detectedAt") VALUES (?, ?, ?, ?, ?, ?, ?, ?) '
        'ON CONFLICT("className", "objectId", "field") DO UPDATE SET '
        '"mine" = excluded."mine", "theirs" = excluded."theirs", '
        '"theirsUpdatedAt" = excluded."theirsUpdatedAt"',
        (class_name, object_id, name, codec.dumps(mine), codec.dumps(theirs), codec.dumps(base),
         theirs_at, clock.now_iso()))


def drop_conflict(db: Database, class_name: str, object_id: str, name: str) -> None:
    db.handle.execute_sql('DELETE FROM sync_conflict WHERE "className" = ? AND "objectId" = ? '
                          'AND "field" = ?', (class_name, object_id, name))


def drop_conflict_id(db: Database, conflict_id: int) -> None:
    db.handle.execute_sql('DELETE FROM sync_conflict WHERE "id" = ?', (conflict_id,))


# ---------------------------------------------------------------- outbox


def pending_records(db: Database) -> int:
    """Records changed here and not yet confirmed by the server (trail events not counted:
    the same number the evidence pack shows)."""
    return int(db.handle.execute_sql(
        'SELECT COUNT(*) FROM (SELECT DISTINCT "className", "objectId" FROM outbox '
        'WHERE "className" != ?)', (TRAIL,)).fetchone()[0])


def pending_total(db: Database) -> int:
    """Everything waiting in the outbox (records and trail events)."""
    return int(db.handle.execute_sql(
        'SELECT COUNT(DISTINCT "className" || \':\' || "objectId") FROM outbox').fetchone()[0])


def queued(db: Database, class_name: str) -> list[tuple[str, int]]:
    """(objectId, newest outbox id) of one class's queued records, oldest first."""
    return [(r[0], r[1]) for r in db.handle.execute_sql(
        'SELECT "objectId", MAX("id") FROM outbox WHERE "className" = ? '
        'GROUP BY "objectId" ORDER BY MIN("id")', (class_name,)).fetchall()]


def is_queued(db: Database, class_name: str, object_id: str) -> bool:
    return db.handle.execute_sql('SELECT 1 FROM outbox WHERE "className" = ? AND "objectId" = ? '
                                 'LIMIT 1', (class_name, object_id)).fetchone() is not None


def unqueue(db: Database, class_name: str, done: Iterable[tuple[str, int]]) -> None:
    done = list(done)
    cursor = db.handle.cursor()
    cursor.executemany('DELETE FROM outbox WHERE "className" = ? AND "objectId" = ? AND "id" <= ?',
                       [(class_name, oid, max_id) for oid, max_id in done])
    cursor.executemany('DELETE FROM sync_quarantine WHERE "className" = ? AND "objectId" = ?',
                       [(class_name, oid) for oid, _ in done])


def unsynced_since(db: Database, classes: Iterable[str], until: str, since: str | None) -> int:
    """Records of *classes* queued after *since* and up to *until* (what a pack reports)."""
    names = list(classes)
    marks = ", ".join("?" for _ in names)
    sql = (f'SELECT count(*) FROM (SELECT DISTINCT "className", "objectId" FROM outbox '
           f'WHERE "className" IN ({marks}) AND "queuedAt" <= ?')
    params: list[Any] = [*names, until]
    if since:
        sql += ' AND "queuedAt" > ?'
        params.append(since)
    return int(db.handle.execute_sql(sql + ")", params).fetchone()[0])


# ---------------------------------------------------------------- quarantine


def quarantine(db: Database, class_name: str, object_id: str, code: int, reason: str) -> None:
    db.handle.execute_sql(
        'INSERT INTO sync_quarantine ("className", "objectId", "code", "reason", "at") '
        'VALUES (?, ?, ?, ?, ?) ON CONFLICT("className", "objectId") DO UPDATE SET '
        '"code" = excluded."code", "reason" = excluded."reason", "at" = excluded."at"',
        (class_name, object_id, code, reason, clock.now_iso()))


def quarantined(db: Database) -> list[tuple[str, str, int, str, str]]:
    return [(r[0], r[1], r[2], r[3], r[4]) for r in db.handle.execute_sql(
        'SELECT "className", "objectId", "code", "reason", "at" FROM sync_quarantine '
        'ORDER BY "at"').fetchall()]


def has_quarantined(db: Database, class_name: str, code: int) -> bool:
    return db.handle.execute_sql('SELECT 1 FROM sync_quarantine WHERE "className" = ? AND '
                                 '"code" = ? LIMIT 1', (class_name, code)).fetchone() is not None


def release(db: Database, class_name: str, object_id: str, code: int) -> None:
    db.handle.execute_sql('DELETE FROM sync_quarantine WHERE "className" = ? AND '
                          '"objectId" = ? AND "code" = ?', (class_name, object_id, code))


# ---------------------------------------------------------------- records' sync bookkeeping
# Every synced row keeps the server version it was based on: ``serverUpdatedAt`` and
# ``syncBase`` (the server's values at that version, as JSON).  Hand-written SQL: a pull of
# thousands of rows goes through here (``./dev bench sync``: new-laptop pull).


def marks(db: Database, cdef: ClassDef, object_id: str
          ) -> tuple[str | None, dict[str, Any] | None, str | None] | None:
    """(serverUpdatedAt, syncBase, deletedAt) of a local row, or None when there is none."""
    row = db.handle.execute_sql(
        f'SELECT "serverUpdatedAt", "syncBase", "deletedAt" FROM "{cdef.table}" '
        'WHERE "objectId" = ?', (object_id,)).fetchone()
    if row is None:
        return None
    return row[0], (codec.loads(row[1]) if row[1] else None), row[2]


def marks_of(db: Database, cdef: ClassDef, ids: list[str]
             ) -> dict[str, tuple[str | None, dict[str, Any] | None, str | None]]:
    """``marks`` of the local rows among *ids*, read together."""
    out: dict[str, tuple[str | None, dict[str, Any] | None, str | None]] = {}
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        for oid, updated, base, deleted in db.handle.execute_sql(
                f'SELECT "objectId", "serverUpdatedAt", "syncBase", "deletedAt" '
                f'FROM "{cdef.table}" WHERE "objectId" IN ({", ".join("?" for _ in part)})',
                part).fetchall():
            out[oid] = (updated, codec.loads(base) if base else None, deleted)
    return out


def mark_synced(db: Database, cdef: ClassDef, object_id: str, server_updated_at: str,
                base: dict[str, Any], created_at: str | None = None) -> None:
    sets = '"serverUpdatedAt" = ?, "syncBase" = ?'
    params: list[Any] = [server_updated_at, codec.dumps(base)]
    if created_at:
        sets += ', "createdAt" = ?'
        params.append(created_at)
    db.handle.execute_sql(f'UPDATE "{cdef.table}" SET {sets} WHERE "objectId" = ?',
                          [*params, object_id])


def forget_base(db: Database, cdef: ClassDef, object_id: str) -> None:
    db.handle.execute_sql(f'UPDATE "{cdef.table}" SET "syncBase" = NULL WHERE "objectId" = ?',
                          (object_id,))


def known_versions(db: Database, cdef: ClassDef, ids: list[str], column: str
                   ) -> dict[str, str | None]:
    """{objectId: column} of the rows this laptop already has among *ids*."""
    known: dict[str, str | None] = {}
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        marks_ = ", ".join("?" for _ in part)
        known.update(db.handle.execute_sql(
            f'SELECT "objectId", "{column}" FROM "{cdef.table}" WHERE "objectId" IN ({marks_})',
            part).fetchall())
    return known


def exists(db: Database, cdef: ClassDef, object_id: str) -> bool:
    return db.handle.execute_sql(f'SELECT 1 FROM "{cdef.table}" WHERE "objectId" = ?',
                                 (object_id,)).fetchone() is not None


def local_count(db: Database, cdef: ClassDef) -> int:
    """Rows of a class here, tombstones included (what the server counts too)."""
    return int(db.handle.execute_sql(f'SELECT COUNT(*) FROM "{cdef.table}"').fetchone()[0])


def pulled_row_columns(cdef: ClassDef) -> list[str]:
    return [*SYSTEM_COLUMNS, *(f.name for f in cdef.fields), "serverUpdatedAt", "syncBase",
            TOMBSTONE]


def insert_pulled(db: Database, cdef: ClassDef, values: list[list[Any]], *,
                  one: bool = False) -> None:
    """Rows pulled from the server, already in stored form (``pulled_row_columns`` order).
    With *one*, a single row inserted on its own (its unique-key clash is the caller's)."""
    names = pulled_row_columns(cdef)
    quoted = ", ".join(f'"{c}"' for c in names)
    sql = (f'INSERT {"OR ABORT " if one else ""}INTO "{cdef.table}" ({quoted}) '
           f'VALUES ({", ".join("?" for _ in names)})')
    if one:
        db.handle.execute_sql(sql, values[0])
    else:
        db.handle.cursor().executemany(sql, values)


def write_merged(db: Database, cdef: ClassDef, object_id: str, values: dict[str, Any],
                 fields: list[Any], server_updated_at: str, base: dict[str, Any],
                 *, touch: bool) -> None:
    """A merged version of a row: its fields, tombstone, and the server version it is now
    based on; *touch* also takes the server's updatedAt (nothing local waits to be pushed)."""
    sets = [f'"{f.name}" = ?' for f in fields]
    params = [codec.to_db(f.kind, values.get(f.name)) for f in fields]
    sets += ['"deletedAt" = ?', '"serverUpdatedAt" = ?', '"syncBase" = ?']
    params += [values.get(TOMBSTONE), server_updated_at, codec.dumps(base)]
    if touch:
        sets.append('"updatedAt" = ?')
        params.append(server_updated_at)
    db.handle.execute_sql(f'UPDATE "{cdef.table}" SET {", ".join(sets)} WHERE "objectId" = ?',
                          [*params, object_id])


# ---------------------------------------------------------------- evidence files


def set_file(db: Database, object_id: str, pointer: dict[str, Any]) -> None:
    db.handle.execute_sql('UPDATE evidence SET "file" = ? WHERE "objectId" = ?',
                          (codec.dumps(pointer), object_id))


def known_upload(db: Database, sha256: str, site: str | None) -> dict[str, Any] | None:
    """The server file of a photo already uploaded for this site (a record of the site with
    the same SHA-256): the server lets a record point only at a file of its own site."""
    row = db.handle.execute_sql(
        'SELECT "file" FROM evidence WHERE "sha256" = ? AND "site" IS ? '
        'AND "file" LIKE \'%"url"%\' LIMIT 1', (sha256, site)).fetchone()
    return codec.loads(row[0]) if row else None


def files_to_fetch(db: Database) -> list[tuple[str, str, str | None, dict[str, Any] | None]]:
    """(objectId, sha256, mimeType, file pointer) of live evidence with a server file."""
    out = []
    for oid, sha, mime, file_json in db.handle.execute_sql(
            'SELECT "objectId", "sha256", "mimeType", "file" FROM evidence '
            'WHERE "file" IS NOT NULL AND "deletedAt" IS NULL').fetchall():
        out.append((oid, sha, mime, codec.loads(file_json) if file_json else None))
    return out
