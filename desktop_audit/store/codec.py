"""The one row codec and the one JSON encoding of the program.

Values are stored the way they travel: timestamps as ISO-8601 UTC text, dates as
YYYY-MM-DD, lists and objects as compact JSON text with sorted keys (the trail's hashes
cover that exact text, so it never changes), booleans as 0/1, pointers as the target's
objectId.  The peewee models' fields use these functions; so does every hand-written
statement in ``store/``.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
dumps = _ENCODER.encode
loads = json.loads

JSON_KINDS = frozenset({"string_list", "pointer_list", "object", "file"})
LIST_KINDS = frozenset({"string_list", "pointer_list"})


def to_db(kind: str, value: Any) -> Any:
    """A service value as the column stores it."""
    if value is None:
        return None
    if kind in JSON_KINDS:
        return dumps(value)
    if kind == "bool":
        return 1 if value else 0
    return value


def from_db(kind: str, value: Any) -> Any:
    """A column's value as the services use it (lists decoded, booleans as bool)."""
    if value is None:
        return [] if kind in LIST_KINDS else None
    if kind in JSON_KINDS:
        return loads(value)
    if kind == "bool":
        return bool(value)
    return value
