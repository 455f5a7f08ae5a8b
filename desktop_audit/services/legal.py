"""The legal register (ISO 14001 6.1.3, 9.1.2): obligations and evaluations of compliance."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.domain import rules
from desktop_audit.errors import ValidationError
from desktop_audit.schema import LEGAL
from desktop_audit.services import common

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def _unique_reference(db: Database, object_id: str | None) -> common.Hook:
    def check(values: dict[str, Any], _old: dict[str, Any] | None) -> None:
        common.ensure_unique(db, LEGAL, values, ("site", "referenceCode"), object_id,
                             nocase=True, message=f"reference {values['referenceCode']} is "
                                                  "already in this site's register")
    return check


def add_legal_entry(db: Database, actor: Actor, **values: Any) -> str:
    values.setdefault("complianceStatus", "not_assessed")
    return common.create(db, actor, LEGAL, values, action_permission="legal_write",
                         check=_unique_reference(db, None)).object_id


def update_legal_entry(db: Database, actor: Actor, object_id: str, **values: Any) -> None:
    common.update(db, actor, LEGAL, object_id, values, action_permission="legal_write",
                  check=_unique_reference(db, object_id))


def record_legal_evaluation(db: Database, actor: Actor, object_id: str, *,
                            complianceStatus: str, evaluatedOn: Any = None,
                            evidenceNote: str | None = None) -> str:
    """Record an evaluation of compliance: sets lastEvaluatedAt and moves dueDate on by
    reviewFrequency from the evaluation date. Returns the new due date."""
    field = LEGAL.get("lastEvaluatedAt")
    on = rules.coerce(field, evaluatedOn) if evaluatedOn not in (None, "") else None
    on_date = date.fromisoformat(str(on)) if on else clock.today()
    if complianceStatus in (None, "", "not_assessed"):
        raise ValidationError("complianceStatus", "an evaluation must say compliant, "
                                                  "partially_compliant or non_compliant")
    old = common.get_visible(db, actor, LEGAL, object_id)
    due = rules.next_due(on_date, old["reviewFrequency"])
    values: dict[str, Any] = {"complianceStatus": complianceStatus,
                              "lastEvaluatedAt": on_date.isoformat()}
    if evidenceNote is not None:
        values["evidenceNote"] = evidenceNote
    common.update(db, actor, LEGAL, object_id, values, action_permission="legal_write",
                  action="evaluate", forced={"dueDate": due.isoformat()}, old=old)
    return due.isoformat()


def is_overdue(entry: dict[str, Any], today: date | None = None) -> bool:
    due = entry.get("dueDate")
    return isinstance(due, str) and date.fromisoformat(due) < (today or clock.today())
