"""Random values thrown at every service: only typed errors come out, and a refused call
leaves the database exactly as it was."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_audit import services
from desktop_audit.errors import AuditError
from desktop_audit.schema import BY_NAME, Field
from tests.conftest import World

ROLES = ("admin", "manager", "coordinator", "auditor", "field_staff")

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
    st.text(max_size=40), st.lists(st.text(max_size=8), max_size=3),
    st.sampled_from(["2026-02-30", "2026-01-05", "2026-01-05T10:00:00Z", "1e3", "open", "pass",
                     "major_nc", "intact", "", " ", "\x00", "ÅŁÓ", "9999-99-99", "PLT-01"]),
)


def _field_values(class_name: str) -> st.SearchStrategy[dict[str, Any]]:
    cdef = BY_NAME[class_name]
    names = [f.name for f in cdef.fields] + ["bogus"]

    def plausible(f: Field | None) -> st.SearchStrategy[Any]:
        if f is not None and f.choices:
            return st.one_of(st.sampled_from(f.choices), junk)
        return junk

    return st.dictionaries(st.sampled_from(names),
                           st.deferred(lambda: junk), max_size=6).flatmap(
        lambda d: st.fixed_dictionaries({k: plausible(cdef.get(k) if cdef.has(k) else None)
                                         for k in d}))


def _snapshot(w: World) -> str:
    """Every row of every table (the search index's own tables included: a virtual table
    is only a view of them) and the schema."""
    digest = hashlib.sha256()
    con = w.db.handle.connection()
    schema = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    digest.update(repr(schema).encode())
    for _kind, name, sql in schema:
        if _kind == "table" and not (sql or "").startswith("CREATE VIRTUAL TABLE"):
            for row in con.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall():
                digest.update(repr(row).encode())
    return digest.hexdigest()


CALLS: dict[str, Callable[..., Any]] = {
    "AspectImpactLog": services.add_aspect,
    "SpillKitLog": services.add_spill_kit_check,
    "LegalRegisterEntry": services.add_legal_entry,
    "AuditReview": services.plan_review,
    "AuditFinding": services.raise_finding,
    "AuditSite": services.create_site,
}
SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def _check(world: World, call: Callable[[], Any]) -> None:
    before = _snapshot(world)
    try:
        call()
    except AuditError as exc:
        assert str(exc)  # a message a person can read
        assert _snapshot(world) == before
    # any other exception type fails the test


@SETTINGS
@given(data=st.data())
def test_creates_only_raise_typed_errors_and_refusals_change_nothing(world: World,
                                                                     data: st.DataObject) -> None:
    class_name = data.draw(st.sampled_from(sorted(CALLS)))
    role = data.draw(st.sampled_from(ROLES))
    values = data.draw(_field_values(class_name))
    if data.draw(st.booleans()) and class_name != "AuditSite":
        values["site"] = data.draw(st.sampled_from([world.site_a, world.site_b]))
    _check(world, lambda: CALLS[class_name](world.db, world.actor(role), **values))


@SETTINGS
@given(data=st.data())
def test_updates_and_actions_only_raise_typed_errors(world: World, data: st.DataObject) -> None:
    aspect = services.add_aspect(world.db, world.admin, site=world.site_a, aspectCategory="waste",
                                 aspectDescription="d", impact="i", likelihood=2, severity=2,
                                 actionStatus="open")
    finding = services.raise_finding(world.db, world.admin, site=world.site_a, logType="aspect",
                                     sourceId=aspect, severity="minor_nc", description="d",
                                     correctiveAction="c")
    role = data.draw(st.sampled_from(ROLES))
    actor = world.actor(role)
    choice = data.draw(st.sampled_from(["aspect", "finding", "close", "site", "user", "evaluate",
                                        "assign", "delete"]))
    if choice == "aspect":
        values = data.draw(_field_values("AspectImpactLog"))
        call = lambda: services.update_aspect(world.db, actor, aspect, **values)  # noqa: E731
    elif choice == "finding":
        values = data.draw(_field_values("AuditFinding"))
        call = lambda: services.update_finding(world.db, actor, finding, **values)  # noqa: E731
    elif choice == "close":
        kw = {k: data.draw(junk) for k in data.draw(st.lists(st.sampled_from(
            ["verificationNote", "rootCause", "correctiveAction"]), unique=True))}
        call = lambda: services.close_finding(world.db, actor, finding, **kw)  # noqa: E731
    elif choice == "site":
        values = data.draw(_field_values("AuditSite"))
        call = lambda: services.update_site(world.db, actor, world.site_a, **values)  # noqa: E731
    elif choice == "user":
        values = data.draw(_field_values("User"))
        values.pop("passwordVerifier", None)
        call = lambda: services.update_user(world.db, actor, world.auditor.id, **values)  # noqa: E731
    elif choice == "evaluate":
        status, on = data.draw(junk), data.draw(junk)
        call = lambda: services.record_legal_evaluation(  # noqa: E731
            world.db, actor, aspect, complianceStatus=status, evaluatedOn=on)
    elif choice == "assign":
        sites = data.draw(st.lists(st.sampled_from([world.site_a, world.site_b, "xxxxxxxxxx"])))
        call = lambda: services.assign_sites(world.db, actor, world.auditor.id, sites)  # noqa: E731
    else:
        cls = data.draw(st.sampled_from(["AuditFinding", "AspectImpactLog", "Nope"]))
        call = lambda: services.delete_record(world.db, actor, cls, data.draw(  # noqa: E731
            st.sampled_from([finding, aspect, "missing000"])))
    _check(world, call)
