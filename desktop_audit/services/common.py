"""What several services and their callers ask: which sites a user sees, a site by its code,
a record the user may see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit import records
from desktop_audit.errors import NotFound
from desktop_audit.schema import SITE
from desktop_audit.store import rows

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def visible_site_ids(db: Database, actor: Actor) -> list[str]:
    if actor.is_admin:
        return rows.ids(db, SITE)
    return sorted(actor.site_ids)


def visible_sites(db: Database, actor: Actor) -> list[dict[str, Any]]:
    """The live sites the actor works on, by site code."""
    return [s for s in rows.select(db, SITE, order=["siteCode"]) if actor.sees_site(s["objectId"])]


def site_by_code(db: Database, actor: Actor, code: str) -> dict[str, Any]:
    """The site with this siteCode, if the actor may see it ('unknown site' otherwise)."""
    oid = rows.clash(db, SITE, {"siteCode": code.strip()}, ("siteCode",), None, nocase=True)
    if oid is None or not actor.sees_site(oid):
        raise NotFound(f"unknown site {code!r}")
    site = rows.load(db, SITE, oid)
    assert site is not None
    return site


def get_visible(db: Database, actor: Actor, class_name: str, object_id: str) -> dict[str, Any]:
    """A record the actor may see (NotFound otherwise: the same answer as a missing one)."""
    rt = records.of(class_name)
    record = rows.load(db, rt.cdef, object_id) if isinstance(object_id, str) else None
    if record is None or (rt.site_scoped and not actor.sees_site(rt.site_of(record))):
        raise NotFound(f"no {rt.label.lower()} with id {object_id!r}")
    return record
