"""The audit trail with a real team and the real server: every laptop of every role proves
every chain it holds after any sequence of syncs; forgeries are refused by the server (over
REST and /batch) and by the laptops pulling them; a local rewrite is told loudly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from desktop_audit import clock, services
from desktop_audit.domain import keys, trail
from desktop_audit.reports import export_pack
from desktop_audit.store import codec, open_database
from desktop_audit.store.db import new_object_id
from desktop_audit.sync import trail_sync
from desktop_audit.sync.parse_client import ParseClient, ParseError
from tests.sync.conftest import (
    APP_ID,
    PASSWORD,
    ROOT,
    Laptop,
    Server,
    Team,
    add_aspect,
    add_kit,
)

pytestmark = pytest.mark.sync


def _cli(lap: Laptop, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DESKTOP_AUDIT_PASSWORD=PASSWORD,
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    who = ["--user", user] if user else []
    return subprocess.run([sys.executable, "-m", "desktop_audit", "--db", str(lap.path), *who,
                           *args], env=env, capture_output=True, text=True, timeout=300)


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def _all_verify(lap: Laptop) -> list[trail.ChainReport]:
    reports = trail.verify(lap.db)
    assert [r.problem for r in reports if r.problem] == [], reports
    return reports


def test_a_team_of_every_role_proves_every_chain_after_several_rounds(
        team: Team, server: Server, laptops: Any, tmp_path: Path) -> None:
    a = team.laptop
    site_c = services.create_site(a.db, a.actor, siteCode="YRD-03", siteName="Yard",
                                  region="West", siteOwner=team.ids["manager"])
    # Each on different sites: the manager owns A and C; the coordinator works on B only,
    # the auditor on A and C, the field worker on C only.
    services.assign_sites(a.db, a.actor, team.ids["coordinator"], [team.site_b])
    services.assign_sites(a.db, a.actor, team.ids["auditor"], [team.site_a, site_c])
    services.assign_sites(a.db, a.actor, team.ids["field_staff"], [site_c])
    for n, site in enumerate((team.site_a, team.site_b, site_c)):
        add_aspect(a, site, n)
    assert a.sync().exit_code == 0, a.reports[-1].summary()
    m = laptops.join("m", "manager")
    c = laptops.join("c", "coordinator")
    au = laptops.join("au", "auditor")
    f = laptops.join("f", "fieldstaff")
    work = [(m, [team.site_a, site_c]), (c, [team.site_b]), (au, [team.site_a, site_c]),
            (f, [site_c]), (a, [team.site_a, team.site_b, site_c])]
    for round_ in range(3):
        for lap, sites in work:
            for i, site in enumerate(sites):
                add_kit(lap, site, 100 * round_ + 10 * len(lap.path.stem) + i)
            report = lap.sync()
            assert report.exit_code == 0, report.summary()
            assert not report.full_pulls and not report.count_mismatches, report.summary()
    for lap in (a, m, c, au, f):  # a last pull for everyone
        assert lap.sync().exit_code == 0
    for lap, sites in work:
        chains = {r.chain: r for r in _all_verify(lap)}
        assert all(r.note is None for r in chains.values())
        # A site-scoped laptop holds every chain of its sites, from every laptop, complete.
        for other, their_sites in work:
            for site in set(sites) & set(their_sites):
                chain = f"{other.db.device_id}/{site}"
                assert chains[chain].events == server.count_where(
                    "AuditTrailEvent", {"chain": chain}), chain
        if lap is not a:  # no other laptop's chain of events about no site
            assert not [ch for ch in chains if ch.endswith("/-") and
                        not ch.startswith(lap.db.device_id)]
        done = _cli(lap, "verify-trail")
        assert done.returncode == 0 and "audit trail verified" in done.stdout, done.stderr
    # The field worker's laptop against the server: the chains they may see match it.
    done = _cli(f, "verify-trail", "--server", server.url, "--app-id", APP_ID, user="fieldstaff")
    assert done.returncode == 0, done.stderr
    assert "as the server holds them" in done.stdout
    # The packs made there say the chains verify.
    for lap, site in ((a, team.site_a), (m, team.site_a), (c, team.site_b), (au, site_c)):
        out = tmp_path / f"{lap.path.stem}.pdf"
        assert lap.actor is not None
        export_pack(lap.db, lap.actor, site, out)
        body = _pdf_text(out)
        assert "verified intact" in body and "BROKEN" not in body, lap.path.stem
        checked = _cli(lap, "verify-trail", "--pack", str(out))
        assert checked.returncode == 0, checked.stderr


# ---------------------------------------------------------------------- forgeries


def _forge(chain: str, seq: int, prev: str, signer: keys.Signer, *, actor: str | None,
           actor_name: str, site: str | None, action: str = "approve",
           device: str | None = None, bad_signature: bool = False) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "objectId": new_object_id(), "chain": chain, "deviceId": device or chain.split("/")[0],
        "seq": seq, "at": clock.now_iso(), "actor": actor, "actorName": actor_name,
        "action": action, "recordClass": "AuditReview", "recordId": "R000000001",
        "siteId": site, "changes": codec.dumps({"reviewStatus": ["completed", "approved"]}),
        "keyId": signer.key_id, "prevHash": prev}
    ev["hash"] = trail.event_hash(ev, prev)
    ev["signature"] = ("A" * 86 + "==" if bad_signature else signer.sign(keys.head_message(
        chain, seq, ev["hash"], actor, ev["at"], signer.key_id)))
    return ev


def _rest_body(ev: dict[str, Any]) -> dict[str, Any]:
    body = dict(ev)
    body["at"] = {"__type": "Date", "iso": ev["at"]}
    body["changes"] = codec.loads(ev["changes"])
    body["changesText"] = ev["changes"]
    return body


def _head(server: Server, chain: str) -> tuple[int, str]:
    with server.master() as m:
        found = m.find("AuditTrailEvent", where={"chain": chain}, order="-seq", limit=1,
                       master=True)
    return (int(found[0]["seq"]), found[0]["hash"]) if found else (0, trail.GENESIS)


def _refused_by_the_server(server: Server, session: ParseClient, ev: dict[str, Any],
                           expect: str) -> None:
    """Over raw REST and inside /batch, as a create and through appendTrail."""
    with pytest.raises(ParseError):
        session.request("POST", "/classes/AuditTrailEvent", _rest_body(ev))
    with pytest.raises(ParseError) as err:
        session.call("appendTrail", {"chain": ev["chain"], "events": [ev]})
    assert expect in err.value.message, err.value.message
    results = session.batch([
        {"method": "POST", "path": "/classes/AuditTrailEvent", "body": _rest_body(ev)},
        {"method": "POST", "path": "/functions/appendTrail",
         "body": {"chain": ev["chain"], "events": [ev]}}])
    assert all("error" in r for r in results), results
    assert expect in str(results[1]["error"]), results
    with server.master() as m:
        assert not m.find("AuditTrailEvent", where={"objectId": ev["objectId"]}, master=True)


def _refused_by_a_laptop(lap: Laptop, ev: dict[str, Any], expect: str) -> None:
    """As if the server had served it: held back, reported, never stored."""
    with lap.db.atomic():
        assert trail_sync.stage(lap.db, [dict(ev)]) == 1
        stored, problems = trail_sync.settle(lap.db)
    assert stored == 0
    assert [(c, s) for c, s, _p in problems] == [(ev["chain"], ev["seq"])], problems
    assert expect in problems[0][2], problems
    assert lap.db.execute('SELECT 1 FROM audit_trail_event WHERE "objectId" = ?',
                          (ev["objectId"],)).fetchone() is None
    with lap.db.atomic():
        from desktop_audit.store import keyring

        keyring.release_held(lap.db, [ev["objectId"]])


def test_every_forgery_is_refused_by_the_server_and_by_a_laptop_pulling_it(
        team: Team, server: Server, laptops: Any) -> None:
    a = team.laptop
    review = services.plan_review(a.db, a.actor, site=team.site_a, auditDate="2026-01-10",
                                  leadAuditor=team.ids["auditor"], scope="waste")
    add_aspect(a, team.site_a, 1)
    assert a.sync().exit_code == 0
    m = laptops.join("m", "manager")
    f = laptops.join("f", "fieldstaff")
    add_kit(f, team.site_a, 1)
    assert f.sync().exit_code == 0 and m.sync().exit_code == 0
    assert f.actor is not None and f.actor.signer is not None and m.actor is not None
    signer = f.actor.signer
    admin_chain = f"{a.db.device_id}/{team.site_a}"
    own_chain = f"{f.db.device_id}/{team.site_a}"
    fake_device = "0123456789abcdef"
    cases = []
    # Into another laptop's chain (the admin's), correctly hashed, next seq, as themselves.
    seq, prev = _head(server, admin_chain)
    cases.append((_forge(admin_chain, seq + 1, prev, signer, actor=f.actor.id,
                         actor_name="fieldstaff", site=team.site_a), "another laptop's key",
                  "signed with the key of another laptop"))
    # A new invented chain of a laptop the server never saw, "manager approves".
    cases.append((_forge(f"{fake_device}/{team.site_a}", 1, trail.GENESIS, signer,
                         actor=team.ids["manager"], actor_name="manager", site=team.site_a),
                  "has no registered key", "another laptop"))
    # A duplicate sequence number in their own chain.
    seq, prev = _head(server, own_chain)
    dup_seq = seq
    prev_of_last = f.db.execute('SELECT "prevHash" FROM audit_trail_event WHERE "chain" = ? '
                                'AND "seq" = ?', (own_chain, dup_seq)).fetchone()[0]
    cases.append((_forge(own_chain, dup_seq, prev_of_last, signer, actor=f.actor.id,
                         actor_name="fieldstaff", site=team.site_a),
                  "already holds another event", "already holds this sequence number"))
    # An impersonated actor: the manager's approval, signed with the field worker's key.
    cases.append((_forge(own_chain, seq + 1, prev, signer, actor=team.ids["manager"],
                         actor_name="manager", site=team.site_a),
                  "names another user", "names another user"))
    # A bad signature.
    cases.append((_forge(own_chain, seq + 1, prev, signer, actor=f.actor.id,
                         actor_name="fieldstaff", site=team.site_a, bad_signature=True),
                  "signature does not verify", "signature does not verify"))
    with ParseClient(server.url, APP_ID) as session:
        session.login("fieldstaff", PASSWORD)
        for ev, server_says, _laptop_says in cases:
            _refused_by_the_server(server, session, ev, server_says)
    for ev, _server_says, laptop_says in cases:
        _refused_by_a_laptop(m, ev, laptop_says)

    # End to end: a forgery that reached the server's database (the master key can write
    # history) comes down to the manager's laptop: held back and reported, not stored, and
    # not pulled again and again.
    forged = _forge(f"{fake_device}/{team.site_a}", 1, trail.GENESIS, signer,
                    actor=team.ids["manager"], actor_name="manager", site=team.site_a)
    with server.master() as master:
        master.request("POST", "/classes/AuditTrailEvent", _rest_body(forged), master=True)
    report = m.sync()
    assert report.exit_code == 1
    assert [(c, s) for c, s, _ in report.held_events] == [(forged["chain"], 1)]
    assert "held back: audit trail event" in report.summary()
    again = m.sync()
    assert again.full_pulls == [] and again.count_mismatches == [], again.summary()
    assert m.db.execute('SELECT 1 FROM audit_trail_event WHERE "objectId" = ?',
                        (forged["objectId"],)).fetchone() is None
    assert all(r.problem is None for r in trail.verify(m.db))
    # The genuine history still shows the genuine actor.
    assert all(e["actorName"] != "manager" or e["action"] != "approve"
               for e in trail.history(m.db, "AuditReview", review))


def test_a_revoked_device_is_refused_from_the_moment_the_server_received_the_revocation(
        team: Team, server: Server, laptops: Any) -> None:
    a = team.laptop
    assert a.sync().exit_code == 0
    f = laptops.join("f", "fieldstaff")
    kit = add_kit(f, team.site_a, 1)
    assert f.sync().exit_code == 0
    assert kit in {o["objectId"] for o in server.all("SpillKitLog")}
    listed = _cli(a, "device", "list", "--server", server.url, "--app-id", APP_ID, user="admin")
    assert listed.returncode == 0, listed.stderr
    assert f.db.device_id in listed.stdout and "fieldstaff" in listed.stdout
    # A field worker may not revoke; the admin may, by device id (every key of that laptop).
    refused = _cli(f, "device", "revoke", f.db.device_id, "--server", server.url, "--app-id",
                   APP_ID, user="fieldstaff")
    assert refused.returncode == 1
    done = _cli(a, "device", "revoke", f.db.device_id, "--server", server.url, "--app-id",
                APP_ID, user="admin")
    assert done.returncode == 0, done.stderr
    assert "revoked" in done.stdout
    # Journaled earlier on the laptop (its clock may say anything): refused at arrival.
    before = server.count("AuditTrailEvent")
    add_kit(f, team.site_a, 2)
    report = f.sync()
    assert report.exit_code == 1
    assert any(cls == "AuditTrailEvent" and "revoked" in reason
               for cls, _oid, reason in report.quarantined), report.summary()
    assert server.count("AuditTrailEvent") == before
    # And a hand-made segment over REST and /batch too.
    assert f.actor is not None and f.actor.signer is not None
    chain = f"{f.db.device_id}/{team.site_a}"
    seq, prev = _head(server, chain)
    ev = _forge(chain, seq + 1, prev, f.actor.signer, actor=f.actor.id, actor_name="fieldstaff",
                site=team.site_a, action="update")
    with ParseClient(server.url, APP_ID) as session:
        session.login("fieldstaff", PASSWORD)
        _refused_by_the_server(server, session, ev, "revoked")
    listed = _cli(a, "device", "list", "--server", server.url, "--app-id", APP_ID, user="admin")
    line = next(x for x in listed.stdout.splitlines() if "fieldstaff" in x)
    assert line.split()[-1] != "-" and line.split()[-1].endswith("Z")  # when it was revoked


# ---------------------------------------------------------------------- local rewrite


def _rewrite(path: Path, chain: str, seq: int) -> None:
    """What an attacker with the SQLite file does: drop the guards, edit an event, and give
    every later event of its chain a recomputed hash and link."""
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_trail_event_no_update")
    con.execute("DROP TRIGGER audit_trail_event_no_delete")
    cols = trail.CHECKED
    rows = [dict(zip(cols, r, strict=True)) for r in con.execute(
        f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM audit_trail_event '
        'WHERE "chain" = ? AND "seq" >= ? ORDER BY "seq"', (chain, seq))]
    prev = rows[0]["prevHash"]
    rows[0]["changes"] = rows[0]["changes"].replace("bay 4", "bay 9")
    assert "bay 9" in rows[0]["changes"]
    for ev in rows:
        ev["prevHash"] = prev
        ev["hash"] = trail.event_hash(ev, prev)
        con.execute('UPDATE audit_trail_event SET "changes" = ?, "prevHash" = ?, "hash" = ? '
                    'WHERE "objectId" = ?', (ev["changes"], ev["prevHash"], ev["hash"],
                                             ev["objectId"]))
        prev = ev["hash"]
    con.execute('UPDATE trail_head SET "hash" = ? WHERE "chain" = ?', (prev, chain))
    con.commit()
    con.close()


def test_a_local_rewrite_with_recomputed_hashes_is_told_by_sync_and_verify_trail_server(
        team: Team, server: Server) -> None:
    a = team.laptop
    for n in range(5):
        add_kit(a, team.site_a, n)
    assert a.sync().exit_code == 0
    chain = f"{a.db.device_id}/{team.site_a}"
    (seq,) = a.db.execute('SELECT "seq" FROM audit_trail_event WHERE "chain" = ? AND '
                          '"changes" LIKE \'%KIT-00002%\'', (chain,)).fetchone()
    on_server = server.count_where("AuditTrailEvent", {"chain": chain})
    a.close()
    _rewrite(a.path, chain, seq)
    a.db = open_database(a.path)
    add_kit(a, team.site_a, 9)  # new work on the rewritten chain: must not be pushed
    a.close()
    done = _cli(a, "sync", "--server", server.url, "--app-id", APP_ID, "--quiet", user="admin")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"chain {chain}, seq {seq}" in done.stdout and "DIFFERS FROM THE SERVER" in done.stdout
    assert server.count_where("AuditTrailEvent", {"chain": chain}) == on_server
    # The server's copy is not pulled back over it.
    db = open_database(a.path)
    assert db.execute('SELECT count(*) FROM audit_trail_event WHERE "chain" = ? AND '
                      '"changes" LIKE \'%bay 9%\'', (chain,)).fetchone()[0] == 1
    db.close()
    checked = _cli(a, "verify-trail", "--server", server.url, "--app-id", APP_ID, user="admin")
    assert checked.returncode == 1
    assert f"chain {chain}, seq {seq}" in checked.stderr and "differs from the server" in \
        checked.stderr
    a.db = open_database(a.path)


def test_old_chains_on_a_site_scoped_laptop_are_not_provable_here_but_verified_on_the_server(
        team: Team, server: Server, laptops: Any, tmp_path: Path) -> None:
    """A server that holds per-device chains from before the upgrade: server-setup verifies
    them; a laptop that holds only its sites' links says so, in those words."""
    from desktop_audit.sync.server_setup import setup_trail

    a = team.laptop
    assert a.sync().exit_code == 0
    old_device = "0ld0admin0dev"
    prev = trail.GENESIS
    sites = [team.site_a, None, team.site_b, team.site_a, None, team.site_a]
    with server.master() as master:
        for seq, site in enumerate(sites, 1):
            ev = {"objectId": f"Old{seq:07d}", "deviceId": old_device, "seq": seq,
                  "at": f"2025-06-0{seq}T08:00:00.000Z", "actor": team.admin.id,
                  "actorName": "admin", "action": "update", "recordClass": "AuditSite",
                  "recordId": site, "siteId": site,
                  "changes": codec.dumps({"region": [f"r{seq}", f"r{seq + 1}"]})}
            ev["hash"] = trail.event_hash(ev, prev)  # no chain: hashed as before schema 6
            body = dict(ev, prevHash=prev, at={"__type": "Date", "iso": ev["at"]},
                        changes=codec.loads(ev["changes"]))
            master.request("POST", "/classes/AuditTrailEvent", body, master=True)
            prev = ev["hash"]
        setup_trail(master, log=lambda _m: None)
        verdicts = master.find("TrailLegacyChain", master=True)
    assert [(v["chain"], v["verified"], v["headSeq"]) for v in verdicts] == [
        (old_device, True, 6)]
    c = laptops.join("c", "coordinator")  # site A only: links 1, 4, 6 of that old chain
    report = c.sync()
    assert report.exit_code == 0, report.summary()
    old = next(r for r in _all_verify(c) if r.chain == old_device)
    assert old.events == 3 and old.problem is None
    assert old.note == "recorded before the upgrade, verified on the server, not provable here"
    shown = _cli(c, "verify-trail")
    assert shown.returncode == 0
    assert "recorded before the upgrade, verified on the server, not provable here" in shown.stdout
    out = tmp_path / "c.pdf"
    assert c.actor is not None
    export_pack(c.db, c.actor, team.site_a, out)
    body = " ".join(_pdf_text(out).split())
    assert "recorded before the upgrade, verified on the server, not provable here" in body
    assert "BROKEN" not in body
    # The admin's laptop holds all of it: proved as before.
    assert a.sync().exit_code == 0
    whole = next(r for r in _all_verify(a) if r.chain == old_device)
    assert whole.events == 6 and whole.note is None


def test_a_colleague_who_joins_and_pushes_while_this_laptop_pulls_is_verified_at_once(
        team: Team, laptops: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys are fetched at the start of a pull; a colleague who registers a new key and
    pushes right after that (twenty laptops syncing at once) must not leave their events
    held back as "signed with a key this laptop does not know" until the next sync."""
    a = team.laptop
    a.sync()
    fetched = trail_sync.pull_keys
    calls = []

    def keys_then_colleague_pushes(db: Any, *args: Any, **kwargs: Any) -> None:
        fetched(db, *args, **kwargs)
        if db is not a.db:
            return
        calls.append(1)
        if len(calls) == 2:
            # Just before the pull: the colleague's key is new to the server after ours
            # were fetched, and their events follow at once.
            colleague = laptops.join("auditor", "auditor")
            add_aspect(colleague, team.site_a, 7)
            assert colleague.sync().exit_code == 0

    monkeypatch.setattr(trail_sync, "pull_keys", keys_then_colleague_pushes)
    report = a.sync()
    assert report.held_events == [] and report.exit_code == 0, report.summary()
    assert len(calls) == 3  # the keys were fetched once more, in the same sync
    assert a.db.execute('SELECT count(*) FROM aspect_impact_log WHERE "aspectDescription" '
                        "= 'aspect 7'").fetchone()[0] == 1
    _all_verify(a)
