"""Findings and corrective actions (ISO 14001 10.2): raise, edit, close, reopen."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit.records.base import (
    ADMIN,
    AUDITORS,
    MANAGERS,
    Lookup,
    Phrases,
    QuickFilter,
    RecordType,
    RowState,
    Rule,
)
from desktop_audit.records.declaration import Check, Lock, Transition
from desktop_audit.schema import FINDING, LOG_TYPE_CLASS

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor

NONCONFORMITIES = ("major_nc", "minor_nc")
SEVERITY_ORDER = {"major_nc": 0, "minor_nc": 1, "observation": 2, "opportunity": 3}
_OPEN = '"closed" = 0'


def source_type(log_type: str | None) -> RecordType | None:
    """The record type a finding of this ``logType`` is about (None for 'general')."""
    from desktop_audit.records import by_log_type

    return by_log_type(log_type)


class FindingType(RecordType):
    cdef = FINDING
    cli_name = "findings"
    list_noun = "findings"
    author_field = "raisedBy"
    permissions = {
        "create": (Rule(AUDITORS), Rule(frozenset({"field_staff"}), "observation")),
        "edit": (Rule(AUDITORS),),
        "close": (Rule(MANAGERS),),
        "reopen": (Rule(MANAGERS),),
        "delete": (Rule(ADMIN),),
    }
    phrases = Phrases("raise findings", "edit corrective actions",
                      other={"close": "close findings", "reopen": "reopen findings"})
    editable = ("site", "review", "logType", "sourceId", "severity", "description",
                "correctiveAction", "rootCause", "actionOwner", "dueDate", "verificationNote")
    quick_filters = (
        QuickFilter("open", "Open findings", _OPEN),
        QuickFilter("past_due", "Open and past due", f'{_OPEN} AND "dueDate" < {{today}}'),
        QuickFilter("open_major_nc", "Open major NCs", f"{_OPEN} AND \"severity\" = 'major_nc'"),
        QuickFilter("open_minor_nc", "Open minor NCs", f"{_OPEN} AND \"severity\" = 'minor_nc'"),
        QuickFilter("open_observation", "Open observations",
                    f"{_OPEN} AND \"severity\" = 'observation'"),
        QuickFilter("open_opportunity", "Open opportunities",
                    f"{_OPEN} AND \"severity\" = 'opportunity'"),
        QuickFilter("closed", "Closed", '"closed" = 1'),
    )
    hidden_columns = frozenset({"sourceId", "closedAt", "raisedBy", "review"})
    has_photos = True
    importable = True
    live = True
    workflows = ("close", "reopen")
    workflow_inputs = {"close": ("correctiveAction", "rootCause", "verificationNote")}
    dynamic_pointers = {"sourceId": "logType"}

    validations = (
        Check("source_on_same_site", "sourceId", "{reason}", ("sourceId", "logType", "site"),
              {"classes": dict(LOG_TYPE_CLASS)}),
        Check("review_on_same_site", "review", "the review is of another site",
              ("review", "site"), {"class": "AuditReview"}),
    )
    lock_rules = (
        Lock("edit", "closed", True, "a closed finding cannot be edited; reopen it first"),
    )
    gates = {
        "close": (
            Check("is_not_set", "closed", "the finding is already closed", ("closed",)),
            Check("required", "correctiveAction", "a corrective action is required",
                  ("correctiveAction",)),
            Check("required", "rootCause", "a root cause is required for a nonconformity",
                  ("rootCause",), {"when": {"severity": list(NONCONFORMITIES)}}),
            Check("required", "verificationNote", "a note on the verification of effectiveness "
                  "is required", ("verificationNote",)),
            Check("source_closing_state", "sourceId", "{reason}", ("sourceId", "logType"),
                  {"classes": dict(LOG_TYPE_CLASS)}),
            # ISO 14001 10.2: effectiveness is verified by someone other than who implemented
            # the action.
            Check("not_the_actor", "actionOwner", "the action owner cannot verify and close "
                  "their own corrective action", ("actionOwner",)),
        ),
        "reopen": (Check("is_set", "closed", "the finding is not closed", ("closed",)),),
    }
    transitions = (
        Transition("close", "closed", True, False, stamps=("closedBy", "closedAt"),
                   may_change=("correctiveAction", "rootCause", "verificationNote")),
        Transition("reopen", "closed", False, True, clears=("closedBy", "closedAt"),
                   may_change=("verificationNote",), unlocks=True),
    )

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        return {"raisedBy": actor.id, "closed": False}

    def prefill(self, actor: Actor, lookup: Lookup, *, site_ids: list[str]) -> dict[str, Any]:
        values = {**super().prefill(actor, lookup, site_ids=site_ids), "logType": "general"}
        if actor.role == "field_staff":
            values["severity"] = "observation"
        return values

    def workflow_actions(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        return ("reopen",) if record.get("closed") else ("close",)

    def due_date(self, record: Mapping[str, Any]) -> str | None:
        due = record.get("dueDate")
        return None if record.get("closed") or not due else str(due)

    def row_state(self, record: Mapping[str, Any], today: date) -> RowState:
        if record.get("closed"):
            return RowState("grey", "closed")
        if self.is_overdue(record, today):
            return RowState("red", "open and past its due date")
        if record.get("severity") == "major_nc":
            return RowState("amber", "open major nonconformity")
        return RowState(None, "open")

    def title(self, record: Mapping[str, Any]) -> str:
        text = str(record.get("description") or record.get("objectId") or "")
        return text if len(text) < 60 else text[:57] + "…"


FINDINGS = FindingType()
