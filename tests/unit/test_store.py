"""The SQLite file: pragmas, numbered migrations with a backup, cheap opening, damage refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop_audit.errors import IntegrityError
from desktop_audit.store import db as store_db
from desktop_audit.store import migrations, open_database
from desktop_audit.store.models import ALL_TABLES


def test_new_database_is_wal_with_foreign_keys_and_latest_schema(db_path: Path) -> None:
    db = open_database(db_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.schema_version == migrations.LATEST >= 2
    assert len(db.device_id) == 16  # derived from the laptop's device key
    db.close()


def _columns(path: Path) -> dict[str, list[str]]:
    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    out = {t: [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')] for t in tables}
    out["__indexes__"] = sorted(r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('index','trigger') AND name NOT LIKE 'sqlite_%'"))
    con.close()
    return out


def test_models_match_what_the_migrations_build(db_path: Path) -> None:
    open_database(db_path).close()
    columns = _columns(db_path)
    for model in ALL_TABLES:
        table = model._meta.table_name
        assert columns[table] == [f.column_name for f in model._meta.sorted_fields], table


def test_upgrade_from_the_first_schema_keeps_data_and_makes_a_backup(db_path: Path) -> None:
    db = open_database(db_path, migrate=False)
    migrations.migrate(db, target=1)
    assert db.schema_version == 1
    db.execute('INSERT INTO "user" ("objectId","createdAt","updatedAt","username","email","role") '
               "VALUES ('u000000001','2026-01-01T00:00:00.000Z','2026-01-01T00:00:00.000Z',"
               "'olduser','o@example.com','admin')")
    db.close()

    db = open_database(db_path)
    assert db.schema_version == migrations.LATEST
    assert db.execute('SELECT username FROM "user"').fetchone()[0] == "olduser"
    db.close()
    backups = list(db_path.parent.glob("audit.sqlite.v1-*.bak"))
    assert len(backups) == 1
    con = sqlite3.connect(backups[0])
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
    con.close()
    fresh = db_path.parent / "fresh.sqlite"
    open_database(fresh).close()
    assert _columns(fresh) == _columns(db_path)


def test_a_database_from_a_newer_program_is_refused(db_path: Path) -> None:
    db = open_database(db_path)
    db.set_meta("schema_version", str(migrations.LATEST + 1))
    db.close()
    with pytest.raises(IntegrityError, match="newer desktop_audit"):
        open_database(db_path)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(IntegrityError, match="not a desktop_audit database"):
        open_database(path)
    assert path.read_bytes() == before


def test_integrity_check_runs_after_an_unclean_shutdown_only(db_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    open_database(db_path).close()
    calls: list[Path] = []
    monkeypatch.setattr(store_db.Database, "quick_check", lambda self: calls.append(self.path))
    open_database(db_path).close()
    assert calls == []  # a clean close: opening stays cheap
    # A process that died with the file open leaves its marker behind.
    (db_path.parent / f"{db_path.name}.open-999999999").touch()
    db = open_database(db_path)
    assert calls == [db_path.resolve()]
    db.close()
    assert not list(db_path.parent.glob("*.open-999999999"))


def test_the_trail_table_refuses_updates_and_deletes(db_path: Path) -> None:
    db = open_database(db_path)
    from desktop_audit.domain import trail

    with db.atomic():
        trail.append(db, None, trail.Entry("login_failed"), actor_name="x")
    with pytest.raises(Exception, match="append-only"):
        db.execute('UPDATE audit_trail_event SET "action" = \'login\'')
    with pytest.raises(Exception, match="append-only"):
        db.execute("DELETE FROM audit_trail_event")
    db.close()


def test_upgrade_gives_approved_reviews_their_journaled_approver(db_path: Path) -> None:
    from desktop_audit.domain import auth
    from desktop_audit.schema import REVIEW
    from desktop_audit.store import migrations, rows

    # A version 4 database: an approved review, its approval in the trail, no approvedBy.
    db = open_database(db_path, migrate=False)
    migrations.migrate(db, target=4)
    now = "'2026-01-01T00:00:00.000Z'"
    db.execute(f'INSERT INTO "user" ("objectId","createdAt","updatedAt","username","email",'
               f'"role","active","passwordVerifier") VALUES (\'u000000001\',{now},{now},'
               f"'admin','a@example.com','admin',1,?)", (auth.hash_password("pw-long-enough"),))
    db.execute(f'INSERT INTO "audit_site" ("objectId","createdAt","updatedAt","siteCode",'
               f'"siteName","region","siteOwner") VALUES (\'s000000001\',{now},{now},'
               "'S-1','S','R','u000000001')")
    db.execute(f'INSERT INTO "audit_review" ("objectId","createdAt","updatedAt","site",'
               f'"auditDate","reviewStatus","leadAuditor") VALUES (\'r000000001\',{now},'
               f"{now},'s000000001','2026-01-01','approved','u000000001')")
    db.execute("""INSERT INTO "audit_trail_event" ("objectId", "createdAt", "updatedAt",
        "deviceId", "seq", "at", "actor", "action", "recordClass", "recordId", "prevHash",
        "hash") VALUES ('ev00000001', '2026-02-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z',
        'legacy', 1, '2026-02-01T09:00:00.000Z', 'u000000001', 'approve', 'AuditReview',
        'r000000001', 'x', 'y')""")
    db.close()
    db = open_database(db_path)
    rec = rows.load(db, REVIEW, "r000000001")
    assert rec is not None
    assert (rec["approvedBy"], rec["approvedAt"]) == ("u000000001", "2026-02-01T09:00:00.000Z")
    db.close()
