"""Photo evidence attached to a record; the file is stored once by its SHA-256."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from desktop_audit.records.base import ADMIN, ALL_ROLES, Lookup, Phrases, RecordType, Rule
from desktop_audit.records.declaration import Check
from desktop_audit.schema import EVIDENCE, RECORD_CLASSES

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor

MAX_BYTES = 20 * 1024 * 1024  # what a Parse Server accepts for one file
PHOTO_CLASSES = RECORD_CLASSES  # every record type that takes photos (has_photos)
MIME_TYPES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",)}


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
    set_at_create = ("site", "parentClass", "parentId", "fileName", "file", "mimeType", "sha256",
                     "byteSize")
    writable_by_hand = False
    validations = (
        Check("not_in_future", "takenAt", "{value} is in the future", ("takenAt",)),
        Check("parent_on_same_site", "parentId", "{reason}", ("parentClass", "parentId", "site"),
              {"classes": list(PHOTO_CLASSES)}, on=("create",)),
    )

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        return {"addedBy": actor.id}

    def title(self, record: Mapping[str, Any]) -> str:
        return str(record.get("caption") or record.get("fileName") or record.get("objectId"))


EVIDENCE_TYPE = EvidenceType()
