"""What a person typed (a form, a CSV cell, a command-line argument) as the stored value.

``coerce`` turns one value into the stored form of its field's kind, or raises a
ValidationError naming the field and the reason.  The rules of each record type (derived
fields, cross-field checks, workflows) are in ``desktop_audit/records/``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from desktop_audit import clock
from desktop_audit.errors import ValidationError
from desktop_audit.schema import Field

_TRUE = {"true", "yes", "y", "1", "on", "x"}
_FALSE = {"false", "no", "n", "0", "off", ""}
_OBJECT_ID = re.compile(r"^[A-Za-z0-9]{10}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_SEPARATORS = re.compile(r"[\s\-/]+")


def _enum_key(text: str) -> str:
    return _SEPARATORS.sub("_", text.strip().lower())


@lru_cache(maxsize=256)
def _enum_lookup(choices: tuple[str, ...]) -> dict[str, str]:
    return {_enum_key(c): c for c in choices}


_TEXT_KINDS = frozenset({"string", "text", "secret"})
_KEEP_BLANK = frozenset({"bool", "string_list", "pointer_list"})


def coerce(f: Field, value: Any) -> Any:
    """The stored form of *value* for field *f*; None for blank."""
    kind = f.kind
    if value.__class__ is str:
        text = value.strip()
        if not text:
            if kind not in _KEEP_BLANK:
                return None
        elif kind in _TEXT_KINDS and "\x00" not in text and (kind != "string" or (
                "\n" not in text and "\r" not in text)) and (
                f.max_length is None or len(text) <= f.max_length):
            return text  # the common case (a cell of text) without the checks below
        elif kind == "enum" and text in f.choices:
            return text
    elif value is None and kind not in _KEEP_BLANK:
        return None
    if kind in _TEXT_KINDS:
        if not isinstance(value, str):
            if isinstance(value, bool | int | float):
                value = str(value)
            else:
                raise ValidationError(f.name, f"expected text, got {type(value).__name__}")
        text = value.strip()
        if "\x00" in text:
            raise ValidationError(f.name, "contains a NUL character")
        if kind == "string" and ("\n" in text or "\r" in text):
            raise ValidationError(f.name, "must be a single line")
        if f.max_length is not None and len(text) > f.max_length:
            raise ValidationError(f.name, f"is {len(text)} characters long; at most "
                                          f"{f.max_length} allowed")
        return text or None
    if kind == "int":
        return _coerce_int(f, value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value is None:
            return None
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValidationError(f.name, f"{_show(value)} is not yes/no (use true or false)")
    if kind == "enum":
        if not isinstance(value, str):
            raise ValidationError(f.name, f"{_show(value)} is not one of {', '.join(f.choices)}")
        if value in f.choices:
            return value
        choice = _enum_lookup(f.choices).get(_enum_key(value))
        if choice is not None:
            return choice
        raise ValidationError(f.name, f"{_show(value)} is not one of {', '.join(f.choices)}")
    if kind == "date":
        return _coerce_date(f, value)
    if kind == "datetime":
        return _coerce_datetime(f, value)
    if kind == "pointer":
        if not isinstance(value, str) or not _OBJECT_ID.match(value.strip()):
            raise ValidationError(f.name, f"{_show(value)} is not a record id")
        return value.strip()
    if kind in ("string_list", "pointer_list"):
        return _coerce_list(f, value)
    if kind in ("object", "file"):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValidationError(f.name, "is not valid JSON") from exc
        if not isinstance(value, dict):
            raise ValidationError(f.name, "expected an object")
        return value
    raise ValidationError(f.name, f"cannot store a value of kind {kind}")


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "...'"


def _coerce_int(f: Field, value: Any) -> int:
    if isinstance(value, bool):
        raise ValidationError(f.name, f"{_show(value)} is not a whole number")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValidationError(f.name, f"{_show(value)} is not a whole number")
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,9}(\.0+)?", text):
            raise ValidationError(f.name, f"{_show(value)} is not a whole number")
        value = int(float(text)) if "." in text else int(text)
    elif not isinstance(value, int):
        raise ValidationError(f.name, f"{_show(value)} is not a whole number")
    if f.minimum is not None and value < f.minimum or f.maximum is not None and value > f.maximum:
        raise ValidationError(f.name, f"{value} is out of range ({f.minimum} to {f.maximum})")
    return value


def _coerce_date(f: Field, value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if "T" in text and _DATE.match(text[:10]):
            text = text[:10]  # an ISO instant from a spreadsheet or the server
        if _DATE.match(text):
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                pass
        raise ValidationError(f.name, f"{_show(value)} is not a date (use YYYY-MM-DD)")
    raise ValidationError(f.name, f"{_show(value)} is not a date (use YYYY-MM-DD)")


def _coerce_datetime(f: Field, value: Any) -> str:
    if isinstance(value, datetime):
        return clock.iso(value)
    if isinstance(value, date):
        return clock.iso(datetime(value.year, value.month, value.day))
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE.match(text):
                d = date.fromisoformat(text)
                return clock.iso(datetime(d.year, d.month, d.day))
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
            if parsed.year < 1900:
                raise ValueError
            return clock.iso(parsed)
        except ValueError:
            pass
    raise ValidationError(f.name, f"{_show(value)} is not a date and time "
                                  "(use YYYY-MM-DD HH:MM or ISO-8601)")


def _coerce_list(f: Field, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValidationError(f.name, "is not a valid list") from exc
        else:
            value = [part for part in (p.strip() for p in text.split(";")) if part]
    if not isinstance(value, list | tuple | set | frozenset):
        raise ValidationError(f.name, "expected a list")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f.name, f"list item {_show(item)} is not text")
        item = item.strip()
        if f.kind == "pointer_list" and not _OBJECT_ID.match(item):
            raise ValidationError(f.name, f"{_show(item)} is not a record id")
        if len(item) > 200:
            raise ValidationError(f.name, "a list item is longer than 200 characters")
        if item not in out:
            out.append(item)
    return out
