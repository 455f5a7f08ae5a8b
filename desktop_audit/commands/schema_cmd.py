"""schema: the data dictionary, the Parse JSON schema, the ER diagram, or the rulebook."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the data dictionary, Parse schema, ER diagram or "
                                      "the rulebook the server enforces")
    p.add_argument("--format", choices=("markdown", "json", "mermaid", "rulebook"),
                   default="markdown")
    p.set_defaults(func=run)


def run(ctx: Any) -> int:
    if ctx.args.format == "rulebook":
        from desktop_audit.records import rulebook

        print(rulebook.render())
        return 0
    from desktop_audit.schema_docs import render

    print(render(ctx.args.format))
    return 0
