"""Audit reviews (ISO 14001 9.2): planned, in progress, completed, approved."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.errors import ValidationError
from desktop_audit.records.base import (
    ADMIN,
    ALLOWED,
    MANAGERS,
    OFFICE,
    Blocker,
    Decision,
    Lookup,
    Phrases,
    QuickFilter,
    RecordType,
    RowState,
    Rule,
    refused,
)
from desktop_audit.records.text import enum_text
from desktop_audit.schema import REVIEW

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor


class ReviewType(RecordType):
    cdef = REVIEW
    cli_name = "reviews"
    list_noun = "audit reviews"
    permissions = {
        "create": (Rule(OFFICE), Rule(frozenset({"auditor"}), "lead")),
        "edit": (Rule(OFFICE), Rule(frozenset({"auditor"}), "lead")),
        "approve": (Rule(MANAGERS),),
        "delete": (Rule(ADMIN),),
    }
    phrases = Phrases("plan or edit audit reviews", "plan or edit audit reviews",
                      other={"approve": "approve audit reviews"})
    auto_filled = frozenset({"reviewStatus", "leadAuditor"})
    quick_filters = (
        QuickFilter("open", "Planned or in progress",
                    "\"reviewStatus\" IN ('planned', 'in_progress')"),
        QuickFilter("to_approve", "Completed, awaiting approval", "\"reviewStatus\" = 'completed'"),
        QuickFilter("approved", "Approved", "\"reviewStatus\" = 'approved'"),
    )
    default_sort = ("auditDate", True)
    has_photos = True
    importable = True
    live = True
    log_type = "review"
    workflows = ("approve",)
    exports_pack = True
    choice_columns = ("auditDate", "reviewStatus")

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        out: dict[str, Any] = {"reviewStatus": "planned"}
        if actor.role == "auditor":
            out["leadAuditor"] = actor.id
        return out

    def prefill(self, actor: Actor, lookup: Lookup, *, site_ids: list[str]) -> dict[str, Any]:
        values = super().prefill(actor, lookup, site_ids=site_ids)
        site = lookup.get("AuditSite", values.get("site")) if values.get("site") else None
        values["auditDate"] = clock.today((site or {}).get("timeZone")).isoformat()
        return values

    def locks(self, action: str, record: Mapping[str, Any], actor: Actor) -> Decision:
        if action == "edit" and record.get("reviewStatus") == "approved":
            return refused("an approved review can no longer be edited", "reviewStatus")
        return ALLOWED

    def validate(self, values: Mapping[str, Any], old: Mapping[str, Any] | None,
                 lookup: Lookup, action: str = "edit") -> list[ValidationError]:
        if action != "approve" and values.get("reviewStatus") == "approved" and \
                (old or {}).get("reviewStatus") != "approved":
            return [ValidationError("reviewStatus", "a review is approved by a manager with "
                                                    "'approve', not by editing its status")]
        return []

    def blockers(self, action: str, record: Mapping[str, Any], actor: Actor | None,
                 lookup: Lookup) -> list[Blocker]:
        out = []
        if action == "approve":
            status = record.get("reviewStatus")
            if status != "completed":
                out.append(Blocker("reviewStatus", f"the review is {enum_text(status).lower()}; "
                                                   "only a completed review can be approved"))
            if actor is not None and record.get("leadAuditor") == actor.id:
                out.append(Blocker("leadAuditor", "the lead auditor cannot approve their own "
                                                  "review"))
        return out

    def row_state(self, record: Mapping[str, Any], today: date) -> RowState:
        status = record.get("reviewStatus")
        if status == "approved":
            return RowState("green", "approved")
        if status == "completed":
            return RowState("amber", "completed, awaiting approval")
        return RowState()

    def title(self, record: Mapping[str, Any]) -> str:
        return str(record.get("auditDate") or record.get("objectId") or "")

    def choice_label(self, record: Mapping[str, Any]) -> str:
        return f"Review {record.get('auditDate')} ({enum_text(record.get('reviewStatus'))})"


REVIEWS = ReviewType()
