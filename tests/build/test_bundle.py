"""The built program in dist/desktop-audit/ (collected only when it exists; see conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.build.conftest import ROOT, load_smoke

smoke = load_smoke()


def commands(cmd: list[str]) -> set[str]:
    out = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=120, check=True,
                         env=smoke.bare_env(ROOT / "dist")).stdout
    return set(smoke.re.findall(r"^ {4}([a-z][a-z-]+)", out, smoke.re.MULTILINE))


def test_the_build_has_every_command_of_the_source() -> None:
    """A build older than the source would smoke-test less than the program has."""
    built = commands([str(smoke.executable())])
    source = commands([sys.executable, "-m", "desktop_audit"])
    assert source - built == set(), f"the build lacks {sorted(source - built)}: run ./dev build"


def test_the_folder_is_at_most_150_mb() -> None:
    files = [p for p in smoke.DIST.rglob("*") if p.is_file() and not p.is_symlink()]
    size = sum(p.stat().st_size for p in files)
    assert size <= 150e6, f"dist/desktop-audit is {size / 1e6:.1f} MB"


def test_the_built_program_passes_the_smoke_test(tmp_path: Path) -> None:
    lines: list[str] = []
    run = smoke.Smoke(smoke.DIST, tmp_path, log=lines.append)
    assert run.run_all(), "\n".join(lines)
    names = {s.name for s in run.steps}
    assert {"--version", "init", "demo", "screenshot dashboard", "export-pack", "libraries",
            "install folder intact"} <= names


def test_third_party_licences_ship_with_the_program() -> None:
    licences = smoke.DIST / "_internal" / "licenses"
    listing = (licences / "THIRD-PARTY.txt").read_text(encoding="utf-8")
    for name in ("PySide6_Essentials", "reportlab", "peewee", "pillow", "Python"):
        assert name in listing
    assert (licences / "reportlab").is_dir() and (licences / "Python" / "LICENSE.txt").is_file()
