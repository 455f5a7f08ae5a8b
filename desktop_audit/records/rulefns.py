"""The named functions the record types' rules are made of.

Every rule a record type declares (records/declaration.py) names one of these.  Cloud
Code has the same functions under the same names (resources/parse_server/cloud/
rulefns.js), and the differential test (tests/sync/test_differential.py) checks that both
judge every generated write alike.  Keep each small and free of class names: what a
function needs of a record comes from its arguments (field names) and params.

* ``DERIVE[name](inputs, params, ctx)``: a derived value from the input values, or
  ``KEEP`` (the field keeps the value it has).
* ``CHECK[name](ctx, record, args, params)``: None when the rule holds; otherwise a dict
  of values for the refusal's message (``{}`` when it needs none).  ``opens`` in it names
  the record to change (class, objectId).
* ``CONDITION[name](actor, record, values, rt)``: whether a permission rule's condition
  holds for a write of *values* to *record* (None: a new record).

Records are plain values as stored on the laptop: pointers are objectIds, dates
``YYYY-MM-DD``, instants ISO-8601 UTC text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from desktop_audit import clock

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.records.base import Lookup, RecordType

# A clock a little fast on the laptop that logged it is not a "future" inspection.
CLOCK_SKEW_MINUTES = 10
DEFAULT_THRESHOLD = 12  # schema SITE.significanceThreshold's default
SPECIAL_WORDS = {"major_nc": "Major NC", "minor_nc": "Minor NC"}


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


def words(value: Any) -> str:
    """An enum value as a person reads it, lower case ('in progress', 'major nc')."""
    if value is None or value == "":
        return ""
    text = SPECIAL_WORDS.get(str(value), str(value).replace("_", " "))
    return text.lower()


@dataclass
class RuleContext:
    """What a rule function may ask: records (a Lookup: the laptop's unit of work, or
    the server's request-scoped reads), who acts, the record before the write, the
    action, and the calendar."""

    lookup: Lookup | None
    actor: Actor | None = None
    old: Mapping[str, Any] | None = None
    action: str = "edit"
    rt: RecordType | None = None

    def now(self) -> datetime:
        return clock.now()

    def site(self, site_id: Any) -> dict[str, Any] | None:
        if self.lookup is None or not site_id:
            return None
        return self.lookup.get("AuditSite", str(site_id))

    def today(self, site_id: Any) -> date:
        """Today at the site's time zone (the laptop's when the site has none)."""
        return clock.today((self.site(site_id) or {}).get("timeZone"))

    def record_type(self, name: str) -> RecordType:
        from desktop_audit.records import of

        return of(name)


# ---------------------------------------------------------------- registries

DERIVE: dict[str, Callable[[list[Any], Mapping[str, Any], RuleContext], Any]] = {}
CHECK: dict[str, Callable[[RuleContext, Mapping[str, Any], tuple[str, ...],
                           Mapping[str, Any]], dict[str, Any] | None]] = {}
CONDITION: dict[str, Callable[[Actor, Mapping[str, Any] | None, Mapping[str, Any],
                               RecordType], bool]] = {}


def derive(name: str) -> Callable[[Any], Any]:
    def register(fn: Any) -> Any:
        DERIVE[name] = fn
        return fn
    return register


def check(name: str) -> Callable[[Any], Any]:
    def register(fn: Any) -> Any:
        CHECK[name] = fn
        return fn
    return register


def condition(name: str) -> Callable[[Any], Any]:
    def register(fn: Any) -> Any:
        CONDITION[name] = fn
        return fn
    return register


FAIL: dict[str, Any] = {}  # a refusal whose message needs no values


def _fail(**values: Any) -> dict[str, Any]:
    return dict(values)


def blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


# ---------------------------------------------------------------- derivations


@derive("product")
def product(inputs: list[Any], params: Mapping[str, Any], ctx: RuleContext) -> Any:
    """a × b (a risk rating from likelihood and severity)."""
    a, b = inputs
    if a is None or b is None:
        return KEEP
    return int(a) * int(b)


@derive("band")
def band(inputs: list[Any], params: Mapping[str, Any], ctx: RuleContext) -> Any:
    """The name of the first band whose upper bound the value does not exceed (an impact
    rating from a risk rating: low up to 4, medium up to 9 ...)."""
    (value,) = inputs
    if value is None:
        return KEEP
    for upper, name in params["bands"]:
        if value <= upper:
            return name
    return params["bands"][-1][1]


@derive("site_threshold")
def site_threshold_of(inputs: list[Any], params: Mapping[str, Any], ctx: RuleContext) -> Any:
    """The significance threshold of the record's site (its default when it has none)."""
    (site_id,) = inputs
    if ctx.lookup is None or not site_id:
        return KEEP
    value = (ctx.site(site_id) or {}).get("significanceThreshold")
    return int(value) if value else int(params.get("default", DEFAULT_THRESHOLD))


@derive("significance")
def significance(inputs: list[Any], params: Mapping[str, Any], ctx: RuleContext) -> Any:
    """Significant: the risk at or above the threshold applied, or tied to a compliance
    obligation."""
    risk, applied, refs = inputs
    applied = applied or int(params.get("default", DEFAULT_THRESHOLD))
    return bool((risk is not None and risk >= applied) or refs)


@derive("replenishment")
def replenishment(inputs: list[Any], params: Mapping[str, Any], ctx: RuleContext) -> Any:
    """Replenishment needed: items missing, or a seal that is not intact."""
    missing, seal = inputs
    return bool(missing) or seal not in (None, "intact")


# ---------------------------------------------------------------- validations


@check("not_in_future")
def not_in_future(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                  params: Mapping[str, Any]) -> dict[str, Any] | None:
    """An instant no later than now plus the clock-skew allowance; a date no later than
    today at the record's site."""
    value = rec.get(args[0])
    if value is None:
        return None
    text = str(value)
    if "T" not in text:
        site_id = rec.get(args[1]) if len(args) > 1 else None
        if date.fromisoformat(text[:10]) > ctx.today(site_id):
            return _fail(value=text[:10])
        return None
    skew = timedelta(minutes=int(params.get("skewMinutes", CLOCK_SKEW_MINUTES)))
    if clock.parse_iso(text) > ctx.now() + skew:
        return _fail(value=text[:16].replace("T", " "))
    return None


@check("pass_needs_complete_kit")
def pass_needs_complete_kit(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                            params: Mapping[str, Any]) -> dict[str, Any] | None:
    """A kit with missing items or a seal that is not intact cannot pass."""
    status, needs = (rec.get(a) for a in args)
    return FAIL if status == "pass" and needs else None


def _visible_record(ctx: RuleContext, class_name: str, object_id: Any
                    ) -> dict[str, Any] | None:
    if ctx.lookup is None or not object_id:
        return None
    return ctx.lookup.get(class_name, str(object_id))


@check("source_on_same_site")
def source_on_same_site(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                        params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record a finding is about (its class named by the log type) is given when the
    log type names one, exists, and is on the finding's site."""
    id_field, type_field, site_field = args
    source_class = params["classes"].get(rec.get(type_field))
    if source_class is None:
        return None
    source_id = rec.get(id_field)
    label = ctx.record_type(source_class).label.lower()
    if not source_id:
        return _fail(reason="is required when the finding is about a "
                            f"{str(rec.get(type_field)).replace('_', ' ')} record")
    found = _visible_record(ctx, source_class, source_id)
    if found is None:
        return _fail(reason=f"no {label} with id '{source_id}'")
    if ctx.record_type(source_class).site_of(found) != rec.get(site_field):
        return _fail(reason="the record is on another site")
    return None


@check("review_on_same_site")
def review_on_same_site(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                        params: Mapping[str, Any]) -> dict[str, Any] | None:
    """A record pointing at a review points at one of its own site."""
    ref_field, site_field = args
    review_id = rec.get(ref_field)
    if not review_id:
        return None
    review = _visible_record(ctx, params["class"], review_id)
    if review is not None and review.get("site") != rec.get(site_field):
        return FAIL
    return None


@check("parent_on_same_site")
def parent_on_same_site(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                        params: Mapping[str, Any]) -> dict[str, Any] | None:
    """Evidence belongs to a record of a class that takes it, which exists and is on the
    evidence's site."""
    class_field, id_field, site_field = args
    parent_class = rec.get(class_field)
    if parent_class not in params["classes"]:
        return _fail(reason=f"photos attach to {', '.join(params['classes'])}")
    parent = _visible_record(ctx, str(parent_class), rec.get(id_field))
    if parent is None:
        return _fail(reason=f"no record with id '{rec.get(id_field)}'")
    if ctx.record_type(str(parent_class)).site_of(parent) != rec.get(site_field):
        return _fail(reason="must be the site of the record the evidence belongs to")
    return None


@check("approved_only_by_approve")
def approved_only_by_approve(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                             params: Mapping[str, Any]) -> dict[str, Any] | None:
    """A status reached only through its workflow action (a review is approved by a
    manager's approval, not by editing its status)."""
    name = args[0]
    value = params["value"]
    if ctx.action == params["action"]:
        return None
    if rec.get(name) == value and (ctx.old or {}).get(name) != value:
        return FAIL
    return None


@check("audit_date_reached")
def audit_date_reached(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                       params: Mapping[str, Any]) -> dict[str, Any] | None:
    """A review is completed (or approved) only once its audit date has come at the site.
    As a validation it judges a write that sets such a status or moves the date; as a
    gate (``always``), the record as it is."""
    date_field, status_field, site_field = args
    status = rec.get(status_field)
    if status not in params["statuses"] or not rec.get(date_field):
        return None
    old = ctx.old
    if not params.get("always") and old is not None and \
            old.get(status_field) == status and old.get(date_field) == rec.get(date_field):
        return None
    day = str(rec.get(date_field))[:10]
    if date.fromisoformat(day) > ctx.today(rec.get(site_field)):
        return _fail(value=day, status_words=words(status))
    return None


@check("owner_is_manager_or_admin")
def owner_is_manager_or_admin(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                              params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The user a field names has one of the roles in ``roles``."""
    owner_id = rec.get(args[0])
    owner = ctx.lookup.get("User", str(owner_id)) if ctx.lookup is not None and owner_id \
        else None
    if owner is not None and owner.get("role") not in params["roles"]:
        return _fail(username=owner.get("username"), role=owner.get("role"))
    return None


@functools.cache
def _zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(z for z in available_timezones() if clock.valid_zone(z))


def time_zones() -> list[str]:
    """The IANA zone names a site may have (published with the rules, so the server
    accepts exactly these)."""
    return sorted(_zones())


@check("valid_time_zone")
def valid_time_zone(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                    params: Mapping[str, Any]) -> dict[str, Any] | None:
    """An IANA time zone name, spelt exactly."""
    zone = rec.get(args[0])
    if zone is None:
        return None
    return None if zone in _zones() else _fail(value=zone)


@check("email_format")
def email_format(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                 params: Mapping[str, Any]) -> dict[str, Any] | None:
    """Something@domain.with.a.dot, no spaces."""
    email = str(rec.get(args[0]) or "")
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        return _fail(value=email)
    return None


@check("matches")
def matches(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
            params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The whole text matches the regular expression ``pattern`` (the same syntax in
    Python and JavaScript: character classes and quantifiers only)."""
    return None if re.fullmatch(params["pattern"], str(rec.get(args[0]) or "")) else FAIL


# ---------------------------------------------------------------- gates and closing states


@check("is_set")
def is_set(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
           params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The field is true (a finding is closed before it is reopened)."""
    return None if rec.get(args[0]) else FAIL


@check("is_not_set")
def is_not_set(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
               params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The field is false or empty (a finding is open before it is closed)."""
    return FAIL if rec.get(args[0]) else None


@check("required")
def required(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
             params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The field is filled; with ``when`` ({field: [values]}) only when that field holds
    one of the values."""
    for other, values in (params.get("when") or {}).items():
        if rec.get(other) not in values:
            return None
    return FAIL if blank(rec.get(args[0])) else None


@check("field_in")
def field_in(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
             params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The field holds one of ``values``."""
    value = rec.get(args[0])
    if value in params["values"]:
        return None
    return _fail(value=value, value_words=words(value))


@check("not_the_actor")
def not_the_actor(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                  params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The person taking the action is not the one the field names (the action owner does
    not verify their own action; the lead auditor does not approve their own review), nor
    the one it named before this write (no handing the action on in the closing write)."""
    if ctx.actor is None:
        return None
    if rec.get(args[0]) == ctx.actor.id or (ctx.old or {}).get(args[0]) == ctx.actor.id:
        return FAIL
    return None


@check("source_closing_state")
def source_closing_state(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                         params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record a finding is about is in a closing state, as its own type declares
    (``closing``).  Answers the first thing that is not."""
    id_field, type_field = args
    source_class = params["classes"].get(rec.get(type_field))
    if source_class is None or not rec.get(id_field):
        return None
    about = _visible_record(ctx, source_class, rec.get(id_field))
    if about is None:
        return _fail(reason="the record the finding is about no longer exists")
    blockers = ctx.record_type(source_class).closing_state(about, ctx.lookup)  # type: ignore[arg-type]
    if not blockers:
        return None
    first = blockers[0]
    return _fail(reason=first.reason, opens=first.opens)


@check("legal_in_order")
def legal_in_order(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                   params: Mapping[str, Any]) -> dict[str, Any] | None:
    """A compliance obligation is neither non-compliant nor overdue at its site (overdue
    once the day after its due date has begun there)."""
    status_field, due_field, site_field = args
    if rec.get(status_field) in params["failing"]:
        return _fail(reason="non-compliant")
    if clock.is_overdue(rec.get(due_field), ctx.today(rec.get(site_field))):
        return _fail(reason="overdue for evaluation")
    return None


@check("latest_is_pass")
def latest_is_pass(ctx: RuleContext, rec: Mapping[str, Any], args: tuple[str, ...],
                   params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The latest record with the same values of ``same`` (by ``order``, none later than
    now plus the clock-skew allowance) has ``field`` equal to ``value`` (a kit's latest
    inspection is a pass)."""
    status_field = args[0]
    where = {name: rec.get(name) for name in params["same"]}
    until = clock.iso(ctx.now() + timedelta(minutes=CLOCK_SKEW_MINUTES))
    latest = ctx.lookup.latest(params["class"], where, params["order"], until) \
        if ctx.lookup is not None else None
    if latest is not None and latest.get(status_field) == params["value"]:
        return None
    status = latest.get(status_field) if latest else "missing"
    return _fail(value=status, value_words=words(status),
                 opens=(params["class"], str((latest or rec)["objectId"])))


# ---------------------------------------------------------------- permission conditions


def _stays(actor_id: str, before: Any, after: Any) -> bool:
    return before == actor_id and after == actor_id


@condition("own")
def own(actor: Actor, record: Mapping[str, Any] | None, values: Mapping[str, Any],
        rt: RecordType) -> bool:
    """The entry is the actor's (its owner field names them) and stays theirs."""
    owner = rt.owner_field
    if owner is None:
        return False
    before = (record or {}).get(owner, actor.id if record is None else None)
    return _stays(actor.id, before, values.get(owner, before))


@condition("lead")
def lead(actor: Actor, record: Mapping[str, Any] | None, values: Mapping[str, Any],
         rt: RecordType) -> bool:
    """The actor is (and stays) the review's lead auditor."""
    before = (record or {}).get("leadAuditor") if record is not None else actor.id
    return _stays(actor.id, before, values.get("leadAuditor", before))


@condition("observation")
def observation(actor: Actor, record: Mapping[str, Any] | None, values: Mapping[str, Any],
                rt: RecordType) -> bool:
    """The finding is an observation."""
    severity = values.get("severity", (record or {}).get("severity"))
    return severity in (None, "observation")


@condition("owns_site")
def owns_site(actor: Actor, record: Mapping[str, Any] | None, values: Mapping[str, Any],
              rt: RecordType) -> bool:
    """The actor owns (and keeps owning) the site."""
    before = (record or {}).get("siteOwner") if record is not None else actor.id
    return _stays(actor.id, before, values.get("siteOwner", before))


# ---------------------------------------------------------------- authorship

AUTHOR_RULE = "self_or_office_for_assigned"


def author_refusal(actor: Actor, author: str | None, site_id: str | None,
                   lookup: Lookup, office_roles: frozenset[str]) -> str | None:
    """``self_or_office_for_assigned``: who may be named as the one who did the work:
    yourself; someone in an office role may also name an active user assigned to the
    site (a paper inspection entered later).  None: allowed; else the reason."""
    if author is None or author == actor.id:
        return None
    if actor.role not in office_roles:
        role = actor.role.replace("_", " ")
        art = "an" if role[:1] in "aeiou" else "a"
        return f"{art} {role} records entries as themselves"
    user = lookup.get("User", author)
    if user is None:
        return f"no user with id {author!r}"
    if not user.get("active", True):
        return f"user {user.get('username')} is deactivated"
    if user.get("role") != "admin" and site_id is not None and \
            site_id not in (user.get("sites") or []):
        return f"user {user.get('username')} is not assigned to this site"
    return None
