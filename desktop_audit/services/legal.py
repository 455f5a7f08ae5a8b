"""The legal register (ISO 14001 6.1.3, 9.1.2): obligations and evaluations of compliance."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.domain import values as coercion
from desktop_audit.errors import ValidationError
from desktop_audit.records.legal import EVALUATED, LEGAL_ENTRIES, next_due
from desktop_audit.schema import LEGAL
from desktop_audit.services import writing
from desktop_audit.services.unit_of_work import UnitOfWork, unit

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database


def add_legal_entry(db: Database, actor: Actor, *, uow: UnitOfWork | None = None,
                    **values: Any) -> str:
    with unit(db, actor, uow) as u:
        return writing.create(u, LEGAL_ENTRIES, values).object_id


def update_legal_entry(db: Database, actor: Actor, object_id: str, *,
                       uow: UnitOfWork | None = None, **values: Any) -> None:
    with unit(db, actor, uow) as u:
        writing.update(u, LEGAL_ENTRIES, object_id, values)


def record_legal_evaluation(db: Database, actor: Actor, object_id: str, *,
                            complianceStatus: str, evaluatedOn: Any = None,
                            evidenceNote: str | None = None,
                            uow: UnitOfWork | None = None) -> str:
    """Record an evaluation of compliance: sets lastEvaluatedAt and moves dueDate on by
    reviewFrequency from the evaluation date (today at the site when not given).  Returns
    the new due date."""
    with unit(db, actor, uow) as u:
        old = u.visible(LEGAL_ENTRIES, object_id)
        LEGAL_ENTRIES.require(actor, "evaluate", old)
        if complianceStatus not in EVALUATED:
            raise ValidationError("complianceStatus", "an evaluation must say compliant, "
                                                      "partially_compliant or non_compliant")
        site = u.get("AuditSite", old.get("site"))
        if evaluatedOn in (None, ""):
            on_date = clock.today((site or {}).get("timeZone"))
        else:
            on_date = date.fromisoformat(coercion.coerce(LEGAL.get("lastEvaluatedAt"),
                                                         evaluatedOn))
        due = next_due(on_date, old["reviewFrequency"])
        values: dict[str, Any] = {"complianceStatus": complianceStatus,
                                  "lastEvaluatedAt": on_date.isoformat()}
        if evidenceNote is not None:
            values["evidenceNote"] = evidenceNote
        writing.update(u, LEGAL_ENTRIES, object_id, values, action="evaluate",
                       trail_action="evaluate", forced={"dueDate": due.isoformat()}, old=old)
        return due.isoformat()
