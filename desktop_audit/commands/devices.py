"""device list and device revoke: the keys that sign the audit trail."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    d = sub.add_parser("device", help="the keys that sign the audit trail (one per user and "
                                      "laptop, one per laptop)")
    ds = d.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    ls = ds.add_parser("list", help="this laptop's keys and, with --server, every key the "
                                    "server registered: key id, user, device, registered, "
                                    "revoked")
    _server_args(ls)
    ls.set_defaults(func=device_list)
    rv = ds.add_parser("revoke", help="admin: revoke a key (or every key of a device); "
                                      "segments reaching the server after it are refused")
    rv.add_argument("id", metavar="ID", help="a key id, or a device id for all its keys")
    _server_args(rv)
    rv.set_defaults(func=device_revoke)


def _server_args(p: Any) -> None:
    p.add_argument("--server", metavar="URL", help="the server (default: the last one used)")
    p.add_argument("--app-id", metavar="ID", help="the Parse application id")
    p.add_argument("--key-env", metavar="VAR",
                   help="environment variable holding the server's REST or JavaScript key")


def _online(ctx: Any, db: Any, actor: Any, work: Any) -> Any:
    from desktop_audit.commands.sync_cmd import server_target
    from desktop_audit.errors import SyncError
    from desktop_audit.sync import session, trail_sync
    from desktop_audit.sync.parse_client import ParseError, Retrier, TransientError

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
            out = work(client, call)
            trail_sync.pull_keys(db, client, call)
        except ParseError as exc:
            raise SyncError(f"the server refused: {exc.message}") from exc
        finally:
            client.logout()
    return out


def device_list(ctx: Any) -> int:
    from desktop_audit.schema import USER
    from desktop_audit.store import keyring, rows

    actor = ctx.login()
    db = ctx.open_db()
    if ctx.args.server:
        _online(ctx, db, actor, lambda _client, _call: None)  # every key the server knows
    names = rows.pairs(db, USER, "objectId", "username")
    here = db.device_id
    print(f"{'key id':<32}  {'user':<14} {'device':<16}  {'registered':<24}  {'revoked':<24}")
    for k in keyring.keys(db):
        user = names.get(k.user, k.user) if k.user else "(laptop key)"
        device = k.device_id + (" *" if k.device_id == here else "")
        print(f"{k.key_id:<32}  {user:<14} {device:<18}{k.registered_at or 'not yet':<24}  "
              f"{k.revoked_at or '-':<24}")
    print("* this laptop")
    return 0


def device_revoke(ctx: Any) -> int:
    from desktop_audit import records

    actor = ctx.login()
    db = ctx.open_db()
    records.of("User").require(actor, "create")  # administrators only
    answer = _online(ctx, db, actor, lambda client, call: call(
        lambda: client.call("revokeTrailKey", {"id": ctx.args.id})))
    for item in answer.get("revoked", []):
        print(f"revoked {item['keyId']} at {item['revokedAt']} (server time): segments signed "
              "with it that reach the server from now on are refused")
    if not answer.get("revoked"):
        print(f"{ctx.args.id}: already revoked")
    return 0
