"""One keyword-only function per user action; every write in the program goes through here.

Each checks the acting user's permission (role and site), validates and derives,
writes, queues the change for sync and appends an audit-trail event, all in one
transaction.  A refused call raises ValidationError / PermissionDenied / NotFound
and changes nothing.
"""

from desktop_audit.services import users
from desktop_audit.services.common import site_by_code, visible_site_ids
from desktop_audit.services.common import soft_delete as delete_record
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
from desktop_audit.services.users import (
    assign_sites,
    bootstrap_admin,
    create_user,
    set_password,
    update_user,
)

__all__ = [
    "add_aspect", "add_evidence", "add_legal_entry", "add_spill_kit_check", "approve_review",
    "assign_sites", "bootstrap_admin", "close_finding", "closing_blockers", "create_site",
    "create_user", "delete_record", "plan_review", "raise_finding", "record_legal_evaluation",
    "reopen_finding", "set_password", "site_by_code", "update_aspect", "update_caption",
    "update_finding", "update_legal_entry", "update_review", "update_site",
    "update_spill_kit_check", "update_user", "users", "visible_site_ids",
]
