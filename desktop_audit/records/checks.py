"""Small checks several record types share."""

from __future__ import annotations

from desktop_audit import clock
from desktop_audit.errors import ValidationError

# A clock a little fast on the laptop that logged it is not a "future" inspection.
FUTURE_TOLERANCE_MINUTES = 10


def not_in_future(name: str, value: str | None) -> ValidationError | None:
    """An instant (or a date) that lies in the future beyond the clock-skew allowance."""
    from datetime import timedelta

    if value is None:
        return None
    moment = clock.parse_iso(value) if "T" in value else clock.parse_iso(value + "T00:00:00Z")
    if moment > clock.now() + timedelta(minutes=FUTURE_TOLERANCE_MINUTES):
        return ValidationError(name, f"{value[:16].replace('T', ' ')} is in the future")
    return None
