"""The legal register (ISO 14001 6.1.3, 9.1.2): compliance obligations and evaluations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.records.base import (
    ADMIN,
    OFFICE,
    Lookup,
    Phrases,
    QuickFilter,
    RecordType,
    RowState,
    Rule,
    UniqueKey,
)
from desktop_audit.records.declaration import Check
from desktop_audit.schema import LEGAL

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor

MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12, "biennial": 24}
EVALUATED = ("compliant", "partially_compliant", "non_compliant")


def next_due(due: date, frequency: str) -> date:
    """Move a date on by a review frequency (month ends clamp: 31 Jan + 1 month = 28/29 Feb)."""
    total = due.month - 1 + MONTHS[frequency]
    year, month = due.year + total // 12, total % 12 + 1
    for day in (due.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class LegalType(RecordType):
    cdef = LEGAL
    cli_name = "legal"
    list_noun = "legal register entries"
    permissions = {
        "create": (Rule(OFFICE),),
        "edit": (Rule(OFFICE),),
        "evaluate": (Rule(OFFICE),),
        "delete": (Rule(ADMIN),),
    }
    phrases = Phrases("change the legal register", "change the legal register",
                      other={"evaluate": "change the legal register"})
    auto_filled = frozenset({"complianceStatus"})
    unique_keys = (UniqueKey(("site", "referenceCode"),
                             "reference {referenceCode} is already in this site's register",
                             nocase=True),)
    quick_filters = (
        QuickFilter("overdue", "Overdue for evaluation", '"dueDate" < {today}'),
        QuickFilter("non_compliant", "Non-compliant", "\"complianceStatus\" = 'non_compliant'"),
        QuickFilter("attention", "Overdue or non-compliant",
                    "(\"dueDate\" < {today} OR \"complianceStatus\" = 'non_compliant')"),
        QuickFilter("due_30", "Due in the next 30 days",
                    "\"dueDate\" BETWEEN {today} AND date({today}, '+30 days')"),
        QuickFilter("not_assessed", "Not assessed", "\"complianceStatus\" = 'not_assessed'"),
    )
    default_sort = ("dueDate", False)
    has_photos = True
    importable = True
    log_type = "legal"
    workflows = ("evaluate",)
    choice_columns = ("referenceCode", "requirementTitle")

    validations = (
        Check("not_in_future", "lastEvaluatedAt", "{value} is in the future",
              ("lastEvaluatedAt", "site")),
    )
    closing = (
        Check("legal_in_order", "sourceId", "legal entry {referenceCode} is {reason}",
              ("complianceStatus", "dueDate", "site"), {"failing": ["non_compliant"]}),
    )

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        return {"complianceStatus": "not_assessed"}

    def prefill(self, actor: Actor, lookup: Lookup, *, site_ids: list[str]) -> dict[str, Any]:
        values = super().prefill(actor, lookup, site_ids=site_ids)
        site = lookup.get("AuditSite", values.get("site")) if values.get("site") else None
        values.update(owner=actor.id, dueDate=clock.today((site or {}).get("timeZone"))
                      .isoformat())
        return values

    def due_date(self, record: Mapping[str, Any]) -> str | None:
        due = record.get("dueDate")
        return str(due) if due else None

    def row_state(self, record: Mapping[str, Any], today: date) -> RowState:
        if record.get("complianceStatus") == "non_compliant":
            return RowState("red", "non-compliant")
        if self.is_overdue(record, today):
            return RowState("amber", "evaluation overdue")
        if record.get("complianceStatus") == "compliant":
            return RowState("green", "compliant")
        return RowState()

    def choice_label(self, record: Mapping[str, Any]) -> str:
        return f"{record.get('referenceCode')} – {record.get('requirementTitle')}"


LEGAL_ENTRIES = LegalType()
