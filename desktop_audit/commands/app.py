"""gui and screenshot: the only commands that import Qt."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

VIEWS = ("dashboard", "sites", "aspects", "spill-kits", "legal", "reviews", "findings", "trail",
         "users", "finding-form")


def register(sub: Any) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default with no command)")
    p.set_defaults(func=gui)
    s = sub.add_parser("screenshot", help="render one view offscreen at 1280x800 into a PNG "
                                          "(with --user; password from DESKTOP_AUDIT_PASSWORD)")
    s.add_argument("view", metavar="VIEW", choices=VIEWS, help="one of: " + ", ".join(VIEWS))
    s.add_argument("--out", metavar="FILE.png", type=Path, required=True)
    s.set_defaults(func=screenshot)


def gui(ctx: Any) -> int:
    """Open the window; the default database is created with demo data on first run, while a new
    file given with --db starts at the first-run screen."""
    if ctx.args.db:
        db = ctx.open_db(create=True)
    else:
        from desktop_audit.commands.demo import ensure_demo_database

        path, created = ensure_demo_database(ctx)
        if created:
            print(f"Database {path} created with demo data (users and passwords in the README).")
        db = ctx.open_db()
    from desktop_audit.ui.app import run_window

    return run_window(db)


def screenshot(ctx: Any) -> int:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    actor = ctx.login()
    from desktop_audit.ui.app import render

    out = render(ctx.open_db(), actor, ctx.args.view, ctx.args.out)
    print(f"wrote {out}")
    return 0
