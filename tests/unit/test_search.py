"""The lists' search through the FTS5 index: the same rows as the search it replaced for
ASCII words, case folded in every script, the same rows and order by every plan, and an
index that stays in step with every way a row is written."""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest

from desktop_audit import services
from desktop_audit.records import of
from desktop_audit.schema import BY_NAME
from desktop_audit.services import writing
from desktop_audit.services.unit_of_work import unit
from desktop_audit.store import listing, open_database, search_index
from desktop_audit.store.listing import ListQuery
from tests.conftest import World

FINDING = BY_NAME["AuditFinding"]
FIELDS = of("AuditFinding").search_fields()
WORDS = ["Drum", "drain", "BUND", "valve", "leak", "oil", "Öl", "straße", "Łódź", "βαλβίδα",
         "ΔΙΑΡΡΟΗ", "утечка", "Масло", "a", "x", "ab", "_", "%", "50%", "tank_3", "O'Brien",
         'say "hi"', "naïve", "İzmir", "co2", "CO₂"]


def _text(rnd: random.Random) -> str | None:
    if rnd.random() < 0.15:
        return None
    return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 5)))


def _populate(w: World, n: int, seed: int) -> None:
    rnd = random.Random(seed)
    with unit(w.db, w.admin) as u:
        for _ in range(n):
            writing.create(u, of("AuditFinding"), {
                "site": rnd.choice([w.site_a, w.site_b]), "logType": "general",
                "severity": rnd.choice(["observation", "minor_nc", "major_nc"]),
                "description": _text(rnd) or "x", "correctiveAction": _text(rnd) or "y",
                "rootCause": _text(rnd)})


def _queries(rnd: random.Random, n: int) -> list[str]:
    """Words taken from the vocabulary and from inside it (any case), short ones, ones that
    match nothing, and several words at once."""
    out = ["a", "x", "q", "ab", "zq", "dr", "%", "_", "50%", "tank_3", '"hi"', "O'B",
           "nothing-like-this", "ΒΑΛΒΊΔΑ", "διαρροη", "УТЕЧКА", "öl", "ÖL", "ŁÓDŹ", "STRASSE",
           "İZMİR", "izmir", "co₂", "drum DRAIN", "oil öl", "a b c d e f g", "valve nowhere"]
    for _ in range(n):
        word = rnd.choice(WORDS)
        i = rnd.randrange(len(word))
        piece = word[i:i + rnd.randint(1, 6)]
        piece = piece.upper() if rnd.random() < 0.3 else piece
        out.append(piece if rnd.random() < 0.7 else f"{piece} {rnd.choice(WORDS)[:3]}")
    return out


def _rows(w: World, query: ListQuery, plan: str | None) -> list[str]:
    names = ["description"]
    if plan is None:
        first, plan = listing.first_page(w.db, query, names, 10_000)
        return [r[0] for r in first]
    return [r[0] for r in listing.page(w.db, query, names, 10_000, plan=plan) or []]


def _old_search(w: World, text: str) -> list[str]:
    """The search the index replaced: each word LIKE '%word%' in one of the fields."""
    parts, params = [], []
    for word in text.split()[:6]:
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        parts.append("(" + " OR ".join(f'"{f}" LIKE ? ESCAPE \'\\\'' for f in FIELDS) + ")")
        params += [like] * len(FIELDS)
    q = ListQuery(FINDING)
    order = q.order_by()
    sql = (f'SELECT "objectId" FROM audit_finding WHERE "deletedAt" IS NULL AND '
           f'{" AND ".join(parts)} ORDER BY {order}')
    return [r[0] for r in w.db.execute(sql, params).fetchall()]


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _inside(word: str, value: str | None) -> bool:
    """A word inside a field: an ASCII word as the list always searched (ASCII letters in
    either case), any other in any case of any script."""
    if value is None:
        return False
    if word.isascii():
        return word.translate(ASCII_LOWER) in value.translate(ASCII_LOWER)
    return word.casefold() in value.casefold()


def _reference(w: World, text: str) -> set[str]:
    """What a person means: each word inside one of the fields."""
    rows = w.db.execute(f'SELECT "objectId", {", ".join(chr(34) + f + chr(34) for f in FIELDS)} '
                        'FROM audit_finding WHERE "deletedAt" IS NULL').fetchall()
    words = text.split()[:6]
    return {r[0] for r in rows if all(any(_inside(word, v) for v in r[1:]) for word in words)}


def test_every_plan_finds_what_a_person_means_and_ascii_words_what_the_old_search_found(
        world: World) -> None:
    _populate(world, 400, seed=1)
    rnd = random.Random(2)
    checked = 0
    for text in _queries(rnd, 150):
        q = ListQuery(FINDING, search=text)
        walk, index, scan = (_rows(world, q, p) for p in ("walk", "index", "scan"))
        chosen = _rows(world, q, None)
        assert walk == index == scan == chosen, text
        assert set(walk) == _reference(world, text), text
        if text.isascii():
            assert walk == _old_search(world, text), text
        checked += bool(walk)
    assert checked > 60  # most queries find something: the comparison is not of empty lists


def test_case_folds_in_every_script(world: World) -> None:
    ids = {}
    for text in ("Βαλβίδα διαρροής", "Утечка масла", "Ölwechsel Straße", "ŁÓDŹ depot",
                 "ΠΕΤΡΕΛΑΙΟΣ"):
        ids[text] = services.raise_finding(world.db, world.admin, site=world.site_a,
                                           logType="general", severity="minor_nc",
                                           description=text, correctiveAction="Fix")

    def found(text: str) -> set[str]:
        first, _ = listing.first_page(world.db, ListQuery(FINDING, search=text),
                                      ["description"], 100)
        return {r[0] for r in first}

    assert found("ΒΑΛΒΊΔΑ") == {ids["Βαλβίδα διαρροής"]}
    assert found("утечка МАСЛА") == {ids["Утечка масла"]}
    assert found("öLWECHSEL") == {ids["Ölwechsel Straße"]}
    assert found("łódź") == {ids["ŁÓDŹ depot"]}
    assert found("ΒΑΛΒΊΔΑ утечка") == set()
    assert found("STRAẞE") == {ids["Ölwechsel Straße"]}  # capital sharp s
    assert found("πετρελαιοσ") == found("πετρελαιος") == {ids["ΠΕΤΡΕΛΑΙΟΣ"]}  # final sigma


def test_a_word_found_nowhere_is_answered_by_the_index(world: World) -> None:
    _populate(world, 50, seed=3)
    for text in ("nowhere-at-all", "drum nowhere", "ab nowhere"):
        rows, plan = listing.first_page(world.db, ListQuery(FINDING, search=text),
                                        ["description"], 100)
        assert (rows, plan) == ([], "index"), text


def test_short_words_search_the_first_rows_when_the_walk_is_slow_and_all_on_request(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _populate(world, 200, seed=4)
    monkeypatch.setattr(listing, "WALK_BUDGET", -1.0)  # every walk is interrupted
    monkeypatch.setattr(listing, "CHECK_EVERY", 1)
    monkeypatch.setattr(listing, "BOUND", 60)
    q = ListQuery(FINDING, search="ab")
    rows, plan = listing.first_page(world.db, q, ["description"], 1000)
    assert plan == "bounded"
    first = [r[0] for r in listing.page(world.db, ListQuery(FINDING), ["description"], 60) or []]
    expected = [oid for oid in first if oid in _reference(world, "ab")]
    assert [r[0] for r in rows] == expected
    assert listing.count(world.db, q, "bounded") == len(expected)
    everything = _rows(world, ListQuery(FINDING, search="ab"), "scan")
    assert len(everything) > len(expected)  # the rows after the first 60 were not searched
    assert set(everything) == _reference(world, "ab")
    assert listing.count(world.db, q) == len(everything)


def test_the_index_follows_every_change_of_a_row(world: World) -> None:
    def found(text: str) -> list[str]:
        return _rows(world, ListQuery(FINDING, search=text), "index")

    oid = services.raise_finding(world.db, world.admin, site=world.site_a, logType="general",
                                 severity="minor_nc", description="Cracked bund wall",
                                 correctiveAction="Reline")
    assert found("cracked") == [oid]
    services.update_finding(world.db, world.admin, oid, description="Bund wall relined")
    assert found("cracked") == [] and found("relined") == [oid]
    services.delete_record(world.db, world.admin, "AuditFinding", oid)
    assert found("relined") == []  # deleted records leave the list
    pending = world.db.execute(f"SELECT COUNT(*) FROM {search_index.PENDING}").fetchone()[0]
    assert pending == 0  # each commit handed its rows to the index


def test_rows_written_by_raw_sql_are_found_before_the_index_catches_up(world: World) -> None:
    oid = services.raise_finding(world.db, world.admin, site=world.site_a, logType="general",
                                 severity="minor_nc", description="Old text", correctiveAction="x")
    raw = sqlite3.connect(world.db.path)
    with raw:
        raw.execute('UPDATE audit_finding SET "description" = ? WHERE "objectId" = ?',
                    ("Fresh words", oid))
    raw.close()
    assert _rows(world, ListQuery(FINDING, search="fresh"), "index") == [oid]
    assert _rows(world, ListQuery(FINDING, search="old"), "index") == []
    services.raise_finding(world.db, world.admin, site=world.site_a, logType="general",
                           severity="minor_nc", description="Another", correctiveAction="x")
    assert world.db.execute(f"SELECT COUNT(*) FROM {search_index.PENDING}").fetchone()[0] == 0
    assert _rows(world, ListQuery(FINDING, search="fresh"), "index") == [oid]
    assert _rows(world, ListQuery(FINDING, search="old"), "index") == []


@pytest.mark.parametrize("damage", ["declaration", "trigger"])
def test_an_index_built_from_another_declaration_or_missing_a_trigger_is_rebuilt(
        world: World, damage: str) -> None:
    oid = services.raise_finding(world.db, world.admin, site=world.site_a, logType="general",
                                 severity="minor_nc", description="Seal perished",
                                 correctiveAction="x")
    path = world.db.path
    with world.db.atomic():
        if damage == "declaration":
            world.db.set_meta(search_index.META_KEY, "something else")
        else:
            world.db.execute('DROP TRIGGER "audit_finding_search_update"')
    world.db.close()
    db = open_database(path)
    try:
        assert db.meta(search_index.META_KEY) == search_index.declaration()
        triggers = {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()}
        assert "audit_finding_search_update" in triggers
        first, _ = listing.first_page(db, ListQuery(FINDING, search="perished"),
                                      ["description"], 10)
        assert [r[0] for r in first] == [oid]
    finally:
        db.close()


def test_counts_and_exports_see_the_rows_the_list_shows(world: World) -> None:
    _populate(world, 120, seed=5)
    for text in ("drum", "ab", "zq", "a", "βαλβ"):
        q = ListQuery(FINDING, search=text)
        shown = _rows(world, q, None)
        assert listing.count(world.db, q) == len(shown), text
        assert [r[0] for r in listing.iterate(world.db, q, ["description"])] == shown, text


def _plan_of(w: World, text: str, **kw: Any) -> str:
    return listing.first_page(w.db, ListQuery(FINDING, search=text, **kw), ["description"],
                              256)[1]


def test_a_rare_word_is_read_from_the_index_and_a_common_one_walks_the_list(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _populate(world, 300, seed=7)
    monkeypatch.setattr(listing, "FEW", 50)
    assert _plan_of(world, "naïve") in ("walk", "index")
    common = _reference(world, "a")
    assert len(common) > 50
    assert _plan_of(world, "a") == "walk"
    rare = services.raise_finding(world.db, world.admin, site=world.site_a, logType="general",
                                  severity="minor_nc", description="Xylophone",
                                  correctiveAction="x")
    assert _plan_of(world, "xylo") == "index"
    assert _rows(world, ListQuery(FINDING, search="xylo"), None) == [rare]
