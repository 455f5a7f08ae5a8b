"""Apply desktop_audit's schema, class-level permissions and indexes to a Parse Server
(or a Back4app app) with the master key, publish the rulebook, and create the
administrator; idempotent.

Everything comes from desktop_audit.schema and the record types.  Class-level
permissions: signed-in users only, no class creation and no new fields from clients,
the trail has no update or delete, accounts are made by an administrator (Cloud Code
``saveUsers``) and their password verifier is readable by the master key only.  The
rulebook (records/rulebook.py) goes to class ``RuleBook`` (one object, the master key
only), which Cloud Code's rules engine applies; the engine then makes the unique indexes
of the unique keys in PostgreSQL (Cloud Function ``ensureRuleIndexes``).  Parse Server's
own classes and the Cloud Code's records are closed to every session (``system_classes``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from desktop_audit.schema import BY_NAME, CLASSES, SERVER_CLASSES, ClassDef
from desktop_audit.store.db import new_object_id
from desktop_audit.sync import wire
from desktop_audit.sync.parse_client import ParseClient, ParseError
from desktop_audit.sync.system_classes import close_system_classes

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

AUTH = {"requiresAuthentication": True}
NOBODY: dict[str, Any] = {}


def class_permissions(cdef: ClassDef) -> dict[str, Any]:
    clp: dict[str, Any] = {
        "find": AUTH, "count": AUTH, "get": AUTH, "create": AUTH, "update": AUTH,
        "delete": AUTH, "addField": NOBODY, "protectedFields": {"*": []},
    }
    if cdef.append_only:
        # Appended through Cloud Code's appendTrail only (checked in one transaction).
        clp["create"] = NOBODY
        clp["update"] = NOBODY
        clp["delete"] = NOBODY
    if cdef in SERVER_CLASSES:
        # Written by Cloud Code only; read by signed-in users, or by nobody but the master key.
        reads = NOBODY if cdef.private else AUTH
        clp.update({"find": reads, "count": reads, "get": reads, "create": NOBODY,
                    "update": NOBODY, "delete": NOBODY})
    if cdef.accounts:
        clp["create"] = NOBODY
        clp["delete"] = NOBODY
        clp["protectedFields"] = {"*": [f.name for f in cdef.fields if f.kind == "secret"]}
    return clp


def class_fields(cdef: ClassDef) -> dict[str, Any]:
    fields = {f.name: wire.parse_type(f) for f in (*cdef.fields, *cdef.server_fields)
              if not (cdef.accounts and f.name in ("username", "email"))}
    if cdef not in SERVER_CLASSES:
        fields[wire.TOMBSTONE] = {"type": "Date"}
    return fields


def class_indexes(cdef: ClassDef) -> dict[str, Any]:
    idx: dict[str, Any] = {} if cdef.accounts else {"da_updatedAt": {"updatedAt": 1}}
    if cdef.site_field:
        idx["da_site"] = {cdef.site_field: 1}
    if cdef.unique_together and cdef.append_only:
        # The unique (chain, seq) index itself is made by Cloud Code in PostgreSQL (trailSetup):
        # /schemas indexes are not unique.
        idx["da_chain_seq"] = {name: 1 for name in cdef.unique_together[0]}
    return idx


RULEBOOK_CLASS = "RuleBook"
RULEBOOK_ID = "current"
MASTER_ONLY: dict[str, Any] = {op: NOBODY for op in ("find", "count", "get", "create", "update",
                                                      "delete", "addField")}
MASTER_ONLY["protectedFields"] = {"*": []}


def publish_rulebook(client: ParseClient, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Publish the rulebook (class RuleBook, one object, the master key only) and have the
    server make the unique indexes of its unique keys.  Returns the server's report."""
    from desktop_audit import clock
    from desktop_audit.records import rulebook

    fields = {"version": {"type": "String"}, "book": {"type": "Object"},
              "publishedAt": {"type": "Date"}}
    try:
        current = client.request("GET", f"/schemas/{RULEBOOK_CLASS}", master=True)
    except ParseError as exc:
        if exc.code != 103 and exc.status != 400:
            raise
        current = None
    if current is None:
        client.request("POST", f"/schemas/{RULEBOOK_CLASS}", {
            "className": RULEBOOK_CLASS, "fields": fields, "classLevelPermissions": MASTER_ONLY,
        }, master=True)
    else:
        missing = {k: v for k, v in fields.items() if k not in current.get("fields", {})}
        client.request("PUT", f"/schemas/{RULEBOOK_CLASS}", {
            "className": RULEBOOK_CLASS, "fields": missing, "classLevelPermissions": MASTER_ONLY,
        }, master=True)
    book = rulebook.build()
    body = {"version": book["version"], "book": book,
            "publishedAt": {"__type": "Date", "iso": clock.now_iso()}}
    try:
        client.request("PUT", f"/classes/{RULEBOOK_CLASS}/{RULEBOOK_ID}", body, master=True)
    except ParseError as exc:
        if exc.code != 101:
            raise
        client.request("POST", f"/classes/{RULEBOOK_CLASS}", {**body, "objectId": RULEBOOK_ID},
                       master=True)
    log(f"server-setup: rulebook {book['version'][:12]} published")
    try:
        report = client.request("POST", "/functions/ensureRuleIndexes", {}, master=True)
    except ParseError as exc:
        log(f"server-setup: warning: the server did not make the unique indexes ({exc.message}); "
            "is its Cloud Code this version's?")
        return {}
    result: dict[str, Any] = report.get("result") or {}
    for item in result.get("indexes") or []:
        if not item.get("ok"):
            log(f"server-setup: warning: index {item.get('index')}: {item.get('reason')}")
    return result


def apply_schema(client: ParseClient, log: Callable[[str], None] = print) -> None:
    _apply_classes(client, log)
    publish_rulebook(client, log)


def _apply_classes(client: ParseClient, log: Callable[[str], None]) -> None:
    for cdef in (*CLASSES, *SERVER_CLASSES):
        name = cdef.remote_name
        wanted = class_fields(cdef)
        try:
            current = client.request("GET", f"/schemas/{name}", master=True)
        except ParseError as exc:
            if exc.code != 103 and exc.status != 400:
                raise
            current = None
        clp = class_permissions(cdef)
        if current is None:
            client.request("POST", f"/schemas/{name}", {
                "className": name, "fields": wanted, "classLevelPermissions": clp,
            }, master=True)
            log(f"server-setup: created class {name} ({len(wanted)} fields)")
        else:
            have = current.get("fields", {})
            missing = {k: v for k, v in wanted.items() if k not in have}
            for k, v in wanted.items():
                if k in have and have[k].get("type") != v["type"]:
                    log(f"server-setup: warning: {name}.{k} is {have[k].get('type')} on the "
                        f"server, expected {v['type']}")
            client.request("PUT", f"/schemas/{name}", {
                "className": name, "fields": missing, "classLevelPermissions": clp,
            }, master=True)
            log(f"server-setup: class {name} up to date"
                + (f" (added {', '.join(missing)})" if missing else ""))
        try:
            current = client.request("GET", f"/schemas/{name}", master=True)
            have_idx = current.get("indexes") or {}
            new_idx = {k: v for k, v in class_indexes(cdef).items() if k not in have_idx}
            if new_idx:
                client.request("PUT", f"/schemas/{name}", {"className": name,
                                                            "indexes": new_idx}, master=True)
        except ParseError as exc:
            log(f"server-setup: indexes of {name} not created ({exc.message})")
    close_system_classes(client, log)


def ensure_admin(client: ParseClient, username: str, password: str | None, *,
                 db: Database | None = None, email: str | None = None,
                 log: Callable[[str], None] = print) -> str:
    """Create (or confirm) the administrator account; returns its objectId.

    With *db*, the account adopts that database's user of the same name: the
    same objectId, so records made on the laptop point at the server account."""
    local: dict[str, Any] | None = None
    if db is not None:
        from desktop_audit.store import rows

        matches = rows.select(db, BY_NAME["User"], {"username": username}, include_deleted=True)
        if not matches:
            raise ValueError(f"{db.path} has no user {username!r}")
        local = matches[0]
        if local.get("role") != "admin":
            raise ValueError(f"user {username!r} in {db.path} is not an admin")
    found = client.find("_User", where={"username": username}, limit=1, master=True)
    if found:
        user = found[0]
        if local is not None and user["objectId"] != local["objectId"]:
            raise ValueError(
                f"the server already has {username!r} with objectId {user['objectId']}, "
                f"but {db.path if db else ''} has {local['objectId']}; use another admin name")
        update: dict[str, Any] = {"role": "admin", "active": True}
        if password:
            update["password"] = password
        client.request("PUT", f"/users/{user['objectId']}", update, master=True)
        log(f"server-setup: admin {username!r} ({user['objectId']}) up to date")
        return str(user["objectId"])
    if not password:
        raise ValueError("the admin password is needed to create the account "
                         "(set DESKTOP_AUDIT_PASSWORD)")
    object_id = local["objectId"] if local else new_object_id()
    body: dict[str, Any] = {
        "objectId": object_id, "username": username, "password": password,
        "email": (local or {}).get("email") or email or f"{username}@localhost.invalid",
        "role": "admin", "active": True,
    }
    if local:
        body["fullName"] = local.get("fullName")
        body["sites"] = wire.to_wire(BY_NAME["User"].get("sites"), local.get("sites") or [])
        body = {k: v for k, v in body.items() if v is not None}
    client.request("POST", "/classes/_User", body, master=True)
    log(f"server-setup: created admin {username!r} ({object_id})")
    return object_id


def setup_trail(client: ParseClient, log: Callable[[str], None] = print) -> None:
    """The unique (chain, seq) index, and what the server finds in the chains recorded before
    the upgrade (per device, unsigned): each is verified here, with the laptop's own code,
    and the verdict kept (TrailLegacyChain) for laptops that hold only some of its links."""
    from desktop_audit import clock
    from desktop_audit.domain import trail
    from desktop_audit.store import codec

    client.call("trailSetup", {}, master=True)
    remote = BY_NAME["AuditTrailEvent"].remote_name
    legacy: dict[str, list[dict[str, Any]]] = {}
    skip = 0
    while True:
        page = client.find(remote, where={"chain": {"$exists": False}}, order="objectId",
                           limit=1000, skip=skip, master=True)
        for ev in page:
            legacy.setdefault(str(ev.get("deviceId")), []).append(ev)
        skip += len(page)
        if len(page) < 1000:
            break
    kept = {o["chain"]: o for o in client.find(LEGACY_CLASS, limit=1000, master=True)}
    for device, events in sorted(legacy.items()):
        events.sort(key=lambda e: (int(e.get("seq") or 0), e["objectId"]))
        prev, expected = trail.GENESIS, 1
        problem: str | None = None
        for ev in events:
            row: dict[str, Any] = {k: ev.get(k) for k in trail.LEGACY_HASHED}
            row["at"] = wire.iso_of(ev.get("at"))
            row["changes"] = codec.dumps(ev.get("changes") or {})
            where = f"seq {row['seq']}"
            if row["seq"] != expected:
                problem = (f"{where}: expected seq {expected}" if row["seq"] > expected else
                           f"{where}: two events hold this sequence number")
                break
            if ev.get("prevHash") != prev:
                problem = f"{where}: does not follow the event before it"
                break
            if trail.event_hash(row, prev) != ev.get("hash"):
                problem = f"{where}: its content is not what its hash covers"
                break
            prev, expected = ev["hash"], expected + 1
        body = {"chain": device, "events": len(events), "headSeq": expected - 1,
                "headHash": prev if expected > 1 else None, "verified": problem is None,
                "problem": problem, "verifiedAt": {"__type": "Date", "iso": clock.now_iso()}}
        if device in kept:
            client.request("PUT", f"/classes/{LEGACY_CLASS}/{kept[device]['objectId']}", body,
                           master=True)
        else:
            client.request("POST", f"/classes/{LEGACY_CLASS}", body, master=True)
        log(f"server-setup: chain {device} recorded before the upgrade: {len(events)} events, "
            + ("verified" if problem is None else f"NOT verified ({problem})"))


LEGACY_CLASS = "TrailLegacyChain"


def server_setup(client: ParseClient, admin: str, password: str | None, *,
                 db: Database | None = None, log: Callable[[str], None] = print) -> str:
    if not client.health():
        raise ParseError(100, f"no Parse Server answers at {client.server_url}", 0)
    apply_schema(client, log)
    setup_trail(client, log)
    return ensure_admin(client, admin, password, db=db, log=log)
