"""server-setup, sync, conflicts, resolve: the Parse Server / Back4app side."""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def register(sub: Any) -> None:
    s = sub.add_parser("server-setup",
                       help="apply the schema, permissions and indexes to a Parse Server or "
                            "Back4app app and create the admin (master key from "
                            "PARSE_MASTER_KEY, password from DESKTOP_AUDIT_PASSWORD)")
    _server_args(s)
    s.add_argument("--admin", required=True, metavar="NAME", help="the administrator's username")
    s.set_defaults(func=server_setup)

    y = sub.add_parser("sync", help="push local changes and pull everyone else's "
                                    "(exit 0 in sync, 3 with open conflicts, 1 failed)")
    _server_args(y)
    y.add_argument("--key-env", metavar="VAR",
                   help="environment variable holding the server's REST or JavaScript key")
    y.add_argument("--retry-budget", type=float, default=120.0, metavar="SECONDS",
                   help="how long to keep retrying an unreachable server (default 120)")
    y.add_argument("--quiet", action="store_true", help="no progress on stderr")
    y.add_argument("--timings", action="store_true",
                   help="also print how long each step took (sign-in, keys, audit trail, pull, "
                        "push, counts)")
    y.set_defaults(func=sync)

    c = sub.add_parser("conflicts", help="one line per open sync conflict: id, record, field, "
                                         "both values")
    c.set_defaults(func=conflicts)

    r = sub.add_parser("resolve", help="resolve a sync conflict")
    r.add_argument("conflict_id", type=int, metavar="ID")
    how = r.add_mutually_exclusive_group(required=True)
    how.add_argument("--keep", choices=("mine", "theirs"))
    how.add_argument("--value", metavar="TEXT", help="an edited value instead of either")
    r.set_defaults(func=resolve)


def _server_args(p: Any) -> None:
    p.add_argument("--server", metavar="URL",
                   help="e.g. http://127.0.0.1:1337/parse (default: $DESKTOP_AUDIT_SERVER or "
                        "the last one used)")
    p.add_argument("--app-id", metavar="ID",
                   help="the Parse application id (default: $DESKTOP_AUDIT_APP_ID or the last "
                        "one used)")


def server_target(ctx: Any, db: Any = None) -> tuple[str, str]:
    from desktop_audit.errors import SyncError
    from desktop_audit.sync.session import DEFAULT_APP_ID

    server = ctx.args.server or os.environ.get("DESKTOP_AUDIT_SERVER")
    app_id = ctx.args.app_id or os.environ.get("DESKTOP_AUDIT_APP_ID")
    if db is not None:
        server = server or db.meta("sync_server")
        app_id = app_id or db.meta("sync_app_id")
    if not server:
        raise SyncError("no server: give --server URL")
    return server, app_id or DEFAULT_APP_ID


def server_setup(ctx: Any) -> int:
    from desktop_audit.errors import SyncError
    from desktop_audit.sync.parse_client import ParseError, TransientError
    from desktop_audit.sync.server_setup import server_setup as run
    from desktop_audit.sync.session import make_client

    master = os.environ.get("PARSE_MASTER_KEY")
    if not master:
        raise SyncError("server-setup needs the master key in PARSE_MASTER_KEY")
    server, app_id = server_target(ctx)
    db = ctx.open_db() if ctx.args.db else None
    password = os.environ.get("DESKTOP_AUDIT_PASSWORD")
    with make_client(server, app_id, master_key=master) as client:
        try:
            run(client, ctx.args.admin, password, db=db)
        except (ParseError, ValueError) as exc:
            raise SyncError(f"server-setup failed: {exc}") from exc
        except TransientError as exc:
            raise SyncError(f"cannot reach the server at {server}: {exc}") from exc
    print(f"server-setup: {server} is ready (app {app_id})")
    return 0


def _progress(quiet: bool) -> Any:
    """A Control that shows progress on a terminal (None when quiet or not a terminal)."""
    from desktop_audit.jobs import Control

    if quiet or not sys.stderr.isatty():
        return None
    last = {"stage": ""}

    def show(done: int, total: int, stage: str) -> None:
        end = "\n" if stage != last["stage"] and last["stage"] else ""
        last["stage"] = stage
        print(f"{end}\r{stage}: {done}/{total}", end="", file=sys.stderr, flush=True)

    return Control(show)


def sync(ctx: Any) -> int:
    from desktop_audit.domain import auth
    from desktop_audit.errors import AuthError
    from desktop_audit.sync import session

    username = ctx.args.user or os.environ.get("DESKTOP_AUDIT_USER")
    if not username:
        raise AuthError("sync needs a user: give --user NAME (password from "
                        "DESKTOP_AUDIT_PASSWORD)")
    password = ctx.password()
    progress = _progress(ctx.args.quiet)
    path = ctx.db_path
    if not path.exists():
        server, app_id = server_target(ctx)
        client = session.make_client(server, app_id, key_env=ctx.args.key_env)
        with client:
            db, report = session.join(path, client, username, password, control=progress,
                                      retry_budget=ctx.args.retry_budget)
            ctx._db = db
            _remember(db, server, app_id)
            client.logout()
    else:
        db = ctx.open_db()
        server, app_id = server_target(ctx, db)
        client = session.make_client(server, app_id, key_env=ctx.args.key_env)
        with client:
            from desktop_audit.schema import USER
            from desktop_audit.store import rows

            started = time.monotonic()
            found = rows.first(db, USER, {"username": username})
            row = (found["objectId"], found["passwordVerifier"]) if found else None
            if row is None:
                # Someone new on this laptop: the server says who they are, and the pull
                # brings their account here.
                from desktop_audit.sync.engine import SyncEngine

                user = session.online_login(client, username, password,
                                            budget=ctx.args.retry_budget)
                SyncEngine(db, client, retry_budget=ctx.args.retry_budget).pull(["User"])
                actor = session.learn_password(db, user["objectId"], password)
            elif not row[1]:
                # Pulled here but never logged in here: the server says who they are.
                user = session.online_login(client, username, password,
                                            budget=ctx.args.retry_budget)
                actor = session.learn_password(db, user["objectId"], password)
            else:
                try:
                    actor = auth.login(db, username, password)
                except AuthError:
                    # The password may have been changed on another laptop: the server
                    # decides, and this laptop learns the new one.
                    user = session.online_login(client, username, password,
                                                budget=ctx.args.retry_budget)
                    actor = session.learn_password(db, user["objectId"], password)
                else:
                    session.online_login(client, username, password,
                                         budget=ctx.args.retry_budget)
            _remember(db, server, app_id)
            signed_in = time.monotonic() - started
            report = session.sync(db, client, actor, control=progress,
                                  retry_budget=ctx.args.retry_budget)
            report.timings = {"sign-in": signed_in, **report.timings}
            client.logout()
    if progress:
        print(file=sys.stderr)
    print(report.summary())
    if ctx.args.timings:
        print(report.timings_line())
    return report.exit_code


def _remember(db: Any, server: str, app_id: str) -> None:
    with db.atomic():
        db.set_meta("sync_server", server)
        db.set_meta("sync_app_id", app_id)


def conflicts(ctx: Any) -> int:
    from desktop_audit.sync.engine import open_conflicts, quarantined

    db = ctx.open_db()
    for c in open_conflicts(db):
        print(c.line())
    for class_name, object_id, code, reason, _at in quarantined(db):
        print(f"not accepted by the server: {class_name} {object_id}: {reason} (code {code})",
              file=sys.stderr)
    return 0


def resolve(ctx: Any) -> int:
    from desktop_audit.services import resolve_conflict

    actor = ctx.login()
    db = ctx.open_db()
    keep = ctx.args.keep or "edit"
    c = resolve_conflict(db, actor, ctx.args.conflict_id, keep, ctx.args.value)
    kept = c.mine if keep == "mine" else c.theirs if keep == "theirs" else ctx.args.value
    print(f"resolved {c.id}: {c.class_name} {c.object_id} {c.field} = {kept!r} "
          f"({keep}; pushed at the next sync)")
    return 0
