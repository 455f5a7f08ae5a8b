"""A unit of work: the changes of one user action (or of one whole import), checked
against what the database and the unit already hold, then written together.

Every service takes an optional ``uow``.  Without one, the service makes its own unit,
which writes when the action is complete, in one transaction: the records, the outbox
rows that queue them for sync, and the audit-trail events.  An import makes one unit for
the whole file (``deferred=True``) and passes it to every service call: the services
behave exactly as from a form (a service that reads back its own write sees it: ``get``
looks at the unit's pending records first), and the unit writes everything with one
``executemany`` per shape when the import calls ``flush``.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.domain import trail
from desktop_audit.errors import NotFound, ValidationError
from desktop_audit.schema import BY_NAME, ClassDef
from desktop_audit.store import rows, writes

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.records.base import Decision, RecordType, UniqueKey
    from desktop_audit.store.db import Database

TOMBSTONE = "deletedAt"


@dataclass
class Change:
    """One record's change as it will be written and journaled."""

    cdef: ClassDef
    object_id: str
    old: dict[str, Any] | None
    new: dict[str, Any]
    action: str  # trail action: create, update, close, approve, evaluate, delete, resolve ...
    site_id: str | None = None
    hidden: tuple[str, ...] = ()  # fields whose values the trail must not show
    # Journaled even when no field changes (a conflict settled by keeping this laptop's value).
    note: dict[str, Any] | None = None

    @property
    def changes(self) -> dict[str, Any]:
        names = _field_names(self.cdef)
        if self.old is None:  # trail.diff of a new record: every field given a value
            new = self.new
            out: dict[str, Any] = {}
            for name in names:
                after = new.get(name)
                if after is not None and after != "" and after != []:
                    out[name] = [None, after]
        else:
            out = trail.diff(self.old, self.new, names)
        for name in self.hidden:
            if name in out:
                out[name] = ["(hidden)", "(changed)"]
        before = (self.old or {}).get(TOMBSTONE)
        after = self.new.get(TOMBSTONE)
        if before != after and (self.old is not None or after is not None):
            out[TOMBSTONE] = [before, after]
        return out


@functools.cache
def _field_names(cdef: ClassDef) -> tuple[str, ...]:
    return tuple(f.name for f in cdef.fields)


@functools.cache
def _blank_record(cdef: ClassDef) -> tuple[dict[str, Any], tuple[str, ...]]:
    values = {f.name: f.default for f in cdef.fields}
    return values, tuple(f.name for f in cdef.fields if f.is_list and f.default is None)


def empty_record(cdef: ClassDef) -> dict[str, Any]:
    """Every field of a new record: the declaration's default, an empty list or None."""
    template, lists = _blank_record(cdef)
    out = dict(template)
    for name in lists:
        out[name] = []
    return out


def raise_problems(problems: Iterable[ValidationError | None], class_name: str) -> None:
    """Raise every problem at once: the first is the message, ``problems`` holds them all."""
    found = [p for p in problems if p is not None]
    if not found:
        return
    first = found[0]
    error = ValidationError(first.field, first.reason, class_name=class_name)
    error.problems = [ValidationError(p.field, p.reason, class_name=class_name) for p in found]
    raise error


class UnitOfWork:
    """Reads through pending changes, checks unique keys, collects changes, writes them."""

    def __init__(self, db: Database, actor: Actor | None, *, deferred: bool = False) -> None:
        self.db = db
        self.actor = actor
        self.deferred = deferred
        self.changes: list[Change] = []
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}
        self._refs: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._keys: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], str]] = {}
        self._journal: list[trail.Entry] = []
        self._decisions: dict[tuple[str, str, str | None], Decision] = {}
        self._authors: dict[tuple[str, str | None, str | None], Decision] = {}

    # ------------------------------------------------------------ reading (records.Lookup)
    def get(self, class_name: str, object_id: str | None) -> dict[str, Any] | None:
        """A record as this unit sees it: its own pending version first, then the database
        (looked up once per unit: sites and users are read again and again by an import)."""
        if not object_id:
            return None
        key = (class_name, object_id)
        pending = self._pending.get(key)
        if pending is not None:
            return pending
        if key not in self._refs:
            self._refs[key] = rows.load(self.db, BY_NAME[class_name], object_id)
        return self._refs[key]

    def fresh(self, class_name: str, object_id: str) -> dict[str, Any] | None:
        """The record as stored now (not cached), or this unit's pending version."""
        pending = self._pending.get((class_name, object_id))
        if pending is not None:
            return dict(pending)
        return rows.load(self.db, BY_NAME[class_name], object_id)

    def latest(self, class_name: str, where: Mapping[str, Any], order: str,
               until: str | None = None) -> dict[str, Any] | None:
        """The record matching *where* with the greatest *order* value (none greater than
        *until*, when given), pending ones included."""
        found = rows.latest(self.db, BY_NAME[class_name], where, order, until)
        for (cls, _oid), rec in self._pending.items():
            if cls != class_name or rec.get(TOMBSTONE):
                continue
            if until is not None and (rec.get(order) or "") > until:
                continue
            if all(rec.get(k) == v for k, v in where.items()) and \
                    (found is None or (rec.get(order) or "") > (found.get(order) or "")):
                found = rec
        return found

    def visible(self, rt: RecordType, object_id: str) -> dict[str, Any]:
        """A record the actor may see (NotFound otherwise: the same answer as a missing one)."""
        record = self.fresh(rt.name, object_id) if isinstance(object_id, str) else None
        if record is None or record.get(TOMBSTONE):
            raise NotFound(f"no {rt.label.lower()} with id {object_id!r}")
        site = rt.site_of(record)
        # Records of a site (and the sites themselves) only for those assigned to it.
        scoped = rt.site_column is not None and not rt.siteless_rows
        if scoped and self.actor is not None and not self.actor.sees_site(site):
            raise NotFound(f"no {rt.label.lower()} with id {object_id!r}")
        return record

    # ------------------------------------------------------------ decisions
    def decide(self, rt: RecordType, action: str, values: Mapping[str, Any]) -> Decision:
        """``rt.can`` for a new record, remembered per site when the actor's role may act
        without a condition (an import asks it once per site, not once per row)."""
        actor = self.actor
        assert actor is not None
        if not rt.unconditional(actor, action):
            return rt.can(actor, action, None, values)
        key = (rt.name, action, rt.site_of(values))
        found = self._decisions.get(key)
        if found is None:
            found = self._decisions[key] = rt.can(actor, action, None, values)
        return found

    def author(self, rt: RecordType, author: str | None, site_id: str | None) -> Decision:
        """``rt.author_decision``, remembered per (author, site) within this unit."""
        actor = self.actor
        assert actor is not None
        key = (rt.name, author, site_id)
        found = self._authors.get(key)
        if found is None:
            found = self._authors[key] = rt.author_decision(actor, author, site_id, self)
        return found

    # ------------------------------------------------------------ unique keys
    def clashes(self, rt: RecordType, key: UniqueKey, values: Mapping[str, Any],
                object_id: str) -> bool:
        """Whether another live record (stored or pending in this unit) holds the key."""
        if any(values.get(n) is None for n in key.fields) or values.get(TOMBSTONE):
            return False
        other = rows.clash(self.db, rt.cdef, values, key.fields, object_id, nocase=key.nocase)
        if other is not None and (rt.name, other) not in self._pending:
            return True
        norm = tuple(_fold(values[n], key.nocase) for n in key.fields)
        seen = self._keys.setdefault((rt.name, key.fields), {})
        holder = seen.get(norm)
        if holder is not None and holder != object_id:
            pending = self._pending.get((rt.name, holder))
            still = pending is not None and not pending.get(TOMBSTONE) and all(
                _fold(pending.get(n), key.nocase) == v for n, v in zip(key.fields, norm,
                                                                       strict=True))
            if still:
                return True
        seen[norm] = object_id
        return False

    # ------------------------------------------------------------ writing
    def add(self, change: Change) -> None:
        self.changes.append(change)
        self._pending[(change.cdef.name, change.object_id)] = change.new
        self._refs.pop((change.cdef.name, change.object_id), None)

    def rename(self, change: Change, object_id: str) -> None:
        """Give a pending new record the objectId its file named (an import row)."""
        self._pending.pop((change.cdef.name, change.object_id), None)
        change.object_id = object_id
        self._pending[(change.cdef.name, object_id)] = change.new

    def journal(self, entry: trail.Entry) -> None:
        """An event with no record change of its own (an import's summary), written last."""
        self._journal.append(entry)

    def flush(self, progress: Callable[[int, int], None] | None = None,
              chunk: int = 5000) -> None:
        """Write what was collected (in the caller's transaction), *chunk* at a time."""
        total = len(self.changes)
        for start in range(0, total, chunk):
            apply(self.db, self.actor, self.changes[start:start + chunk])
            if progress is not None:
                progress(min(start + chunk, total), total)
        if self._journal:
            trail.append(self.db, self.actor, self._journal)
        self.changes = []
        self._journal = []
        # Written now (in the caller's transaction), so the database answers for them: what
        # this unit held in memory goes, and a long import stays within bounded memory.
        self._pending.clear()
        self._keys.clear()
        self._refs.clear()


def _fold(value: Any, nocase: bool) -> Any:
    return value.lower() if nocase and isinstance(value, str) else value


@contextmanager
def unit(db: Database, actor: Actor | None, uow: UnitOfWork | None = None
         ) -> Iterator[UnitOfWork]:
    """The unit a service works in: the caller's, or its own written on success."""
    if uow is not None:
        yield uow
        return
    own = UnitOfWork(db, actor)
    with db.atomic():
        yield own
        own.flush()


@functools.cache
def _stamps(class_name: str) -> dict[str, tuple[str, str]]:
    """Trail action -> the (who, when) fields it stamps, as the record type declares."""
    from desktop_audit import records

    return {t.journal or t.action: t.stamps for t in records.of(class_name).transitions
            if t.stamps}


def apply(db: Database, actor: Actor | None, changes: list[Change]) -> None:
    """Write prepared changes, queue them for sync and journal them (caller's transaction)."""
    if not changes:
        return
    now = clock.now_iso()
    inserts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    created: dict[tuple[str, str], dict[str, Any]] = {}  # rows this call inserts
    entries: list[trail.Entry] = []
    queued: list[tuple[str, str, str]] = []
    for ch in changes:
        stamp = _stamps(ch.cdef.name).get(ch.action)
        if stamp is not None and actor is not None:
            # Who took a workflow step and when are the actor and time of its journaled
            # event (the server takes them from that event too).
            ch.new[stamp[0]], ch.new[stamp[1]] = actor.id, now
        diff = ch.changes
        if ch.note:
            diff.update(ch.note)
        if ch.old is not None and not diff:
            continue  # nothing changed: nothing written, nothing journaled
        if ch.old is None:
            ch.new["objectId"] = ch.object_id
            ch.new.setdefault("createdAt", now)
            ch.new["updatedAt"] = now
            inserts[ch.cdef.name].append(ch.new)
            created[(ch.cdef.name, ch.object_id)] = ch.new
        else:
            changed = {n: ch.new.get(n) for n in diff if n in ch.new or n == TOMBSTONE}
            row = created.get((ch.cdef.name, ch.object_id))
            if row is not None:
                row.update(changed)  # made earlier in this unit (raised, then closed): not
                # inserted yet, so the insert carries the change
            else:
                writes.update(db, ch.cdef, ch.object_id, changed, now)
            ch.new["updatedAt"] = now
        queued.append((ch.cdef.name, ch.object_id, now))
        entries.append(trail.Entry(ch.action, ch.cdef.name, ch.object_id, ch.site_id, diff))
    for class_name, group in inserts.items():
        writes.insert(db, BY_NAME[class_name], group)
    writes.queue(db, queued)
    if entries:
        trail.append(db, actor, entries, at=now)
