"""Time in one place: UTC ISO-8601 text as stored and synced, one ``today()``, and the one
rule for due dates.

* Instants are stored and synced as UTC text (``iso``); ``now()`` is the one clock, and
  tests move it with ``frozen``.
* A due date is a calendar date *at the site*: "today" for a record is today in its
  site's IANA time zone (``AuditSite.timeZone``), not on the laptop and not in UTC.  A
  record without a site (a user, the site itself before it has a zone) uses the laptop's
  zone.
* ``is_overdue(due, today)``: a date is overdue once the day after it has begun at the
  site (due today is not overdue).  The server applies the same rule (Node's ``Intl``
  knows the same zones).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_frozen: datetime | None = None


def now() -> datetime:
    """The current instant (UTC); ``frozen`` sets it for tests."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC)


@contextmanager
def frozen(at: datetime | str) -> Iterator[datetime]:
    """Make ``now()`` answer *at* (an aware datetime or ISO text) inside the block."""
    global _frozen
    moment = parse_iso(at) if isinstance(at, str) else at.astimezone(UTC)
    before = _frozen
    _frozen = moment
    try:
        yield moment
    finally:
        _frozen = before


def iso(dt: datetime) -> str:
    """'2026-11-27T14:07:21.123Z', the Parse wire format (sorts as text)."""
    if dt.tzinfo is None:
        dt = dt.astimezone()  # a naive time is the user's local time
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(now())


def parse_iso(text: str) -> datetime:
    """Inverse of iso(); accepts any ISO-8601 instant."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.astimezone()
    return value.astimezone(UTC)


# ---------------------------------------------------------------- time zones


def local_zone_name() -> str:
    """The laptop's IANA time zone name (e.g. 'Europe/Warsaw'); 'UTC' when it has none."""
    try:
        from tzlocal import get_localzone_name

        name = get_localzone_name()
    except Exception:  # noqa: BLE001 - no readable zone configuration: UTC, said plainly
        name = None
    if not name or not valid_zone(name):
        return "UTC"
    return name


def zone(name: str | None) -> tzinfo | None:
    """The tzinfo of an IANA name; None (the laptop's own zone) for None or an unknown name."""
    if name and valid_zone(name):
        return _zone(name)
    return None


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


@functools.lru_cache(maxsize=512)
def valid_zone(name: str) -> bool:
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def today(zone_name: str | None = None) -> date:
    """Today's date in *zone_name* (an IANA name); the laptop's zone when None."""
    return now().astimezone(zone(zone_name)).date()


def is_overdue(due: str | date | None, today_at_site: date) -> bool:
    """The one due-date rule: overdue once the day after the due date has begun at the site."""
    if due is None or due == "":
        return False
    day = due if isinstance(due, date) else date.fromisoformat(str(due)[:10])
    return day < today_at_site


def is_due_within(due: str | date | None, today_at_site: date, days: int) -> bool:
    """Due today or within the next *days* days (not yet overdue)."""
    if due is None or due == "":
        return False
    day = due if isinstance(due, date) else date.fromisoformat(str(due)[:10])
    return 0 <= (day - today_at_site).days <= days
