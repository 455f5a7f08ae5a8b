"""Aspect & impact entries and spill kit inspections: anyone on the site adds; editing is
for managers, coordinators and admins, or the person who logged the entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.errors import ValidationError
from desktop_audit.schema import ASPECT, SPILL_KIT, ClassDef
from desktop_audit.services import common, engine

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

OWNER = {"AspectImpactLog": "loggedBy", "SpillKitLog": "checkedBy"}


def _own_entry(actor: Actor, cdef: ClassDef, values: dict[str, Any]) -> dict[str, Any]:
    """Auditors and field staff log entries as themselves."""
    owner = OWNER[cdef.name]
    if actor.role in ("auditor", "field_staff") and values.get(owner) not in (None, actor.id):
        raise ValidationError(owner, f"a {actor.role.replace('_', ' ')} logs entries as "
                                     "themselves")
    return {owner: actor.id}


def _unique_kit_check(db: Database, object_id: str | None) -> common.Hook:
    def check(values: dict[str, Any], _old: dict[str, Any] | None) -> None:
        common.ensure_unique(
            db, SPILL_KIT, values, ("site", "kitTag", "lastCheckedAt"), object_id,
            message=f"kit {values['kitTag']} already has an inspection at "
                    f"{(values['lastCheckedAt'] or '')[:16].replace('T', ' ')} on this site")
    return check


def add_aspect(db: Database, actor: Actor, **values: Any) -> str:
    fixed = {**_own_entry(actor, ASPECT, values), "loggedAt": clock.now_iso()}
    return common.create(db, actor, ASPECT, values, action_permission="log_add",
                         fixed=fixed).object_id


def update_aspect(db: Database, actor: Actor, object_id: str, **values: Any) -> None:
    if "loggedBy" in values:
        _own_entry(actor, ASPECT, values)
    common.update(db, actor, ASPECT, object_id, values, action_permission="log_edit")


def add_spill_kit_check(db: Database, actor: Actor, **values: Any) -> str:
    fixed = {**_own_entry(actor, SPILL_KIT, values), "lastCheckedAt": clock.now_iso()}
    return common.create(db, actor, SPILL_KIT, values, action_permission="log_add",
                         fixed=fixed, check=_unique_kit_check(db, None)).object_id


def update_spill_kit_check(db: Database, actor: Actor, object_id: str, **values: Any) -> None:
    if "checkedBy" in values:
        _own_entry(actor, SPILL_KIT, values)
    common.update(db, actor, SPILL_KIT, object_id, values, action_permission="log_edit",
                  check=_unique_kit_check(db, object_id))


def latest_kit_check(db: Database, site_id: str, kit_tag: str) -> dict[str, Any] | None:
    row = db.execute(
        'SELECT "objectId" FROM spill_kit_log WHERE "site" = ? AND "kitTag" = ? '
        'AND "deletedAt" IS NULL ORDER BY "lastCheckedAt" DESC LIMIT 1',
        (site_id, kit_tag)).fetchone()
    return engine.load(db, SPILL_KIT, row[0]) if row else None
