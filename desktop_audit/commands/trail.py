"""verify-trail and history: prove the hash chains (here, against the server, against a
pack already handed out); show one record's history."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    v = sub.add_parser("verify-trail",
                       help="prove every hash chain this laptop holds (links, hashes, "
                            "signatures); with --server, that they still hold what the server "
                            "holds (with --user); with --pack, that the trail still holds the "
                            "chain heads a pack was built on")
    v.add_argument("--pack", metavar="FILE.pdf", help="an evidence pack made earlier")
    v.add_argument("--server", metavar="URL", help="compare with this server (needs --user)")
    v.add_argument("--app-id", metavar="ID", help="the Parse application id")
    v.add_argument("--key-env", metavar="VAR",
                   help="environment variable holding the server's REST or JavaScript key")
    v.set_defaults(func=verify)
    h = sub.add_parser("history", help="the audit trail of one record")
    h.add_argument("class_name", metavar="CLASS")
    h.add_argument("object_id", metavar="ID")
    h.set_defaults(func=history)


def verify(ctx: Any) -> int:
    from desktop_audit.domain import trail
    from desktop_audit.errors import IntegrityError

    db = ctx.open_db()
    if ctx.args.pack:
        from desktop_audit.reports import pack_heads

        heads = pack_heads(ctx.args.pack)
        problems = trail.check_heads(db, heads)
        if problems:
            raise IntegrityError(f"the pack {ctx.args.pack} no longer matches this laptop's "
                                 f"audit trail: {problems[0]}")
        print(f"pack {ctx.args.pack}: the audit trail still holds the {len(heads)} chain "
              f"head{'s' * (len(heads) != 1)} it was built on")
        return 0
    reports = trail.verify(db)
    if ctx.args.server:
        # Compared with the server first: it names the first event that differs from what
        # the server holds (where a rewrite began), then what fails here on its own.
        problems = _against_server(ctx, db, [r.chain for r in reports])
        if problems:
            raise IntegrityError("audit trail differs from the server: " + "; ".join(
                problems[c] for c in sorted(problems)))
    bad = [r for r in reports if r.problem]
    if bad:
        raise IntegrityError(f"audit trail broken at {bad[0].problem}")
    total = sum(r.events for r in reports)
    chains = len([r for r in reports if r.events])
    for r in reports:
        if r.note:
            print(f"chain {r.chain} ({r.events} events here): {r.note}")
    where = f", and as the server holds them ({ctx.args.server})" if ctx.args.server else ""
    print(f"audit trail verified: {total} events in {chains} chain{'s' * (chains != 1)}{where}")
    return 0


def _against_server(ctx: Any, db: Any, chains: list[str]) -> dict[str, str]:
    """{chain: problem} of the chains this user may see that differ from the server."""
    from desktop_audit.commands.sync_cmd import server_target
    from desktop_audit.errors import SyncError
    from desktop_audit.sync import session, trail_sync
    from desktop_audit.sync.parse_client import ParseError, Retrier, TransientError

    actor = ctx.login()
    server, app_id = server_target(ctx, db)
    retry = Retrier(60.0)

    def call(fn: Any) -> Any:
        try:
            return retry(fn)
        except TransientError as exc:
            raise SyncError(f"cannot reach the server at {server}: {exc}") from exc

    with session.make_client(server, app_id, key_env=ctx.args.key_env) as client:
        session.online_login(client, actor.username, ctx.password())
        try:
            trail_sync.pull_keys(db, client, call)
            problems = trail_sync.check_anchors(db, client, chains, call)
        except ParseError as exc:
            raise SyncError(f"the server refused: {exc.message}") from exc
        finally:
            client.logout()
    return problems


def history(ctx: Any) -> int:
    import json

    from desktop_audit.domain import trail
    from desktop_audit.schema import class_def
    from desktop_audit.services import common

    actor = ctx.login()
    db = ctx.open_db()
    cdef = class_def(ctx.args.class_name)
    common.get_visible(db, actor, cdef, ctx.args.object_id)
    for event in trail.history(db, cdef.name, ctx.args.object_id):
        changes = ", ".join(f"{k}: {json.dumps(v[0], ensure_ascii=False)} -> "
                            f"{json.dumps(v[1], ensure_ascii=False)}"
                            for k, v in event["changes"].items())
        print(f"{event['at']}  {event['actorName'] or '-':<12} {event['action']:<9} {changes}")
    return 0
