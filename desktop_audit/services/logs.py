"""Aspect & impact entries and spill kit inspections: anyone on the site adds; editing is
for managers, coordinators and admins, or the person who logged the entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit.records.aspects import ASPECTS
from desktop_audit.records.spill_kits import SPILL_KITS
from desktop_audit.schema import SPILL_KIT
from desktop_audit.services import writing
from desktop_audit.services.unit_of_work import UnitOfWork, unit
from desktop_audit.store import rows

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def add_aspect(db: Database, actor: Actor, *, uow: UnitOfWork | None = None,
               **values: Any) -> str:
    with unit(db, actor, uow) as u:
        return writing.create(u, ASPECTS, values).object_id


def update_aspect(db: Database, actor: Actor, object_id: str, *, uow: UnitOfWork | None = None,
                  **values: Any) -> None:
    with unit(db, actor, uow) as u:
        writing.update(u, ASPECTS, object_id, values)


def add_spill_kit_check(db: Database, actor: Actor, *, uow: UnitOfWork | None = None,
                        **values: Any) -> str:
    with unit(db, actor, uow) as u:
        return writing.create(u, SPILL_KITS, values).object_id


def update_spill_kit_check(db: Database, actor: Actor, object_id: str, *,
                           uow: UnitOfWork | None = None, **values: Any) -> None:
    with unit(db, actor, uow) as u:
        writing.update(u, SPILL_KITS, object_id, values)


def latest_kit_check(db: Database, site_id: str, kit_tag: str) -> dict[str, Any] | None:
    return rows.first(db, SPILL_KIT, {"site": site_id, "kitTag": kit_tag},
                      order=["-lastCheckedAt"])


def known_kits(db: Database, site_id: str) -> list[tuple[str, str | None]]:
    """(kitTag, kitLocation of its latest check) of the kits checked on a site."""
    out: dict[str, str | None] = {}
    for rec in rows.select(db, SPILL_KIT, {"site": site_id}, order=["-lastCheckedAt"]):
        out.setdefault(str(rec["kitTag"]), rec.get("kitLocation"))
    return sorted(out.items())
