"""./dev build: the one-folder program in dist/desktop-audit/, smoke-tested, with its figures.

    ./dev build [--no-smoke] [--no-figures] [--archive]

1. PyInstaller runs build_spec/desktop_audit.spec (a clean build; about a minute on two cores);
2. the build time and the folder size are printed, and the build fails above 150 MB;
3. build_spec/smoke.py runs the built program with an empty environment;
4. start-up figures: the built program beside the same from source (--version, and the
   main window's first paint as `screenshot dashboard`: start, open the database, build
   and paint the window, save the PNG, exit);
5. with --archive, dist/desktop-audit-VERSION-SYSTEM-MACHINE.tar.gz (.zip on Windows) to hand out.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import smoke  # noqa: E402 - build_spec/smoke.py, beside this file

ROOT = smoke.ROOT
SPEC = ROOT / "build_spec" / "desktop_audit.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
FOLDER = DIST / smoke.NAME
LIMIT_MB = 150.0


def say(text: str) -> None:
    print(text, flush=True)


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def build() -> float:
    say(f"==> PyInstaller {SPEC.relative_to(ROOT)} (a clean build)")
    started = time.perf_counter()
    log = WORK / "pyinstaller.log"
    WORK.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.run([sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--clean",
                               "--distpath", str(DIST), "--workpath", str(WORK)],
                              cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        say(log.read_text(encoding="utf-8", errors="replace")[-6000:])
        raise SystemExit(f"PyInstaller failed (exit {proc.returncode}); the whole log: {log}")
    warnings = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                if " WARNING: " in line and "platformthemes" not in line and "ctypes" not in line]
    for line in warnings:
        say(f"    {line}")
    return took


def timed(cmd: list[str], env: dict[str, str], cwd: Path, runs: int) -> tuple[float, float]:
    """Median and best wall time of `runs` runs, after one run that warms the file cache."""
    times = []
    for n in range(runs + 1):
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=smoke.TIMEOUT, check=False)
        took = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr[-800:]}")
        if n:
            times.append(took)
    return statistics.median(times), min(times)


def figures(build_seconds: float | None, size: int, files: int) -> None:
    """Start-up of the built program beside the same from source, same data, same environment."""
    frozen = [str(smoke.executable(FOLDER))]
    source = [str(Path(sys.executable).with_name("desktop-audit"))]
    if not Path(source[0]).exists():
        source = [sys.executable, "-m", "desktop_audit"]
    rows: list[tuple[str, str, str]] = []
    if build_seconds is not None:
        rows.append(("build time", f"{build_seconds:.1f} s", ""))
    rows.append(("folder size", f"{size / 1e6:.1f} MB ({files} files; limit {LIMIT_MB:.0f} MB)", ""))
    with tempfile.TemporaryDirectory(prefix="desktop-audit-figures-") as tmp:
        home = Path(tmp)
        env = smoke.bare_env(home, DESKTOP_AUDIT_PASSWORD=smoke.PASSWORD)
        cwd = home / "cwd"
        cwd.mkdir()
        setup = (["init", "--admin", smoke.ADMIN, "--email", smoke.EMAIL], ["--user", smoke.ADMIN, "demo"])
        for args in setup:
            subprocess.run([*frozen, *args], env=env, cwd=cwd, capture_output=True, timeout=smoke.TIMEOUT,
                           check=True)
        # The window's first paint: `screenshot dashboard` starts, signs in, builds the main
        # window, paints it, saves the PNG and exits.
        shot = ["--user", smoke.ADMIN, "screenshot", "dashboard", "--out", str(home / "s.png")]
        probes = [("start-up: --version", ["--version"], 7),
                  ("start-up: first paint (screenshot dashboard)", shot, 5)]
        for label, args, runs in probes:
            try:
                f_med, f_min = timed([*frozen, *args], env, cwd, runs)
                s_med, s_min = timed([*source, *args], env, cwd, runs)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                rows.append((label, f"not measured: {exc}", ""))
                continue
            rows.append((label, f"built {f_med:.3f} s (best {f_min:.3f})",
                         f"source {s_med:.3f} s (best {s_min:.3f}); median of {runs}"))
    say("==> figures")
    width = max(len(r[0]) for r in rows)
    for name, value, beside in rows:
        say(f"  {name:<{width}}  {value}{'   ' + beside if beside else ''}")


def archive() -> Path:
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform.rstrip("0123456789"))
    base = DIST / f"{smoke.NAME}-{smoke.source_version()}-{system}-{platform.machine().lower()}"
    fmt = "zip" if sys.platform == "win32" else "gztar"
    return Path(shutil.make_archive(str(base), fmt, root_dir=DIST, base_dir=smoke.NAME))


def main() -> int:
    parser = argparse.ArgumentParser(prog="./dev build", description=__doc__.split("\n")[0])
    parser.add_argument("--no-smoke", action="store_true", help="skip the smoke test")
    parser.add_argument("--no-figures", action="store_true", help="skip the start-up figures")
    parser.add_argument("--archive", action="store_true", help="also pack the folder into one file")
    args = parser.parse_args()

    took = build()
    size, files = folder_size(FOLDER)
    say(f"==> built {FOLDER.relative_to(ROOT)} in {took:.1f} s: {size / 1e6:.1f} MB in {files} files")
    if size / 1e6 > LIMIT_MB:
        say(f"the folder is over {LIMIT_MB:.0f} MB; the largest files:")
        for path in sorted(FOLDER.rglob("*"), key=lambda p: p.stat().st_size, reverse=True)[:15]:
            say(f"  {path.stat().st_size / 1e6:7.1f} MB  {path.relative_to(FOLDER)}")
        return 1
    if not args.no_smoke:
        say("==> smoke test")
        if smoke.main([str(FOLDER)]) != 0:
            return 1
    if not args.no_figures:
        figures(took, size, files)
    if args.archive:
        say(f"==> {archive().relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
