"""The one row codec and the one JSON encoding of the program.

Values are stored the way they travel: timestamps as ISO-8601 UTC text, dates as
YYYY-MM-DD, lists and objects as compact JSON text with sorted keys (the trail's hashes
cover that exact text, so it never changes), booleans as 0/1, pointers as the target's
objectId.  The peewee models' fields use these functions; so does every hand-written
statement in ``store/``.
"""

from __future__ import annotations

import json
import json.encoder
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
# The same encoder's C core called directly (what ``_ENCODER.encode`` runs, without its
# Python layers and its check for circular values, which stored values never hold): the
# same text, byte for byte.  The trail hashes the changes of every event with it.
_C_MAKE: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (_C_MAKE(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",",
                     True, False, True) if _C_MAKE is not None else None)
loads = json.loads


def dumps(value: Any) -> str:
    """Compact JSON, keys sorted, non-ASCII as is."""
    if _C_ENCODE is None or value.__class__ is str:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))

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
