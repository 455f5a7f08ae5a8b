"""Environmental aspects and impacts (ISO 14001 6.1.2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.errors import ValidationError
from desktop_audit.records.base import (
    ADMIN,
    ALL_ROLES,
    OFFICE,
    Blocker,
    Lookup,
    Phrases,
    QuickFilter,
    RecordType,
    RowState,
    Rule,
    site_threshold,
)
from desktop_audit.records.checks import not_in_future
from desktop_audit.schema import ASPECT

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor

CLOSING_STATES = ("controlled", "closed")


def impact_rating(risk: int) -> str:
    """low 1-4, medium 5-9, high 10-15, critical 16-25."""
    if risk <= 4:
        return "low"
    if risk <= 9:
        return "medium"
    if risk <= 15:
        return "high"
    return "critical"


class AspectType(RecordType):
    cdef = ASPECT
    cli_name = "aspects"
    list_noun = "aspects"
    owner_field = "loggedBy"
    author_field = "loggedBy"
    derived_from = {
        "riskRating": ("likelihood", "severity"),
        "impactRating": ("likelihood", "severity"),
        "thresholdApplied": ("site",),
        "significant": ("likelihood", "severity"),
    }
    permissions = {
        "create": (Rule(ALL_ROLES),),
        "edit": (Rule(OFFICE), Rule(frozenset({"auditor", "field_staff"}), "own")),
        "delete": (Rule(ADMIN),),
    }
    phrases = Phrases("add log entries", "edit log entries")
    auto_filled = frozenset({"loggedBy", "loggedAt"})
    fixed_after_create = frozenset({"loggedAt"})
    quick_filters = (
        QuickFilter("significant", "Significant aspects", '"significant" = 1'),
        QuickFilter("open_actions", "Action open or in progress",
                    "\"actionStatus\" IN ('open', 'in_progress')"),
        QuickFilter("abnormal", "Abnormal and emergency conditions",
                    "\"operatingCondition\" IN ('abnormal', 'emergency')"),
    )
    default_sort = ("riskRating", True)
    hidden_columns = frozenset({"thresholdApplied", "obligationRefs", "loggedAt",
                                "lifeCycleStage"})
    has_photos = True
    importable = True
    log_type = "aspect"
    choice_columns = ("aspectDescription", "riskRating")

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        return {"loggedBy": actor.id, "loggedAt": clock.now_iso()}

    def prefill(self, actor: Actor, lookup: Lookup, *, site_ids: list[str]) -> dict[str, Any]:
        return {**super().prefill(actor, lookup, site_ids=site_ids), "actionStatus": "open"}

    def derive(self, values: dict[str, Any], lookup: Lookup | None,
               changed: frozenset[str] | None = None) -> None:
        lik, sev = values.get("likelihood"), values.get("severity")
        if lik is not None and sev is not None:
            values["riskRating"] = lik * sev
            values["impactRating"] = impact_rating(lik * sev)
        # The threshold the rating is judged by is the site's when the rating is made (or
        # changed): a later change of the site's threshold does not rewrite old judgements.
        rated = changed is None or bool({"likelihood", "severity", "site",
                                          "obligationRefs"} & changed)
        if rated and lookup is not None and values.get("site"):
            values["thresholdApplied"] = site_threshold(lookup.get("AuditSite", values["site"]))
        applied = values.get("thresholdApplied") or site_threshold(None)
        risk = values.get("riskRating")
        values["significant"] = bool((risk is not None and risk >= applied)
                                     or values.get("obligationRefs"))

    def validate(self, values: Mapping[str, Any], old: Mapping[str, Any] | None,
                 lookup: Lookup, action: str = "edit") -> list[ValidationError]:
        problem = not_in_future("loggedAt", values.get("loggedAt"))
        return [problem] if problem else []

    def closing_state(self, record: Mapping[str, Any], lookup: Lookup) -> list[Blocker]:
        status = record.get("actionStatus")
        if status in CLOSING_STATES:
            return []
        return [Blocker("sourceId", f"the aspect's action status is {status}; it must be "
                                    "controlled or closed", ("AspectImpactLog",
                                                             str(record["objectId"])))]

    def row_state(self, record: Mapping[str, Any], today: date) -> RowState:
        if record.get("significant"):
            tone = "red" if record.get("impactRating") == "critical" else "amber"
            return RowState(tone, "significant aspect")
        return RowState()

    def title(self, record: Mapping[str, Any]) -> str:
        text = str(record.get("aspectDescription") or record.get("objectId") or "")
        return text if len(text) < 60 else text[:57] + "…"

    def choice_label(self, record: Mapping[str, Any]) -> str:
        return f"{record.get('aspectDescription')} (risk {record.get('riskRating')})"


ASPECTS = AspectType()
