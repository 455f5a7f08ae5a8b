"""Users: the first admin, adding users, assigning sites, passwords, deactivating."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from desktop_audit.domain import auth, permissions
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuthError, ValidationError
from desktop_audit.schema import SITE, USER
from desktop_audit.services import common, engine
from desktop_audit.store.db import new_object_id

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

_EDITABLE = ("username", "email", "fullName", "role", "active", "sites")


def _check_email(values: dict[str, Any], _old: dict[str, Any] | None) -> None:
    email = values.get("email") or ""
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        raise ValidationError("email", f"'{email}' is not an email address")


def _check_username(db: Database, values: dict[str, Any], object_id: str | None) -> None:
    name = values.get("username") or ""
    if not name.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise ValidationError("username", "may hold only letters, digits, '.', '_' and '-'")
    common.ensure_unique(db, USER, values, ("username",), object_id, nocase=True,
                         message=f"user {name!r} already exists")


def _checks(db: Database, object_id: str | None) -> common.Hook:
    def check(values: dict[str, Any], old: dict[str, Any] | None) -> None:
        _check_email(values, old)
        _check_username(db, values, object_id)
    return check


def count_users(db: Database) -> int:
    return db.execute('SELECT count(*) FROM "user" WHERE "deletedAt" IS NULL').fetchone()[0]


def bootstrap_admin(db: Database, *, username: str, email: str, password: str,
                    full_name: str | None = None) -> Actor:
    """Create the first admin of an empty database (refused once any user exists)."""
    if count_users(db):
        raise AuthError("this database already has users; log in as an admin to add more")
    oid = new_object_id()
    system = Actor(id=oid, username=username, role="admin")
    values = {"username": username, "email": email, "role": "admin", "fullName": full_name}
    with db.atomic():
        change = common.create(
            db, system, USER, values, action_permission="manage_users",
            check=_checks(db, None),
            object_id=oid, write=False)
        change.new["passwordVerifier"] = auth.hash_password(password)
        engine.apply(db, system, [change])
    return auth.actor_from_row(change.new)


def create_user(db: Database, actor: Actor, *, username: str, email: str, role: str,
                password: str | None, full_name: str | None = None,
                sites: Iterable[str] = (), verifier: str | None = None) -> str:
    """Admin only. The password is kept as an argon2id verifier, never in plain text."""
    permissions.require(actor, "manage_users")
    values = {"username": username, "email": email, "role": role, "fullName": full_name,
              "sites": list(sites)}
    with db.atomic():
        change = common.create(
            db, actor, USER, values, action_permission="manage_users",
            check=_checks(db, None),
            write=False)
        if verifier is None:
            if password is None:
                raise ValidationError("password", "is required")
            verifier = auth.hash_password(password)
        change.new["passwordVerifier"] = verifier
        engine.apply(db, actor, [change])
    return change.object_id


def update_user(db: Database, actor: Actor, user_id: str, **values: Any) -> None:
    """Admin only: change a user's details, role, active flag or sites."""
    old = engine.must_load(db, USER, user_id)
    if user_id == actor.id and (values.get("role", old["role"]) != old["role"]
                                or values.get("active") is False):
        raise ValidationError("role", "you cannot change your own role or deactivate yourself")
    common.update(
        db, actor, USER, user_id, values, action_permission="manage_users",
        editable=_EDITABLE, old=old,
        check=_checks(db, user_id))


def assign_sites(db: Database, actor: Actor, user_id: str, site_ids: Iterable[str]) -> None:
    """Admin only: replace the user's site assignments (a site's owner stays assigned)."""
    site_ids = list(site_ids)
    owned = [r[0] for r in db.execute(
        'SELECT "objectId" FROM audit_site WHERE "siteOwner" = ? AND "deletedAt" IS NULL',
        (user_id,)).fetchall()]
    missing = [s for s in owned if s not in site_ids]
    if missing:
        code = engine.must_load(db, SITE, missing[0])["siteCode"]
        raise ValidationError("sites", f"the owner of site {code} must stay assigned to it")
    common.update(db, actor, USER, user_id, {"sites": site_ids},
                  action_permission="manage_users", action="assign", editable=("sites",))


def set_password(db: Database, actor: Actor, user_id: str, password: str, *,
                 current: str | None = None) -> None:
    """A user changes their own password (giving the current one); an admin resets anyone's."""
    old = engine.must_load(db, USER, user_id)
    if user_id == actor.id and not actor.is_admin:
        if not auth.verify_password(old["passwordVerifier"], current or ""):
            raise AuthError("the current password is wrong")
    else:
        permissions.require(actor, "manage_users")
    new = dict(old)
    new["passwordVerifier"] = auth.hash_password(password)
    with db.atomic():
        engine.apply(db, actor, [engine.Change(USER, user_id, old, new, "update",
                                               hidden=("passwordVerifier",))])


def find_user(db: Database, username: str) -> dict[str, Any]:
    row = db.execute('SELECT "objectId" FROM "user" WHERE lower("username") = lower(?) '
                     'AND "deletedAt" IS NULL', (username.strip(),)).fetchone()
    if row is None:
        raise ValidationError("username", f"unknown user {username!r}")
    return engine.must_load(db, USER, row[0])


def refresh_actor(db: Database, actor: Actor) -> Actor:
    """The actor as the database now has them (role and sites may have changed)."""
    return auth.actor_from_row(engine.must_load(db, USER, actor.id))
