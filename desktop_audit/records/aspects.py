"""Environmental aspects and impacts (ISO 14001 6.1.2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.records import rulefns
from desktop_audit.records.base import (
    ADMIN,
    ALL_ROLES,
    OFFICE,
    Lookup,
    Phrases,
    QuickFilter,
    RecordType,
    RowState,
    Rule,
)
from desktop_audit.records.declaration import Check, Derivation
from desktop_audit.schema import ASPECT

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor

CLOSING_STATES = ("controlled", "closed")
# riskRating up to the bound -> impactRating (low 1-4, medium 5-9, high 10-15, critical 16-25)
IMPACT_BANDS = ((4, "low"), (9, "medium"), (15, "high"), (25, "critical"))


def impact_rating(risk: int) -> str:
    """low 1-4, medium 5-9, high 10-15, critical 16-25."""
    return str(rulefns.band([risk], {"bands": IMPACT_BANDS}, rulefns.RuleContext(None)))


class AspectType(RecordType):
    cdef = ASPECT
    cli_name = "aspects"
    list_noun = "aspects"
    owner_field = "loggedBy"
    author_field = "loggedBy"
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

    derivations = (
        Derivation("riskRating", "product", ("likelihood", "severity")),
        Derivation("impactRating", "band", ("riskRating",), {"bands": IMPACT_BANDS},
                   typed_inputs=("likelihood", "severity")),
        # The threshold the rating is judged by is the site's when the rating is made (or
        # changed): a later change of the site's threshold does not rewrite old judgements.
        # (A server also accepts a threshold the site had, as its journaled history shows:
        # the one a laptop knew when it rated the aspect offline.)
        Derivation("thresholdApplied", "site_threshold", ("site",),
                   {"default": rulefns.DEFAULT_THRESHOLD, "history": "significanceThreshold"},
                   when_changed=("likelihood", "severity", "site", "obligationRefs")),
        Derivation("significant", "significance",
                   ("riskRating", "thresholdApplied", "obligationRefs"),
                   {"default": rulefns.DEFAULT_THRESHOLD},
                   typed_inputs=("likelihood", "severity")),
    )
    validations = (
        Check("not_in_future", "loggedAt", "{value} is in the future", ("loggedAt",)),
    )
    closing = (
        Check("field_in", "sourceId", "the aspect's action status is {value}; it must be "
              "controlled or closed", ("actionStatus",), {"values": list(CLOSING_STATES)}),
    )

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        return {"loggedBy": actor.id, "loggedAt": clock.now_iso()}

    def prefill(self, actor: Actor, lookup: Lookup, *, site_ids: list[str]) -> dict[str, Any]:
        return {**super().prefill(actor, lookup, site_ids=site_ids), "actionStatus": "open"}

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
