"""Settling a sync conflict: a user action like any other.

A field changed on this laptop and on the server keeps this laptop's value (and is not
pushed) until someone settles it:

* **keep theirs** accepts what the server already holds; whoever holds the conflict may
  do it;
* **keep mine** and **a typed value** change the shared record, so they need the
  permission an edit needs (and a typed value is checked like any typed value).

Either way the derived fields follow, the change is written, queued (the settled field
is pushed at the next sync) and journaled with the values as they really were: the
field's value here before and after, and which side was kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop_audit import records
from desktop_audit.domain import values as coercion
from desktop_audit.errors import NotFound, ValidationError
from desktop_audit.services.unit_of_work import Change, raise_problems, unit
from desktop_audit.services.writing import required_problems
from desktop_audit.store import rows, sync_state
from desktop_audit.store.sync_state import Conflict

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

TOMBSTONE = "deletedAt"
CHOICES = ("mine", "theirs", "edit")


def resolve_conflict(db: Database, actor: Actor, conflict_id: int, keep: str,
                     value: Any = None) -> Conflict:
    """Settle one open conflict: keep 'mine', 'theirs', or 'edit' (a typed *value*)."""
    if keep not in CHOICES:
        raise ValidationError("keep", "is mine, theirs or edit")
    c = sync_state.conflict(db, conflict_id)
    if c is None:
        raise NotFound(f"no open conflict {conflict_id}")
    rt = records.of(c.class_name)
    with unit(db, actor) as u:
        old = rows.load(db, rt.cdef, c.object_id, include_deleted=True)
        if old is None or (rt.site_scoped and not actor.sees_site(rt.site_of(old))):
            raise NotFound(f"no open conflict {conflict_id}")
        if c.field == TOMBSTONE:
            chosen = c.mine if keep == "mine" else c.theirs if keep == "theirs" else value
        elif keep == "edit":
            chosen = coercion.coerce(rt.cdef.get(c.field), value)
        else:
            chosen = c.mine if keep == "mine" else c.theirs
        new = dict(old)
        new[c.field] = chosen
        if keep != "theirs":
            rt.require(actor, "edit", {**old, TOMBSTONE: None}, {c.field: chosen})
        rt.derive(new, u, frozenset({c.field}))
        if keep == "edit" and not new.get(TOMBSTONE):
            raise_problems([*required_problems(rt, new), *rt.validate(new, old, u)], rt.name)
        note = {"conflict": [None, {"field": c.field, "kept": keep, "mine": c.mine,
                                    "theirs": c.theirs}]}
        u.add(Change(rt.cdef, c.object_id, old, new, "resolve", rt.site_of(old), note=note))
        sync_state.drop_conflict_id(db, c.id)
    return c
