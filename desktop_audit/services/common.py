"""Helpers the per-class services share: visibility, uniqueness, the create/update skeleton."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.domain import permissions
from desktop_audit.errors import NotFound, ValidationError
from desktop_audit.schema import ClassDef
from desktop_audit.services import engine
from desktop_audit.store.db import new_object_id

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def visible_site_ids(db: Database, actor: Actor) -> list[str]:
    if actor.is_admin:
        return [r[0] for r in db.execute(
            'SELECT "objectId" FROM audit_site WHERE "deletedAt" IS NULL').fetchall()]
    return sorted(actor.site_ids)


def site_by_code(db: Database, actor: Actor, code: str) -> dict[str, Any]:
    """The site with this siteCode, if the actor may see it ('unknown site' otherwise)."""
    row = db.execute('SELECT "objectId" FROM audit_site WHERE lower("siteCode") = lower(?) '
                     'AND "deletedAt" IS NULL', (code.strip(),)).fetchone()
    if row is None or not actor.sees_site(row[0]):
        raise NotFound(f"unknown site {code!r}")
    from desktop_audit.schema import SITE

    return engine.must_load(db, SITE, row[0])


def get_visible(db: Database, actor: Actor, cdef: ClassDef, object_id: str) -> dict[str, Any]:
    record = engine.must_load(db, cdef, object_id)
    site = record.get(cdef.site_field) if cdef.site_field else None
    if cdef.site_field and not actor.sees_site(site):
        raise NotFound(f"no {cdef.label.lower()} with id {object_id!r}")
    return record


def ensure_unique(db: Database, cdef: ClassDef, values: Mapping[str, Any],
                  names: tuple[str, ...], object_id: str | None, *,
                  message: str | None = None, nocase: bool = False) -> None:
    if any(values.get(n) is None for n in names):
        return
    where = " AND ".join(
        (f'lower("{n}") = lower(?)' if nocase else f'"{n}" = ?') for n in names)
    params: list[Any] = [values[n] for n in names]
    sql = f'SELECT 1 FROM "{cdef.table}" WHERE {where} AND "deletedAt" IS NULL'
    if object_id:
        sql += ' AND "objectId" != ?'
        params.append(object_id)
    clash = db.execute(sql, params).fetchone() is not None
    b = engine.current_batch()
    if b is not None and not clash:
        key = tuple(str(values[n]).lower() if nocase else values[n] for n in names)
        clash = b.claim(cdef.table, names, key, object_id or f"new:{id(values)}") is not None
    if clash:
        shown = ", ".join(f"{n} {values[n]}" for n in names)
        raise ValidationError(names[-1], message or f"another {cdef.label.lower()} already has "
                                                    f"{shown}", class_name=cdef.name)


Hook = Callable[[dict[str, Any], dict[str, Any] | None], None]


def create(db: Database, actor: Actor, cdef: ClassDef, values: Mapping[str, Any], *,
           action_permission: str, fixed: Mapping[str, Any] | None = None,
           editable: tuple[str, ...] | None = None, check: Hook | None = None,
           refs: engine.Refs | None = None, object_id: str | None = None,
           write: bool = True) -> engine.Change:
    """Validate and (unless write=False) write a new record; returns the change."""
    new = engine.defaults(cdef)
    new.update(engine.coerce_values(cdef, values, editable=editable))
    for key, value in (fixed or {}).items():
        new.setdefault(key, None)
        if new.get(key) is None:
            new[key] = value
    site_id = new.get(cdef.site_field) if cdef.site_field else None
    if cdef.site_field and site_id is None:
        raise ValidationError(cdef.site_field, "is required", class_name=cdef.name)
    permissions.require(actor, action_permission, site_id=site_id, values=new,
                        class_name=cdef.name)
    refs = refs or engine.Refs(db)
    refs.check(cdef, new, actor)
    threshold = None
    if cdef.name == "AspectImpactLog" and site_id:
        site = refs.get("AuditSite", site_id)
        threshold = (site or {}).get("significanceThreshold") or 12
    engine.finish(cdef, new, threshold=threshold)
    if check:
        check(new, None)
    change = engine.Change(cdef, object_id or new_object_id(), None, new, "create", site_id,
                           hidden=tuple(f.name for f in cdef.fields if f.kind == "secret"))
    if write:
        engine.write(db, actor, [change])
    return change


def update(db: Database, actor: Actor, cdef: ClassDef, object_id: str,
           values: Mapping[str, Any], *, action_permission: str, action: str = "update",
           editable: tuple[str, ...] | None = None, forced: Mapping[str, Any] | None = None,
           check: Hook | None = None, refs: engine.Refs | None = None,
           old: dict[str, Any] | None = None, write: bool = True) -> engine.Change:
    """Validate and write an edit of an existing record."""
    old = old or get_visible(db, actor, cdef, object_id)
    given = engine.coerce_values(cdef, values, editable=editable)
    new = dict(old)
    new.update(given)
    new.update(forced or {})
    if not forced and all(new.get(k) == old.get(k) for k in given):
        return engine.Change(cdef, object_id, old, new, action)  # nothing to write
    site_id = new.get(cdef.site_field) if cdef.site_field else None
    permissions.require(actor, action_permission, site_id=old.get(cdef.site_field)
                        if cdef.site_field else None, record=old, values=given,
                        class_name=cdef.name)
    if cdef.site_field and site_id != old.get(cdef.site_field):
        permissions.require(actor, action_permission, site_id=site_id, values=given,
                            class_name=cdef.name)
    refs = refs or engine.Refs(db)
    changed = [k for k in new if new.get(k) != old.get(k)]
    refs.check(cdef, new, actor, changed=changed)
    threshold = None
    if cdef.name == "AspectImpactLog" and {"likelihood", "severity", "site",
                                           "obligationRefs"} & set(changed):
        site = refs.get("AuditSite", site_id) if site_id else None
        threshold = (site or {}).get("significanceThreshold") or 12
    engine.finish(cdef, new, threshold=threshold)
    if check:
        check(new, old)
    change = engine.Change(cdef, object_id, old, new, action, site_id,
                           hidden=tuple(f.name for f in cdef.fields if f.kind == "secret"))
    if write:
        engine.write(db, actor, [change])
    return change


def soft_delete(db: Database, actor: Actor, class_name: str, object_id: str) -> None:
    """Admin only: the record gets a tombstone (synced as a delete), journaled."""
    from desktop_audit.schema import class_def

    cdef = class_def(class_name)
    old = get_visible(db, actor, cdef, object_id)
    permissions.require(actor, "delete")
    new = dict(old)
    new["deletedAt"] = clock.now_iso()
    site_id = old.get(cdef.site_field) if cdef.site_field else None
    engine.write(db, actor, [engine.Change(cdef, object_id, old, new, "delete", site_id)])
