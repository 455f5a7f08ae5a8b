"""Small checks several record types share."""

from __future__ import annotations

from desktop_audit import clock
from desktop_audit.errors import ValidationError

# A clock a little fast on the laptop that logged it is not a "future" inspection.
FUTURE_TOLERANCE_MINUTES = 10


def not_in_future(name: str, value: str | None, zone: str | None = None
                  ) -> ValidationError | None:
    """An instant that lies in the future beyond the clock-skew allowance, or a date after
    today at the site (in *zone*)."""
    from datetime import date, timedelta

    if value is None:
        return None
    if "T" not in value:
        if date.fromisoformat(value[:10]) > clock.today(zone):
            return ValidationError(name, f"{value[:10]} is in the future")
        return None
    if clock.parse_iso(value) > clock.now() + timedelta(minutes=FUTURE_TOLERANCE_MINUTES):
        return ValidationError(name, f"{value[:16].replace('T', ' ')} is in the future")
    return None
