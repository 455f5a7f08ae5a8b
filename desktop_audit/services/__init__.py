"""One keyword-only function per user action; every write in the program goes through here.

Each asks the record type (``desktop_audit.records``) whether the acting user may do it
(role, site, condition, the record's state), validates and derives, then adds the change
to a unit of work that writes it, queues it for sync and appends an audit-trail event,
all in one transaction.  A refused call raises ValidationError / PermissionDenied /
NotFound and changes nothing.  Pass ``uow=`` to collect several calls (an import) into
one unit that the caller flushes.
"""

from collections.abc import Callable

from desktop_audit.records.aspects import ASPECTS
from desktop_audit.records.base import RecordType
from desktop_audit.records.findings import FINDINGS
from desktop_audit.records.legal import LEGAL_ENTRIES
from desktop_audit.records.reviews import REVIEWS
from desktop_audit.records.sites import SITES
from desktop_audit.records.spill_kits import SPILL_KITS
from desktop_audit.records.users import USERS
from desktop_audit.services import users
from desktop_audit.services.common import get_visible, site_by_code, visible_site_ids, visible_sites
from desktop_audit.services.conflicts import resolve_conflict
from desktop_audit.services.deletion import delete_record
from desktop_audit.services.evidence import add_evidence, update_caption
from desktop_audit.services.findings import (
    close_finding,
    closing_blockers,
    raise_finding,
    reopen_finding,
    update_finding,
)
from desktop_audit.services.legal import (
    add_legal_entry,
    record_legal_evaluation,
    update_legal_entry,
)
from desktop_audit.services.logs import (
    add_aspect,
    add_spill_kit_check,
    update_aspect,
    update_spill_kit_check,
)
from desktop_audit.services.reviews import approve_review, plan_review, update_review
from desktop_audit.services.sites import create_site, update_site
from desktop_audit.services.unit_of_work import UnitOfWork
from desktop_audit.services.users import (
    activate_user,
    assign_sites,
    bootstrap_admin,
    create_user,
    deactivate_user,
    set_password,
    unlock_user,
    update_user,
)

# The service that creates / edits a record of each type by hand (forms, import).
_CREATORS: dict[RecordType, Callable[..., str]] = {
    SITES: create_site, ASPECTS: add_aspect, SPILL_KITS: add_spill_kit_check,
    LEGAL_ENTRIES: add_legal_entry, REVIEWS: plan_review, FINDINGS: raise_finding,
}
_EDITORS: dict[RecordType, Callable[..., None]] = {
    SITES: update_site, ASPECTS: update_aspect, SPILL_KITS: update_spill_kit_check,
    LEGAL_ENTRIES: update_legal_entry, REVIEWS: update_review, FINDINGS: update_finding,
    USERS: update_user,
}
# The same, by class name.
CREATE: dict[str, Callable[..., str]] = {rt.name: fn for rt, fn in _CREATORS.items()}
UPDATE: dict[str, Callable[..., None]] = {rt.name: fn for rt, fn in _EDITORS.items()}
# The classes whose create service is exactly ``writing.create`` (it changes no other
# record): an import creates their records through a ``writing.Creator`` made once per file.
PLAIN_CREATE: frozenset[str] = frozenset(
    rt.name for rt in (ASPECTS, SPILL_KITS, LEGAL_ENTRIES, REVIEWS, FINDINGS))

__all__ = [
    "CREATE", "PLAIN_CREATE", "UPDATE", "UnitOfWork", "activate_user", "add_aspect", "add_evidence",
    "add_legal_entry",
    "add_spill_kit_check", "approve_review", "assign_sites", "bootstrap_admin", "close_finding",
    "closing_blockers", "create_site", "create_user", "deactivate_user", "delete_record", "get_visible",
    "plan_review", "raise_finding", "record_legal_evaluation", "reopen_finding",
    "resolve_conflict", "set_password", "site_by_code", "unlock_user", "update_aspect", "update_caption",
    "update_finding", "update_legal_entry", "update_review", "update_site",
    "update_spill_kit_check", "update_user", "users", "visible_site_ids", "visible_sites",
]
