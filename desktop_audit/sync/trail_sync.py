"""The audit trail's part of a sync: keys, anchors, segments pushed exactly once, and pulled
events checked before they are stored.

* **Keys** first: the keys made here that the server does not know yet are registered
  (``registerTrailKeys``), and every key the server knows comes down (with revocations), so
  what is pulled next can be checked.
* **Anchors**: before anything of one of this laptop's chains is pushed, its events are
  compared with what the server already holds of that chain (``trailHeads``; equal hashes
  at the server's head mean equal history, since each hash covers the one before).  A
  chain that no longer matches (an event changed, removed or reordered here, or the chain
  shorter than what the server holds) is reported, naming the chain and sequence number,
  and nothing of it is pushed; the server's copy is never pulled back over it.
* **Push**: per chain, in order, whole signed segments through ``appendTrail``, before the
  records they journal.  A segment whose answer was lost is recognised by the server when
  it comes again (same ids and hashes), not duplicated.
* **Pull**: other laptops' events wait in ``trail_inbox`` until the events before them are
  here; each is checked (chain, sequence, link, hash, signature by a known key of the
  actor) before it is stored.  One that does not verify stays held back, reported, counted
  (so it is not pulled again and again), and never stored over a genuine one.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from desktop_audit import clock
from desktop_audit.domain import trail
from desktop_audit.schema import TRAIL, TRAIL_KEY, TRAIL_LEGACY
from desktop_audit.store import codec, journal, keyring, sync_state
from desktop_audit.sync import wire
from desktop_audit.sync.parse_client import ParseClient, ParseError

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

CALL_EVENTS = 5000  # events per appendTrail call (whole signed segments, so maybe more)
# The fields of an event as appendTrail takes them (changes as the exact text hashed).
WIRE = ("objectId", "chain", "deviceId", "seq", "at", "actor", "actorName", "action",
        "recordClass", "recordId", "siteId", "changes", "keyId", "prevHash", "hash", "signature")
_ROW = {name: journal.EVENT_COLUMNS.index(name) for name in WIRE}


def wire_event(row: tuple[Any, ...]) -> dict[str, Any]:
    return {name: row[i] for name, i in _ROW.items()}


def own_chains(db: Database) -> tuple[str, str | None]:
    """This laptop's device id and the id of the chain it recorded before the upgrade."""
    return db.device_id, db.meta("legacy_device_id")


# ---------------------------------------------------------------------- keys


def register_keys(db: Database, client: ParseClient, actor: Actor | None,
                  call: Callable[[Callable[[], Any]], Any]) -> list[str]:
    """Register the keys made here that the server does not know yet; what it refused, in
    words (the events they signed wait until it accepts them)."""
    pending = keyring.unregistered(db)
    pass_key = actor.signer.pass_public if actor is not None and actor.signer else None
    if not pending and not pass_key:
        return []
    body: dict[str, Any] = {"keys": [
        {"keyId": k.key_id, "user": k.user, "deviceId": k.device_id, "publicKey": k.public_key,
         "statement": k.statement, "certificate": k.certificate, "passProof": k.pass_proof}
        for k in pending]}
    if pass_key:
        body["passKey"] = pass_key
    results = call(lambda: client.call("registerTrailKeys", body))
    problems = []
    done = []
    for k, result in zip(pending, results, strict=True):
        if "success" in result:
            done.append(k.key_id)
        else:
            err = result.get("error") or {}
            problems.append(f"key {k.key_id}: {err.get('error', err)}")
    if done:
        now = clock.now_iso()
        with db.atomic():
            keyring.store_remote(db, [keyring.KeyRow(
                k.key_id, k.user, k.device_id, k.public_key, k.statement, k.certificate, None,
                k.created_at, now, actor.id if actor else None, None, True)
                for k in pending if k.key_id in done])
    return problems


def pull_keys(db: Database, client: ParseClient,
              call: Callable[[Callable[[], Any]], Any]) -> None:
    """Every key the server knows (and their revocations), and its verdicts on the chains
    recorded before the upgrade."""
    found: list[dict[str, Any]] = []
    while True:
        page = call(functools.partial(client.find, TRAIL_KEY.remote_name, order="objectId",
                                      limit=1000, skip=len(found)))
        found += page
        if len(page) < 1000:
            break
    rows = []
    for obj in found:
        user = obj.get("user")
        by = obj.get("registeredBy")
        rows.append(keyring.KeyRow(
            obj["keyId"], user.get("objectId") if isinstance(user, dict) else None,
            obj["deviceId"], obj["publicKey"], obj["statement"], obj["certificate"], None,
            wire.iso_of(obj.get("createdAt")) or clock.now_iso(),
            wire.iso_of(obj.get("registeredAt")),
            by.get("objectId") if isinstance(by, dict) else None,
            wire.iso_of(obj.get("revokedAt")), False))
    verdicts = call(functools.partial(client.find, TRAIL_LEGACY.remote_name, limit=1000))
    with db.atomic():
        keyring.store_remote(db, rows)
        keyring.store_legacy(db, [(v["chain"], int(v.get("events") or 0), v.get("headSeq"),
                                   v.get("headHash"), bool(v.get("verified")), v.get("problem"),
                                   wire.iso_of(v.get("verifiedAt"))) for v in verdicts])


# ---------------------------------------------------------------------- anchors


def anchor_problem(db: Database, client: ParseClient, chain: str,
                   server_head: dict[str, Any] | None,
                   call: Callable[[Callable[[], Any]], Any]) -> str | None:
    """Whether this laptop's copy of a chain still holds exactly what the server holds."""
    if not server_head:
        return None
    seq, digest = int(server_head["seq"]), str(server_head["hash"])
    local = journal.at_seq(db, chain, seq, ("hash",))
    if local is not None and local[0] == digest:
        return None
    head = journal.head(db, chain)
    if local is None and (head is None or head[0] < seq):
        return (f"chain {chain}, seq {head[0] + 1 if head else 1}: this laptop's chain ends at "
                f"seq {head[0] if head else 0}, but the server already holds it up to seq {seq} "
                "(events were removed here after they were pushed)")
    first = seq
    step = 100000
    for start in range(1, seq + 1, step):
        end = min(seq, start + step - 1)
        theirs = dict(call(functools.partial(client.call, "trailHashes",
                                             {"chain": chain, "from": start, "to": end})))
        mine = journal.hashes(db, chain, start, end)
        diff = [n for n in range(start, end + 1) if mine.get(n) != theirs.get(n)]
        if diff:
            first = diff[0]
            break
    return (f"chain {chain}, seq {first}: this laptop's event is not the one the server holds "
            "(changed, removed or reordered here after it reached the server)")


def server_heads(client: ParseClient, chains: list[str],
                 call: Callable[[Callable[[], Any]], Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(chains), 1000):
        part = chains[i:i + 1000]
        out.update(call(functools.partial(client.call, "trailHeads", {"chains": part})))
    return out


def check_anchors(db: Database, client: ParseClient, chains: Iterable[str],
                  call: Callable[[Callable[[], Any]], Any]) -> dict[str, str]:
    """{chain: problem} for the chains (of those given) that no longer match the server or
    do not verify here."""
    wanted = sorted(c for c in set(chains) if not trail.is_legacy(c))
    problems: dict[str, str] = {}
    heads = server_heads(client, wanted, call) if wanted else {}
    for chain in wanted:
        problem = anchor_problem(db, client, chain, heads.get(chain), call)
        if problem:
            problems[chain] = problem
    # Up to the server's head this copy holds what the server holds (the same hash there),
    # whose signatures the server checked when they arrived.
    shown = {c: int(heads[c]["seq"]) for c in wanted if c in heads and c not in problems}
    for report in trail.verify(db, [c for c in wanted if c not in problems],
                               server_checked=shown):
        if report.problem:
            problems[report.chain] = report.problem
    return problems


# ---------------------------------------------------------------------- push


def segments(rows: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """A chain's queued events cut into calls of whole signed segments."""
    sig = journal.EVENT_COLUMNS.index("signature")
    out: list[list[tuple[Any, ...]]] = []
    current: list[tuple[Any, ...]] = []
    for row in rows:
        current.append(row)
        if row[sig] and len(current) >= CALL_EVENTS:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


# ---------------------------------------------------------------------- pull


def event_from_wire(obj: dict[str, Any]) -> dict[str, Any]:
    """A pulled event as the laptop stores it: changes as the exact text that was hashed."""
    rec = wire.record_from_wire(TRAIL, obj)
    ev = {c: rec.get(c) for c in trail.CHECKED}
    ev["chain"] = obj.get("chain") or obj.get("deviceId")  # recorded before the upgrade
    text = obj.get("changesText")
    ev["changes"] = text if isinstance(text, str) else codec.dumps(obj.get("changes") or {})
    ev["createdAt"] = rec.get("createdAt")
    ev["updatedAt"] = rec.get("updatedAt")
    return ev


def stage(db: Database, events: list[dict[str, Any]]) -> int:
    """Pulled events of other laptops into the inbox (the caller holds the transaction)."""
    own = own_chains(db)
    fresh = [ev for ev in events if ev.get("deviceId") not in own and
             trail.device_of(str(ev["chain"])) not in own]
    if not fresh:
        return 0
    ids = [ev["objectId"] for ev in fresh]
    have = set(sync_state.known_versions(db, TRAIL, ids, "objectId"))
    held = keyring.held_ids(db, ids)
    rows = [(ev["objectId"], ev["chain"], int(ev["seq"] or 0), codec.dumps(ev), None,
             clock.now_iso()) for ev in fresh if ev["objectId"] not in have and
            ev["objectId"] not in held]
    keyring.hold(db, rows)
    return len(rows)


def settle(db: Database) -> tuple[int, list[tuple[str, int, str]]]:
    """Store what the inbox holds that now verifies; (events stored, [(chain, seq, problem)]
    of those held back).  The caller holds the write transaction."""
    by_chain: dict[str, list[tuple[str, int, dict[str, Any]]]] = defaultdict(list)
    for oid, chain, seq, text, _problem in keyring.held(db):
        by_chain[chain].append((oid, seq, codec.loads(text)))
    if not by_chain:
        return 0, []
    known = {k.key_id: k for k in keyring.keys(db)}
    starts: dict[str, str] = {}
    for k in known.values():
        if k.is_device:
            legacy = codec.loads(k.statement).get("legacy")
            starts[k.device_id] = legacy["hash"] if legacy else trail.GENESIS
    stored = 0
    problems: list[tuple[str, int, str]] = []
    marks: list[tuple[str, str, int, str, str | None, str]] = []
    for chain, items in by_chain.items():
        if trail.is_legacy(chain):
            ok, bad = _settle_legacy(db, chain, items)
        else:
            ok, bad = _settle_chain(db, chain, items, known, starts)
        if ok:
            journal.insert_pulled(db, [tuple(ev.get(c) for c in journal.EVENT_COLUMNS)
                                       for ev in ok])
            keyring.release_held(db, [ev["objectId"] for ev in ok])
            stored += len(ok)
        for ev, problem in bad:
            problems.append((chain, int(ev["seq"] or 0), problem))
            marks.append((ev["objectId"], chain, int(ev["seq"] or 0), codec.dumps(ev), problem,
                          clock.now_iso()))
    keyring.hold(db, marks)
    return stored, problems


def _settle_chain(db: Database, chain: str, items: list[tuple[str, int, dict[str, Any]]],
                  known: dict[str, keyring.KeyRow], starts: dict[str, str]
                  ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    head = journal.head(db, chain)
    expected = head[0] + 1 if head else 1
    prev = head[1] if head else starts.get(trail.device_of(chain), trail.GENESIS)
    device = trail.device_of(chain)
    ok: list[dict[str, Any]] = []
    bad: list[tuple[dict[str, Any], str]] = []
    segment: list[dict[str, Any]] = []
    for _oid, seq, ev in items:
        if seq < expected:
            here = journal.at_seq(db, chain, seq, ("objectId",))
            if here is None or here[0] != ev["objectId"]:
                bad.append((ev, f"chain {chain}, seq {seq}: another event already holds this "
                                "sequence number here"))
            continue
        if seq > expected:
            break  # the events before it have not arrived yet: it waits
        problem = trail.check_event(ev, chain, expected, prev, known, device)
        if problem is None and segment and ev["keyId"] != segment[0]["keyId"]:
            problem = f"chain {chain}, seq {seq}: the events before it are not signed"
        if problem:
            bad.append((ev, problem))
            break
        segment.append(ev)
        prev = ev["hash"]
        expected += 1
        if ev.get("signature"):
            ok += segment
            segment = []
    return ok, bad


def _settle_legacy(db: Database, chain: str, items: list[tuple[str, int, dict[str, Any]]]
                   ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Events of a chain recorded before the upgrade: unsigned, and often only some of its
    links reach a laptop; each must be what its own hash covers, and take a free place."""
    ok: list[dict[str, Any]] = []
    bad: list[tuple[dict[str, Any], str]] = []
    taken: set[int] = set()
    for _oid, seq, ev in items:
        where = f"chain {chain} (recorded before the upgrade), seq {seq}"
        if trail.event_hash(ev, ev["prevHash"]) != ev["hash"]:
            bad.append((ev, f"{where}: its content is not what its hash covers"))
        elif seq in taken or journal.at_seq(db, chain, seq, ("objectId",)) is not None:
            bad.append((ev, f"{where}: another event already holds this sequence number here"))
        else:
            taken.add(seq)
            ok.append(ev)
    return ok, bad


def unknown_keys(db: Database) -> set[str]:
    """Key ids that held events were signed with and this laptop has not seen: a colleague
    who registered a key after this sync fetched the keys, and pushed at once."""
    known = {k.key_id for k in keyring.keys(db)}
    out: set[str] = set()
    for _oid, _chain, _seq, text, _problem in keyring.held(db):
        key_id = codec.loads(text).get("keyId")
        if key_id and key_id not in known:
            out.add(str(key_id))
    return out


def held_problems(db: Database) -> list[tuple[str, int, str]]:
    return [(chain, seq, problem) for _oid, chain, seq, _ev, problem in keyring.held(db)
            if problem]


def is_refusal(exc: Exception) -> bool:
    return isinstance(exc, ParseError)
