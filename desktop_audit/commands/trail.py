"""verify-trail and history: prove the hash chains; show one record's history."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    v = sub.add_parser("verify-trail", help="verify every device's hash-chained audit trail")
    v.set_defaults(func=verify)
    h = sub.add_parser("history", help="the audit trail of one record")
    h.add_argument("class_name", metavar="CLASS")
    h.add_argument("object_id", metavar="ID")
    h.set_defaults(func=history)


def verify(ctx: Any) -> int:
    from desktop_audit.domain import trail
    from desktop_audit.errors import IntegrityError

    db = ctx.open_db()
    reports = trail.verify(db)
    bad = [r for r in reports if r.problem]
    if bad:
        raise IntegrityError(f"audit trail broken at {bad[0].problem}")
    total = sum(r.events for r in reports)
    chains = len([r for r in reports if r.events])
    print(f"audit trail verified: {total} events in {chains} chain{'s' * (chains != 1)}")
    return 0


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
