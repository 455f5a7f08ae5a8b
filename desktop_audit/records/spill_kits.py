"""Spill kit inspections: one row per inspection of one kit."""

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
    UniqueKey,
)
from desktop_audit.records.checks import not_in_future
from desktop_audit.schema import SPILL_KIT

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor


def needs_replenishment(missing: list[str] | None, seal: str | None) -> bool:
    """True whenever items are missing or the seal is not intact."""
    return bool(missing) or seal not in (None, "intact")


class SpillKitType(RecordType):
    cdef = SPILL_KIT
    cli_name = "spill-kits"
    list_noun = "spill kit checks"
    owner_field = "checkedBy"
    author_field = "checkedBy"
    derived_from = {"replenishmentNeeded": ("missingItems", "sealStatus")}
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

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        return {"checkedBy": actor.id, "lastCheckedAt": clock.now_iso()}

    def derive(self, values: dict[str, Any], lookup: Lookup | None,
               changed: frozenset[str] | None = None) -> None:
        values["replenishmentNeeded"] = needs_replenishment(values.get("missingItems"),
                                                            values.get("sealStatus"))

    def validate(self, values: Mapping[str, Any], old: Mapping[str, Any] | None,
                 lookup: Lookup, action: str = "edit") -> list[ValidationError]:
        out = []
        problem = not_in_future("lastCheckedAt", values.get("lastCheckedAt"))
        if problem:
            out.append(problem)
        if values.get("inspectionStatus") == "pass" and values.get("replenishmentNeeded"):
            out.append(ValidationError("inspectionStatus", "a kit with missing items or a seal "
                                                           "that is not intact cannot pass"))
        return out

    def closing_state(self, record: Mapping[str, Any], lookup: Lookup) -> list[Blocker]:
        latest = lookup.latest("SpillKitLog", {"site": record.get("site"),
                                               "kitTag": record.get("kitTag")}, "lastCheckedAt")
        if latest is not None and latest.get("inspectionStatus") == "pass":
            return []
        status = latest["inspectionStatus"] if latest else "missing"
        return [Blocker("sourceId", f"the latest inspection of kit {record.get('kitTag')} is "
                                    f"{str(status).replace('_', ' ')}, not a pass",
                        ("SpillKitLog", str((latest or record)["objectId"])))]

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
