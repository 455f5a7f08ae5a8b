"""init and user: create or upgrade the database; add, list, assign, deactivate, activate and
unlock users."""

from __future__ import annotations

import argparse
from typing import Any

from desktop_audit.schema import ROLES


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="create or upgrade the database; create the first admin")
    p.add_argument("--admin", metavar="NAME", help="username of the first admin")
    p.add_argument("--email", metavar="EMAIL", help="the first admin's email")
    p.add_argument("--full-name", metavar="NAME")
    p.set_defaults(func=init)

    u = sub.add_parser("user", help="manage users (admin)")
    us = u.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    a = us.add_parser("add", help="add a user; password from DESKTOP_AUDIT_NEW_PASSWORD or a prompt")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--email", required=True)
    a.add_argument("--full-name")
    a.add_argument("--site", action="append", default=[], metavar="CODE",
                   help="assign to this site (repeatable)")
    a.set_defaults(func=user_add)
    ls = us.add_parser("list", help="list users")
    ls.set_defaults(func=user_list)
    pw = us.add_parser("passwd", help="set a password (yours, or anyone's as admin); the new one "
                                      "from DESKTOP_AUDIT_NEW_PASSWORD or a prompt")
    pw.add_argument("name")
    pw.set_defaults(func=user_passwd)
    asg = us.add_parser("assign", help="set the sites a user is assigned to (admin)")
    asg.add_argument("name")
    asg.add_argument("--site", action="append", default=[], metavar="CODE", required=True)
    asg.set_defaults(func=user_assign)
    for action, text in (("deactivate", "deactivate an account: no more sign-ins; on the "
                                        "server its sessions end at your next sync (admin)"),
                         ("activate", "let a deactivated account sign in again (admin)"),
                         ("unlock", "lift the server's lockout after failed sign-ins; it "
                                    "reaches the server at your next sync (admin)")):
        st = us.add_parser(action, help=text)
        st.add_argument("name")
        st.set_defaults(func=user_step, step=action)


def init(ctx: Any) -> int:
    from desktop_audit.services import users

    args: argparse.Namespace = ctx.args
    existed = ctx.db_path.exists()
    db = ctx.open_db(create=True)
    if users.count_users(db):
        state = "upgraded" if existed else "ready"
        print(f"database {db.path} {state} (schema {db.schema_version}); it already has users")
        return 0
    if not args.admin or not args.email:
        from desktop_audit.errors import ValidationError

        raise ValidationError("--admin", "a new database needs its first admin: "
                                         "init --admin NAME --email EMAIL")
    password = ctx.password(prompt=f"Password for {args.admin}: ", confirm=True)
    users.bootstrap_admin(db, username=args.admin, email=args.email, password=password,
                          full_name=args.full_name)
    print(f"database {db.path} created (schema {db.schema_version}); admin {args.admin}")
    return 0


def user_add(ctx: Any) -> int:
    from desktop_audit import services

    args = ctx.args
    actor = ctx.login()
    db = ctx.open_db()
    site_ids = [services.site_by_code(db, actor, code)["objectId"] for code in args.site]
    password = ctx.password("DESKTOP_AUDIT_NEW_PASSWORD", prompt=f"Password for {args.name}: ",
                            confirm=True)
    services.create_user(db, actor, username=args.name, email=args.email, role=args.role,
                         password=password, full_name=args.full_name, sites=site_ids)
    print(f"user {args.name} added ({args.role})")
    return 0


def user_list(ctx: Any) -> int:
    from desktop_audit.io.tabular import export_columns, rows_for_export
    from desktop_audit.schema import USER

    actor = ctx.login()
    db = ctx.open_db()
    cols = export_columns(USER)
    for row in rows_for_export(db, actor, USER):
        rec = dict(zip(cols, row, strict=True))
        print(f"{rec['username']:<16} {rec['role']:<12} {rec['email']:<28} "
              f"{'active' if rec['active'] == 'true' else 'inactive':<9} {rec['sites']}")
    return 0


def user_passwd(ctx: Any) -> int:
    from desktop_audit import services
    from desktop_audit.services import users

    actor = ctx.login()
    db = ctx.open_db()
    target = users.find_user(db, ctx.args.name)
    current = ctx.password() if target["objectId"] == actor.id else None
    password = ctx.password("DESKTOP_AUDIT_NEW_PASSWORD", prompt=f"New password for "
                            f"{target['username']}: ", confirm=True)
    services.set_password(db, actor, target["objectId"], password, current=current)
    print(f"password of {target['username']} changed")
    return 0


def user_assign(ctx: Any) -> int:
    from desktop_audit import services
    from desktop_audit.services import users

    actor = ctx.login()
    db = ctx.open_db()
    target = users.find_user(db, ctx.args.name)
    site_ids = [services.site_by_code(db, actor, code)["objectId"] for code in ctx.args.site]
    services.assign_sites(db, actor, target["objectId"], site_ids)
    print(f"{target['username']} assigned to {', '.join(ctx.args.site)}")
    return 0


STEP_DONE = {
    "deactivate": "{name} deactivated; on the server at your next sync",
    "activate": "{name} activated; on the server at your next sync",
    "unlock": "{name} unlocked; the server lifts its lockout at your next sync",
}


def user_step(ctx: Any) -> int:
    from desktop_audit import services
    from desktop_audit.services import users

    actor = ctx.login()
    db = ctx.open_db()
    target = users.find_user(db, ctx.args.name)
    step = {"deactivate": services.deactivate_user, "activate": services.activate_user,
            "unlock": services.unlock_user}[ctx.args.step]
    step(db, actor, target["objectId"])
    print(STEP_DONE[ctx.args.step].format(name=target["username"]))
    return 0
