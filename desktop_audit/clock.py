"""Time in one place: UTC ISO-8601 text as stored and synced, and a patchable now()."""

from __future__ import annotations

from datetime import UTC, date, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """'2026-11-27T14:07:21.123Z', the Parse wire format (sorts as text)."""
    if dt.tzinfo is None:
        dt = dt.astimezone()  # a naive time is the user's local time
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(now())


def today() -> date:
    return now().astimezone().date()


def parse_iso(text: str) -> datetime:
    """Inverse of iso(); accepts any ISO-8601 instant."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.astimezone()
    return value.astimezone(UTC)
