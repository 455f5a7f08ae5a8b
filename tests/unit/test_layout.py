"""The house rules the code keeps: what a record type is lives in records/, SQL lives in
store/, modules do not reach into each other's private names, and names do not repeat."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import desktop_audit
from desktop_audit.schema import CLASSES

PACKAGE = Path(desktop_audit.__file__).parent
CLASS_NAMES = {c.name for c in CLASSES} | {c.remote_name for c in CLASSES}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _is_home(path: Path) -> bool:
    """Where class names belong: the declaration and the record types."""
    rel = _relative(path)
    return rel == "desktop_audit/schema.py" or rel.startswith("desktop_audit/records/")


def _class_name_branches(path: Path) -> list[str]:
    """Comparisons against a class name: ``x == "AuditFinding"``, ``x in ("User", ...)``,
    and dictionaries keyed by class names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        literals: list[ast.expr] = []
        if isinstance(node, ast.Compare):
            literals = [node.left, *node.comparators]
            expanded = []
            for lit in literals:
                if isinstance(lit, ast.Tuple | ast.List | ast.Set):
                    expanded.extend(lit.elts)
                else:
                    expanded.append(lit)
            literals = expanded
        elif isinstance(node, ast.Dict):
            literals = [k for k in node.keys if k is not None]
        for lit in literals:
            if isinstance(lit, ast.Constant) and lit.value in CLASS_NAMES:
                found.append(f"{_relative(path)}:{lit.lineno}: {lit.value}")
    return found


def test_no_module_branches_on_a_class_name_outside_the_record_types() -> None:
    """Services, forms, lists, dashboard, packs, import/export and sync ask the registry."""
    found = [hit for p in _modules() if not _is_home(p) for hit in _class_name_branches(p)]
    assert found == [], "ask desktop_audit.records instead:\n" + "\n".join(found)


def test_sql_is_written_only_in_the_store() -> None:
    pattern = re.compile(r"\.(execute|execute_sql|executemany|executescript)\(")
    found = []
    for path in _modules():
        rel = _relative(path)
        if rel.startswith("desktop_audit/store/"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert found == [], "hand-written SQL belongs in store/:\n" + "\n".join(found)


def test_the_running_program_reads_through_the_peewee_models() -> None:
    code = ("import sys\nfrom desktop_audit import services\n"
            "print('desktop_audit.store.models' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "True", result.stderr


def test_no_module_imports_another_modules_private_names() -> None:
    found = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("desktop_audit"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{_relative(path)}:{node.lineno}: {alias.name}")
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and \
                    not node.attr.startswith("__") and isinstance(node.value, ast.Name) and \
                    node.value.id in {"wire", "engine", "tabular", "trail", "rows", "store",
                                      "records", "services", "sync_state", "journal"}:
                found.append(f"{_relative(path)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert found == [], "\n".join(found)


def test_no_module_is_imported_under_another_modules_name() -> None:
    """``from desktop_audit.services import engine as store`` made one module read as
    another; a module is imported under its own name (or a name no module has)."""
    stems = {p.stem for p in _modules()} | {p.name for p in PACKAGE.rglob("*") if p.is_dir()}
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom | ast.Import):
                for alias in node.names:
                    if alias.asname and alias.asname != alias.name.rsplit(".", 1)[-1] and \
                            alias.asname in stems:
                        found.append(f"{_relative(path)}:{node.lineno}: {alias.name} as "
                                     f"{alias.asname}")
    assert found == [], "\n".join(found)


def test_one_write_engine() -> None:
    """One module holds the write path (services/unit_of_work.py); the sync's engine is the
    only engine."""
    names = Counter(p.stem for p in _modules())
    assert names["engine"] == 1
