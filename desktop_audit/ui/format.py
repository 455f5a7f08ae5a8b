"""How stored values read on screen: local times, readable enums, names for ids."""

from __future__ import annotations

from typing import Any

from desktop_audit import records
from desktop_audit.records.text import enum_text, local_datetime
from desktop_audit.schema import BY_NAME, CLASSES, SITE, USER, Field
from desktop_audit.store import rows

# The classes whose names are loaded at once: the targets of pointers not kept per site.
SMALL = tuple(sorted({f.target for c in CLASSES for f in c.fields
                      if f.is_reference and f.target and BY_NAME[f.target].site_field is None}))


class Names:
    """objectId -> readable name for the records of the small classes a pointer names (sites
    and users: every class not kept per site), loaded at once."""

    def __init__(self, db: Any) -> None:
        self.titles: dict[str, dict[str, str]] = {}
        self.reload(db)

    def reload(self, db: Any) -> None:
        self.titles = {name: {r["objectId"]: records.of(name).title(r) or r["objectId"]
                              for r in rows.select(db, records.of(name).cdef,
                                                   include_deleted=True)}
                       for name in SMALL}

    @property
    def sites(self) -> dict[str, str]:
        return self.titles[SITE.name]

    @property
    def users(self) -> dict[str, str]:
        return self.titles[USER.name]

    def pointer(self, target: str | None, value: str | None) -> str:
        if not value:
            return ""
        return self.titles.get(target or "", {}).get(value, value)


def display(f: Field, value: Any, names: Names | None = None) -> str:
    """One value as a cell or a read-only form field shows it."""
    if value is None or value == "" or value == []:
        return ""
    kind = f.kind
    if kind == "bool":
        return "Yes" if value else "No"
    if kind == "enum":
        return enum_text(str(value))
    if kind == "datetime":
        return local_datetime(str(value))
    if kind == "pointer":
        return names.pointer(f.target, value) if names else str(value)
    if kind == "pointer_list":
        items = value if isinstance(value, list) else []
        return ", ".join(names.pointer(f.target, v) if names else v for v in items)
    if kind == "string_list":
        return "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if kind == "object":
        if isinstance(value, dict):
            return "; ".join(f"{k}: {v}" for k, v in value.items())
        return str(value)
    return str(value)


def change_text(f: Field | None, value: Any, names: Names | None) -> str:
    if f is None:
        return "" if value is None else str(value)
    text = display(f, value, names)
    return text if text else "(empty)"
