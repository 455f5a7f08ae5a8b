"""How stored values read on screen: local times, readable enums, names for ids."""

from __future__ import annotations

from typing import Any

from desktop_audit import clock
from desktop_audit.schema import Field


def enum_text(value: str | None) -> str:
    if not value:
        return ""
    special = {"major_nc": "Major NC", "minor_nc": "Minor NC"}
    if value in special:
        return special[value]
    return value.replace("_", " ").capitalize()


def local_datetime(value: str | None) -> str:
    if not value:
        return ""
    try:
        return clock.parse_iso(value).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


class Names:
    """objectId -> readable name for sites and users (small tables, loaded at once)."""

    def __init__(self, db: Any) -> None:
        self.sites: dict[str, str] = {}
        self.site_names: dict[str, str] = {}
        self.users: dict[str, str] = {}
        self.reload(db)

    def reload(self, db: Any) -> None:
        rows = db.execute('SELECT "objectId", "siteCode", "siteName" FROM audit_site').fetchall()
        self.sites = {r[0]: r[1] or r[0] for r in rows}
        self.site_names = {r[0]: r[2] or "" for r in rows}
        self.users = {r[0]: (r[2] or r[1] or r[0]) for r in db.execute(
            'SELECT "objectId", "username", "fullName" FROM "user"').fetchall()}

    def pointer(self, target: str | None, value: str | None) -> str:
        if not value:
            return ""
        if target == "AuditSite":
            return self.sites.get(value, value)
        if target == "User":
            return self.users.get(value, value)
        return value


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
