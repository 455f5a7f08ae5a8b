"""Audit reviews (ISO 14001 9.2): planned, in progress, completed, approved."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.records.base import (
    ADMIN,
    MANAGERS,
    OFFICE,
    Lookup,
    Phrases,
    QuickFilter,
    RecordType,
    RowState,
    Rule,
)
from desktop_audit.records.declaration import Check, Lock, Transition
from desktop_audit.records.text import enum_text
from desktop_audit.schema import REVIEW

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor

DONE = ("completed", "approved")  # statuses a review reaches once its audit has been held


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
    hidden_columns = frozenset({"approvedBy", "approvedAt"})
    has_photos = True
    importable = True
    live = True
    log_type = "review"
    workflows = ("approve",)
    exports_pack = True
    choice_columns = ("auditDate", "reviewStatus")

    validations = (
        Check("approved_only_by_approve", "reviewStatus", "a review is approved by a manager "
              "with 'approve', not by editing its status", ("reviewStatus",),
              {"value": "approved", "action": "approve"}),
        Check("audit_date_reached", "reviewStatus", "a review cannot be {status_words} before "
              "its audit date ({value}) at the site", ("auditDate", "reviewStatus", "site"),
              {"statuses": list(DONE)}),
    )
    lock_rules = (
        Lock("edit", "reviewStatus", "approved", "an approved review can no longer be edited"),
    )
    gates = {
        "approve": (
            Check("field_in", "reviewStatus", "the review is {value_words}; only a completed "
                  "review can be approved", ("reviewStatus",), {"values": ["completed"]}),
            Check("not_the_actor", "leadAuditor", "the lead auditor cannot approve their own "
                  "review", ("leadAuditor",)),
            Check("audit_date_reached", "auditDate", "the audit date {value} has not yet come "
                  "at the site", ("auditDate", "reviewStatus", "site"),
                  {"statuses": ["completed"], "always": True}),
        ),
    }
    transitions = (
        Transition("approve", "reviewStatus", "approved", "completed", stamps=("approvedBy", "approvedAt"),
                   may_change=("summaryNote",)),
    )

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
