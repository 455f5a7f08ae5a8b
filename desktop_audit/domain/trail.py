"""The audit trail: append-only, hash-chained, signed; one chain per device and site.

* **Chains.**  An event about a site goes to the chain ``"<deviceId>/<siteId>"`` of the laptop
  that journaled it, an event about no site (sign-ins, users, syncs) to ``"<deviceId>/-"``;
  ``seq`` counts 1, 2, 3 ... per chain.  A laptop holds every event of every chain it may see
  (a site's chains go to the users of that site, the ``/-`` chains to administrators), so
  every chain it holds can be proved from its first event, on every laptop.
* **Hashes.**  Each event's SHA-256 covers its fields, its changes exactly as stored and the
  previous event's hash, so editing, removing or reordering history shows.
* **Signatures.**  Each transaction signs the head of every chain it appended to with the
  acting user's key (``domain/keys.py``; the laptop's device key for an event without an
  actor): the signature covers the chain, seq, hash, actor and time of the head, and through
  the hash every event before it.  Every event names the key of its segment.
* **Before the upgrade** (schema 6), chains were per device (chain id = device id).  They keep
  their hashes and verify as before wherever they are complete; the laptop's new chains
  start from the head of its old chain (the first event's ``prevHash``).  A laptop that
  holds only some links of another laptop's old chain reports it as "recorded before the
  upgrade, verified on the server, not provable here" (the server verified it at
  ``server-setup``), never as broken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from desktop_audit import clock
from desktop_audit.domain import keys
from desktop_audit.store import codec, journal, keyring
from desktop_audit.store.db import new_object_id

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

GENESIS = "0" * 64
NO_SITE = "-"
# The fields the hash covers, in this order (a released order never changes).
HASHED = ("objectId", "chain", "deviceId", "seq", "at", "actor", "actorName", "action",
          "recordClass", "recordId", "siteId", "keyId", "changes")
# ... and the order of the chains recorded before schema 6.
LEGACY_HASHED = ("objectId", "deviceId", "seq", "at", "actor", "actorName", "action",
                 "recordClass", "recordId", "siteId", "changes")
COLUMNS = journal.EVENT_COLUMNS
CHECKED = tuple(c for c in COLUMNS if c not in ("createdAt", "updatedAt"))
LEGACY_UNPROVABLE = "recorded before the upgrade, verified on the server, not provable here"
LEGACY_UNCONFIRMED = ("recorded before the upgrade, not provable here; the server has not "
                      "confirmed it yet (sync to learn what it found)")

_dumps = codec.dumps


def chain_of(device_id: str, site_id: str | None) -> str:
    return f"{device_id}/{site_id or NO_SITE}"


def is_legacy(chain: str | None) -> bool:
    """A chain recorded before schema 6 (per device: its id is the device id)."""
    return not chain or "/" not in chain


def device_of(chain: str) -> str:
    return chain.split("/", 1)[0]


def site_of_chain(chain: str) -> str | None:
    if is_legacy(chain):
        return None
    site = chain.split("/", 1)[1]
    return None if site == NO_SITE else site


def event_hash(event: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the previous hash, the event's fields and its changes exactly as stored.

    ``event["changes"]`` is the stored JSON text, so any byte changed in it shows.  Events of
    a chain recorded before schema 6 are hashed as they were then."""
    names = LEGACY_HASHED if is_legacy(event.get("chain")) else HASHED
    head = _dumps([event.get(k) for k in names if k != "changes"])
    text = f"{prev_hash}\n{head}\n{event.get('changes') or '{}'}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Entry(NamedTuple):
    """One thing to journal: who did what to which record, and what changed."""

    action: str
    record_class: str | None = None
    record_id: str | None = None
    site_id: str | None = None
    changes: dict[str, list[Any]] | None = None


def start_hash(db: Database) -> str:
    """Where this laptop's new chains start: the head of the chain it recorded before the
    upgrade, or the genesis hash."""
    head = db.meta("legacy_head")
    return head.split(":", 1)[1] if head else GENESIS


def append(db: Database, actor: Actor | None, entries: Sequence[Entry] | Entry, *,
           actor_name: str | None = None, at: str | None = None) -> list[str]:
    """Append events to this laptop's chains and sign each chain's new head; the caller
    holds the write transaction.  An actor must be signed in (``actor.signer``); events
    without an actor are signed by the laptop's device key."""
    if isinstance(entries, Entry):
        entries = [entries]
    signer = keys.device_signer(db) if actor is None else keys.require(actor.signer, actor.id)
    device = db.device_id
    at = at or clock.now_iso()
    actor_id = actor.id if actor else None
    name = actor.username if actor else actor_name
    key_id = signer.key_id
    groups: dict[str, list[Entry]] = {}
    chains: dict[str | None, str] = {}
    for entry in entries:
        site = entry.site_id
        chain = chains.get(site)
        if chain is None:
            chain = chains[site] = chain_of(device, site)
        groups.setdefault(chain, []).append(entry)
    rows: list[tuple[Any, ...]] = []
    heads: list[tuple[str, int, str]] = []
    ids: list[str] = []
    sha256 = hashlib.sha256
    start: str | None = None
    # The head's JSON array written piece by piece: each element as _dumps writes it, joined
    # by "," (the same text as _dumps of the whole list; a new objectId is [A-Za-z0-9] only).
    words: dict[Any, str] = {}

    def word(value: Any) -> str:
        found = words.get(value)
        if found is None:
            found = words[value] = _dumps(value)
        return found

    who = _dumps([at, actor_id, name])[1:-1]
    for chain, group in groups.items():
        found = journal.head(db, chain)
        if found is None:
            start = start or start_hash(db)
            seq, prev = 0, start
        else:
            seq, prev = found
        last = len(group) - 1
        where = _dumps([chain, device])[1:-1]
        for i, entry in enumerate(group):
            seq += 1
            oid = new_object_id()
            action, record_class, record_id, site_id, diff = entry
            changes = _dumps(diff) if diff else "{}"
            head = (f'["{oid}",{where},{seq},{who},{word(action)},{word(record_class)},'
                    f'{_dumps(record_id)},{word(site_id)},{word(key_id)}]')
            digest = sha256(f"{prev}\n{head}\n{changes}".encode()).hexdigest()
            signature = (signer.sign(keys.head_message(chain, seq, digest, actor_id, at, key_id))
                         if i == last else None)
            rows.append((oid, chain, device, seq, at, actor_id, name, action, record_class,
                         record_id, site_id, changes, key_id, prev, digest, signature, at, at))
            ids.append(oid)
            prev = digest
        heads.append((chain, seq, prev))
    journal.append(db, rows, heads)
    return ids


# ---------------------------------------------------------------------- verifying


@dataclass
class ChainReport:
    chain: str
    events: int
    problem: str | None = None  # the first event that fails, in words
    note: str | None = None  # a chain recorded before the upgrade that is not provable here
    head: tuple[int, str] | None = None  # (seq, hash) of the last event held here

    @property
    def device_id(self) -> str:
        return device_of(self.chain)

    @property
    def legacy(self) -> bool:
        return is_legacy(self.chain)


@dataclass(frozen=True)
class _Context:
    keys: dict[str, keyring.KeyRow]
    starts: dict[str, str]  # device -> the hash its new chains start from
    verdicts: dict[str, tuple[int, int | None, str | None, bool, str | None]]
    written: dict[str, tuple[int, str]]
    own_legacy: str | None
    own_legacy_head: tuple[int, str] | None


def _context(db: Database) -> _Context:
    known = {k.key_id: k for k in keyring.keys(db)}
    starts: dict[str, str] = {}
    for k in known.values():
        if k.is_device:
            legacy = codec.loads(k.statement).get("legacy")
            starts[k.device_id] = legacy["hash"] if legacy else GENESIS
    head = db.meta("legacy_head")
    own_head = None
    if head:
        seq, digest = head.split(":", 1)
        own_head = (int(seq), digest)
    return _Context(known, starts, keyring.legacy_verdicts(db), journal.written_heads(db),
                    db.meta("legacy_device_id"), own_head)


def verify(db: Database, chains: Iterable[str] | None = None, *,
           server_checked: dict[str, int] | None = None) -> list[ChainReport]:
    """Prove every chain this laptop holds (or the given ones) from its first event: links,
    hashes, signatures by known keys of the acting users; each report names the first event
    that fails, if any.  ``server_checked`` gives, per chain, the sequence number up to
    which this copy was shown equal to the server's (the same hash at that seq): there the
    links and hashes are checked, and the signatures the server checked on arrival are not
    checked again."""
    checked = server_checked or {}
    ctx = _context(db)
    if chains is None:
        wanted = set(journal.chains(db)) | set(ctx.written)
        if ctx.own_legacy:
            wanted.add(ctx.own_legacy)
    else:
        wanted = set(chains)
    return [_verify_legacy(db, c, ctx) if is_legacy(c) else verify_chain(
        ({**dict(zip(CHECKED, row, strict=True))} for row in journal.chain(db, c, CHECKED)),
        c, ctx.keys, ctx.starts, ctx.written.get(c), checked.get(c, 0)) for c in sorted(wanted)]


def verify_chain(events: Iterable[dict[str, Any]], chain: str,
                 known: dict[str, keyring.KeyRow], starts: dict[str, str],
                 written: tuple[int, str] | None = None, signed_upto: int = 0) -> ChainReport:
    """Check one chain's events, in seq order from its first (what ``verify`` does, and what
    a pull does before it stores another laptop's events)."""
    device = device_of(chain)
    start = starts.get(device, GENESIS)
    expected = 1
    prev = start
    count = 0
    problem: str | None = None
    segment: str | None = None
    segment_from = 0
    for ev in events:
        seq = ev["seq"]
        problem = check_event(ev, chain, expected, prev, known, device,
                              signature=seq > signed_upto)
        if problem:
            break
        if segment is None:
            segment, segment_from = ev["keyId"], seq
        elif ev["keyId"] != segment:
            problem = (f"chain {chain}, seq {seq}: the events from seq {segment_from} before it "
                       "are not signed")
            break
        if ev.get("signature"):
            segment = None
        prev = ev["hash"]
        expected += 1
        count += 1
    if problem is None and segment is not None:
        problem = (f"chain {chain}, seq {segment_from}: events {segment_from}..{expected - 1} "
                   "are not signed")
    if problem is None and written is not None and (written[0] != count or
                                                     (count and written[1] != prev)):
        problem = (f"chain {chain}: ends at seq {count} but {written[0]} events were written "
                   "here (events removed from the end)")
    return ChainReport(chain, count, problem, head=(count, prev) if count else None)


def check_event(ev: dict[str, Any], chain: str, expected: int, prev: str,
                known: dict[str, keyring.KeyRow], device: str, *,
                signature: bool = True) -> str | None:
    """The first thing wrong with one event at its place in its chain, or None (its
    signature left unchecked when ``signature`` is False)."""
    seq = ev["seq"]
    where = f"chain {chain}, seq {seq}"
    if ev.get("chain") != chain or ev.get("deviceId") != device:
        return f"{where}: the event does not belong to this chain"
    if seq != expected:
        if seq < expected:
            return f"{where}: another event already holds this sequence number"
        return f"{where}: expected seq {expected}; events {expected}..{seq - 1} are missing"
    site = site_of_chain(chain)
    if (ev.get("siteId") or None) != site:
        return f"{where}: the event is about another site than its chain"
    if ev["prevHash"] != prev:
        if expected == 1:
            return (f"{where}: the chain does not start where its laptop's earlier chain "
                    "ended (prevHash differs)")
        return f"{where}: does not follow the event before it (prevHash differs)"
    if event_hash(ev, prev) != ev["hash"]:
        return f"{where}: its content was changed after it was written (hash differs)"
    key = known.get(ev.get("keyId") or "")
    if key is None:
        return f"{where}: signed with a key this laptop does not know ({ev.get('keyId')})"
    if key.device_id != device:
        return f"{where}: signed with the key of another laptop"
    if key.user is None:
        if ev.get("actor") is not None or ev.get("action") != "login_failed":
            return f"{where}: a laptop's own key signs only failed sign-ins, not this event"
    elif key.user != ev.get("actor"):
        return f"{where}: the event names another user than the key that signed it"
    signed = ev.get("signature")
    if signature and signed and not keys.verify_signature(
            key.public_key, keys.head_message(chain, seq, ev["hash"], ev.get("actor"), ev["at"],
                                              key.key_id), signed):
        return f"{where}: its signature does not verify"
    return None


def _verify_legacy(db: Database, chain: str, ctx: _Context) -> ChainReport:
    """A per-device chain recorded before the upgrade."""
    last = 0
    prev = GENESIS
    count = 0
    complete = True
    held: dict[int, str] = {}
    for row in journal.chain(db, chain, CHECKED):
        ev = dict(zip(CHECKED, row, strict=True))
        seq = ev["seq"]
        where = f"chain {chain} (recorded before the upgrade), seq {seq}"
        if seq != last + 1:
            complete = False  # a link this laptop never held: the link cannot be checked
        elif ev["prevHash"] != prev:
            return ChainReport(chain, count, f"{where}: does not follow the event before it "
                                             "(prevHash differs)")
        if event_hash(ev, ev["prevHash"]) != ev["hash"]:
            return ChainReport(chain, count, f"{where}: its content was changed after it was "
                                             "written (hash differs)")
        prev, last = ev["hash"], seq
        held[seq] = prev
        count += 1
    head = (last, prev) if count else None
    if chain == ctx.own_legacy:
        if not complete or head != ctx.own_legacy_head:
            end = ctx.own_legacy_head[0] if ctx.own_legacy_head else 0
            return ChainReport(chain, count, f"chain {chain} (recorded here before the upgrade): "
                                             f"events are missing or changed (it ended at seq "
                                             f"{end})", head=head)
        return ChainReport(chain, count, head=head)
    verdict = ctx.verdicts.get(chain)
    if verdict is not None:
        _events, head_seq, head_hash, verified, problem = verdict
        if not verified:
            return ChainReport(chain, count, f"chain {chain} (recorded before the upgrade): "
                                             f"the server found it broken: {problem}", head=head)
        if head_seq is not None and head_seq in held and held[head_seq] != head_hash:
            return ChainReport(chain, count, f"chain {chain} (recorded before the upgrade), seq "
                                             f"{head_seq}: differs from the chain the server "
                                             "verified", head=head)
    if complete:
        return ChainReport(chain, count, head=head)
    note = LEGACY_UNPROVABLE if verdict is not None else LEGACY_UNCONFIRMED
    return ChainReport(chain, count, note=note, head=head)


def check_heads(db: Database, heads: Iterable[tuple[str, int, str]]) -> list[str]:
    """What no longer holds of the chain heads a pack was built on: each chain must still
    verify here and hold exactly that event (same hash) at that sequence number."""
    heads = list(heads)
    reports = {r.chain: r for r in verify(db, {c for c, _n, _h in heads})}
    problems = []
    for chain, seq, digest in heads:
        report = reports[chain]
        found = journal.at_seq(db, chain, seq, ("hash",))
        if found is None:
            problems.append(f"chain {chain}, seq {seq}: the pack's head is no longer in this "
                            f"laptop's trail (the chain ends at seq {report.events})")
        elif found[0] != digest:
            problems.append(f"chain {chain}, seq {seq}: the trail here holds another event "
                            "than the one the pack was built on (history rewritten since)")
        elif report.problem:
            problems.append(report.problem)
    return problems


def history(db: Database, record_class: str, record_id: str) -> list[dict[str, Any]]:
    """Every event about one record, from every chain, oldest first."""
    cols = ("deviceId", "seq", "at", "actor", "actorName", "action", "changes")
    out = []
    for row in journal.history(db, record_class, record_id, cols):
        event = dict(zip(cols, row, strict=True))
        event["changes"] = codec.loads(event["changes"]) if event["changes"] else {}
        out.append(event)
    return out


def diff(old: dict[str, Any] | None, new: dict[str, Any],
         fields: Iterable[str]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    out = {}
    for name in fields:
        before = old.get(name) if old else None
        after = new.get(name)
        if before != after and not (old is None and after in (None, [], "")):
            out[name] = [before, after]
    return out
