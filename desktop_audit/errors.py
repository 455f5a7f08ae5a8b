"""Typed errors: each becomes one clear message at the edge (a dialog, a CLI line)."""

from __future__ import annotations


class AuditError(Exception):
    """Base of every error a user may see; str() is the one-line message."""

    exit_code = 1


class ValidationError(AuditError):
    """A value was refused; names the field (and the row, for a file) and why."""

    def __init__(self, field: str, reason: str, *, row: int | None = None,
                 class_name: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.row = row
        self.class_name = class_name
        # Every problem found in the same check (a form shows them all at once); the first
        # is this error itself.
        self.problems: list[ValidationError] = []
        super().__init__(self.message)

    @property
    def all_problems(self) -> list[ValidationError]:
        return self.problems or [self]

    @property
    def message(self) -> str:
        if self.row is not None:
            return f"row {self.row}, {self.field}: {self.reason}" if self.field else \
                f"row {self.row}: {self.reason}"
        return f"{self.field}: {self.reason}"

    def at_row(self, row: int) -> ValidationError:
        return ValidationError(self.field, self.reason, row=row, class_name=self.class_name)


class PermissionDenied(AuditError):
    """The acting user's role or site assignment does not allow the action."""


class AuthError(AuditError):
    """Login failed, or no user is logged in."""


class NotFound(AuditError):
    """A record, site or user named by the caller does not exist (or is not visible)."""


class IntegrityError(AuditError):
    """The database file or the audit trail failed a check."""


class FileFormatError(AuditError):
    """An import file cannot be read (encoding, columns, not a spreadsheet)."""


class SyncError(AuditError):
    """The server could not be reached or refused the sync."""


class Cancelled(AuditError):
    """Long work stopped because the user asked it to."""
