"""Values between the local store and Parse's JSON, field by field, from the schema.

Local values are the services' plain values (lists decoded, booleans as bool,
dates as ``YYYY-MM-DD``, instants as ``YYYY-MM-DDTHH:MM:SS.mmmZ``, pointers as the
target's objectId).  On the wire they are Parse types: Pointer, Date, File.
"""

from __future__ import annotations

import functools
from typing import Any

from desktop_audit import clock
from desktop_audit.schema import BY_NAME, ClassDef, Field

TOMBSTONE = "deletedAt"
DELETE_OP = {"__op": "Delete"}


def remote_class(name: str) -> str:
    return BY_NAME[name].remote_name


@functools.cache
def _synced(cdef: ClassDef) -> tuple[Field, ...]:
    return tuple(f for f in cdef.fields if f.kind != "secret")


def synced_fields(cdef: ClassDef) -> list[Field]:
    """The fields that travel as plain fields (the verifier travels only to saveUsers)."""
    return list(_synced(cdef))


def _date(iso: str) -> dict[str, str]:
    return {"__type": "Date", "iso": iso}


def to_wire(f: Field, value: Any) -> Any:
    if value is None:
        return None
    kind = f.kind
    if kind == "pointer":
        assert f.target
        return {"__type": "Pointer", "className": remote_class(f.target), "objectId": value}
    if kind == "pointer_list":
        assert f.target
        return [{"__type": "Pointer", "className": remote_class(f.target), "objectId": v}
                for v in value]
    if kind == "date":
        return _date(f"{value[:10]}T00:00:00.000Z")
    if kind == "datetime":
        return _date(clock.iso(clock.parse_iso(value)))
    if kind == "file":
        if not isinstance(value, dict) or not value.get("url"):
            return None  # a File pointer without url is never sent
        return {"__type": "File", "name": value["name"], "url": value["url"]}
    if kind == "bool":
        return bool(value)
    if kind in ("string_list",):
        return list(value)
    return value


def _canonical(value: Any) -> bool:
    return (isinstance(value, str) and len(value) == 24 and value[10] == "T"
            and value[19] == "." and value[23] == "Z")


def iso_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("iso")
    if not isinstance(value, str):
        return None
    if len(value) == 24 and value[10] == "T" and value[19] == "." and value[23] == "Z":
        return value  # already the canonical form (what Parse Server sends)
    return clock.iso(clock.parse_iso(value))


def from_wire(f: Field, value: Any) -> Any:
    kind = f.kind
    if value is None:
        return [] if kind in ("string_list", "pointer_list") else None
    if kind == "pointer":
        return value.get("objectId") if isinstance(value, dict) else value
    if kind == "pointer_list":
        return [v.get("objectId") if isinstance(v, dict) else v for v in value]
    if kind == "date":
        iso = iso_of(value)
        return iso[:10] if iso else None
    if kind == "datetime":
        return iso_of(value)
    if kind == "file":
        if isinstance(value, dict):
            return {"__type": "File", "name": value.get("name"), "url": value.get("url")}
        return None
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    return value


def normal(f: Field, value: Any) -> Any:
    """A local value in the form used to compare two versions of a field."""
    if value is None and f.kind in ("string_list", "pointer_list"):
        return []
    if f.kind == "pointer_list":
        return sorted(value)  # an assignment list: order carries no meaning
    if f.kind == "bool" and value is not None:
        return bool(value)
    if f.kind == "file" and isinstance(value, dict):
        return value.get("name")
    if value == "" and f.kind in ("string", "text"):
        return None
    return value


def record_to_wire(cdef: ClassDef, record: dict[str, Any], names: list[str] | None = None,
                   *, create: bool) -> dict[str, Any]:
    """The JSON body of a create (every set field) or an update (the named fields)."""
    body: dict[str, Any] = {}
    for f in synced_fields(cdef):
        if names is not None and f.name not in names:
            continue
        value = to_wire(f, record.get(f.name))
        if value is None:
            if f.kind == "file":
                continue
            if not create:
                body[f.name] = DELETE_OP
            continue
        body[f.name] = value
    if create:
        body["objectId"] = record["objectId"]
    deleted = record.get(TOMBSTONE)
    if deleted and (names is None or TOMBSTONE in names):
        body[TOMBSTONE] = _date(deleted)
    elif not create and names is not None and TOMBSTONE in names:
        body[TOMBSTONE] = DELETE_OP
    return body


def record_from_wire(cdef: ClassDef, obj: dict[str, Any]) -> dict[str, Any]:
    """A server object as local values: the schema fields plus system columns and tombstone."""
    created, updated, deleted = obj.get("createdAt"), obj.get("updatedAt"), obj.get(TOMBSTONE)
    out: dict[str, Any] = {
        "objectId": obj["objectId"],
        "createdAt": created if _canonical(created) else iso_of(created),
        "updatedAt": updated if _canonical(updated) else iso_of(updated),
        TOMBSTONE: None if deleted is None else iso_of(deleted),
    }
    get = obj.get
    for f in _synced(cdef):
        value = get(f.name)
        if value is None or f.kind not in _PLAIN:
            value = from_wire(f, value)
        out[f.name] = value
    return out


# Kinds whose wire value is the local value as it is.
_PLAIN = frozenset({"string", "text", "enum", "object", "string_list"})


def parse_type(f: Field) -> dict[str, Any]:
    """The Parse schema type of a field."""
    kind = f.kind
    if kind in ("string", "text", "enum", "secret"):
        return {"type": "String"}
    if kind == "int":
        return {"type": "Number"}
    if kind == "bool":
        return {"type": "Boolean"}
    if kind in ("date", "datetime"):
        return {"type": "Date"}
    if kind == "pointer":
        assert f.target
        return {"type": "Pointer", "targetClass": remote_class(f.target)}
    if kind in ("pointer_list", "string_list"):
        return {"type": "Array"}
    if kind == "object":
        return {"type": "Object"}
    if kind == "file":
        return {"type": "File"}
    raise AssertionError(f"no Parse type for {kind}")
