"""gui and screenshot: the only commands that import Qt."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default with no command)")
    p.set_defaults(func=gui)


def gui(ctx: Any) -> int:
    from desktop_audit.commands.demo import ensure_demo_database

    path, created = ensure_demo_database(ctx)
    state = "created with demo data" if created else "ready"
    print(f"Database {path} {state}.")
    print("The desktop window is not built yet; use the commands (desktop-audit --help), "
          "e.g. desktop-audit --user admin export findings findings.csv")
    return 0
