"""What a list view asks of SQLite: columns, the quick filters each class needs, search,
site scope and sort, turned into one parameterised query (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop_audit.schema import ClassDef, Field

TODAY = "date('now', 'localtime')"


@dataclass(frozen=True)
class QuickFilter:
    key: str
    label: str
    sql: str


_OPEN = '"closed" = 0'
QUICK_FILTERS: dict[str, tuple[QuickFilter, ...]] = {
    "AuditFinding": (
        QuickFilter("open", "Open findings", _OPEN),
        QuickFilter("past_due", "Open and past due", f'{_OPEN} AND "dueDate" < {TODAY}'),
        QuickFilter("open_major_nc", "Open major NCs", f"{_OPEN} AND \"severity\" = 'major_nc'"),
        QuickFilter("open_minor_nc", "Open minor NCs", f"{_OPEN} AND \"severity\" = 'minor_nc'"),
        QuickFilter("open_observation", "Open observations",
                    f"{_OPEN} AND \"severity\" = 'observation'"),
        QuickFilter("open_opportunity", "Open opportunities",
                    f"{_OPEN} AND \"severity\" = 'opportunity'"),
        QuickFilter("closed", "Closed", '"closed" = 1'),
    ),
    "LegalRegisterEntry": (
        QuickFilter("overdue", "Overdue for evaluation", f'"dueDate" < {TODAY}'),
        QuickFilter("non_compliant", "Non-compliant", "\"complianceStatus\" = 'non_compliant'"),
        QuickFilter("attention", "Overdue or non-compliant",
                    f"(\"dueDate\" < {TODAY} OR \"complianceStatus\" = 'non_compliant')"),
        QuickFilter("due_30", "Due in the next 30 days",
                    f"\"dueDate\" BETWEEN {TODAY} AND date('now', 'localtime', '+30 days')"),
        QuickFilter("not_assessed", "Not assessed", "\"complianceStatus\" = 'not_assessed'"),
    ),
    "AspectImpactLog": (
        QuickFilter("significant", "Significant aspects", '"significant" = 1'),
        QuickFilter("open_actions", "Action open or in progress",
                    "\"actionStatus\" IN ('open', 'in_progress')"),
        QuickFilter("abnormal", "Abnormal and emergency conditions",
                    "\"operatingCondition\" IN ('abnormal', 'emergency')"),
    ),
    "SpillKitLog": (
        QuickFilter("failed", "Failed inspections", "\"inspectionStatus\" = 'fail'"),
        QuickFilter("attention", "Failed or needing attention",
                    "\"inspectionStatus\" IN ('fail', 'needs_attention')"),
        QuickFilter("replenish", "Replenishment needed", '"replenishmentNeeded" = 1'),
        QuickFilter("latest_replenish", "Kits needing replenishment (latest check)",
                    '"replenishmentNeeded" = 1 AND "lastCheckedAt" = (SELECT MAX(k."lastCheckedAt") '
                    'FROM spill_kit_log k WHERE k."site" = spill_kit_log."site" AND '
                    'k."kitTag" = spill_kit_log."kitTag" AND k."deletedAt" IS NULL)'),
    ),
    "AuditReview": (
        QuickFilter("open", "Planned or in progress", "\"reviewStatus\" IN ('planned', 'in_progress')"),
        QuickFilter("to_approve", "Completed, awaiting approval", "\"reviewStatus\" = 'completed'"),
        QuickFilter("approved", "Approved", "\"reviewStatus\" = 'approved'"),
    ),
    "AuditSite": (
        QuickFilter("active", "Active sites", '"active" = 1'),
        QuickFilter("inactive", "Inactive sites", '"active" = 0'),
    ),
    "User": (
        QuickFilter("active", "Active users", '"active" = 1'),
        QuickFilter("inactive", "Deactivated users", '"active" = 0'),
    ),
    "AuditTrailEvent": (
        QuickFilter("changes", "Changes to records", "\"action\" NOT IN ('login', 'login_failed')"),
        QuickFilter("logins", "Logins", "\"action\" IN ('login', 'login_failed')"),
        QuickFilter("failed_logins", "Failed logins", "\"action\" = 'login_failed'"),
    ),
}

# The sort a list opens with: the most useful order for each class.
DEFAULT_SORT: dict[str, tuple[str, bool]] = {
    "AuditFinding": ("updatedAt", True),
    "LegalRegisterEntry": ("dueDate", False),
    "AspectImpactLog": ("riskRating", True),
    "SpillKitLog": ("lastCheckedAt", True),
    "AuditReview": ("auditDate", True),
    "AuditSite": ("siteCode", False),
    "User": ("username", False),
    "AuditTrailEvent": ("at", True),
}


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    field: Field | None  # None for the system columns

    @property
    def kind(self) -> str:
        return self.field.kind if self.field else "datetime"


def columns(cdef: ClassDef) -> list[Column]:
    """Every field a person can read, then when the record last changed."""
    cols = [Column(f.name, f.label, f) for f in cdef.fields
            if f.kind not in ("secret", "file") and f.name not in ("prevHash",)]
    if cdef.name != "AuditTrailEvent":
        cols.append(Column("updatedAt", "Last changed", None))
    return cols


def default_hidden(cdef: ClassDef) -> set[str]:
    """Long text after the first one, hashes and bookkeeping start hidden (the column chooser
    shows them)."""
    hidden: set[str] = set()
    seen_text = False
    for f in cdef.fields:
        if f.kind == "text":
            if seen_text:
                hidden.add(f.name)
            seen_text = True
        if f.kind in ("object",) and cdef.name != "AuditTrailEvent":
            hidden.add(f.name)
    if cdef.name == "AuditTrailEvent":
        hidden |= {"deviceId", "seq", "actor", "hash", "recordId"}
    if cdef.name == "AspectImpactLog":
        hidden |= {"thresholdApplied", "obligationRefs", "loggedAt", "lifeCycleStage"}
    if cdef.name == "AuditFinding":
        hidden |= {"sourceId", "closedAt", "raisedBy", "review"}
    return hidden


def search_fields(cdef: ClassDef) -> list[str]:
    return [f.name for f in cdef.fields
            if f.kind in ("string", "text") and not f.system and not f.name.endswith("Id") or
            (cdef.name == "AuditTrailEvent" and f.name in ("actorName", "action", "recordClass",
                                                           "recordId"))]


@dataclass
class ListQuery:
    """The state of one list: which rows (site, quick filter, search, exact values) in which order."""

    cdef: ClassDef
    visible_sites: list[str] | None = None  # None: every site (admin)
    site: str | None = None
    quick: str | None = None
    search: str = ""
    equals: dict[str, Any] = field(default_factory=dict)
    sort: str = ""
    descending: bool = False

    def __post_init__(self) -> None:
        if not self.sort:
            self.sort, self.descending = DEFAULT_SORT.get(self.cdef.name, ("updatedAt", True))

    def where(self) -> tuple[str, list[Any]]:
        cdef = self.cdef
        parts = ['"deletedAt" IS NULL']
        params: list[Any] = []
        scope = None
        if cdef.site_field:
            scope = cdef.site_field
        elif cdef.name == "AuditSite":
            scope = "objectId"
        elif cdef.name == "AuditTrailEvent":
            scope = "siteId"
        if scope is not None:
            if self.site:
                parts.append(f'"{scope}" = ?')
                params.append(self.site)
            elif self.visible_sites is not None:
                marks = ", ".join("?" for _ in self.visible_sites) or "NULL"
                parts.append(f'"{scope}" IN ({marks})')
                params.extend(self.visible_sites)
        if self.quick:
            for q in QUICK_FILTERS.get(cdef.name, ()):
                if q.key == self.quick:
                    parts.append(f"({q.sql})")
        for name, value in self.equals.items():
            if name != "objectId" and not cdef.has(name):
                continue
            parts.append(f'"{name}" = ?')
            params.append(value)
        words = self.search.split()
        if words:
            names = search_fields(cdef)
            for word in words[:6]:
                like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                parts.append("(" + " OR ".join(f'"{n}" LIKE ? ESCAPE \'\\\'' for n in names) + ")")
                params.extend([like] * len(names))
        return " AND ".join(parts), params

    def order_by(self, *, scan: bool = False) -> str:
        """The ORDER BY; with ``scan`` the sort column's index is not used (a unary +), so SQLite
        reads the table once and keeps the top rows, which beats walking the index when few rows
        match a search."""
        direction = "DESC" if self.descending else "ASC"
        tie = '"seq"' if self.cdef.name == "AuditTrailEvent" else '"objectId"'
        plus = "+" if scan else ""
        return f'{plus}"{self.sort}" {direction}, {tie} {direction}'

    def select(self, names: list[str], limit: int, offset: int, *,
               scan: bool = False) -> tuple[str, list[Any]]:
        where, params = self.where()
        cols = ", ".join(f'"{n}"' for n in ["objectId", *names])
        sql = (f'SELECT {cols} FROM "{self.cdef.table}" WHERE {where} '
               f"ORDER BY {self.order_by(scan=scan)} LIMIT ? OFFSET ?")
        return sql, [*params, limit, offset]

    def count(self) -> tuple[str, list[Any]]:
        where, params = self.where()
        return f'SELECT COUNT(*) FROM "{self.cdef.table}" WHERE {where}', params
