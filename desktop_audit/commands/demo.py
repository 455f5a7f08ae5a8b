"""demo: realistic demo data through the services."""

from __future__ import annotations

import sys
import time
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="add realistic demo data (3 sites, users, logs, photos)")
    p.add_argument("--scale", type=int, default=1, metavar="N",
                   help="multiply the records per site by N (the sites stay 3)")
    p.set_defaults(func=run)


def ensure_demo_database(ctx: Any) -> tuple[Any, bool]:
    """Open the database; a new one gets the README's admin and the demo data."""
    from desktop_audit import demo

    path = ctx.db_path
    fresh = not path.exists()
    db = ctx.open_db(create=True)
    from desktop_audit.services import users

    if fresh or not users.count_users(db):
        demo.first_run(db)
        return path, True
    return path, False


def run(ctx: Any) -> int:
    from desktop_audit import demo
    from desktop_audit.jobs import Control
    from desktop_audit.services import users

    started = time.perf_counter()
    path = ctx.db_path
    db = ctx.open_db(create=True)
    if not users.count_users(db):
        admin = users.bootstrap_admin(db, username=demo.ADMIN[0], email=demo.ADMIN[1],
                                      password=demo.ADMIN[3], full_name=demo.ADMIN[2])
        note = f" (admin '{demo.ADMIN[0]}' created; its password is in the README)"
    else:
        admin = ctx.login()
        from desktop_audit import records

        records.of("User").require(admin, "create")
        note = ""

    def progress(_done: int, _total: int, stage: str) -> None:
        if sys.stderr.isatty():
            print(f"demo: {stage}", file=sys.stderr)

    counts = demo.populate(db, admin, scale=ctx.args.scale, control=Control(progress))
    took = time.perf_counter() - started
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    print(f"demo data added to {path}{note}: {summary} in {took:.1f} s")
    return 0
