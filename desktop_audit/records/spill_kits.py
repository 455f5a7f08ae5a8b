"""Spill kit inspections: one row per inspection of one kit."""

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
    UniqueKey,
)
from desktop_audit.records.declaration import Check, Derivation
from desktop_audit.schema import SPILL_KIT

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor


def needs_replenishment(missing: list[str] | None, seal: str | None) -> bool:
    """True whenever items are missing or the seal is not intact."""
    return bool(rulefns.replenishment([missing, seal], {}, rulefns.RuleContext(None)))


class SpillKitType(RecordType):
    cdef = SPILL_KIT
    cli_name = "spill-kits"
    list_noun = "spill kit checks"
    owner_field = "checkedBy"
    author_field = "checkedBy"
    permissions = {
        "create": (Rule(ALL_ROLES),),
        "edit": (Rule(OFFICE), Rule(frozenset({"auditor", "field_staff"}), "own")),
        "delete": (Rule(ADMIN),),
    }
    phrases = Phrases("add log entries", "edit log entries")
    auto_filled = frozenset({"checkedBy", "lastCheckedAt"})
    unique_keys = (UniqueKey(("site", "kitTag", "lastCheckedAt"),
                             "kit {kitTag} already has an inspection at {lastCheckedAt} on this "
                             "site"),)
    quick_filters = (
        QuickFilter("failed", "Failed inspections", "\"inspectionStatus\" = 'fail'"),
        QuickFilter("attention", "Failed or needing attention",
                    "\"inspectionStatus\" IN ('fail', 'needs_attention')"),
        QuickFilter("replenish", "Replenishment needed", '"replenishmentNeeded" = 1'),
        QuickFilter("latest_replenish", "Kits needing replenishment (latest check)",
                    '"replenishmentNeeded" = 1 AND "lastCheckedAt" = (SELECT MAX(k."lastCheckedAt") '
                    'FROM spill_kit_log k WHERE k."site" = spill_kit_log."site" AND '
                    'k."kitTag" = spill_kit_log."kitTag" AND k."deletedAt" IS NULL)'),
    )
    default_sort = ("lastCheckedAt", True)
    has_photos = True
    importable = True
    log_type = "spill_kit"
    choice_columns = ("kitTag", "lastCheckedAt", "inspectionStatus")

    derivations = (
        Derivation("replenishmentNeeded", "replenishment", ("missingItems", "sealStatus")),
    )
    validations = (
        Check("not_in_future", "lastCheckedAt", "{value} is in the future", ("lastCheckedAt",)),
        Check("pass_needs_complete_kit", "inspectionStatus", "a kit with missing items or a "
              "seal that is not intact cannot pass", ("inspectionStatus", "replenishmentNeeded")),
    )
    closing = (
        Check("latest_is_pass", "sourceId", "the latest inspection of kit {kitTag} is "
              "{value_words}, not a pass", ("inspectionStatus",),
              {"class": "SpillKitLog", "same": ["site", "kitTag"], "order": "lastCheckedAt",
               "value": "pass"}),
    )

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        return {"checkedBy": actor.id, "lastCheckedAt": clock.now_iso()}

    def row_state(self, record: Mapping[str, Any], today: date) -> RowState:
        if record.get("inspectionStatus") == "fail":
            return RowState("red", "failed inspection")
        if record.get("replenishmentNeeded") or record.get("inspectionStatus") == "needs_attention":
            return RowState("amber", "needs attention or replenishment")
        return RowState()

    def title(self, record: Mapping[str, Any]) -> str:
        return str(record.get("kitTag") or record.get("objectId") or "")

    def choice_label(self, record: Mapping[str, Any]) -> str:
        from desktop_audit.records.text import enum_text, local_datetime

        return (f"{record.get('kitTag')} · {local_datetime(record.get('lastCheckedAt'))} · "
                f"{enum_text(record.get('inspectionStatus'))}")


SPILL_KITS = SpillKitType()
