"""Which service writes each class, and which permission each action needs (so the UI can
disable what a role may not do and say why; the services still decide)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop_audit import services
from desktop_audit.domain import permissions
from desktop_audit.domain.actor import Actor

CREATE: dict[str, Callable[..., str]] = {
    "AuditSite": services.create_site,
    "AspectImpactLog": services.add_aspect,
    "SpillKitLog": services.add_spill_kit_check,
    "LegalRegisterEntry": services.add_legal_entry,
    "AuditReview": services.plan_review,
    "AuditFinding": services.raise_finding,
}
UPDATE: dict[str, Callable[..., None]] = {
    "AuditSite": services.update_site,
    "AspectImpactLog": services.update_aspect,
    "SpillKitLog": services.update_spill_kit_check,
    "LegalRegisterEntry": services.update_legal_entry,
    "AuditReview": services.update_review,
    "AuditFinding": services.update_finding,
    "User": services.update_user,
}
CREATE_ACTION = {
    "AuditSite": "site_create", "AspectImpactLog": "log_add", "SpillKitLog": "log_add",
    "LegalRegisterEntry": "legal_write", "AuditReview": "review_write",
    "AuditFinding": "finding_raise", "User": "manage_users",
}
EDIT_ACTION = {
    "AuditSite": "site_edit", "AspectImpactLog": "log_edit", "SpillKitLog": "log_edit",
    "LegalRegisterEntry": "legal_write", "AuditReview": "review_write",
    "AuditFinding": "finding_edit", "User": "manage_users",
}


def can_create(actor: Actor, class_name: str) -> tuple[bool, str]:
    action = CREATE_ACTION.get(class_name)
    if action is None:
        return False, "records of this kind are written by the program, not by hand"
    values: dict[str, Any] = {}
    if class_name == "AuditSite":
        values = {"siteOwner": actor.id}
    if class_name == "AuditReview" and actor.role == "auditor":
        values = {"leadAuditor": actor.id}
    return permissions.can(actor, action, class_name=class_name, values=values)


def can_edit(actor: Actor, class_name: str, record: dict[str, Any]) -> tuple[bool, str]:
    action = EDIT_ACTION.get(class_name)
    if action is None:
        return False, "this record cannot be edited"
    site_field = {"AuditSite": None, "User": None}.get(class_name, "site")
    site = record.get(site_field) if site_field else None
    allowed, reason = permissions.can(actor, action, site_id=site, record=record,
                                      class_name=class_name)
    if not allowed:
        return allowed, reason
    if class_name == "AuditFinding" and record.get("closed"):
        return False, "a closed finding cannot be edited; reopen it first"
    if class_name == "AuditReview" and record.get("reviewStatus") == "approved":
        return False, "an approved review can no longer be edited"
    return True, ""
