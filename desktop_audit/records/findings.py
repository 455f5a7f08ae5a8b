"""Findings and corrective actions (ISO 14001 10.2): raise, edit, close, reopen."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit.errors import ValidationError
from desktop_audit.records.base import (
    ADMIN,
    ALLOWED,
    AUDITORS,
    MANAGERS,
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
from desktop_audit.schema import FINDING

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

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        return {"raisedBy": actor.id, "closed": False}

    def prefill(self, actor: Actor, lookup: Lookup, *, site_ids: list[str]) -> dict[str, Any]:
        values = {**super().prefill(actor, lookup, site_ids=site_ids), "logType": "general"}
        if actor.role == "field_staff":
            values["severity"] = "observation"
        return values

    def workflow_actions(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        return ("reopen",) if record.get("closed") else ("close",)

    def locks(self, action: str, record: Mapping[str, Any], actor: Actor) -> Decision:
        if action == "edit" and record.get("closed"):
            return refused("a closed finding cannot be edited; reopen it first", "closed")
        return ALLOWED

    def validate(self, values: Mapping[str, Any], old: Mapping[str, Any] | None,
                 lookup: Lookup, action: str = "edit") -> list[ValidationError]:
        out = []
        log_type = values.get("logType")
        source = source_type(log_type)
        source_id = values.get("sourceId")
        if source is not None and not source_id:
            out.append(ValidationError("sourceId", "is required when the finding is about a "
                                                   f"{str(log_type).replace('_', ' ')} record"))
        elif source is not None and source_id:
            record = lookup.get(source.name, source_id)
            if record is None:
                out.append(ValidationError("sourceId", f"no {source.label.lower()} with id "
                                                       f"{source_id!r}"))
            elif source.site_of(record) != values.get("site"):
                out.append(ValidationError("sourceId", "the record is on another site"))
        review_id = values.get("review")
        if review_id:
            review = lookup.get("AuditReview", review_id)
            if review is not None and review.get("site") != values.get("site"):
                out.append(ValidationError("review", "the review is of another site"))
        return out

    def blockers(self, action: str, record: Mapping[str, Any], actor: Actor | None,
                 lookup: Lookup) -> list[Blocker]:
        if action == "reopen":
            return [] if record.get("closed") else [Blocker("closed", "the finding is not closed")]
        if action != "close":
            return []
        out = []
        if record.get("closed"):
            out.append(Blocker("closed", "the finding is already closed"))
        if not record.get("correctiveAction"):
            out.append(Blocker("correctiveAction", "a corrective action is required"))
        if record.get("severity") in NONCONFORMITIES and not record.get("rootCause"):
            out.append(Blocker("rootCause", "a root cause is required for a nonconformity"))
        if not record.get("verificationNote"):
            out.append(Blocker("verificationNote", "a note on the verification of effectiveness "
                                                   "is required"))
        source = source_type(record.get("logType"))
        if source is not None and record.get("sourceId"):
            about = lookup.get(source.name, record["sourceId"])
            if about is None:
                out.append(Blocker("sourceId", "the record the finding is about no longer "
                                               "exists"))
            else:
                out.extend(source.closing_state(about, lookup))
        # ISO 14001 10.2: effectiveness is verified by someone other than who implemented it.
        if actor is not None and record.get("actionOwner") == actor.id:
            out.append(Blocker("actionOwner", "the action owner cannot verify and close their "
                                              "own corrective action"))
        return out

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
