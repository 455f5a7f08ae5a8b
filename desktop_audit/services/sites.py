"""Sites: create and edit; the owner is always also assigned to the site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit.errors import ValidationError
from desktop_audit.schema import SITE, USER
from desktop_audit.services import common, engine

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def _check(db: Database, object_id: str | None, refs: engine.Refs) -> common.Hook:
    def check(values: dict[str, Any], _old: dict[str, Any] | None) -> None:
        common.ensure_unique(db, SITE, values, ("siteCode",), object_id, nocase=True,
                             message=f"site code {values['siteCode']} is already used")
        owner = refs.get("User", values["siteOwner"]) or {}
        if owner.get("role") not in ("admin", "manager"):
            raise ValidationError("siteOwner", f"{owner.get('username')} is a "
                                               f"{owner.get('role')}; a site owner must be a "
                                               "manager or an admin")
    return check


def _assign_owner(db: Database, actor: Actor, site_id: str, owner_id: str) -> list[engine.Change]:
    owner = engine.must_load(db, USER, owner_id)
    if site_id in owner["sites"]:
        return []
    new = dict(owner)
    new["sites"] = [*owner["sites"], site_id]
    return [engine.Change(USER, owner_id, owner, new, "assign")]


def create_site(db: Database, actor: Actor, **values: Any) -> str:
    """Admin, or a manager creating a site they own."""
    refs = engine.Refs(db)
    if actor.role == "manager":
        values.setdefault("siteOwner", actor.id)
    change = common.create(db, actor, SITE, values, action_permission="site_create",
                           check=_check(db, None, refs), refs=refs, write=False)
    engine.write(db, actor, [change, *_assign_owner(db, actor, change.object_id,
                                                     change.new["siteOwner"])])
    return change.object_id


def update_site(db: Database, actor: Actor, site_id: str, **values: Any) -> None:
    refs = engine.Refs(db)
    change = common.update(db, actor, SITE, site_id, values, action_permission="site_edit",
                           check=_check(db, site_id, refs), refs=refs, write=False)
    engine.write(db, actor, [change, *_assign_owner(db, actor, site_id, change.new["siteOwner"])])
