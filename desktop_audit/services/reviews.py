"""Audit reviews (ISO 14001 9.2): plan, edit, approve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit.records.reviews import REVIEWS
from desktop_audit.services import writing
from desktop_audit.services.unit_of_work import UnitOfWork, raise_problems, unit

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def plan_review(db: Database, actor: Actor, *, uow: UnitOfWork | None = None,
                **values: Any) -> str:
    with unit(db, actor, uow) as u:
        return writing.create(u, REVIEWS, values).object_id


def update_review(db: Database, actor: Actor, object_id: str, *, uow: UnitOfWork | None = None,
                  **values: Any) -> None:
    with unit(db, actor, uow) as u:
        writing.update(u, REVIEWS, object_id, values)


def approve_review(db: Database, actor: Actor, object_id: str, *,
                   summaryNote: str | None = None, uow: UnitOfWork | None = None) -> None:
    """A manager (or admin) approves a completed review they did not lead."""
    with unit(db, actor, uow) as u:
        old = u.visible(REVIEWS, object_id)
        REVIEWS.require(actor, "approve", old)
        raise_problems([b.error() for b in REVIEWS.blockers("approve", old, actor, u)],
                       REVIEWS.name)
        values = {"summaryNote": summaryNote} if summaryNote else {}
        writing.update(u, REVIEWS, object_id, values, action="approve", trail_action="approve",
                       forced={"reviewStatus": "approved"}, old=old)
