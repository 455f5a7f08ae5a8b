"""Findings and corrective actions (ISO 14001 10.2): raise, edit, close, reopen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.domain import permissions
from desktop_audit.errors import ValidationError
from desktop_audit.schema import BY_NAME, FINDING, LOG_TYPE_CLASS
from desktop_audit.services import common, engine, legal, logs

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

_EDITABLE = ("site", "review", "logType", "sourceId", "severity", "description",
             "correctiveAction", "rootCause", "actionOwner", "dueDate", "verificationNote")


def _check_links(db: Database) -> common.Hook:
    def check(values: dict[str, Any], old: dict[str, Any] | None) -> None:
        if old is not None and old.get("closed"):
            raise ValidationError("closed", "a closed finding cannot be edited; reopen it first")
        class_name = LOG_TYPE_CLASS.get(values.get("logType") or "")
        source_id = values.get("sourceId")
        if class_name and source_id:
            source = engine.load(db, BY_NAME[class_name], source_id)
            if source is None:
                raise ValidationError("sourceId", f"no {BY_NAME[class_name].label.lower()} "
                                                  f"with id {source_id!r}")
            if source.get("site") != values.get("site"):
                raise ValidationError("sourceId", "the record is on another site")
        review_id = values.get("review")
        if review_id:
            review = engine.load(db, BY_NAME["AuditReview"], review_id)
            if review and review.get("site") != values.get("site"):
                raise ValidationError("review", "the review is of another site")
    return check


def raise_finding(db: Database, actor: Actor, **values: Any) -> str:
    return common.create(db, actor, FINDING, values, action_permission="finding_raise",
                         editable=_EDITABLE, fixed={"raisedBy": actor.id, "closed": False},
                         check=_check_links(db)).object_id


def update_finding(db: Database, actor: Actor, object_id: str, **values: Any) -> None:
    old = common.get_visible(db, actor, FINDING, object_id)
    if values.get("severity") not in (None, old["severity"]) and actor.role == "field_staff":
        permissions.require(actor, "finding_edit")
    common.update(db, actor, FINDING, object_id, values, action_permission="finding_edit",
                  editable=_EDITABLE, check=_check_links(db), old=old)


def closing_blockers(db: Database, finding: dict[str, Any]) -> list[tuple[str, str]]:
    """Every rule that stops this finding from being closed, as (field, reason)."""
    out: list[tuple[str, str]] = []
    if finding.get("closed"):
        out.append(("closed", "the finding is already closed"))
    if not finding.get("correctiveAction"):
        out.append(("correctiveAction", "a corrective action is required"))
    if finding.get("severity") in ("major_nc", "minor_nc") and not finding.get("rootCause"):
        out.append(("rootCause", "a root cause is required for a nonconformity"))
    if not finding.get("verificationNote"):
        out.append(("verificationNote", "a note on the verification of effectiveness is "
                                        "required"))
    class_name = LOG_TYPE_CLASS.get(finding.get("logType") or "")
    if class_name and finding.get("sourceId"):
        source = engine.load(db, BY_NAME[class_name], finding["sourceId"])
        if source is None:
            out.append(("sourceId", "the record the finding is about no longer exists"))
        elif class_name == "AspectImpactLog" and source["actionStatus"] not in ("controlled",
                                                                                 "closed"):
            out.append(("sourceId", f"the aspect's action status is {source['actionStatus']}; "
                                    "it must be controlled or closed"))
        elif class_name == "LegalRegisterEntry":
            if source["complianceStatus"] == "non_compliant":
                out.append(("sourceId", f"legal entry {source['referenceCode']} is non-compliant"))
            elif legal.is_overdue(source):
                out.append(("sourceId", f"legal entry {source['referenceCode']} is overdue for "
                                        "evaluation"))
        elif class_name == "SpillKitLog":
            latest = logs.latest_kit_check(db, source["site"], source["kitTag"])
            if latest is None or latest["inspectionStatus"] != "pass":
                status = latest["inspectionStatus"] if latest else "missing"
                out.append(("sourceId", f"the latest inspection of kit {source['kitTag']} is "
                                        f"{status.replace('_', ' ')}, not a pass"))
    return out


def close_finding(db: Database, actor: Actor, object_id: str, *,
                  verificationNote: str | None = None, rootCause: str | None = None,
                  correctiveAction: str | None = None) -> None:
    """A manager or admin closes a finding once every closing rule holds."""
    old = common.get_visible(db, actor, FINDING, object_id)
    permissions.require(actor, "finding_close", site_id=old["site"])
    values = {k: v for k, v in (("verificationNote", verificationNote), ("rootCause", rootCause),
                                ("correctiveAction", correctiveAction)) if v is not None}
    candidate = dict(old)
    candidate.update(engine.coerce_values(FINDING, values))
    blockers = closing_blockers(db, candidate)
    if blockers:
        raise ValidationError(*blockers[0], class_name=FINDING.name)
    if old.get("actionOwner") == actor.id:
        raise ValidationError("actionOwner", "the action owner cannot verify and close their own "
                                             "corrective action")
    common.update(db, actor, FINDING, object_id, values, action_permission="finding_close",
                  action="close", old=old, forced={"closed": True, "closedAt": clock.now_iso(),
                                                   "closedBy": actor.id})


def reopen_finding(db: Database, actor: Actor, object_id: str, *, reason: str) -> None:
    """A manager or admin reopens a closed finding (the verification did not hold)."""
    old = common.get_visible(db, actor, FINDING, object_id)
    permissions.require(actor, "finding_close", site_id=old["site"])
    if not old.get("closed"):
        raise ValidationError("closed", "the finding is not closed")
    if not (reason or "").strip():
        raise ValidationError("verificationNote", "say why the finding is reopened")
    note = f"{old.get('verificationNote') or ''}\nReopened: {reason.strip()}".strip()
    common.update(db, actor, FINDING, object_id, {}, action_permission="finding_close",
                  action="reopen", old=old, forced={"closed": False, "closedAt": None,
                                                    "closedBy": None, "verificationNote": note})
