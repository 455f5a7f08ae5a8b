"""tests/build/: the checks of build_spec/smoke.py, and the built program when there is one.

test_bundle.py needs dist/desktop-audit/ (made by ./dev build, which takes a minute or more, so
./dev test never builds it).  Without a build it is not collected at all: nothing about
the bundle is reported as passing when no bundle was tested.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_smoke():
    """build_spec/smoke.py as a module (build_spec/ is scripts, not a package)."""
    name = "desktop_audit_build_smoke"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "build_spec" / "smoke.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


collect_ignore = [] if load_smoke().executable().is_file() else ["test_bundle.py"]
