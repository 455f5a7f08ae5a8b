"""The role matrix of DOMAIN.md, site-scoped.

``can`` answers (allowed, reason) so the UI can disable an action with a
tooltip saying why; ``require`` raises PermissionDenied with the same reason.
The services always ask; the UI only mirrors the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desktop_audit.domain.actor import Actor
from desktop_audit.errors import PermissionDenied

ALL = frozenset({"admin", "manager", "coordinator", "auditor", "field_staff"})

# action -> roles that may take it (before the site and ownership conditions below)
MATRIX: dict[str, frozenset[str]] = {
    "manage_users": frozenset({"admin"}),
    "site_create": frozenset({"admin", "manager"}),
    "site_edit": frozenset({"admin", "manager"}),
    "log_add": ALL,
    "log_edit": ALL,
    "legal_write": frozenset({"admin", "manager", "coordinator"}),
    "review_write": frozenset({"admin", "manager", "coordinator", "auditor"}),
    "review_approve": frozenset({"admin", "manager"}),
    "finding_raise": ALL,
    "finding_edit": frozenset({"admin", "manager", "coordinator", "auditor"}),
    "finding_close": frozenset({"admin", "manager"}),
    "evidence_add": ALL,
    "export_pack": frozenset({"admin", "manager", "coordinator", "auditor"}),
    "delete": frozenset({"admin"}),
    "sync": ALL,
}

PHRASES: dict[str, str] = {
    "manage_users": "manage users or assign sites",
    "site_create": "create sites",
    "site_edit": "edit sites",
    "log_add": "add log entries",
    "log_edit": "edit log entries",
    "legal_write": "change the legal register",
    "review_write": "plan or edit audit reviews",
    "review_approve": "approve audit reviews",
    "finding_raise": "raise findings",
    "finding_edit": "edit corrective actions",
    "finding_close": "close findings",
    "evidence_add": "add photo evidence",
    "export_pack": "export evidence packs",
    "delete": "delete records",
    "sync": "sync",
}

# Which user field marks a log entry as someone's own.
OWNER_FIELD = {"AspectImpactLog": "loggedBy", "SpillKitLog": "checkedBy"}


def can(actor: Actor, action: str, *, site_id: str | None = None,
        record: Mapping[str, Any] | None = None, class_name: str | None = None,
        values: Mapping[str, Any] | None = None) -> tuple[bool, str]:
    """Whether *actor* may take *action* on a site / record; the reason when not."""
    roles = MATRIX[action]
    role = actor.role
    phrase = PHRASES[action]
    if role not in roles:
        return False, f"a {role.replace('_', ' ')} may not {phrase}"
    if role == "admin":
        return True, ""
    if action == "site_create":
        owner = (values or {}).get("siteOwner")
        if owner != actor.id:
            return False, "a manager may only create sites they own"
        return True, ""
    if action == "site_edit":
        owner = (record or {}).get("siteOwner")
        if owner != actor.id:
            return False, "a manager may only edit sites they own"
        return True, ""
    if site_id is not None and not actor.sees_site(site_id):
        return False, f"you are not assigned to this site, so you may not {phrase} there"
    if action == "log_edit" and role in ("auditor", "field_staff") and record is not None:
        owner_field = OWNER_FIELD.get(class_name or "", "")
        if record.get(owner_field) != actor.id:
            return False, f"a {role.replace('_', ' ')} may only edit their own entries"
    if action == "review_write" and role == "auditor":
        lead = (values or {}).get("leadAuditor", (record or {}).get("leadAuditor"))
        if lead != actor.id or (record is not None and record.get("leadAuditor") != actor.id):
            return False, "an auditor may only plan or edit reviews they lead"
    if action == "finding_raise" and role == "field_staff":
        if (values or {}).get("severity") not in (None, "observation"):
            return False, "field staff may raise observations only"
    return True, ""


def require(actor: Actor, action: str, **kwargs: Any) -> None:
    allowed, reason = can(actor, action, **kwargs)
    if not allowed:
        raise PermissionDenied(reason)
