"""The core never imports Qt: the CLI, the tests and the sync run without a display."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import desktop_audit


def core_modules() -> list[str]:
    out = []
    for info in pkgutil.walk_packages(desktop_audit.__path__, "desktop_audit."):
        name = info.name
        if name.startswith("desktop_audit.ui") or name in ("desktop_audit.commands.app",
                                                            "desktop_audit.__main__"):
            continue
        out.append(name)
    return out


def test_no_core_module_imports_pyside6() -> None:
    modules = core_modules()
    assert "desktop_audit.services" in modules and "desktop_audit.cli" in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "leaked = sorted(m for m in sys.modules if m.startswith('PySide6'))\n"
            "print(','.join(leaked))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"PySide6 imported by the core: {result.stdout}"


def test_the_cli_parser_builds_without_qt() -> None:
    code = ("import sys\nfrom desktop_audit import cli\ncli.build_parser()\n"
            "print(any(m.startswith('PySide6') for m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stderr
