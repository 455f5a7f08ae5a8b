"""schema: the data dictionary, the Parse JSON schema, or the ER diagram."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the data dictionary, Parse schema or ER diagram")
    p.add_argument("--format", choices=("markdown", "json", "mermaid"), default="markdown")
    p.set_defaults(func=run)


def run(ctx: Any) -> int:
    from desktop_audit.schema_docs import render

    print(render(ctx.args.format))
    return 0
