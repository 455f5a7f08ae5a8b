"""The server's own classes, closed to every client session (set with the master key by
``server-setup``, idempotent).

* Parse Server's classes the laptops never use through a session: ``_Role`` and
  ``_Installation``; ``_Session`` only as far as reading one's own (``/sessions/me``; Parse
  Server shows a session only its user), since sign-in and sign-out make and end sessions
  with the master key inside Parse Server.  ``_Audience``, ``_PushStatus``, ``_JobStatus``,
  ``_JobSchedule``, ``_Hooks``, ``_GlobalConfig``, ``_GraphQLConfig`` and ``_Idempotency``
  are the master key's by Parse Server itself.
* The Cloud Code's own records: ``StoredFile`` (what each upload stored: site, SHA-256,
  type, size) and ``LoginFailure`` (the lockout's failures where the database is not
  PostgreSQL; on PostgreSQL they are rows of a table no client reaches).

Nobody but the master key finds, reads, counts, creates, changes or deletes them, and no
client adds a field (the Cloud Code refuses them too, before this ran).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop_audit.sync.parse_client import ParseClient, ParseError

NOBODY: dict[str, Any] = {}
CLOSED_CLP: dict[str, Any] = {op: NOBODY for op in ("find", "count", "get", "create", "update",
                                                    "delete", "addField")}
CLOSED_CLP["protectedFields"] = {}

# Parse Server's classes closed to sessions: their permissions.
OWN_SESSION = dict(CLOSED_CLP, find={"requiresAuthentication": True},
                   get={"requiresAuthentication": True}, count={"requiresAuthentication": True})
PARSE_CLASSES: dict[str, dict[str, Any]] = {
    "_Role": CLOSED_CLP, "_Installation": CLOSED_CLP, "_Session": OWN_SESSION,
}

# The Cloud Code's own classes: fields and indexes.
OWN_CLASSES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "StoredFile": (
        {"name": {"type": "String"}, "kind": {"type": "String"}, "site": {"type": "String"},
         "sha256": {"type": "String"}, "mimeType": {"type": "String"},
         "byteSize": {"type": "Number"}, "uploadedBy": {"type": "String"}},
        {"da_name": {"name": 1}},
    ),
    "LoginFailure": (
        {"key": {"type": "String"}},
        {"da_key": {"key": 1, "createdAt": 1}},
    ),
}


def close_system_classes(client: ParseClient, log: Callable[[str], None] = print) -> None:
    for name, clp in PARSE_CLASSES.items():
        _ensure(client, name, {}, {}, clp, log)
    for name, (fields, indexes) in OWN_CLASSES.items():
        _ensure(client, name, fields, indexes, CLOSED_CLP, log)


def _ensure(client: ParseClient, name: str, fields: dict[str, Any], indexes: dict[str, Any],
            clp: dict[str, Any], log: Callable[[str], None]) -> None:
    try:
        current = client.request("GET", f"/schemas/{name}", master=True)
    except ParseError as exc:
        if exc.code != 103 and exc.status != 400:
            raise
        current = None
    if current is None:
        client.request("POST", f"/schemas/{name}", {
            "className": name, "fields": fields, "classLevelPermissions": clp,
        }, master=True)
        log(f"server-setup: created class {name}, closed to clients")
    else:
        have = current.get("fields", {})
        missing = {k: v for k, v in fields.items() if k not in have}
        if missing or _clp_differs(current.get("classLevelPermissions") or {}, clp):
            client.request("PUT", f"/schemas/{name}", {
                "className": name, "fields": missing, "classLevelPermissions": clp,
            }, master=True)
            log(f"server-setup: class {name} closed to clients")
    if indexes:
        current = client.request("GET", f"/schemas/{name}", master=True)
    have_idx = (current or {}).get("indexes") or {}  # None: made just now, without indexes
    new_idx = {k: v for k, v in indexes.items() if k not in have_idx}
    if new_idx:
        try:
            client.request("PUT", f"/schemas/{name}", {"className": name, "indexes": new_idx},
                           master=True)
        except ParseError as exc:
            log(f"server-setup: indexes of {name} not created ({exc.message})")


def _clp_differs(have: dict[str, Any], want: dict[str, Any]) -> bool:
    return any(have.get(op) != want[op] for op in want if op != "protectedFields")
