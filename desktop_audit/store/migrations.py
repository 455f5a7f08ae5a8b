"""Numbered schema migrations: a file backup first, then one transaction per step.

Each step is an SQL file in store/sql/ (frozen once released) and is recorded in
the ``meta`` table's ``schema_version`` row in the same transaction, so a crash
between steps leaves a database at a known version.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

SQL_DIR = Path(__file__).with_name("sql")


def steps() -> list[tuple[int, Path]]:
    found = []
    for path in sorted(SQL_DIR.glob("*.sql")):
        m = re.match(r"(\d{4})_", path.name)
        if m:
            found.append((int(m.group(1)), path))
    numbers = [n for n, _ in found]
    assert numbers == list(range(1, len(numbers) + 1)), f"migration numbers not contiguous: {numbers}"
    return found


LATEST = len(steps())


def current_version(db: Database) -> int:
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    return db.schema_version


def backup(db: Database, version: int) -> Path:
    """Copy the database (consistently, WAL included) beside itself before migrating."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = db.path.with_name(f"{db.path.name}.v{version}-{stamp}.bak")
    src = sqlite3.connect(str(db.path))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def _statements(sql: str) -> list[str]:
    """Split an SQL file into statements (trigger bodies keep their inner semicolons)."""
    out, buf = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        buf.append(line)
        text = "\n".join(buf)
        if sqlite3.complete_statement(text):
            out.append(text)
            buf = []
    assert not buf, "unterminated statement in migration"
    return out


def _site_zones(db: Database) -> None:
    """Step 4: sites made before time zones get the laptop's zone (the best guess: the
    laptop that kept them worked in their local time)."""
    from desktop_audit import clock

    ids = [r[0] for r in db.execute(
        'SELECT "objectId" FROM "audit_site" WHERE "timeZone" IS NULL').fetchall()]
    now = clock.now_iso()
    db.execute('UPDATE "audit_site" SET "timeZone" = ?, "updatedAt" = ? WHERE "timeZone" IS NULL',
               (clock.local_zone_name(), now))
    # Queued, so the server (and through it every laptop) learns the zone at the next sync.
    db.handle.cursor().executemany(
        'INSERT INTO outbox ("className", "objectId", "queuedAt") VALUES (?, ?, ?)',
        [("AuditSite", oid, now) for oid in ids])


def _review_approvals(db: Database) -> None:
    """Step 5: approved reviews get approvedBy / approvedAt from their latest approval in
    the trail.  Not queued: the server keeps what it holds (it sets these two itself)."""
    db.execute(
        'UPDATE "audit_review" SET '
        '"approvedBy" = (SELECT e."actor" FROM "audit_trail_event" e '
        '  WHERE e."recordClass" = \'AuditReview\' AND e."recordId" = "audit_review"."objectId" '
        '  AND e."action" = \'approve\' ORDER BY e."at" DESC LIMIT 1), '
        '"approvedAt" = (SELECT e."at" FROM "audit_trail_event" e '
        '  WHERE e."recordClass" = \'AuditReview\' AND e."recordId" = "audit_review"."objectId" '
        '  AND e."action" = \'approve\' ORDER BY e."at" DESC LIMIT 1) '
        'WHERE "reviewStatus" = \'approved\'')
    db.execute('UPDATE "audit_review" SET "approvedBy" = NULL WHERE "approvedBy" IS NOT NULL '
               'AND "approvedBy" NOT IN (SELECT "objectId" FROM "user")')


def _trail_keys(db: Database) -> None:
    """Step 6: the laptop's device key, and its device id derived from that key.  The chain
    it recorded before keeps its id (the old device id) and is named, with its head, by the
    device key's statement: the first event of each new chain follows that head."""
    from desktop_audit.domain import keys

    old = db.device_id
    row = db.execute('SELECT "seq", "hash" FROM "audit_trail_event" WHERE "chain" = ? '
                     'ORDER BY "seq" DESC LIMIT 1', (old,)).fetchone()
    legacy = {"chain": old, "seq": int(row[0]), "hash": row[1]} if row else None
    device = keys.make_device_key(db, legacy)
    db.set_meta("device_id", device)
    if legacy is not None:
        db.set_meta("legacy_device_id", old)
        db.set_meta("legacy_head", f"{legacy['seq']}:{legacy['hash']}")


def _search_index(db: Database) -> None:
    """Step 7: the lists' full-text index (store/search_index.py)."""
    from desktop_audit.store import search_index

    search_index.build(db)


# Python that completes a step's SQL, in the same transaction.
AFTER_STEP: dict[int, Callable[[Database], None]] = {4: _site_zones, 5: _review_approvals,
                                                    6: _trail_keys, 7: _search_index}


def migrate(db: Database, target: int | None = None) -> bool:
    """Bring the database to *target* (default: the latest). True when a step ran."""
    target = LATEST if target is None else target
    version = current_version(db)
    if version > LATEST:
        from desktop_audit.errors import IntegrityError

        raise IntegrityError(
            f"{db.path} was written by a newer desktop_audit (schema {version}, "
            f"this program knows {LATEST}); update the program"
        )
    if version >= target:
        return False
    if version > 0:
        backup(db, version)
    for number, path in steps():
        if number <= version or number > target:
            continue
        with db.atomic():
            for stmt in _statements(path.read_text(encoding="utf-8")):
                db.execute(stmt)
            if number == 1:
                db.set_meta("device_id", secrets.token_hex(6))
                db.set_meta("created_at", datetime.now(UTC).isoformat())
            after = AFTER_STEP.get(number)
            if after is not None:
                after(db)
            db.set_meta("schema_version", str(number))
    db.quick_check()
    return True
