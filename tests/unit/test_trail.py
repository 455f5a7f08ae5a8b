"""The audit trail: one event per accepted write, hash-chained, tampering caught."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_audit import services
from desktop_audit.domain import auth, trail
from tests.conftest import PASSWORD, World


def _events(w: World) -> list[tuple]:
    return w.db.execute('SELECT "action", "recordClass", "recordId", "changes", "actorName" '
                        'FROM audit_trail_event ORDER BY "chain", "seq"').fetchall()


def test_every_write_is_journaled_with_old_and_new_values(world: World) -> None:
    before = len(_events(world))
    oid = services.add_aspect(world.db, world.auditor, site=world.site_a, aspectCategory="waste",
                              aspectDescription="Oily rags", impact="Soil", likelihood=2,
                              severity=2, actionStatus="open")
    services.update_aspect(world.db, world.auditor, oid, severity=5)
    history = trail.history(world.db, "AspectImpactLog", oid)
    assert [e["action"] for e in history] == ["create", "update"]
    assert history[1]["actorName"] == "auditor"
    assert history[1]["changes"]["severity"] == [2, 5]
    assert history[1]["changes"]["riskRating"] == [4, 10]
    assert len(_events(world)) == before + 2


def test_an_edit_that_changes_nothing_writes_nothing(world: World) -> None:
    oid = services.add_aspect(world.db, world.admin, site=world.site_a, aspectCategory="waste",
                              aspectDescription="d", impact="i", likelihood=2, severity=2,
                              actionStatus="open")
    before = len(_events(world))
    services.update_aspect(world.db, world.admin, oid, severity=2)
    assert len(_events(world)) == before


def test_passwords_never_reach_the_trail(world: World) -> None:
    services.set_password(world.db, world.admin, world.auditor.id, "a-brand-new-pass")
    dump = "\n".join(str(e) for e in _events(world))
    assert "a-brand-new-pass" not in dump and "$argon2id$" not in dump
    assert "(hidden)" in dump


def test_verify_trail_proves_every_chain(world: World) -> None:
    reports = trail.verify(world.db)
    device = world.db.device_id
    # One chain per site this laptop wrote about, and one for events about no site.
    assert {r.chain for r in reports} == {f"{device}/-", f"{device}/{world.site_a}",
                                          f"{device}/{world.site_b}"}
    assert [r.problem for r in reports] == [None, None, None]
    assert sum(r.events for r in reports) == len(_events(world)) > 5
    for r in reports:  # each chain counts from 1
        seqs = [s for (s,) in world.db.execute(
            'SELECT "seq" FROM audit_trail_event WHERE "chain" = ? ORDER BY "seq"', (r.chain,))]
        assert seqs == list(range(1, r.events + 1))


def test_each_transaction_signs_the_heads_it_appended(world: World) -> None:
    before = world.db.execute("SELECT COUNT(*) FROM audit_trail_event WHERE signature IS NOT NULL"
                              ).fetchone()[0]
    services.add_aspect(world.db, world.auditor, site=world.site_a, aspectCategory="waste",
                        aspectDescription="Oily rags", impact="Soil", likelihood=2,
                        severity=2, actionStatus="open")
    rows = world.db.execute('SELECT "actor", "keyId", "signature" FROM audit_trail_event '
                            'ORDER BY rowid DESC LIMIT 1').fetchall()
    (actor, key_id, signature), = rows
    assert actor == world.auditor.id and key_id == world.auditor.signer.key_id and signature
    after = world.db.execute("SELECT COUNT(*) FROM audit_trail_event WHERE signature IS NOT NULL"
                             ).fetchone()[0]
    assert after == before + 1


def test_an_actor_who_did_not_sign_in_here_cannot_journal(world: World) -> None:
    from desktop_audit.errors import AuthError

    unsigned = world.auditor.with_signer(None)
    with pytest.raises(AuthError, match="sign in"):
        services.add_aspect(world.db, unsigned, site=world.site_a, aspectCategory="waste",
                            aspectDescription="d", impact="i", likelihood=2, severity=2,
                            actionStatus="open")
    # Nor with a colleague's key: the signer must be the actor's own.
    borrowed = world.auditor.with_signer(world.coordinator.signer)
    with pytest.raises(AuthError, match="sign in"):
        services.add_aspect(world.db, borrowed, site=world.site_a, aspectCategory="waste",
                            aspectDescription="d", impact="i", likelihood=2, severity=2,
                            actionStatus="open")


def test_a_colleague_on_the_same_laptop_cannot_unseal_my_key(world: World) -> None:
    from cryptography.exceptions import InvalidTag

    from desktop_audit.domain import keys
    from desktop_audit.store import keyring

    key = keyring.user_key(world.db, world.auditor.id, world.db.device_id)
    assert key is not None and key.key_id == world.auditor.signer.key_id
    sealed, plain, params = keyring.secret(world.db, key.key_id)
    assert sealed and plain is None
    with pytest.raises(InvalidTag):
        keys._unseal(keys._derive("correct-horse-9x", world.auditor.id,
                                  json.loads(params))[0], key.key_id, sealed)
    # Signing in again unseals the same key; a new password re-seals it.
    assert auth.login(world.db, "auditor", PASSWORD).signer.key_id == key.key_id
    services.set_password(world.db, world.auditor, world.auditor.id, "a-brand-new-pass",
                          current=PASSWORD)
    assert auth.login(world.db, "auditor", "a-brand-new-pass").signer.key_id == key.key_id
    # Reset by an admin: the user's next sign-in makes a new key (the old one stays known).
    services.set_password(world.db, world.admin, world.auditor.id, "reset-by-admin-1")
    again = auth.login(world.db, "auditor", "reset-by-admin-1")
    assert again.signer.key_id != key.key_id
    assert keyring.key(world.db, key.key_id) is not None
    assert all(r.problem is None for r in trail.verify(world.db))


def _cli(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop_audit", "--db", str(db_path), *args],
                          capture_output=True, text=True, timeout=60)


def _tamper(path: Path, sql: str) -> None:
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_trail_event_no_update")
    con.execute("DROP TRIGGER audit_trail_event_no_delete")
    con.execute(sql)
    con.commit()
    con.close()


@pytest.mark.parametrize(("sql", "expect"), [
    # one byte of one event's recorded change
    ("UPDATE audit_trail_event SET changes = replace(changes, 'Plant One', 'Plant Onf') "
     "WHERE changes LIKE '%Plant One%'", "content was changed"),
    ('UPDATE audit_trail_event SET "actorName" = \'manager\' WHERE seq = 3', "content was changed"),
    ('UPDATE audit_trail_event SET "at" = \'2020-01-01T00:00:00.000Z\' WHERE seq = 2',
     "content was changed"),
    ("DELETE FROM audit_trail_event WHERE seq = 4", "are missing"),
    ("DELETE FROM audit_trail_event WHERE seq = (SELECT max(seq) FROM audit_trail_event)",
     "removed from the end"),
    # a signed head's signature copied onto nothing: the segment before it is unsigned
    ("UPDATE audit_trail_event SET signature = NULL WHERE rowid = (SELECT max(rowid) FROM "
     "audit_trail_event)", "not signed"),
])
def test_tampering_is_caught_by_verify_trail(world: World, db_path: Path, sql: str,
                                             expect: str) -> None:
    world.db.close()
    ok = _cli(db_path, "verify-trail")
    assert ok.returncode == 0, ok.stderr
    assert "audit trail verified" in ok.stdout
    _tamper(db_path, sql)
    bad = _cli(db_path, "verify-trail")
    assert bad.returncode == 1
    assert expect in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_a_raw_byte_edit_in_the_file_is_caught(world: World, db_path: Path) -> None:
    world.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    world.db.close()
    data = bytearray(db_path.read_bytes())
    needle = b"Plant One"
    positions = []
    start = 0
    while (i := data.find(needle, start)) != -1:
        positions.append(i)
        start = i + 1
    assert positions
    # Change the copies inside trail events (the site row keeps its own value).
    for i in positions:
        data[i + 8] = ord("f")
    db_path.write_bytes(bytes(data))
    bad = _cli(db_path, "verify-trail")
    assert bad.returncode == 1, bad.stdout
    assert "audit trail broken" in bad.stderr or "damaged" in bad.stderr


def _old_events(device: str, seqs: list[int], actor: str | None = None) -> list[tuple]:
    """Events as the program wrote them before schema 6: one chain per device."""
    rows = []
    prev = trail.GENESIS
    for seq in range(1, max(seqs) + 1):
        event = {"objectId": f"E{device[:4]}{seq:05d}", "deviceId": device, "seq": seq,
                 "at": f"2026-01-0{1 + seq % 8}T10:00:00.000Z", "actor": actor,
                 "actorName": "olduser", "action": "update", "recordClass": "User",
                 "recordId": actor, "siteId": None, "changes": json.dumps(
                     {"email": ["a@example.com", f"b{seq}@example.com"]}, separators=(",", ":"))}
        digest = trail.event_hash(event, prev)  # no chain: hashed as before schema 6
        if seq in seqs:
            rows.append((*(event[k] for k in trail.LEGACY_HASHED), prev, digest, event["at"],
                         event["at"]))
        prev = digest
    return rows


def test_an_old_database_upgrades_its_old_chains_verify_and_new_ones_follow_them(
        db_path: Path) -> None:
    from desktop_audit.store import keyring, migrations, open_database

    db = open_database(db_path, migrate=False)
    migrations.migrate(db, target=4)
    old_device = db.device_id
    verifier = auth.hash_password(PASSWORD)
    db.execute('INSERT INTO "user" ("objectId","createdAt","updatedAt","username","email",'
               '"role","active","passwordVerifier") VALUES (\'u000000001\','
               "'2026-01-01T00:00:00.000Z','2026-01-01T00:00:00.000Z','olduser',"
               "'o@example.com','admin',1,?)", (verifier,))
    cols = ", ".join(f'"{c}"' for c in (*trail.LEGACY_HASHED, "prevHash", "hash", "createdAt",
                                          "updatedAt"))
    mine = _old_events(old_device, list(range(1, 8)), "u000000001")
    theirs = _old_events("0ther0device", [1, 2, 5, 6], "u000000002")  # links never held
    for row in mine + theirs:
        db.execute(f"INSERT INTO audit_trail_event ({cols}) VALUES "
                   f"({', '.join('?' for _ in row)})", row)
    db.close()

    db = open_database(db_path)
    assert db.schema_version == migrations.LATEST
    assert db.device_id != old_device and db.meta("legacy_device_id") == old_device
    reports = {r.chain: r for r in trail.verify(db)}
    assert reports[old_device].problem is None and reports[old_device].events == 7
    other = reports["0ther0device"]
    assert other.problem is None and other.note == trail.LEGACY_UNCONFIRMED
    # Once the server says it verified that chain: the words a pack prints.
    with db.atomic():
        keyring.store_legacy(db, [("0ther0device", 6, 6, theirs[-1][-3], True, None,
                                   "2026-02-01T00:00:00.000Z")])
    other = next(r for r in trail.verify(db) if r.chain == "0ther0device")
    assert other.problem is None and other.note == trail.LEGACY_UNPROVABLE
    assert trail.LEGACY_UNPROVABLE == ("recorded before the upgrade, verified on the server, "
                                       "not provable here")

    # The first sign-in after the upgrade starts this laptop's new chain from the old head.
    auth.login(db, "olduser", PASSWORD)
    (prev,) = db.execute('SELECT "prevHash" FROM audit_trail_event WHERE "chain" = ? AND '
                         '"seq" = 1', (f"{db.device_id}/-",)).fetchone()
    assert prev == mine[-1][-3] != trail.GENESIS
    assert all(r.problem is None for r in trail.verify(db))
    # An old event changed in the file is still caught where it was proved before.
    db.close()
    _tamper(db_path, "UPDATE audit_trail_event SET changes = replace(changes, 'b3@', 'x3@') "
                     f"WHERE \"chain\" = '{old_device}'")
    db = open_database(db_path)
    bad = next(r for r in trail.verify(db) if r.chain == old_device)
    assert bad.problem and "seq 3" in bad.problem and "content was changed" in bad.problem
    db.close()


def test_a_pack_checked_before_and_after_a_local_rewrite(world: World, db_path: Path,
                                                         tmp_path: Path) -> None:
    from desktop_audit.reports import export_pack, pack_heads

    for n in range(3):
        services.add_aspect(world.db, world.coordinator, site=world.site_a,
                            aspectCategory="waste", aspectDescription=f"Drum store {n}",
                            impact="Soil", likelihood=2, severity=2, actionStatus="open")
    pack = tmp_path / "pack.pdf"
    export_pack(world.db, world.coordinator, world.site_a, pack)
    chain = f"{world.db.device_id}/{world.site_a}"
    heads = pack_heads(pack)
    assert [c for c, _n, _h in heads] == [chain]
    world.db.close()
    ok = _cli(db_path, "verify-trail", "--pack", str(pack))
    assert ok.returncode == 0, ok.stderr
    assert "still holds the 1 chain head" in ok.stdout
    # Someone with the file rewrites an event of that chain and recomputes every later hash.
    con = sqlite3.connect(db_path)
    con.execute("DROP TRIGGER audit_trail_event_no_update")
    cols = trail.CHECKED
    rows = [dict(zip(cols, r, strict=True)) for r in con.execute(
        f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM audit_trail_event '
        'WHERE "chain" = ? ORDER BY "seq"', (chain,))]
    target = next(i for i, ev in enumerate(rows) if "Drum store 1" in ev["changes"])
    rows[target]["changes"] = rows[target]["changes"].replace("Drum store 1", "Drum store 7")
    prev = rows[target]["prevHash"]
    for ev in rows[target:]:
        ev["prevHash"], ev["hash"] = prev, trail.event_hash(ev, prev)
        con.execute('UPDATE audit_trail_event SET "changes" = ?, "prevHash" = ?, "hash" = ? '
                    'WHERE "objectId" = ?', (ev["changes"], prev, ev["hash"], ev["objectId"]))
        prev = ev["hash"]
    con.execute('UPDATE trail_head SET "hash" = ? WHERE "chain" = ?', (prev, chain))
    con.commit()
    con.close()
    bad = _cli(db_path, "verify-trail", "--pack", str(pack))
    assert bad.returncode == 1
    assert f"chain {chain}" in bad.stderr and "no longer matches" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    # And the trail itself says where: the rewritten segment's signature no longer holds.
    assert _cli(db_path, "verify-trail").returncode == 1
