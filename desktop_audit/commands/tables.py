"""export and import: CSV / XLSX files with the schema's field names as columns."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from desktop_audit.schema import CLI_NAMES


def _class(name: str) -> str:
    from desktop_audit.schema import class_def

    return class_def(name).name


def register(sub: Any) -> None:
    names = ", ".join(CLI_NAMES)
    e = sub.add_parser("export", help="write records to a .csv or .xlsx file")
    e.add_argument("cls", metavar="CLASS", help=f"one of: {names} (or the class name)")
    e.add_argument("file", metavar="FILE", type=Path)
    e.add_argument("--site", metavar="CODE", help="only this site")
    e.set_defaults(func=export)
    i = sub.add_parser("import", help="read records from a .csv or .xlsx file (all or nothing)")
    i.add_argument("cls", metavar="CLASS", help=f"one of: {names} (or the class name)")
    i.add_argument("file", metavar="FILE", type=Path)
    i.set_defaults(func=import_)


def export(ctx: Any) -> int:
    from desktop_audit.io import tabular

    class_name = _class(ctx.args.cls)
    actor = ctx.login()
    count = tabular.export_file(ctx.open_db(), actor, class_name, ctx.args.file,
                                site_code=ctx.args.site)
    print(f"exported {count} {class_name} records to {ctx.args.file}")
    return 0


def import_(ctx: Any) -> int:
    from desktop_audit.io import tabular
    from desktop_audit.jobs import Control

    class_name = _class(ctx.args.cls)
    actor = ctx.login()
    interactive = sys.stderr.isatty()
    verbose = os.environ.get("DESKTOP_AUDIT_PROGRESS") == "1"

    def stage(done: int, total: int, phase: str) -> None:
        if verbose:
            print(f"{phase} {done}/{total}", file=sys.stderr, flush=True)
        elif interactive:
            print(f"\r{done}/{total} rows {phase}   ", end="", file=sys.stderr, flush=True)

    counts = tabular.import_file(ctx.open_db(), actor, class_name, ctx.args.file,
                                 control=Control(stage))
    if interactive:
        print(file=sys.stderr)
    print(f"imported {ctx.args.file}: {counts['created']} created, {counts['updated']} updated, "
          f"{counts['unchanged']} unchanged")
    return 0
