"""Users: an administrator manages accounts and assigns sites."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit.records.base import (
    ADMIN,
    Decision,
    Phrases,
    QuickFilter,
    RecordType,
    RowState,
    Rule,
    UniqueKey,
    refused,
    role_words,
)
from desktop_audit.records.declaration import Check
from desktop_audit.schema import USER

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor

USERNAME_PATTERN = "[A-Za-z0-9._-]+"


class UserType(RecordType):
    cdef = USER
    cli_name = "users"
    list_noun = "users"
    permissions = {action: (Rule(ADMIN),) for action in ("create", "edit", "delete", "assign",
                                                           "export", "deactivate", "activate",
                                                           "unlock")}
    phrases = Phrases("manage users or assign sites", "manage users or assign sites",
                      other={"assign": "manage users or assign sites",
                             "export": "export the list of users",
                             "deactivate": "deactivate users",
                             "activate": "activate users",
                             "unlock": "unlock users"})
    editable = ("username", "email", "fullName", "role", "active", "sites")
    unique_keys = (UniqueKey(("username",), "user {username!r} already exists", nocase=True),)
    quick_filters = (
        QuickFilter("active", "Active users", '"active" = 1'),
        QuickFilter("inactive", "Deactivated users", '"active" = 0'),
    )
    default_sort = ("username", False)
    list_roles = ADMIN
    workflows = ("assign", "deactivate", "activate", "unlock")
    # An account is deactivated and activated by its own steps (journaled as such).
    workflow_fields = {"sites": "assign", "active": "deactivate"}
    choice_where = {"active": True}  # a deactivated user is named by no new record
    choice_columns = ("username", "fullName", "role")
    validations = (
        Check("email_format", "email", "'{value}' is not an email address", ("email",)),
        Check("matches", "username", "may hold only letters, digits, '.', '_' and '-'",
              ("username",), {"pattern": USERNAME_PATTERN}),
    )

    def workflow_actions(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        if record.get("active", True):
            return ("assign", "deactivate", "unlock")
        return ("assign", "activate")

    def locks(self, action: str, record: Mapping[str, Any], actor: Actor) -> Decision:
        name = record.get("username")
        active = record.get("active", True)
        if action == "deactivate":
            if not active:
                return refused(f"user {name} is already deactivated", "active")
            if record.get("objectId") == actor.id:
                return refused("you cannot deactivate yourself", "active")
        if action == "activate" and active:
            return refused(f"user {name} is already active", "active")
        return super().locks(action, record, actor)

    def reference_refusal(self, actor: Actor, record: Mapping[str, Any]) -> str | None:
        if not record.get("active", True):
            return f"user {record.get('username')} is deactivated"
        return None

    def row_state(self, record: Mapping[str, Any], today: date) -> RowState:
        if record.get("active") is False:
            return RowState("grey", "deactivated")
        return RowState()

    def title(self, record: Mapping[str, Any]) -> str:
        return str(record.get("fullName") or record.get("username") or "")

    def choice_label(self, record: Mapping[str, Any]) -> str:
        return f"{self.title(record)} ({role_words(str(record.get('role') or ''))})"


USERS = UserType()
