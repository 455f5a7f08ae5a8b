"""The registry of record types: ask it what a class is and how it behaves.

``of("AuditFinding")`` (or an alias, or a command-line name) gives the record type;
``all_types()`` every one in dependency order (a class points only at classes before it).
"""

from __future__ import annotations

from desktop_audit.records.aspects import ASPECTS
from desktop_audit.records.base import (
    Blocker,
    Decision,
    Lookup,
    QuickFilter,
    RecordType,
    RowState,
    Rule,
    UniqueKey,
)
from desktop_audit.records.evidence import EVIDENCE_TYPE
from desktop_audit.records.findings import FINDINGS
from desktop_audit.records.legal import LEGAL_ENTRIES
from desktop_audit.records.reviews import REVIEWS
from desktop_audit.records.sites import SITES
from desktop_audit.records.spill_kits import SPILL_KITS
from desktop_audit.records.trail_events import TRAIL_EVENTS
from desktop_audit.records.users import USERS
from desktop_audit.schema import CLASSES, class_def

_TYPES: tuple[RecordType, ...] = (USERS, SITES, ASPECTS, SPILL_KITS, LEGAL_ENTRIES, REVIEWS,
                                  FINDINGS, EVIDENCE_TYPE, TRAIL_EVENTS)
REGISTRY: dict[str, RecordType] = {rt.name: rt for rt in _TYPES}
assert [c.name for c in CLASSES] == [rt.name for rt in _TYPES], "one record type per class"
_BY_LOG_TYPE = {rt.log_type: rt for rt in _TYPES if rt.log_type}


def of(name: str) -> RecordType:
    """The record type of a class name, a seed alias or a command-line name."""
    found = REGISTRY.get(name)
    if found is not None:
        return found
    return REGISTRY[class_def(name).name]


def all_types() -> tuple[RecordType, ...]:
    return _TYPES


def by_log_type(log_type: str | None) -> RecordType | None:
    """The record type a finding's ``logType`` names (None for 'general')."""
    return _BY_LOG_TYPE.get(log_type or "")


def with_photos() -> tuple[RecordType, ...]:
    return tuple(rt for rt in _TYPES if rt.has_photos)


def importable() -> tuple[RecordType, ...]:
    return tuple(rt for rt in _TYPES if rt.importable)


def live() -> tuple[RecordType, ...]:
    return tuple(rt for rt in _TYPES if rt.live)


__all__ = [
    "REGISTRY", "Blocker", "Decision", "Lookup", "QuickFilter", "RecordType", "RowState", "Rule",
    "UniqueKey", "all_types", "by_log_type", "importable", "live", "of", "with_photos",
]
