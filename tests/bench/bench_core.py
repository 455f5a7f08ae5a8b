"""Core figures: a 200,000-finding CSV import beside its honest floor (the same rows read with
csv.reader and executemany'd into a bare table), with its peak memory, and a 1,000,000-row
import's peak beside it; `demo --scale 100`; `--version` beside `python -c pass`."""

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
BIG_ROWS = int(os.environ.get("BENCH_BIG_ROWS", "1000000"))
PASSWORD = "bench-admin-pass"
OLD_RATIO = 27  # the figure: 22.3 s beside a 0.81 s floor


def _cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, DESKTOP_AUDIT_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "desktop_audit", *args], env=environ,
                          capture_output=True, text=True, check=True, timeout=1800)


def _measured(home: Path, work: Path, *args: str, **env: str) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one command in its own process: os.wait4 gives
    that child's own peak, not the largest of every child so far."""
    environ = dict(os.environ, DESKTOP_AUDIT_HOME=str(home), **env)
    out, err = work / "cmd.out", work / "cmd.err"
    with open(out, "w") as fo, open(err, "w") as fe:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "desktop_audit", *args], env=environ,
                                stdout=fo, stderr=fe)
        _pid, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {err.read_text()}")
    return took, usage.ru_maxrss / 1024  # kilobytes on Linux


def _write_csv(path: Path, rows: int) -> None:
    severities = ("observation", "minor_nc", "major_nc", "opportunity")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["site", "logType", "severity", "description", "correctiveAction", "rootCause",
                    "actionOwner", "dueDate"])
        for i in range(rows):
            w.writerow(["PLT-01", "general", severities[i % 4],
                        f"Drain cover missing at bay {i % 40} (check {i})",
                        "Replace the cover and add it to the weekly round",
                        "Not on the inspection list", "coordinator",
                        f"2027-{1 + i % 12:02d}-{1 + i % 28:02d}"])


def _raw_floor(csv_path: Path, work: Path) -> float:
    """The honest floor: the same CSV rows, read with csv.reader and executemany'd with no
    conversions into a table of the CSV's columns in a new SQLite file (no indexes, no
    triggers), committed."""
    target = work / "floor.sqlite"
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    con = sqlite3.connect(target)
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        con.execute(f"CREATE TABLE rows ({', '.join(f'{chr(34)}{h}{chr(34)}' for h in header)})")
        with con:
            con.executemany(f"INSERT INTO rows VALUES ({', '.join('?' for _ in header)})", reader)
    con.close()
    took = time.perf_counter() - started
    target.unlink()
    return took


def _import(home: Path, work: Path, template: Path, csv_path: Path) -> tuple[float, float]:
    target = work / "import.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, target)
    took, peak = _measured(home, work, "--db", str(target), "--user", "admin", "import",
                           "findings", str(csv_path), DESKTOP_AUDIT_PASSWORD=PASSWORD)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    return took, peak


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
    _write_csv(csv_path, ROWS)
    floor = _raw_floor(csv_path, work)
    took, peak = _import(home, work, template, csv_path)
    report.add(f"import {ROWS:,} findings (CSV, whole command)", took, "s",
               floor_name="csv.reader + executemany, no conversions", floor_value=floor,
               note=f"{ROWS / took:,.0f} rows/s, peak {peak:.0f} MB; rules, trail, outbox and "
                    f"search index included (the issue measured {OLD_RATIO}x)")
    report.add(f"peak memory of that import ({ROWS:,} rows)", peak, "MB")
    if BIG_ROWS <= 0:
        return
    big_csv = work / "findings-big.csv"
    _write_csv(big_csv, BIG_ROWS)
    csv_path.unlink()
    big_floor = _raw_floor(big_csv, work)
    big_took, big_peak = _import(home, work, template, big_csv)
    big_csv.unlink()
    report.add(f"import {BIG_ROWS:,} findings (CSV, whole command)", big_took, "s",
               floor_name="csv.reader + executemany, no conversions", floor_value=big_floor,
               note=f"{BIG_ROWS / big_took:,.0f} rows/s, peak {big_peak:.0f} MB")
    report.add(f"peak memory of that import ({BIG_ROWS:,} rows)", big_peak, "MB",
               floor_name=f"the {ROWS:,}-row import's peak", floor_value=peak,
               note="streamed in chunks: bounded memory")


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
