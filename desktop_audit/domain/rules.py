"""Validation and derived fields, driven by the schema declaration.

``coerce`` turns what a person typed (a form, a CSV cell, a CLI argument) into
the stored value or raises a ValidationError naming the field and the reason.
``derive`` computes riskRating, impactRating, thresholdApplied, significant and
replenishmentNeeded, so they can never disagree with their inputs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from desktop_audit import clock
from desktop_audit.errors import ValidationError
from desktop_audit.schema import ClassDef, Field

_TRUE = {"true", "yes", "y", "1", "on", "x"}
_FALSE = {"false", "no", "n", "0", "off", ""}
_OBJECT_ID = re.compile(r"^[A-Za-z0-9]{10}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A clock a little fast on the laptop that logged it is not a "future" inspection.
FUTURE_TOLERANCE = timedelta(minutes=10)

# Which inputs each derived field is computed from (import refuses a derived
# value given without them).
DERIVED_FROM: dict[str, dict[str, tuple[str, ...]]] = {
    "AspectImpactLog": {
        "riskRating": ("likelihood", "severity"),
        "impactRating": ("likelihood", "severity"),
        "thresholdApplied": ("site",),
        "significant": ("likelihood", "severity"),
    },
    "SpillKitLog": {"replenishmentNeeded": ("missingItems", "sealStatus")},
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_SEPARATORS = re.compile(r"[\s\-/]+")


def _enum_key(text: str) -> str:
    return _SEPARATORS.sub("_", text.strip().lower())


@lru_cache(maxsize=256)
def _enum_lookup(choices: tuple[str, ...]) -> dict[str, str]:
    return {_enum_key(c): c for c in choices}


def coerce(f: Field, value: Any) -> Any:
    """The stored form of *value* for field *f*; None for blank."""
    if _blank(value) and f.kind not in ("bool", "string_list", "pointer_list"):
        return None
    kind = f.kind
    if kind in ("string", "text", "secret"):
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


def impact_rating(risk: int) -> str:
    if risk <= 4:
        return "low"
    if risk <= 9:
        return "medium"
    if risk <= 15:
        return "high"
    return "critical"


def derive(cdef: ClassDef, values: dict[str, Any], *, threshold: int | None = None) -> None:
    """Fill the class's derived fields in *values* from their inputs (in place)."""
    if cdef.name == "AspectImpactLog":
        lik, sev = values.get("likelihood"), values.get("severity")
        if lik is not None and sev is not None:
            risk = lik * sev
            values["riskRating"] = risk
            values["impactRating"] = impact_rating(risk)
        if threshold is not None:
            values["thresholdApplied"] = threshold
        applied = values.get("thresholdApplied") or 12
        risk = values.get("riskRating")
        values["significant"] = bool(
            (risk is not None and risk >= applied) or values.get("obligationRefs")
        )
    elif cdef.name == "SpillKitLog":
        values["replenishmentNeeded"] = bool(values.get("missingItems")) or (
            values.get("sealStatus") not in (None, "intact")
        )


def check_required(cdef: ClassDef, values: Mapping[str, Any]) -> None:
    for f in cdef.fields:
        if f.required and not f.derived and f.kind != "bool" and _blank(values.get(f.name)):
            raise ValidationError(f.name, "is required", class_name=cdef.name)


def not_in_future(name: str, value: str | None) -> None:
    if value is None:
        return
    moment = clock.parse_iso(value) if "T" in value else clock.parse_iso(value + "T00:00:00Z")
    if moment > clock.now() + FUTURE_TOLERANCE:
        raise ValidationError(name, f"{value[:16].replace('T', ' ')} is in the future")


def next_due(due: date, frequency: str) -> date:
    """Move a due date on by a review frequency (month ends clamp: 31 Jan + 1 month = 28/29 Feb)."""
    months = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12, "biennial": 24}[frequency]
    total = due.month - 1 + months
    year, month = due.year + total // 12, total % 12 + 1
    for day in (due.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def class_rules(cdef: ClassDef, values: Mapping[str, Any]) -> None:
    """Cross-field rules of one class (the ones that need no other record)."""
    name = cdef.name
    if name == "SpillKitLog":
        not_in_future("lastCheckedAt", values.get("lastCheckedAt"))
        if values.get("inspectionStatus") == "pass" and values.get("replenishmentNeeded"):
            raise ValidationError(
                "inspectionStatus",
                "a kit with missing items or a seal that is not intact cannot pass",
            )
    elif name == "AspectImpactLog":
        not_in_future("loggedAt", values.get("loggedAt"))
    elif name == "LegalRegisterEntry":
        not_in_future("lastEvaluatedAt", values.get("lastEvaluatedAt"))
    elif name == "AuditFinding":
        log_type = values.get("logType")
        if log_type in ("aspect", "spill_kit", "legal", "review") and not values.get("sourceId"):
            raise ValidationError("sourceId", f"is required when the finding is about a "
                                              f"{log_type.replace('_', ' ')} record")
    elif name == "Evidence":
        not_in_future("takenAt", values.get("takenAt"))
