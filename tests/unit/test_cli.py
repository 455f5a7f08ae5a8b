"""The command line as a user meets it: exit codes, one-line refusals, no Qt, no traceback."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, World


def run(db: Path, *args: str, password: str | None = PASSWORD, timeout: float = 120,
        **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DESKTOP_AUDIT")}
    environ["DESKTOP_AUDIT_HOME"] = str(db.parent / "home")
    if password is not None:
        environ["DESKTOP_AUDIT_PASSWORD"] = password
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "desktop_audit", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=timeout, env=environ,
                          stdin=subprocess.DEVNULL)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_version_imports_nothing_heavy() -> None:
    code = ("import sys; from desktop_audit.cli import main; main(['--version']); "
            "assert not {'peewee', 'PySide6', 'reportlab', 'argon2'} & set(sys.modules), "
            "sorted(sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("desktop-audit ")


def test_headless_commands_never_import_qt(world: World, db_path: Path, tmp_path: Path) -> None:
    world.db.close()
    code = ("import sys; from desktop_audit.cli import main; "
            f"rc = main(['--db', {str(db_path)!r}, '--user', 'admin', 'export', 'findings', "
            f"{str(tmp_path / 'f.csv')!r}]); "
            "assert rc == 0; assert 'PySide6' not in sys.modules")
    env = dict(os.environ, DESKTOP_AUDIT_PASSWORD=PASSWORD)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr


def test_init_user_add_and_refusals(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite"
    r = run(db, "init")
    assert r.returncode == 1 and "needs its first admin" in one_line(r)
    r = run(db, "init", "--admin", "boss", "--email", "boss@example.com")
    assert r.returncode == 0, r.stderr
    r = run(db, "init", "--admin", "boss", "--email", "boss@example.com")
    assert r.returncode == 0 and "already has users" in r.stdout
    r = run(db, "--user", "boss", "user", "add", "aud", "--role", "auditor", "--email",
            "a@example.com", DESKTOP_AUDIT_NEW_PASSWORD="auditor-pass-1")
    assert r.returncode == 0, r.stderr
    r = run(db, "--user", "aud", "user", "add", "x", "--role", "admin", "--email", "x@example.com",
            password="auditor-pass-1", DESKTOP_AUDIT_NEW_PASSWORD="whatever-pass")
    assert r.returncode == 1 and "may not manage users" in one_line(r)
    r = run(db, "--user", "boss", "user", "add", "y", "--role", "auditor", "--email",
            "y@example.com", "--site", "NOPE-1", DESKTOP_AUDIT_NEW_PASSWORD="whatever-pass")
    assert r.returncode == 1 and "unknown site 'NOPE-1'" in one_line(r)
    r = run(db, "--user", "boss", "user", "passwd", "aud", DESKTOP_AUDIT_NEW_PASSWORD="auditor-pass-2")
    assert r.returncode == 0, r.stderr
    r = run(db, "--user", "aud", "user", "list", password="auditor-pass-2")
    assert r.returncode == 0 and "boss" in r.stdout
    r = run(db, "--user", "aud", "user", "list", password="auditor-pass-1")
    assert r.returncode == 1 and "wrong username or password" in one_line(r)
    r = run(db, "--user", "boss", "export", "findings", str(tmp_path / "f.csv"), password="wrong")
    assert r.returncode == 1 and "wrong username or password" in one_line(r)
    r = run(db, "--user", "boss", "export", "findings", str(tmp_path / "f.csv"), password=None)
    assert r.returncode == 1 and "DESKTOP_AUDIT_PASSWORD" in one_line(r)
    r = run(db, "frobnicate")
    assert r.returncode == 2
    assert PASSWORD not in r.stderr + r.stdout


def test_passwords_are_never_arguments() -> None:
    from desktop_audit.cli import build_parser

    text = build_parser().format_help()
    assert "--password" not in text


def test_schema_formats() -> None:
    import json

    out = subprocess.run([sys.executable, "-m", "desktop_audit", "schema", "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    data = json.loads(out.stdout)
    names = {c["className"] for c in data["classes"]}
    assert {"_User", "AuditSite", "AspectImpactLog", "SpillKitLog", "LegalRegisterEntry",
            "AuditReview", "AuditFinding", "Evidence", "AuditTrailEvent"} <= names
    site = next(c for c in data["classes"] if c["className"] == "AuditSite")
    assert site["fields"]["siteOwner"] == {"type": "Pointer", "required": True,
                                           "targetClass": "_User"}
    md = subprocess.run([sys.executable, "-m", "desktop_audit", "schema"], capture_output=True,
                        text=True, timeout=60).stdout
    assert "| riskRating | Number |" in md and "seed name: `kitId`" in md
    er = subprocess.run([sys.executable, "-m", "desktop_audit", "schema", "--format", "mermaid"],
                        capture_output=True, text=True, timeout=60).stdout
    assert er.startswith("erDiagram") and 'User ||--o{ AuditSite : "siteOwner"' in er


def test_import_refusal_via_cli_names_row_and_column(world: World, db_path: Path,
                                                     tmp_path: Path) -> None:
    world.db.close()
    path = tmp_path / "f.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["site", "logType", "severity", "description", "correctiveAction"])
        w.writerow(["PLT-01", "general", "observation", "d", "c"])
        w.writerow(["PLT-01", "general", "observation", "", "c"])
    r = run(db_path, "--user", "admin", "import", "findings", str(path))
    assert r.returncode == 1
    assert one_line(r) == "desktop-audit: row 3, description: is required"


def test_kill_9_in_the_middle_of_a_big_import_changes_nothing(world: World, db_path: Path,
                                                              tmp_path: Path) -> None:
    world.db.close()
    path = tmp_path / "big.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["site", "logType", "severity", "description", "correctiveAction"])
        for i in range(60_000):
            w.writerow(["PLT-01", "general", "observation", f"Finding {i}", "Fix it"])

    def snapshot() -> tuple[int, int, int]:
        """Findings, trail events and queued changes, leaving out each run's own login."""
        con = sqlite3.connect(db_path)
        out = tuple(con.execute(sql).fetchone()[0] for sql in (
            "SELECT count(*) FROM audit_finding",
            "SELECT count(*) FROM audit_trail_event WHERE action != 'login'",
            "SELECT count(*) FROM outbox WHERE className != 'AuditTrailEvent'"))
        con.close()
        return out  # type: ignore[return-value]

    before = snapshot()
    for when in ("imported 5000/", "imported 25000/", "imported 45000/"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESKTOP_AUDIT")}
        env.update(DESKTOP_AUDIT_PASSWORD=PASSWORD, DESKTOP_AUDIT_PROGRESS="1")
        proc = subprocess.Popen([sys.executable, "-m", "desktop_audit", "--db", str(db_path),
                                 "--user", "admin", "import", "findings", str(path)],
                                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                env=env)
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith(when):
                break
        assert proc.poll() is None, "the import finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert snapshot() == before
        r = run(db_path, "verify-trail")
        assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    # And the same file imports fine afterwards.
    r = run(db_path, "--user", "admin", "import", "findings", str(path))
    assert r.returncode == 0, r.stderr
    assert snapshot()[0] == before[0] + 60_000


@pytest.mark.parametrize("scale", [1])
def test_demo_data_is_realistic_and_can_run_twice(tmp_path: Path, scale: int) -> None:
    db = tmp_path / "demo.sqlite"
    r = run(db, "demo", "--scale", str(scale), password=None)
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    sites = con.execute('SELECT "siteCode", "siteName", "region" FROM audit_site').fetchall()
    assert len(sites) == 3 and len({s[2] for s in sites}) == 3
    assert any(not s[1].isascii() for s in sites)
    per_site = con.execute('SELECT s."siteCode", '
                           '(SELECT count(*) FROM aspect_impact_log a WHERE a.site = s."objectId"),'
                           '(SELECT count(*) FROM spill_kit_log k WHERE k.site = s."objectId"),'
                           '(SELECT count(*) FROM legal_register_entry l WHERE l.site = s."objectId"),'
                           '(SELECT count(*) FROM audit_review r WHERE r.site = s."objectId"),'
                           '(SELECT count(*) FROM audit_finding f WHERE f.site = s."objectId"),'
                           '(SELECT count(*) FROM evidence e WHERE e.site = s."objectId") '
                           'FROM audit_site s').fetchall()
    for _code, aspects, kits, legal, reviews, findings, photos in per_site:
        assert aspects == 15 and 35 <= kits <= 40 and legal == 12 and reviews == 2
        assert findings == 10 and photos >= 3
    roles = {r[0] for r in con.execute('SELECT role FROM "user"')}
    assert roles == {"admin", "manager", "coordinator", "auditor", "field_staff"}
    states = con.execute('SELECT DISTINCT closed, severity FROM audit_finding').fetchall()
    assert {s[0] for s in states} == {0, 1} and len({s[1] for s in states}) == 4
    overdue = con.execute("SELECT count(*) FROM audit_finding WHERE closed = 0 AND "
                          "dueDate < date('now')").fetchone()[0]
    assert overdue > 0
    assert con.execute("SELECT count(*) FROM spill_kit_log WHERE inspectionStatus = 'fail'"
                       ).fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM legal_register_entry WHERE complianceStatus = "
                       "'non_compliant'").fetchone()[0] > 0
    con.close()
    assert (db.parent / "demo-files").is_dir()
    r = run(db, "--user", "admin", "demo", password="admin-demo-2026")
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM audit_site").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM audit_finding").fetchone()[0] == 60
    con.close()
    assert run(db, "verify-trail").returncode == 0
