"""Audit trail events: written by the program, never by hand, never changed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from desktop_audit.records.base import QuickFilter, RecordType, RowState
from desktop_audit.schema import TRAIL


class TrailEventType(RecordType):
    cdef = TRAIL
    cli_name = "trail"
    list_noun = "events"
    permissions: Mapping[str, Any] = {}
    writable_by_hand = False
    quick_filters = (
        QuickFilter("changes", "Changes to records",
                    "\"action\" NOT IN ('login', 'login_failed')"),
        QuickFilter("logins", "Logins", "\"action\" IN ('login', 'login_failed')"),
        QuickFilter("failed_logins", "Failed logins", "\"action\" = 'login_failed'"),
    )
    default_sort = ("at", True)
    hidden_columns = frozenset({"deviceId", "seq", "actor", "hash", "recordId"})
    tie_break = "seq"

    @property
    def site_column(self) -> str | None:
        return "siteId"

    siteless_rows = True
    export_order = ("deviceId", "seq")

    def site_of(self, record: Mapping[str, Any] | None) -> str | None:
        return str(record["siteId"]) if record and record.get("siteId") else None

    def not_by_hand(self, action: str) -> str:
        return "audit trail events are written by the program and never changed"

    def row_state(self, record: Mapping[str, Any], today: date) -> RowState:
        if record.get("action") == "login_failed":
            return RowState("amber", "failed login")
        return RowState()

    def search_fields(self) -> list[str]:
        return ["actorName", "action", "recordClass", "recordId"]


TRAIL_EVENTS = TrailEventType()
