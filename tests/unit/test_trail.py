"""The audit trail: one event per accepted write, hash-chained, tampering caught."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_audit import services
from desktop_audit.domain import trail
from tests.conftest import World


def _events(w: World) -> list[tuple]:
    return w.db.execute('SELECT "action", "recordClass", "recordId", "changes", "actorName" '
                        'FROM audit_trail_event ORDER BY "seq"').fetchall()


def test_every_write_is_journaled_with_old_and_new_values(world: World) -> None:
    before = len(_events(world))
    oid = services.add_aspect(world.db, world.auditor, site=world.site_a, aspectCategory="waste",
                              aspectDescription="Oily rags", impact="Soil", likelihood=2,
                              severity=2, actionStatus="open")
    services.update_aspect(world.db, world.auditor, oid, severity=5)
    history = trail.history(world.db, "AspectImpactLog", oid)
    assert [e["action"] for e in history] == ["create", "update"]
    assert history[1]["actorName"] == "auditor"
    assert history[1]["changes"]["severity"] == [2, 5]
    assert history[1]["changes"]["riskRating"] == [4, 10]
    assert len(_events(world)) == before + 2


def test_an_edit_that_changes_nothing_writes_nothing(world: World) -> None:
    oid = services.add_aspect(world.db, world.admin, site=world.site_a, aspectCategory="waste",
                              aspectDescription="d", impact="i", likelihood=2, severity=2,
                              actionStatus="open")
    before = len(_events(world))
    services.update_aspect(world.db, world.admin, oid, severity=2)
    assert len(_events(world)) == before


def test_passwords_never_reach_the_trail(world: World) -> None:
    services.set_password(world.db, world.admin, world.auditor.id, "a-brand-new-pass")
    dump = "\n".join(str(e) for e in _events(world))
    assert "a-brand-new-pass" not in dump and "$argon2id$" not in dump
    assert "(hidden)" in dump


def test_verify_trail_proves_the_chain(world: World) -> None:
    reports = trail.verify(world.db)
    assert [r.problem for r in reports] == [None]
    assert reports[0].events == len(_events(world)) > 5


def _cli(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop_audit", "--db", str(db_path), *args],
                          capture_output=True, text=True, timeout=60)


def _tamper(path: Path, sql: str) -> None:
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_trail_event_no_update")
    con.execute("DROP TRIGGER audit_trail_event_no_delete")
    con.execute(sql)
    con.commit()
    con.close()


@pytest.mark.parametrize(("sql", "expect"), [
    # one byte of one event's recorded change
    ("UPDATE audit_trail_event SET changes = replace(changes, 'Plant One', 'Plant Onf') "
     "WHERE changes LIKE '%Plant One%'", "content was changed"),
    ('UPDATE audit_trail_event SET "actorName" = \'manager\' WHERE seq = 3', "content was changed"),
    ('UPDATE audit_trail_event SET "at" = \'2020-01-01T00:00:00.000Z\' WHERE seq = 2',
     "content was changed"),
    ("DELETE FROM audit_trail_event WHERE seq = 4", "are missing"),
    ("DELETE FROM audit_trail_event WHERE seq = (SELECT max(seq) FROM audit_trail_event)",
     "removed from the end"),
])
def test_tampering_is_caught_by_verify_trail(world: World, db_path: Path, sql: str,
                                             expect: str) -> None:
    world.db.close()
    ok = _cli(db_path, "verify-trail")
    assert ok.returncode == 0, ok.stderr
    assert "audit trail verified" in ok.stdout
    _tamper(db_path, sql)
    bad = _cli(db_path, "verify-trail")
    assert bad.returncode == 1
    assert expect in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_a_raw_byte_edit_in_the_file_is_caught(world: World, db_path: Path) -> None:
    world.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    world.db.close()
    data = bytearray(db_path.read_bytes())
    needle = b"Plant One"
    positions = []
    start = 0
    while (i := data.find(needle, start)) != -1:
        positions.append(i)
        start = i + 1
    assert positions
    # Change the copies inside trail events (the site row keeps its own value).
    for i in positions:
        data[i + 8] = ord("f")
    db_path.write_bytes(bytes(data))
    bad = _cli(db_path, "verify-trail")
    assert bad.returncode == 1, bad.stdout
    assert "audit trail broken" in bad.stderr or "damaged" in bad.stderr
