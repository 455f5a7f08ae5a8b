"""Photo evidence attached to a record; the file is stored once by its SHA-256."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from desktop_audit.errors import ValidationError
from desktop_audit.records.base import ADMIN, ALL_ROLES, Lookup, Phrases, RecordType, Rule
from desktop_audit.records.checks import not_in_future
from desktop_audit.schema import EVIDENCE

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor

MAX_BYTES = 20 * 1024 * 1024  # what a Parse Server accepts for one file


class EvidenceType(RecordType):
    cdef = EVIDENCE
    cli_name = "evidence"
    list_noun = "photos"
    author_field = "addedBy"
    permissions = {
        "create": (Rule(ALL_ROLES),),
        "edit": (Rule(ALL_ROLES),),
        "delete": (Rule(ADMIN),),
    }
    phrases = Phrases("add photo evidence", "edit photo captions")
    editable = ("caption", "takenAt")
    writable_by_hand = False

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        return {"addedBy": actor.id}

    def validate(self, values: Mapping[str, Any], old: Mapping[str, Any] | None,
                 lookup: Lookup, action: str = "edit") -> list[ValidationError]:
        problem = not_in_future("takenAt", values.get("takenAt"))
        return [problem] if problem else []

    def title(self, record: Mapping[str, Any]) -> str:
        return str(record.get("caption") or record.get("fileName") or record.get("objectId"))


EVIDENCE_TYPE = EvidenceType()
