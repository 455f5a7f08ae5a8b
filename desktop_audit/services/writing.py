"""The write path every service shares, driven by the record types.

``create`` and ``update`` take what a person typed (a form, a file, the command line) and
ask the record type, in this order: may this actor do this here (role, site, condition,
the record's state), may they name this author, do the references exist and may they use
them, then derive the computed fields and check every rule, collecting all problems.
Only then is the change added to the unit of work, which writes, queues for sync and
journals it in one transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from desktop_audit import clock, records
from desktop_audit.domain import values as coercion
from desktop_audit.errors import ValidationError
from desktop_audit.schema import Field
from desktop_audit.services.unit_of_work import (
    Change,
    UnitOfWork,
    empty_record,
    raise_problems,
)
from desktop_audit.store.db import new_object_id

if TYPE_CHECKING:
    from desktop_audit.records.base import RecordType


@functools.cache
def _shape(rt: RecordType) -> tuple[dict[str, Field], frozenset[str], tuple[str, ...],
                                    tuple[tuple[str, str, str], ...]]:
    """What the per-row checks need of a type, worked out once (an import runs them
    hundreds of thousands of times): its fields by name, the fields the hand may set, the
    required ones, and its references (name, kind, target)."""
    fields = {f.name: f for f in rt.cdef.fields}
    required = tuple(f.name for f in rt.cdef.fields
                     if f.required and not f.derived and f.kind != "bool")
    refs = tuple((f.name, f.kind, f.target) for f in rt.cdef.fields
                 if f.is_reference and f.target is not None)
    return fields, frozenset(rt.editable_fields), required, refs


def coerce_values(rt: RecordType, values: Mapping[str, Any], *,
                  editable: Iterable[str] | None = None) -> dict[str, Any]:
    """Coerce typed values; refuses unknown, derived and non-editable fields (all at once)."""
    cdef = rt.cdef
    fields, editable_fields, _required, _refs = _shape(rt)
    allowed = set(editable) if editable is not None else editable_fields
    out: dict[str, Any] = {}
    problems: list[ValidationError] = []
    coerce = coercion.coerce
    for name, raw in values.items():
        f = fields.get(name)
        if f is None:
            problems.append(ValidationError(name, f"is not a field of {cdef.label.lower()}"))
            continue
        if f.derived:
            inputs = rt.derived_inputs(name)
            problems.append(ValidationError(name, "is derived from " + " and ".join(inputs)
                                            + "; it is computed, not typed"))
            continue
        if name not in allowed:
            problems.append(ValidationError(name, "cannot be set here"))
            continue
        try:
            out[name] = coerce(f, raw)
        except ValidationError as exc:
            problems.append(exc)
    if problems:
        raise_problems(problems, cdef.name)
    return out


def required_problems(rt: RecordType, values: Mapping[str, Any]) -> list[ValidationError]:
    blank = coercion.blank
    return [ValidationError(name, "is required") for name in _shape(rt)[2]
            if blank(values.get(name))]


def reference_problems(u: UnitOfWork, rt: RecordType, values: Mapping[str, Any],
                       changed: Iterable[str] | None = None) -> list[ValidationError]:
    """Pointers name existing records; a site the actor works on; an active user."""
    actor = u.actor
    out: list[ValidationError] = []
    for name, kind, target_name in _shape(rt)[3]:
        if changed is not None and name not in changed:
            continue
        given = values.get(name)
        if given is None or given == []:
            continue
        targets = given if kind == "pointer_list" else (given,)
        for value in targets:
            target = u.get(target_name, value)
            if target is None:
                label = records.of(target_name).label.lower()
                out.append(ValidationError(name, f"no {label} with id {value!r}"))
                continue
            if actor is not None and kind == "pointer":
                why = records.of(target_name).reference_refusal(actor, target)
                if why:
                    out.append(ValidationError(name, why))
    return out


def unique_problems(u: UnitOfWork, rt: RecordType, values: Mapping[str, Any], object_id: str,
                    changed: Iterable[str] | None = None) -> list[ValidationError]:
    names = set(changed) if changed is not None else None
    out = []
    for key in rt.unique_keys:
        if names is not None and not names & set(key.fields):
            continue
        if u.clashes(rt, key, values, object_id):
            out.append(ValidationError(key.fields[-1], key.describe(values)))
    return out


def _check(u: UnitOfWork, rt: RecordType, new: dict[str, Any], old: dict[str, Any] | None,
           object_id: str, changed: frozenset[str] | None, action: str) -> None:
    rt.derive(new, u, changed)
    problems = [*required_problems(rt, new), *rt.validate(new, old, u, action)]
    if rt.unique_keys:
        problems += unique_problems(u, rt, new, object_id, changed)
    if problems:
        raise_problems(problems, rt.name)


def create(u: UnitOfWork, rt: RecordType, values: Mapping[str, Any], *,
           action: str = "create", editable: Iterable[str] | None = None,
           fixed: Mapping[str, Any] | None = None, object_id: str | None = None,
           hidden: tuple[str, ...] = ()) -> Change:
    """Validate a new record and add it to the unit; returns the change."""
    actor = u.actor
    assert actor is not None
    new = empty_record(rt.cdef)
    given = coerce_values(rt, values, editable=editable)
    new.update(given)
    for key, value in rt.defaults(actor, u).items():
        if new.get(key) in (None, []) and key not in given:
            new[key] = value
    new.update(fixed or {})
    site_field = rt.cdef.site_field
    if site_field is not None and new.get(site_field) is None:
        raise ValidationError(site_field, "is required", class_name=rt.name)
    u.decide(rt, action, new).enforce()
    object_id = object_id or new_object_id()
    site_id = rt.site_of({**new, "objectId": object_id})  # a new site is its own site
    if rt.author_field:
        u.author(rt, new.get(rt.author_field), site_id).enforce()
    raise_problems(reference_problems(u, rt, new), rt.name)
    _check(u, rt, new, None, object_id, None, action)
    secret = tuple(f.name for f in rt.cdef.fields if f.kind == "secret")
    change = Change(rt.cdef, object_id, None, new, "create", site_id or None,
                    hidden=(*secret, *hidden))
    u.add(change)
    return change


_MEMO = 4096  # distinct typed values remembered per column (dates, choices, references)
_NO_MEMO = frozenset({"string_list", "pointer_list", "object", "file"})  # mutable results


class Creator:
    """``create`` compiled for many new records of one type given the same fields (the rows
    of an import): the same rules in the same order, with what depends only on the file
    worked out once (which fields are given, the permission per site, the authorship per
    author and site, each referenced record's answer) and each column's typed values
    remembered.  A row any rule refuses is handed to ``create`` itself, which raises
    exactly what it raises for a form (every problem at once)."""

    def __init__(self, u: UnitOfWork, rt: RecordType, names: Iterable[str],
                 action: str = "create") -> None:
        self.u, self.rt, self.action = u, rt, action
        fields, editable, required, refs = _shape(rt)
        names = tuple(names)
        # Fields the hand may not set, derived or unknown: every row is refused (by create).
        self.plain = all(n in fields and not fields[n].derived and n in editable for n in names)
        self.columns: list[tuple[str, Field, dict[Any, Any] | None]] = [
            (n, fields[n], {} if fields[n].kind not in _NO_MEMO else None)
            for n in names if n in fields]
        self.required = required
        self.refs = refs
        template, lists = _blank_template(rt)
        self.template, self.lists = template, lists
        self.site_field = rt.cdef.site_field
        self.author_field = rt.author_field
        assert u.actor is not None
        self.actor = u.actor
        self.per_site = rt.unconditional(u.actor, action)
        self.decisions: dict[str | None, bool] = {}
        self.authors: dict[tuple[Any, str | None], bool] = {}
        # A reference to a record of another class: the answer cannot change while this
        # type's records are created.
        self.ref_answers: dict[tuple[str, Any], bool] = {}
        self.secret = tuple(f.name for f in rt.cdef.fields if f.kind == "secret")

    def forget(self) -> None:
        """Drop what was learnt from the database (the unit flushed: its reads start over)."""
        self.ref_answers.clear()

    def __call__(self, values: Mapping[str, Any], object_id: str | None = None) -> Change:
        change = self._fast(values, object_id)
        if change is None:  # something is refused: the generic path says exactly what
            return create(self.u, self.rt, values, action=self.action, object_id=object_id)
        return change

    def _fast(self, values: Mapping[str, Any], object_id: str | None) -> Change | None:
        if not self.plain:
            return None
        u, rt = self.u, self.rt
        given: dict[str, Any] = {}
        coerce = coercion.coerce
        try:
            for name, f, memo in self.columns:
                if name not in values:
                    continue
                raw = values[name]
                if memo is None or raw.__class__ is not str:
                    given[name] = coerce(f, raw)
                    continue
                found = memo.get(raw, memo)
                if found is memo:
                    found = coerce(f, raw)
                    if len(memo) < _MEMO:
                        memo[raw] = found
                given[name] = found
        except ValidationError:
            return None
        new = dict(self.template)
        for name in self.lists:
            new[name] = []
        new.update(given)
        for key, value in rt.defaults(self.actor, u).items():
            if new.get(key) in (None, []) and key not in given:
                new[key] = value
        site_field = self.site_field
        if site_field is not None and new.get(site_field) is None:
            return None
        if self.per_site:
            site = rt.site_of(new)
            allowed = self.decisions.get(site)
            if allowed is None:
                allowed = self.decisions[site] = bool(rt.can(self.actor, self.action, None, new))
        else:
            allowed = bool(rt.can(self.actor, self.action, None, new))
        if not allowed:
            return None
        object_id = object_id or new_object_id()
        site_id = rt.site_of({**new, "objectId": object_id})
        if self.author_field:
            author = new.get(self.author_field)
            known = self.authors.get((author, site_id))
            if known is None:
                known = self.authors[(author, site_id)] = bool(u.author(rt, author, site_id))
            ok = known
            if not ok:
                return None
        if not self._references(new):
            return None
        if rt.derivations:
            rt.derive(new, u, None)
        blank = coercion.blank
        for name in self.required:
            if blank(new.get(name)):
                return None
        if rt.validations and rt.validate(new, None, u, self.action):
            return None
        if rt.unique_keys and unique_problems(u, rt, new, object_id):
            return None
        change = Change(rt.cdef, object_id, None, new, "create", site_id or None,
                        hidden=self.secret)
        u.add(change)
        return change

    def _references(self, new: dict[str, Any]) -> bool:
        """What ``reference_problems`` answers, remembered per referenced record."""
        answers = self.ref_answers
        own = self.rt.name
        for name, kind, target_name in self.refs:
            given = new.get(name)
            if given is None or given == []:
                continue
            if kind != "pointer" or target_name == own:
                if reference_problems(self.u, self.rt, {name: given}, (name,)):
                    return False
                continue
            ok = answers.get((name, given))
            if ok is None:
                ok = answers[(name, given)] = not reference_problems(
                    self.u, self.rt, {name: given}, (name,))
            if not ok:
                return False
        return True


@functools.cache
def _blank_template(rt: RecordType) -> tuple[dict[str, Any], tuple[str, ...]]:
    record = empty_record(rt.cdef)
    lists = tuple(k for k, v in record.items() if v == [])
    return {k: (None if k in lists else v) for k, v in record.items()}, lists


def update(u: UnitOfWork, rt: RecordType, object_id: str, values: Mapping[str, Any], *,
           action: str = "edit", trail_action: str = "update",
           editable: Iterable[str] | None = None, forced: Mapping[str, Any] | None = None,
           old: dict[str, Any] | None = None, hidden: tuple[str, ...] = ()) -> Change:
    """Validate an edit of an existing record and add it to the unit."""
    actor = u.actor
    assert actor is not None
    old = old if old is not None else u.visible(rt, object_id)
    given = coerce_values(rt, values, editable=editable)
    fixed = [n for n in rt.fixed_after_create if n in given and given[n] != old.get(n)]
    if fixed:
        raise_problems([ValidationError(n, "is set when the record is made and cannot be "
                                           "changed") for n in fixed], rt.name)
    new = dict(old)
    new.update(given)
    new.update(forced or {})
    if not forced and all(new.get(k) == old.get(k) for k in given):
        return Change(rt.cdef, object_id, old, new, trail_action)  # nothing to write
    rt.require(actor, action, old, given)
    site_id = rt.site_of(new)
    if rt.author_field and rt.author_field in given and \
            given[rt.author_field] != old.get(rt.author_field):
        rt.author_decision(actor, given[rt.author_field], site_id, u).enforce()
    changed = frozenset(k for k in new if new.get(k) != old.get(k))
    raise_problems(reference_problems(u, rt, new, changed), rt.name)
    _check(u, rt, new, old, object_id, changed, action)
    secret = tuple(f.name for f in rt.cdef.fields if f.kind == "secret")
    change = Change(rt.cdef, object_id, old, new, trail_action, site_id,
                    hidden=(*secret, *hidden))
    u.add(change)
    return change


def delete(u: UnitOfWork, rt: RecordType, object_id: str) -> Change:
    """Admin only: the record gets a tombstone (synced as a delete), journaled."""
    actor = u.actor
    assert actor is not None
    old = u.visible(rt, object_id)
    rt.require(actor, "delete", old)
    new = dict(old)
    new["deletedAt"] = clock.now_iso()
    change = Change(rt.cdef, object_id, old, new, "delete", rt.site_of(old))
    u.add(change)
    return change
