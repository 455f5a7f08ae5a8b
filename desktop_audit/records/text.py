"""How stored values read for people: enum values in words, instants in local time.

Qt-free, so the command line, the packs and the app say the same thing."""

from __future__ import annotations

from desktop_audit import clock

# Enum values whose words are not the value with spaces.
SPECIAL_WORDS = {"major_nc": "Major NC", "minor_nc": "Minor NC"}


def enum_text(value: str | None) -> str:
    if not value:
        return ""
    if value in SPECIAL_WORDS:
        return SPECIAL_WORDS[value]
    return value.replace("_", " ").capitalize()


def local_datetime(value: str | None) -> str:
    if not value:
        return ""
    try:
        return clock.parse_iso(value).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value
