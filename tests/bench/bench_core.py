"""Core figures: a 200,000-finding CSV import beside raw sqlite3.executemany of the same
rows; `demo --scale 100`; `--version` beside `python -c pass`."""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "200000"))
PASSWORD = "bench-admin-pass"


def _cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, DESKTOP_AUDIT_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "desktop_audit", *args], env=environ,
                          capture_output=True, text=True, check=True, timeout=1800)


def _write_csv(path: Path) -> None:
    severities = ("observation", "minor_nc", "major_nc", "opportunity")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["site", "logType", "severity", "description", "correctiveAction", "rootCause",
                    "actionOwner", "dueDate"])
        for i in range(ROWS):
            w.writerow(["PLT-01", "general", severities[i % 4],
                        f"Drain cover missing at bay {i % 40} (check {i})",
                        "Replace the cover and add it to the weekly round",
                        "Not on the inspection list", "coordinator",
                        f"2027-{1 + i % 12:02d}-{1 + i % 28:02d}"])


def _raw_floor(template: Path, csv_path: Path, work: Path) -> float:
    """The same rows into the same table with plain sqlite3: parse, map keys, executemany."""
    target = work / "raw.sqlite"
    shutil.copy(template, target)
    started = time.perf_counter()
    con = sqlite3.connect(target)
    con.execute("PRAGMA journal_mode=wal")
    site = dict(con.execute('SELECT "siteCode", "objectId" FROM audit_site').fetchall())
    user = dict(con.execute('SELECT "username", "objectId" FROM "user"').fetchall())
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [(f"r{n:09d}", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z", site[r[0]],
                 r[1], r[2], r[3], r[4], r[5], user[r[6]], r[7], 0)
                for n, r in enumerate(reader)]
    with con:
        con.executemany(
            'INSERT INTO audit_finding ("objectId","createdAt","updatedAt","site","logType",'
            '"severity","description","correctiveAction","rootCause","actionOwner","dueDate",'
            '"closed") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)', rows)
    con.close()
    return time.perf_counter() - started


def bench_import(report, work: Path) -> None:
    home = work / "home"
    template = work / "template.sqlite"
    _cli(home, "--db", str(template), "init", "--admin", "admin", "--email", "a@example.com",
         DESKTOP_AUDIT_PASSWORD=PASSWORD)
    _cli(home, "--db", str(template), "--user", "admin", "demo", DESKTOP_AUDIT_PASSWORD=PASSWORD)
    con = sqlite3.connect(template)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    csv_path = work / "findings.csv"
    _write_csv(csv_path)
    floor = _raw_floor(template, csv_path, work)
    target = work / "import.sqlite"
    shutil.copy(template, target)
    started = time.perf_counter()
    _cli(home, "--db", str(target), "--user", "admin", "import", "findings", str(csv_path),
         DESKTOP_AUDIT_PASSWORD=PASSWORD)
    took = time.perf_counter() - started
    report.add(f"import {ROWS:,} findings (CSV, whole command)", took, "s",
               floor_name="raw sqlite3 executemany", floor_value=floor,
               note=f"{ROWS / took:,.0f} rows/s; rules, trail and sync queue included")


def bench_demo(report, work: Path) -> None:
    home = work / "demo-home"
    started = time.perf_counter()
    out = _cli(home, "--db", str(work / "demo.sqlite"), "demo", "--scale", "100")
    took = time.perf_counter() - started
    con = sqlite3.connect(work / "demo.sqlite")
    records = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
        "aspect_impact_log", "spill_kit_log", "legal_register_entry", "audit_review",
        "audit_finding", "evidence"))
    con.close()
    report.add("demo --scale 100 (whole command)", took, "s",
               note=f"{records:,} records, {records / took:,.0f} records/s; {out.stdout.strip()[-40:]}")


def bench_version(report) -> None:
    def wall(cmd: list[str]) -> float:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, timeout=60)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    floor = wall([sys.executable, "-c", "pass"])
    took = wall([sys.executable, "-m", "desktop_audit", "--version"])
    script = shutil.which("desktop-audit")
    report.add("desktop-audit --version (python -m, median of 7)", took, "s",
               floor_name="python -c pass", floor_value=floor)
    if script:
        report.add("desktop-audit --version (console script)", wall([script, "--version"]), "s",
                   floor_name="python -c pass", floor_value=floor)


def run(report) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        work = Path(tmp)
        bench_version(report)
        bench_import(report, work)
        bench_demo(report, work)
