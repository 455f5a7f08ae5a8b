"""Deleting a record: admin only, a tombstone (synced as a delete), journaled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop_audit import records
from desktop_audit.services import writing
from desktop_audit.services.unit_of_work import UnitOfWork, unit

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def delete_record(db: Database, actor: Actor, class_name: str, object_id: str, *,
                  uow: UnitOfWork | None = None) -> None:
    with unit(db, actor, uow) as u:
        writing.delete(u, records.of(class_name), object_id)
