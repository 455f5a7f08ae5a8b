"""Findings and corrective actions (ISO 14001 10.2): raise, edit, close, reopen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit.errors import ValidationError
from desktop_audit.records.base import Blocker
from desktop_audit.records.findings import FINDINGS
from desktop_audit.services import writing
from desktop_audit.services.unit_of_work import UnitOfWork, raise_problems, unit

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

_CLOSING_FIELDS = FINDINGS.workflow_inputs["close"]


def raise_finding(db: Database, actor: Actor, *, uow: UnitOfWork | None = None,
                  **values: Any) -> str:
    with unit(db, actor, uow) as u:
        return writing.create(u, FINDINGS, values).object_id


def update_finding(db: Database, actor: Actor, object_id: str, *,
                   uow: UnitOfWork | None = None, **values: Any) -> None:
    with unit(db, actor, uow) as u:
        writing.update(u, FINDINGS, object_id, values)


def closing_blockers(db: Database, actor: Actor | None, finding: dict[str, Any]
                     ) -> list[Blocker]:
    """Every rule that stops this finding (as it would be saved) from being closed by
    *actor*; what the Close dialog lists and what close_finding enforces."""
    from desktop_audit.services.unit_of_work import UnitOfWork as Unit

    return FINDINGS.blockers("close", finding, actor, Unit(db, actor))


def close_finding(db: Database, actor: Actor, object_id: str, *,
                  verificationNote: str | None = None, rootCause: str | None = None,
                  correctiveAction: str | None = None, uow: UnitOfWork | None = None) -> None:
    """A manager or admin closes a finding once every closing rule holds."""
    with unit(db, actor, uow) as u:
        old = u.visible(FINDINGS, object_id)
        FINDINGS.require(actor, "close", old)
        given = {k: v for k, v in (("verificationNote", verificationNote),
                                   ("rootCause", rootCause),
                                   ("correctiveAction", correctiveAction)) if v is not None}
        candidate = {**old, **writing.coerce_values(FINDINGS, given, editable=_CLOSING_FIELDS)}
        raise_problems([b.error() for b in FINDINGS.blockers("close", candidate, actor, u)],
                       FINDINGS.name)
        writing.update(u, FINDINGS, object_id, given, action="close", trail_action="close",
                       editable=_CLOSING_FIELDS, old=old,
                       forced={"closed": True})  # closedBy / closedAt: the journaled event's


def reopen_finding(db: Database, actor: Actor, object_id: str, *, reason: str,
                   uow: UnitOfWork | None = None) -> None:
    """A manager or admin reopens a closed finding (the verification did not hold)."""
    with unit(db, actor, uow) as u:
        old = u.visible(FINDINGS, object_id)
        FINDINGS.require(actor, "reopen", old)
        raise_problems([b.error() for b in FINDINGS.blockers("reopen", old, actor, u)],
                       FINDINGS.name)
        if not (reason or "").strip():
            raise ValidationError("verificationNote", "say why the finding is reopened")
        note = f"{old.get('verificationNote') or ''}\nReopened: {reason.strip()}".strip()
        writing.update(u, FINDINGS, object_id, {}, action="reopen", trail_action="reopen",
                       old=old, forced={"closed": False, "closedAt": None, "closedBy": None,
                                        "verificationNote": note})
