"""Users: the first admin, adding users, assigning sites, passwords, deactivating,
activating and unlocking accounts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from desktop_audit.domain import auth, keys, trail
from desktop_audit.domain.actor import Actor
from desktop_audit.errors import AuthError, ValidationError
from desktop_audit.records.users import USERS
from desktop_audit.schema import SITE, USER
from desktop_audit.services import writing
from desktop_audit.services.unit_of_work import Change, UnitOfWork, unit
from desktop_audit.store import rows, writes
from desktop_audit.store.db import new_object_id

if TYPE_CHECKING:
    from desktop_audit.store.db import Database


def count_users(db: Database) -> int:
    return rows.count(db, USER)


def bootstrap_admin(db: Database, *, username: str, email: str, password: str,
                    full_name: str | None = None) -> Actor:
    """Create the first admin of an empty database (refused once any user exists)."""
    if count_users(db):
        raise AuthError("this database already has users; log in as an admin to add more")
    oid = new_object_id()
    values = {"username": username, "email": email, "role": "admin", "fullName": full_name}
    verifier = auth.hash_password(password)
    with db.atomic():
        # Their first sign-in here: their trail key is made now and signs their own creation.
        signer = keys.sign_in(db, oid, password)
        system = Actor(id=oid, username=username, role="admin", signer=signer)
        with unit(db, system) as u:
            change = writing.create(u, USERS, values, object_id=oid)
            change.new["passwordVerifier"] = verifier
    return auth.actor_from_row(change.new, signer)


def create_user(db: Database, actor: Actor, *, username: str, email: str, role: str,
                password: str | None, full_name: str | None = None,
                sites: Iterable[str] = (), verifier: str | None = None,
                uow: UnitOfWork | None = None) -> str:
    """Admin only. The password is kept as an argon2id verifier, never in plain text."""
    USERS.require(actor, "create")
    values = {"username": username, "email": email, "role": role, "fullName": full_name,
              "sites": list(sites)}
    with unit(db, actor, uow) as u:
        change = writing.create(u, USERS, values)
        if verifier is None:
            if password is None:
                raise ValidationError("password", "is required")
            verifier = auth.hash_password(password)
        change.new["passwordVerifier"] = verifier
        return change.object_id


def update_user(db: Database, actor: Actor, user_id: str, *, uow: UnitOfWork | None = None,
                **values: Any) -> None:
    """Admin only: change a user's details, role, active flag or sites.  A change of the
    active flag is a deactivation or an activation (journaled as such)."""
    with unit(db, actor, uow) as u:
        old = u.visible(USERS, user_id)
        if user_id == actor.id and (values.get("role", old["role"]) != old["role"]
                                    or values.get("active") is False):
            raise ValidationError("role", "you cannot change your own role or deactivate "
                                          "yourself")
        active = values.pop("active", None)
        if values:
            writing.update(u, USERS, user_id, values, old=old)
        if active is not None and bool(active) != bool(old.get("active", True)):
            (activate_user if active else deactivate_user)(db, actor, user_id, uow=u)


def deactivate_user(db: Database, actor: Actor, user_id: str, *,
                    uow: UnitOfWork | None = None) -> None:
    """Admin only: the account can no longer sign in, here or (after the next sync) on the
    server, where its sessions end; its records and its place in them stay."""
    _set_active(db, actor, user_id, False, "deactivate", uow)


def activate_user(db: Database, actor: Actor, user_id: str, *,
                  uow: UnitOfWork | None = None) -> None:
    """Admin only: a deactivated account may sign in again."""
    _set_active(db, actor, user_id, True, "activate", uow)


def _set_active(db: Database, actor: Actor, user_id: str, active: bool, action: str,
                uow: UnitOfWork | None) -> None:
    with unit(db, actor, uow) as u:
        old = u.visible(USERS, user_id)
        USERS.require(actor, action, old)
        writing.update(u, USERS, user_id, {"active": active}, action=action,
                       trail_action=action, editable=("active",), old=old)


# Users unlocked here whose unlock has not yet reached the server (objectIds, JSON).
PENDING_UNLOCKS = "pending_unlocks"


def unlock_user(db: Database, actor: Actor, user_id: str, *,
                uow: UnitOfWork | None = None) -> None:
    """Admin only: lift the server's lockout of the account (failed sign-ins); journaled
    here now, it reaches the server at this laptop's next sync by an administrator."""
    with unit(db, actor, uow) as u:
        old = u.visible(USERS, user_id)
        USERS.require(actor, "unlock", old)
        u.journal(trail.Entry("unlock", USER.name, user_id, None,
                              {"unlock": [None, old["username"]]}))
        db.set_meta(PENDING_UNLOCKS, json.dumps(sorted({*pending_unlocks(db), user_id})))


def pending_unlocks(db: Database) -> list[str]:
    """The users unlocked on this laptop since its last sync by an administrator."""
    return list(json.loads(db.meta(PENDING_UNLOCKS) or "[]"))


def unlocks_delivered(db: Database, user_ids: Iterable[str]) -> None:
    done = set(user_ids)
    with db.atomic():
        db.set_meta(PENDING_UNLOCKS, json.dumps(sorted(set(pending_unlocks(db)) - done)))


def assign_sites(db: Database, actor: Actor, user_id: str, site_ids: Iterable[str], *,
                 uow: UnitOfWork | None = None) -> None:
    """Admin only: replace the user's site assignments (a site's owner stays assigned)."""
    site_ids = list(site_ids)
    with unit(db, actor, uow) as u:
        USERS.require(actor, "assign")
        owned = rows.ids(db, SITE, {"siteOwner": user_id})
        missing = [s for s in owned if s not in site_ids]
        if missing:
            code = (u.get("AuditSite", missing[0]) or {}).get("siteCode")
            raise ValidationError("sites", f"the owner of site {code} must stay assigned to it")
        writing.update(u, USERS, user_id, {"sites": site_ids}, action="assign",
                       trail_action="assign", editable=("sites",))


def set_password(db: Database, actor: Actor, user_id: str, password: str, *,
                 current: str | None = None) -> None:
    """A user changes their own password (giving the current one); an admin resets anyone's."""
    with unit(db, actor) as u:
        old = u.fresh("User", user_id)
        if old is None:
            raise ValidationError("username", f"unknown user {user_id!r}")
        if user_id == actor.id and not actor.is_admin:
            if not auth.verify_password(old["passwordVerifier"], current or ""):
                raise AuthError("the current password is wrong")
        else:
            USERS.require(actor, "edit", old)
        new = dict(old)
        new["passwordVerifier"] = auth.hash_password(password)
        u.add(Change(USER, user_id, old, new, "update", hidden=("passwordVerifier",)))
        if user_id == actor.id and actor.signer is not None:
            keys.reseal(db, actor.signer, password)  # their key opens with the new password
        else:
            keys.forget(db, user_id)  # they sign in with a password they did not set: new key


def remember_password(db: Database, user_id: str, password: str) -> keys.Signer:
    """After the server accepted a password: keep its argon2id verifier here, so the user
    can sign in on this laptop offline, and unseal (or make) their trail key here.  Local
    only: not a change to push or journal (the online login itself is journaled by the
    caller)."""
    verifier = auth.hash_password_unchecked(password)
    with db.atomic():
        writes.set_local(db, USER, user_id, {"passwordVerifier": verifier})
        return keys.sign_in(db, user_id, password)


def find_user(db: Database, username: str) -> dict[str, Any]:
    oid = rows.clash(db, USER, {"username": username.strip()}, ("username",), None, nocase=True)
    user = rows.load(db, USER, oid) if oid else None
    if user is None:
        raise ValidationError("username", f"unknown user {username!r}")
    return user


def refresh_actor(db: Database, actor: Actor) -> Actor:
    """The actor as the database now has them (role and sites may have changed)."""
    user = rows.load(db, USER, actor.id)
    if user is None:
        raise AuthError("your account is not on this laptop")
    return auth.actor_from_row(user, actor.signer)
