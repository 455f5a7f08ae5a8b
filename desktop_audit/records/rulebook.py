"""The rulebook: every rule of every record type as one JSON document.

Built from the declaration (schema.py) and the record types (records/): the roles, per
class its fields (kind, required, choices, ranges, lengths, targets, derived and system
fields), which fields a hand may set and which are fixed once made, its site, owner and
author fields, the permissions (action -> rules: roles and a named condition), the
derivations, validations, locks, workflow gates and transitions, the closing states, the
unique keys, the file rules, the calendar rule and the clock-skew allowance.

``desktop-audit schema --format rulebook`` prints it; ``server-setup`` publishes it to the
server (class ``RuleBook``, readable by the master key only), where Cloud Code's generic
engine (cloud/rules.js) applies it with the functions of cloud/rulefns.js, named as in
records/rulefns.py.  ``version`` is the SHA-256 of the rest: a server process reloads the
rules when it changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from desktop_audit.records import all_types, rulefns
from desktop_audit.records.base import OFFICE, RecordType
from desktop_audit.records.evidence import MAX_BYTES, MIME_TYPES
from desktop_audit.schema import LOG_TYPE_CLASS, ROLES, SITE, Field

FORMAT = "desktop-audit-rulebook/1"
TOMBSTONE = "deletedAt"


def _field(f: Field, rt: RecordType) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": f.kind, "label": f.label}
    if f.required and not f.derived:
        out["required"] = True
    for key, value in (("choices", list(f.choices)), ("min", f.minimum), ("max", f.maximum),
                       ("maxLength", f.max_length), ("default", f.default)):
        if value not in (None, []):
            out[key] = value
    if f.target:
        from desktop_audit.schema import BY_NAME

        out["target"] = f.target
        out["targetParse"] = BY_NAME[f.target].remote_name
    if f.derived:
        out["derived"] = True
    if f.system:
        out["system"] = True
    if f.kind == "secret":
        out["secret"] = True
    return out


def _class(rt: RecordType) -> dict[str, Any]:
    cdef = rt.cdef
    fields = {f.name: _field(f, rt) for f in cdef.fields}
    return {
        "parseName": cdef.remote_name,
        "label": cdef.label,
        "accounts": cdef.accounts,
        "appendOnly": cdef.append_only,
        "writableByHand": rt.writable_by_hand,
        "siteField": cdef.site_field,
        "siteIsSelf": rt.name == SITE.name,
        "fields": fields,
        "fieldOrder": list(fields),
        "editable": list(rt.editable_fields),
        "createFields": list(rt.create_fields),
        "fixedAfterCreate": sorted(rt.fixed_after_create),
        "ownerField": rt.owner_field,
        "authorField": rt.author_field,
        "dynamicPointers": dict(rt.dynamic_pointers),
        "permissions": {action: [{"roles": sorted(r.roles), "when": r.when} for r in rules]
                        for action, rules in rt.permissions.items()},
        "phrases": {"create": rt.phrases.create, "edit": rt.phrases.edit,
                    "delete": rt.phrases.delete, **dict(rt.phrases.other)},
        "derivations": [d.publish() for d in rt.derivations],
        "validations": [c.publish() for c in rt.validations],
        "locks": [lock.publish() for lock in rt.lock_rules],
        "gates": {action: [c.publish() for c in checks] for action, checks in rt.gates.items()},
        "transitions": [t.publish() for t in rt.transitions],
        "closing": [c.publish() for c in rt.closing],
        "uniqueKeys": [{"fields": list(k.fields), "nocase": k.nocase, "message": k.message}
                       for k in rt.unique_keys],
        "logType": rt.log_type,
        "hasPhotos": rt.has_photos,
    }


def build() -> dict[str, Any]:
    """The rulebook as a JSON-ready dict (``version`` included)."""
    book: dict[str, Any] = {
        "format": FORMAT,
        "roles": list(ROLES),
        "officeRoles": sorted(OFFICE),
        "authorRule": rulefns.AUTHOR_RULE,
        "tombstone": TOMBSTONE,
        "clockSkewMinutes": rulefns.CLOCK_SKEW_MINUTES,
        "calendar": {
            "today": "the date at the record's site, in the IANA time zone of the site",
            "siteClass": SITE.name,
            "zoneField": "timeZone",
            "overdue": "a due date is overdue once the day after it has begun at the site",
            "instants": "an instant is in the future when it is later than now plus the "
                        "clock-skew allowance; a date when it is after today at the site",
        },
        "timeZones": rulefns.time_zones(),
        "logTypes": dict(LOG_TYPE_CLASS),
        "files": {
            "Evidence": {
                "field": "file",
                "maxBytes": MAX_BYTES,
                "byContent": True,
                "types": {mime: [sig.hex() for sig in sigs] for mime, sigs in MIME_TYPES.items()},
                "mimeField": "mimeType",
                "sha256Field": "sha256",
                "sizeField": "byteSize",
                "parentClassField": "parentClass",
                "parentIdField": "parentId",
            },
        },
        "classes": {rt.name: _class(rt) for rt in all_types()},
    }
    book["version"] = version_of(book)
    return book


def version_of(book: dict[str, Any]) -> str:
    body = {k: v for k, v in book.items() if k != "version"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=False)
