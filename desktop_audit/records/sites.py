"""Sites: plants, depots and yards.  An admin makes them; a manager makes and edits the
sites they own.  Each site has a time zone: its due dates are dates there."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.records.base import (
    ADMIN,
    ALLOWED,
    AUDITORS,
    Decision,
    Lookup,
    Phrases,
    QuickFilter,
    RecordType,
    RowState,
    Rule,
    UniqueKey,
    refused,
)
from desktop_audit.records.declaration import Check
from desktop_audit.schema import SITE

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor


class SiteType(RecordType):
    cdef = SITE
    cli_name = "sites"
    list_noun = "sites"
    permissions = {
        "create": (Rule(ADMIN), Rule(frozenset({"manager"}), "owns_site")),
        "edit": (Rule(ADMIN), Rule(frozenset({"manager"}), "owns_site")),
        "delete": (Rule(ADMIN),),
        "export_pack": (Rule(AUDITORS),),
    }
    phrases = Phrases("create sites", "edit sites", other={"export_pack": "export evidence packs"})
    unique_keys = (UniqueKey(("siteCode",), "site code {siteCode} is already used", nocase=True),)
    auto_filled = frozenset({"siteOwner", "timeZone"})
    quick_filters = (
        QuickFilter("active", "Active sites", '"active" = 1'),
        QuickFilter("inactive", "Inactive sites", '"active" = 0'),
    )
    default_sort = ("siteCode", False)
    has_photos = True
    importable = True
    zone_field = "timeZone"
    exports_pack = True
    validations = (
        Check("owner_is_manager_or_admin", "siteOwner", "{username} is a {role}; a site owner "
              "must be a manager or an admin", ("siteOwner",), {"roles": ["admin", "manager"]}),
        Check("valid_time_zone", "timeZone", "'{value}' is not a time zone (use an IANA name "
              "such as Europe/Warsaw)", ("timeZone",)),
    )

    @property
    def site_column(self) -> str | None:
        return "objectId"

    def site_of(self, record: Mapping[str, Any] | None) -> str | None:
        return str(record["objectId"]) if record and record.get("objectId") else None

    def site_check(self, actor: Actor, action: str, record: Mapping[str, Any] | None,
                   values: Mapping[str, Any]) -> Decision:
        if action == "export_pack" and record is not None and \
                not actor.sees_site(self.site_of(record)):
            return refused("you are not assigned to this site, so you may not export its "
                           "evidence pack")
        return ALLOWED

    def reference_refusal(self, actor: Actor, record: Mapping[str, Any]) -> str | None:
        if not actor.sees_site(record.get("objectId")):
            return f"you are not assigned to site {record.get('siteCode')}"
        return None

    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        out: dict[str, Any] = {"timeZone": clock.local_zone_name()}
        if actor.role == "manager":
            out["siteOwner"] = actor.id
        return out

    def row_state(self, record: Mapping[str, Any], today: date) -> RowState:
        if record.get("active") is False:
            return RowState("grey", "inactive")
        return RowState()

    choice_columns = ("siteCode", "siteName")

    def choice_label(self, record: Mapping[str, Any]) -> str:
        return f"{record.get('siteCode')} – {record.get('siteName')}"


SITES = SiteType()
