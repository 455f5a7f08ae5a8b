"""Audit reviews (ISO 14001 9.2): plan, edit, approve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit.domain import permissions
from desktop_audit.errors import ValidationError
from desktop_audit.schema import REVIEW
from desktop_audit.services import common

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def _not_approved(values: dict[str, Any], old: dict[str, Any] | None) -> None:
    if values.get("reviewStatus") == "approved" and (old or {}).get("reviewStatus") != "approved":
        raise ValidationError("reviewStatus", "a review is approved by a manager with "
                                              "'approve', not by editing its status")
    if old and old.get("reviewStatus") == "approved":
        raise ValidationError("reviewStatus", "an approved review can no longer be edited")


def plan_review(db: Database, actor: Actor, **values: Any) -> str:
    values.setdefault("reviewStatus", "planned")
    if actor.role == "auditor":
        values.setdefault("leadAuditor", actor.id)
    return common.create(db, actor, REVIEW, values, action_permission="review_write",
                         check=_not_approved).object_id


def update_review(db: Database, actor: Actor, object_id: str, **values: Any) -> None:
    common.update(db, actor, REVIEW, object_id, values, action_permission="review_write",
                  check=_not_approved)


def approve_review(db: Database, actor: Actor, object_id: str, *,
                   summaryNote: str | None = None) -> None:
    """A manager (or admin) approves a completed review they did not lead."""
    old = common.get_visible(db, actor, REVIEW, object_id)
    permissions.require(actor, "review_approve", site_id=old["site"])
    if old["reviewStatus"] != "completed":
        raise ValidationError("reviewStatus", f"the review is {old['reviewStatus']}; only a "
                                              "completed review can be approved")
    if old["leadAuditor"] == actor.id:
        raise ValidationError("leadAuditor", "the lead auditor cannot approve their own review")
    values = {"summaryNote": summaryNote} if summaryNote else {}
    common.update(db, actor, REVIEW, object_id, values, action_permission="review_approve",
                  action="approve", forced={"reviewStatus": "approved"}, old=old)
