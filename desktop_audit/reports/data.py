"""What an evidence pack shows, read from the database as it stood at one instant (as_of).

Nothing here draws: ``gather`` returns plain records and figures, so the layout code
(evidence_pack.py) and the tests can look at the same numbers.  Records are taken
as they stood at ``as_of``: rows created later are left out, and changes journaled
after ``as_of`` are rolled back from the audit trail's ``changes`` (field: [old,
new]).  That, and counting only trail events up to ``as_of``, is what makes two
exports with the same ``as_of`` identical even when the first one journaled itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from desktop_audit import clock, records
from desktop_audit.records.base import site_threshold
from desktop_audit.records.findings import SEVERITY_ORDER
from desktop_audit.schema import (
    ASPECT,
    EVIDENCE,
    FINDING,
    LEGAL,
    REVIEW,
    SITE,
    SPILL_KIT,
    USER,
    ClassDef,
)
from desktop_audit.store import codec, journal, rows, sync_state

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.domain.trail import ChainReport
    from desktop_audit.store.db import Database

# Classes whose outbox entries count as "data not yet synced" (trail events do not).
DATA_CLASSES = tuple(rt.name for rt in records.all_types() if not rt.cdef.append_only)


@dataclass
class Period:
    """An inclusive range of calendar dates; either end may be open."""

    start: date | None = None
    end: date | None = None

    def start_instant(self) -> str | None:
        return _local_midnight(self.start) if self.start else None

    def end_instant(self) -> str | None:
        """The first instant after the period (local midnight after ``end``)."""
        return _local_midnight(self.end + timedelta(days=1)) if self.end else None

    def has_date(self, value: str | None) -> bool:
        if not value:
            return False
        day = value[:10]
        return ((self.start is None or day >= self.start.isoformat())
                and (self.end is None or day <= self.end.isoformat()))

    def has_instant(self, value: str | None) -> bool:
        if not value:
            return False
        lo, hi = self.start_instant(), self.end_instant()
        return (lo is None or value >= lo) and (hi is None or value < hi)

    def describe(self) -> str:
        if self.start and self.end:
            return f"{self.start.isoformat()} to {self.end.isoformat()}"
        if self.start:
            return f"from {self.start.isoformat()}"
        if self.end:
            return f"up to {self.end.isoformat()}"
        return "all records"


def _local_midnight(day: date) -> str:
    return clock.iso(datetime.combine(day, time.min).astimezone())


@dataclass
class TrailRow:
    at: str
    device_id: str
    seq: int
    actor_name: str
    action: str
    record_class: str
    record_id: str
    changes: dict[str, Any]
    hash: str


@dataclass
class PackData:
    site: dict[str, Any]
    as_of: str  # ISO UTC instant: the generation time the pack prints
    today: date  # as_of's local date: what "overdue" is judged against
    period: Period
    review: dict[str, Any] | None
    prepared_by: Actor
    users: dict[str, dict[str, Any]]
    aspects: list[dict[str, Any]] = field(default_factory=list)
    spill_kits: list[dict[str, Any]] = field(default_factory=list)
    legal: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    trail: list[TrailRow] = field(default_factory=list)
    chains: list[ChainReport] = field(default_factory=list)
    chain_counts: dict[str, int] = field(default_factory=dict)  # events up to as_of, by chain
    # (chain, seq, hash) of the last event up to as_of of each chain holding events about the
    # site: what the pack was built on (in its metadata; verify-trail --pack checks them).
    heads: list[tuple[str, int, str]] = field(default_factory=list)
    last_sync: str | None = None
    unsynced: int = 0
    refs: dict[str, str] = field(default_factory=dict)  # objectId -> pack reference (A3, F12)

    @property
    def approved(self) -> bool:
        return bool(self.review and self.review.get("reviewStatus") == "approved")

    @property
    def threshold(self) -> int:
        return site_threshold(self.site)

    def user_name(self, user_id: str | None) -> str:
        if not user_id:
            return ""
        user = self.users.get(user_id)
        if not user:
            return user_id
        return str(user.get("fullName") or user.get("username") or user_id)

    def user_display(self, user_id: str | None) -> str:
        if not user_id:
            return ""
        user = self.users.get(user_id)
        if not user:
            return user_id
        return f"{self.user_name(user_id)} ({str(user.get('role', '')).replace('_', ' ')})"


def records_as_of(db: Database, cdef: ClassDef, as_of: str,
                  where: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The records whose fields equal *where* as they stood at *as_of* (later changes rolled
    back from the audit trail)."""
    found = {r["objectId"]: r for r in rows.select(db, cdef, where, include_deleted=True)}
    gone: set[str] = set()
    for record_id, action, changes in journal.later_changes(db, cdef.name, as_of):
        record = found.get(record_id)
        if record is None:
            continue
        if action == "create":
            gone.add(record_id)
            continue
        try:
            diff = codec.loads(changes) if changes else {}
        except ValueError:
            continue
        for name, pair in diff.items():
            if name in record and isinstance(pair, list) and len(pair) == 2:
                if cdef.has(name) and cdef.get(name).kind == "secret":
                    continue
                record[name] = pair[0]
    out = []
    for oid, record in found.items():
        if oid in gone or (record.get("createdAt") or "") > as_of:
            continue
        deleted = record.get("deletedAt")
        if deleted and deleted <= as_of:
            continue
        out.append(record)
    return out


def parse_as_of(value: str | datetime | None) -> str:
    """An ISO UTC instant (millisecond precision, the stored format) from what a caller gave."""
    if value is None:
        return clock.now_iso()
    if isinstance(value, datetime):
        return clock.iso(value)
    text = value.strip()
    if len(text) == 10:  # a date: the end of that day, local time
        day = date.fromisoformat(text)
        return clock.iso(datetime.combine(day, time(23, 59, 59, 999000)).astimezone())
    return clock.iso(clock.parse_iso(text))


def gather(db: Database, actor: Actor, site: dict[str, Any], *, as_of: str, period: Period,
           review_id: str | None, sections: frozenset[str]) -> PackData:
    """Everything the pack prints, as of *as_of*."""
    from desktop_audit.domain import trail
    from desktop_audit.errors import NotFound

    site_id = site["objectId"]
    sites = records_as_of(db, SITE, as_of, {"objectId": site_id})
    if not sites:
        raise NotFound(f"site {site['siteCode']} did not exist at {as_of}")
    users = {u["objectId"]: u for u in records_as_of(db, USER, as_of)}
    # "Overdue" is judged on the site's calendar date at the pack's instant.
    at_site = clock.parse_iso(as_of).astimezone(clock.zone(sites[0].get("timeZone")))
    data = PackData(site=sites[0], as_of=as_of, today=at_site.date(), period=period,
                    review=None, prepared_by=actor, users=users)
    by_site = {"site": site_id}
    reviews = records_as_of(db, REVIEW, as_of, by_site)
    if review_id:
        match = [r for r in reviews if r["objectId"] == review_id]
        if not match:
            raise NotFound(f"no audit review {review_id!r} at site {site['siteCode']}")
        data.review = match[0]

    # Registers stand as a whole: every aspect and obligation recorded by the end of the period.
    end = period.end_instant()
    aspects = [a for a in records_as_of(db, ASPECT, as_of, by_site)
               if end is None or (a.get("loggedAt") or "") < end]
    aspects.sort(key=lambda a: (-(a.get("riskRating") or 0), not a.get("significant"),
                                a.get("loggedAt") or "", a["objectId"]))
    data.aspects = aspects
    legal = [e for e in records_as_of(db, LEGAL, as_of, by_site)
             if end is None or (e.get("createdAt") or "") < end]
    legal.sort(key=lambda e: (str(e.get("referenceCode") or "").lower(), e["objectId"]))
    data.legal = legal
    # Activity: what happened in the period.
    kits = [k for k in records_as_of(db, SPILL_KIT, as_of, by_site)
            if period.has_instant(k.get("lastCheckedAt"))]
    kits.sort(key=lambda k: (str(k.get("kitTag") or ""), k.get("lastCheckedAt") or "", k["objectId"]))
    data.spill_kits = kits
    in_period = [r for r in reviews if period.has_date(r.get("auditDate"))]
    if data.review and data.review not in in_period:
        in_period.append(data.review)
    in_period.sort(key=lambda r: (r.get("auditDate") or "", r["objectId"]))
    data.reviews = in_period
    findings = []
    for f in records_as_of(db, FINDING, as_of, by_site):
        raised = f.get("createdAt")
        if period.has_instant(raised):
            findings.append(f)
        elif not f.get("closed") and (period.start_instant() or "") > (raised or ""):
            f["_carried"] = True  # raised before the period and still open
            findings.append(f)
        elif data.review and f.get("review") == data.review["objectId"]:
            findings.append(f)
    sev_order = SEVERITY_ORDER
    findings.sort(key=lambda f: (bool(f.get("closed")), sev_order.get(f.get("severity") or "", 9),
                                 f.get("dueDate") or "9999", f.get("createdAt") or "", f["objectId"]))
    data.findings = findings

    for prefix, listed in (("A", data.aspects), ("S", data.spill_kits), ("R", data.reviews),
                           ("F", data.findings)):
        for n, record in enumerate(listed, 1):
            data.refs[record["objectId"]] = f"{prefix}{n}"
    for entry in data.legal:
        data.refs[entry["objectId"]] = str(entry.get("referenceCode") or entry["objectId"])
    data.refs[site_id] = str(data.site.get("siteCode"))

    if "photos" in sections:
        photos = [e for e in records_as_of(db, EVIDENCE, as_of, by_site)
                  if e.get("parentId") in data.refs]
        order = {rt.name: n for n, rt in enumerate(records.with_photos())}
        photos.sort(key=lambda e: (order.get(e.get("parentClass") or "", 9),
                                   _ref_key(data.refs.get(e.get("parentId") or "", "")),
                                   e.get("takenAt") or e.get("createdAt") or "", e["objectId"]))
        data.evidence = photos

    if "trail" in sections:
        data.trail = _trail_rows(db, site_id, as_of, period)
        data.chains = trail.verify(db)
        data.chain_counts = journal.counts_until(db, as_of)
    data.heads = journal.heads_until(db, as_of, site_id)

    data.last_sync, data.unsynced = _sync_state(db, as_of)
    return data


def _ref_key(ref: str) -> tuple[str, int, str]:
    head = ref[:1]
    tail = ref[1:]
    return (head, int(tail), "") if tail.isdigit() else ("~", 0, ref)


def _trail_rows(db: Database, site_id: str, as_of: str, period: Period) -> list[TrailRow]:
    names = ("at", "deviceId", "seq", "actorName", "action", "recordClass", "recordId", "changes",
             "hash")
    out = []
    for at, device, seq, actor, action, rclass, rid, changes, digest in journal.site_events(
            db, site_id, as_of, period.start_instant(), period.end_instant(), names):
        try:
            diff = codec.loads(changes) if changes else {}
        except ValueError:
            diff = {"(unreadable)": [None, None]}
        out.append(TrailRow(at, device, int(seq), actor or "", action, rclass or "", rid or "",
                            diff if isinstance(diff, dict) else {}, digest or ""))
    return out


def _sync_state(db: Database, as_of: str) -> tuple[str | None, int]:
    """(last sync at or before as_of, data records changed since and not synced by as_of)."""
    candidates = []
    for key in ("sync_last_at", "last_sync_at"):  # the sync engine's key, and the older name
        meta = db.meta(key)
        if meta and meta <= as_of:
            candidates.append(meta)
    synced = journal.last_action_at(db, "sync", as_of)
    if synced:
        candidates.append(synced)
    last = max(candidates) if candidates else None
    return last, sync_state.unsynced_since(db, DATA_CLASSES, as_of, last)


def utc_now_after(as_of: str) -> str:
    """A journal time strictly after *as_of*, so the export's own event stays out of a pack
    made again with the same as_of."""
    now = clock.now_iso()
    if now > as_of:
        return now
    return clock.iso(clock.parse_iso(as_of) + timedelta(milliseconds=1))


def review_choices(db: Database, site_id: str) -> list[tuple[str, str]]:
    """(objectId, label) of the site's audit reviews, newest first, for an export dialog."""
    out = []
    for review in rows.select(db, REVIEW, {"site": site_id}, order=["-auditDate", "objectId"]):
        label = f"{review.get('auditDate')} · {str(review.get('reviewStatus') or '').replace('_', ' ')}"
        scope = review.get("scope")
        if scope:
            label += f" · {scope if len(scope) <= 60 else scope[:59] + '…'}"
        out.append((str(review["objectId"]), label))
    return out
