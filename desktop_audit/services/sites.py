"""Sites: create and edit; the owner is always also assigned to the site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit.records.sites import SITES
from desktop_audit.schema import USER
from desktop_audit.services import writing
from desktop_audit.services.unit_of_work import Change, UnitOfWork, unit

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def _assign_owner(u: UnitOfWork, site_id: str, owner_id: str) -> None:
    owner = u.fresh("User", owner_id)
    if owner is None or site_id in (owner.get("sites") or []):
        return
    new = dict(owner)
    new["sites"] = [*(owner.get("sites") or []), site_id]
    u.add(Change(USER, owner_id, owner, new, "assign"))


def create_site(db: Database, actor: Actor, *, uow: UnitOfWork | None = None,
                **values: Any) -> str:
    """Admin, or a manager creating a site they own."""
    with unit(db, actor, uow) as u:
        change = writing.create(u, SITES, values)
        _assign_owner(u, change.object_id, change.new["siteOwner"])
        return change.object_id


def update_site(db: Database, actor: Actor, site_id: str, *, uow: UnitOfWork | None = None,
                **values: Any) -> None:
    with unit(db, actor, uow) as u:
        change = writing.update(u, SITES, site_id, values)
        _assign_owner(u, site_id, change.new["siteOwner"])
