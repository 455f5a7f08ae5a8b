"""What a record type is and how it behaves, in one object per class.

A ``RecordType`` holds, for one class of the declaration (``schema.py``): who may do what
to it and why not, its owner and author fields, its derived fields and how they are
derived, its own validation, the values a new record gets, its workflow gates (what
blocks closing, approving ...), its list filters, sort and row states, and its due date.
Services, forms, lists, the dashboard, packs, import/export, the sync merge and the
server's rule data ask the registry (``records.of(name)``); none of them branch on a
class name.

Permissions are data, not code: per action a tuple of ``Rule(roles, when)``, where
``when`` names one of a few conditions (``CONDITIONS``).  The same data is published to
the server, whose Cloud Code evaluates the same named conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from desktop_audit import clock
from desktop_audit.errors import PermissionDenied, ValidationError
from desktop_audit.records import rulefns
from desktop_audit.records.declaration import Check, Derivation, Lock, Transition, fill
from desktop_audit.schema import BY_NAME, ROLES, SITE, ClassDef

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor

ALL_ROLES = frozenset(ROLES)
ADMIN = frozenset({"admin"})
MANAGERS = frozenset({"admin", "manager"})
OFFICE = frozenset({"admin", "manager", "coordinator"})  # who keeps the registers
AUDITORS = frozenset({"admin", "manager", "coordinator", "auditor"})


def role_words(role: str) -> str:
    return role.replace("_", " ")


def article(role: str) -> str:
    return "an" if role[:1] in "aeiou" else "a"


# ---------------------------------------------------------------- answers


@dataclass(frozen=True)
class Decision:
    """Whether an action is allowed, and the reason in the user's words when it is not.

    ``field`` is set when the refusal comes from the record's state (a closed finding, an
    approved review), so a service raises it as a ValidationError naming that field; a
    refusal without a field is a PermissionDenied."""

    allowed: bool
    reason: str = ""
    field: str | None = None

    def __bool__(self) -> bool:
        return self.allowed

    def __iter__(self) -> Iterator[Any]:  # ok, why = decision
        yield self.allowed
        yield self.reason

    def enforce(self) -> None:
        if self.allowed:
            return
        if self.field is not None:
            raise ValidationError(self.field, self.reason)
        raise PermissionDenied(self.reason)


ALLOWED = Decision(True)


def refused(reason: str, field_name: str | None = None) -> Decision:
    return Decision(False, reason, field_name)


@dataclass(frozen=True)
class Blocker:
    """One thing that stops a workflow step (closing, approving), and what must change."""

    field: str
    reason: str
    opens: tuple[str, str] | None = None  # (class, objectId) of the record to change

    def error(self, class_name: str | None = None) -> ValidationError:
        return ValidationError(self.field, self.reason, class_name=class_name)


@dataclass(frozen=True)
class RowState:
    """How a row reads in a list: a tone (red, amber, green, grey or none) and why."""

    tone: str | None = None
    why: str = ""


@dataclass(frozen=True)
class QuickFilter:
    """A named list filter.  ``sql`` is a WHERE fragment over the class's table; each
    ``{today}`` in it stands for today's date at the row's site (see store.listing)."""

    key: str
    label: str
    sql: str

    @property
    def uses_today(self) -> bool:
        return "{today}" in self.sql


@dataclass(frozen=True)
class UniqueKey:
    """Fields whose values together are unique among the live records of a class (checked
    on the laptop, and by a unique index on the server).  ``message`` is formatted with the
    record's values."""

    fields: tuple[str, ...]
    message: str
    nocase: bool = False

    def describe(self, values: Mapping[str, Any]) -> str:
        shown = {k: (str(v)[:16].replace("T", " ") if k == "lastCheckedAt" else v)
                 for k, v in values.items()}
        return self.message.format_map(_Missing(shown))


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Rule:
    """Roles that may take an action, optionally only when a named condition holds."""

    roles: frozenset[str]
    when: str | None = None


# ---------------------------------------------------------------- conditions
# Named conditions of the permission rules (records/rulefns.py; the same names in Cloud
# Code).  Each gets the actor, the record as stored (None for a create), the values being
# written and the type.

Condition = Callable[["Actor", "Mapping[str, Any] | None", "Mapping[str, Any]", "RecordType"],
                     bool]
CONDITIONS: Mapping[str, Condition] = rulefns.CONDITION


# ---------------------------------------------------------------- what a type may look up


class Lookup(Protocol):
    """What a record type may read while deciding (a unit of work: it sees pending writes)."""

    def get(self, class_name: str, object_id: str | None) -> dict[str, Any] | None: ...

    def latest(self, class_name: str, where: Mapping[str, Any], order: str,
               until: str | None = None) -> dict[str, Any] | None: ...


def site_threshold(site: Mapping[str, Any] | None) -> int:
    """The significance threshold of a site; the declaration's default when it has none."""
    value = (site or {}).get("significanceThreshold")
    return int(value) if value else int(SITE.get("significanceThreshold").default)  # type: ignore[call-overload]


# ---------------------------------------------------------------- the record type


@dataclass(frozen=True)
class Phrases:
    """What an action is called in a refusal: "a field staff may not <edit this entry>"."""

    create: str
    edit: str
    delete: str = "delete records"
    other: Mapping[str, str] = field(default_factory=dict)

    def of(self, action: str) -> str:
        if action == "create":
            return self.create
        if action == "edit":
            return self.edit
        if action == "delete":
            return self.delete
        return self.other.get(action, action)


class RecordType:
    """One class's behaviour.  Subclasses set the attributes and override the hooks."""

    cdef: ClassDef
    cli_name: str = ""
    list_noun: str = ""  # "3 spill kit checks"
    owner_field: str | None = None  # whose entry it is ("own" in the rules)
    author_field: str | None = None  # who did the work (loggedBy, checkedBy, raisedBy ...)
    permissions: Mapping[str, tuple[Rule, ...]] = {}
    phrases: Phrases = Phrases("add records", "edit records")
    # Fields the hand may set (None: every editable field of the declaration).
    editable: tuple[str, ...] | None = None
    quick_filters: tuple[QuickFilter, ...] = ()
    default_sort: tuple[str, bool] = ("updatedAt", True)
    hidden_columns: frozenset[str] = frozenset()
    has_photos: bool = False
    importable: bool = False
    writable_by_hand: bool = True
    live: bool = False  # pushed to laptops through Live Query while they are online
    log_type: str | None = None  # what a finding about this record says in ``logType``
    # Fields a service fills when a new record leaves them out (import may omit them).
    auto_filled: frozenset[str] = frozenset()
    unique_keys: tuple[UniqueKey, ...] = ()
    # Fields set when the record is made and never changed by an edit.
    fixed_after_create: frozenset[str] = frozenset()
    # Who sees the class's list (users are managed by an admin only).
    list_roles: frozenset[str] = ALL_ROLES
    # The column a list breaks ties of its sort with (a stable order while paging).
    tie_break: str = "objectId"
    # Fields holding an objectId whose class another field names: field -> that field
    # (a finding's sourceId names a record of the class its logType says).
    dynamic_pointers: Mapping[str, str] = {}
    # Which records a form's drop-down offers when a pointer names this class.
    choice_where: Mapping[str, Any] = {}
    # The field holding the IANA time zone the record's dates are dates in (a site's).
    zone_field: str | None = None
    # Fields an edit does not change: their own workflow action does (a user's sites).
    workflow_fields: Mapping[str, str] = {}
    # What a workflow step takes from the person taking it (the closing notes).
    workflow_inputs: Mapping[str, tuple[str, ...]] = {}
    # Its form offers the site's evidence pack (with this record chosen, for a review).
    exports_pack: bool = False

    # ------------------------------------------------------------ the rules, declared
    # (records/declaration.py; evaluated below and, from the published rulebook, by the
    # server's generic engine through functions of the same names)
    derivations: tuple[Derivation, ...] = ()
    validations: tuple[Check, ...] = ()
    lock_rules: tuple[Lock, ...] = ()
    # workflow action -> what must hold before it is taken (close, reopen, approve)
    gates: Mapping[str, tuple[Check, ...]] = {}
    # what makes this record "in a closing state" for a finding about it
    closing: tuple[Check, ...] = ()
    # workflow actions as they show in the record's values (what arrives at a server)
    transitions: tuple[Transition, ...] = ()

    # ------------------------------------------------------------ identity
    @property
    def name(self) -> str:
        return self.cdef.name

    @property
    def label(self) -> str:
        return self.cdef.label

    @property
    def site_scoped(self) -> bool:
        return self.cdef.site_field is not None

    @property
    def site_column(self) -> str | None:
        """The column naming the site a row belongs to (lists filter and date by it)."""
        return self.cdef.site_field

    def site_of(self, record: Mapping[str, Any] | None) -> str | None:
        """The site a record belongs to (the site itself for a site)."""
        if not record or self.cdef.site_field is None:
            return None
        value = record.get(self.cdef.site_field)
        return str(value) if value else None

    def title(self, record: Mapping[str, Any]) -> str:
        """A short readable name for the record (window titles, choices, messages)."""
        key = self.cdef.key
        if key != "objectId" and record.get(key):
            return str(record[key])
        return str(record.get("objectId") or "")

    def choice_label(self, record: Mapping[str, Any]) -> str:
        """How the record reads in a drop-down of a form (finding's source, review)."""
        return self.title(record)

    choice_columns: tuple[str, ...] = ()  # what choice_label reads

    def pointer_type(self, name: str, values: Mapping[str, Any]) -> RecordType | None:
        """The record type a pointer field (or a dynamic pointer) of a record with these
        *values* names; None when it names none (a finding about nothing in particular)."""
        from desktop_audit.records import by_log_type, of

        if name in self.dynamic_pointers:
            return by_log_type(values.get(self.dynamic_pointers[name]))
        f = self.cdef.get(name)
        return of(f.target) if f.target else None

    @property
    def editable_fields(self) -> tuple[str, ...]:
        if self.editable is not None:
            return self.editable
        return tuple(f.name for f in self.cdef.editable_fields)

    # Fields a service sets when it makes the record besides the editable ones (a photo's
    # site and file facts).
    set_at_create: tuple[str, ...] = ()

    @property
    def create_fields(self) -> tuple[str, ...]:
        """What a new record may be given: the editable fields, who did the work, and what
        its service sets when it makes it (derived fields are computed, not given)."""
        out = list(self.editable_fields)
        for name in (self.author_field, *self.set_at_create):
            if name and name not in out:
                out.append(name)
        return tuple(out)

    # ------------------------------------------------------------ permissions
    def rules(self, action: str) -> tuple[Rule, ...]:
        return self.permissions.get(action, ())

    def can(self, actor: Actor, action: str, record: Mapping[str, Any] | None = None,
            values: Mapping[str, Any] | None = None) -> Decision:
        """May *actor* take *action* on *record* (None: a new one) with these *values*?

        The role matrix, the site assignment, the rule's condition, then the record's
        state (what ``locks`` says).  The UI disables with this answer; the services
        enforce the same answer."""
        values = values or {}
        rules = self.rules(action)
        phrase = self.phrases.of(action)
        role = actor.role
        if not rules:
            return refused(self.not_by_hand(action))
        matching = [r for r in rules if role in r.roles]
        if not matching:
            return refused(f"{article(role)} {role_words(role)} may not {phrase}")
        if role != "admin":
            site_decision = self.site_check(actor, action, record, values)
            if not site_decision:
                return site_decision
        if not any(r.when is None or CONDITIONS[r.when](actor, record, values, self)
                   for r in matching):
            return refused(self.condition_refusal(actor, action, matching))
        if record is not None:
            lock = self.locks(action, record, actor)
            if not lock:
                return lock
        return ALLOWED

    def reference_refusal(self, actor: Actor, record: Mapping[str, Any]) -> str | None:
        """Why *actor* may not point a record at *record* of this type (None: they may)."""
        return None

    # Rows that may belong to no site at all (seen by everyone who sees the list).
    siteless_rows: bool = False
    # The order files are written in (the order records were made in).
    export_order: tuple[str, ...] = ("createdAt", "objectId")

    def unconditional(self, actor: Actor, action: str) -> bool:
        """Whether the actor's role may take *action* under a rule with no condition (the
        answer then depends only on the site and the record's state)."""
        return any(r.when is None and actor.role in r.roles for r in self.rules(action))

    def not_by_hand(self, action: str) -> str:
        return "records of this kind are written by the program, not by hand"

    def site_check(self, actor: Actor, action: str, record: Mapping[str, Any] | None,
                   values: Mapping[str, Any]) -> Decision:
        if not self.site_scoped:
            return ALLOWED
        phrase = self.phrases.of(action)
        before = self.site_of(record) if record is not None else None
        after = values.get(self.cdef.site_field or "", before)
        for site in {before, after} - {None}:
            if not actor.sees_site(site):
                return refused(f"you are not assigned to this site, so you may not {phrase} "
                               "there")
        return ALLOWED

    def condition_refusal(self, actor: Actor, action: str, rules: list[Rule]) -> str:
        """The reason when the actor's role may act only under a condition that fails."""
        role = actor.role
        conditions = {r.when for r in rules}
        who = f"{article(role)} {role_words(role)}"
        if "own" in conditions:
            return f"{who} may only edit their own entries"
        if "lead" in conditions:
            return f"{who} may only plan or edit reviews they lead"
        if "observation" in conditions:
            return f"{role_words(role)} may raise observations only"
        if "owns_site" in conditions:
            verb = "create" if action == "create" else "edit"
            return f"{who} may only {verb} sites they own"
        return f"{who} may not {self.phrases.of(action)}"

    def locks(self, action: str, record: Mapping[str, Any], actor: Actor) -> Decision:
        """What the record's state forbids (a closed finding is not edited)."""
        for lock in self.lock_rules:
            if lock.action == action and record.get(lock.field) == lock.equals:
                return refused(lock.message, lock.field)
        return ALLOWED

    def require(self, actor: Actor, action: str, record: Mapping[str, Any] | None = None,
                values: Mapping[str, Any] | None = None) -> None:
        self.can(actor, action, record, values).enforce()

    # ------------------------------------------------------------ authorship
    def author_decision(self, actor: Actor, author: str | None, site_id: str | None,
                        lookup: Lookup) -> Decision:
        """Who may be named as the one who did the work (rulefns.AUTHOR_RULE): yourself; a
        coordinator, manager or admin may also record on behalf of an active user assigned
        to the site (a paper inspection entered later).  The trail always says who entered
        it."""
        name = self.author_field
        if name is None:
            return ALLOWED
        why = rulefns.author_refusal(actor, author, site_id, lookup, OFFICE)
        return ALLOWED if why is None else refused(why, name)

    # ------------------------------------------------------------ new records
    def defaults(self, actor: Actor, lookup: Lookup) -> dict[str, Any]:
        """Values a new record gets for the fields its writer leaves out (services, import,
        forms alike)."""
        out: dict[str, Any] = {}
        if self.author_field is not None:
            out[self.author_field] = actor.id
        return out

    def prefill(self, actor: Actor, lookup: Lookup, *, site_ids: list[str]) -> dict[str, Any]:
        """What a new form shows: the defaults, plus suggestions the user may change."""
        values: dict[str, Any] = {f.name: f.default for f in self.cdef.fields
                                  if f.default is not None}
        if self.site_scoped:
            values[self.cdef.site_field or "site"] = site_ids[0] if len(site_ids) == 1 else None
        values.update(self.defaults(actor, lookup))
        return values

    # ------------------------------------------------------------ derived fields
    @property
    def derived_from(self) -> dict[str, tuple[str, ...]]:
        """Derived field -> the typed inputs it comes from (a file giving it without them
        is refused)."""
        return {d.field: d.inputs for d in self.derivations}

    def derive(self, values: dict[str, Any], lookup: Lookup | None,
               changed: frozenset[str] | None = None) -> None:
        """Compute the derived fields from their inputs (in place).  *changed* names the
        fields this write changes (None: a new record, everything)."""
        ctx = rulefns.RuleContext(lookup, rt=self)
        for d in self.derivations:
            if d.when_changed is not None and changed is not None and \
                    not set(d.when_changed) & changed:
                continue
            value = rulefns.DERIVE[d.fn]([values.get(a) for a in d.args], d.params, ctx)
            if value is not rulefns.KEEP:
                values[d.field] = value

    def derived_inputs(self, name: str) -> tuple[str, ...]:
        return self.derived_from.get(name, ())

    @property
    def self_derived(self) -> frozenset[str]:
        """Derived fields computed from this record's own fields alone (not from another
        record, as the threshold applied is from the site's): a sync merge recomputes these
        from the merged inputs instead of merging them."""
        return frozenset(name for name, inputs in self.derived_from.items()
                         if not any(self.cdef.get(i).is_reference for i in inputs))

    # ------------------------------------------------------------ validation
    def validate(self, values: Mapping[str, Any], old: Mapping[str, Any] | None,
                 lookup: Lookup, action: str = "edit") -> list[ValidationError]:
        """Every problem with the record as it would be stored by *action* (all at once)."""
        phase = "create" if old is None else "edit"  # a workflow step edits the record
        ctx = rulefns.RuleContext(lookup, old=old, action=action, rt=self)
        out = []
        for c in self.validations:
            if phase not in c.on:
                continue
            found = rulefns.CHECK[c.fn](ctx, values, c.args, c.params)
            if found is not None:
                out.append(ValidationError(c.field, fill(c.message, values, found)))
        return out

    # ------------------------------------------------------------ workflows
    workflows: tuple[str, ...] = ()  # actions with gates beyond permission (close, approve)

    def workflow_actions(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        """The workflow actions a record in this state offers (a closed finding: reopen)."""
        return self.workflows

    def blockers(self, action: str, record: Mapping[str, Any], actor: Actor | None,
                 lookup: Lookup) -> list[Blocker]:
        """What stops *action* on this record now (empty when nothing does)."""
        ctx = rulefns.RuleContext(lookup, actor=actor, action=action, rt=self)
        out = []
        for c in self.gates.get(action, ()):
            found = rulefns.CHECK[c.fn](ctx, record, c.args, c.params)
            if found is not None:
                opens = found.get("opens")
                out.append(Blocker(c.field, fill(c.message, record, found),
                                   tuple(opens) if opens else None))  # type: ignore[arg-type]
        return out

    def closing_state(self, record: Mapping[str, Any], lookup: Lookup) -> list[Blocker]:
        """What stops a finding *about this record* from being closed (the record must be
        in a closing state: an aspect controlled, a kit's latest check a pass ...)."""
        ctx = rulefns.RuleContext(lookup, rt=self)
        out = []
        for c in self.closing:
            found = rulefns.CHECK[c.fn](ctx, record, c.args, c.params)
            if found is not None:
                opens = found.get("opens") or (self.name, str(record.get("objectId")))
                out.append(Blocker(c.field, fill(c.message, record, found),
                                   tuple(opens)))  # type: ignore[arg-type]
        return out

    def transition(self, action: str) -> Transition | None:
        return next((t for t in self.transitions if t.action == action), None)

    # ------------------------------------------------------------ lists and dates
    def row_state(self, record: Mapping[str, Any], today: date) -> RowState:
        return RowState()

    def due_date(self, record: Mapping[str, Any]) -> str | None:
        """The calendar date (at the site) by which something is due on this record."""
        return None

    def is_overdue(self, record: Mapping[str, Any], today: date) -> bool:
        return clock.is_overdue(self.due_date(record), today)

    def search_fields(self) -> list[str]:
        return [f.name for f in self.cdef.fields
                if f.kind in ("string", "text") and not f.system and not f.name.endswith("Id")]


def target(rt: RecordType, name: str) -> RecordType:
    """The record type a pointer field of *rt* points at."""
    from desktop_audit.records import of

    f = rt.cdef.get(name)
    assert f.target is not None, name
    return of(f.target)


def class_def(name: str) -> ClassDef:
    return BY_NAME[name]
