"""The search index of the lists: one SQLite FTS5 table per listed class, over the text
fields its record type searches (``RecordType.search_fields``), built from that declaration.

A list's search finds rows where every typed word occurs, in any case, anywhere inside one
of those fields.  The index answers that without reading the table:

* **Trigrams.**  The index holds every three characters of a row's fields, case folded
  (``str.casefold``, every script; folded here rather than by SQLite, so that the words
  looked up are folded exactly as the text was).  A word of three or more characters can
  only occur in a row holding all of its trigrams, so the index proposes candidates and
  the list's own test of each word confirms them (``detail=none`` keeps the index small:
  row ids, no positions).  Words of one or two characters have no trigram: the list tests
  them row by row (store/listing.py bounds how many rows when nothing else narrows).
* **Kept in step at commit.**  Triggers note each inserted, changed or deleted row (with the
  text it was indexed under) in ``search_pending``; the outermost write transaction hands
  them to the index in a few statements before it commits (``catch_up``).  Writing FTS5
  from a per-row trigger would flush its buffer on every statement: an import of 200,000
  rows took six times longer.  A row written by any other means (a raw SQL write) stays
  pending and is a candidate of every search until the next commit catches up.
* **Large inserts** (an import's chunks of records and trail events) are handed to the index
  as a whole right after the insert, without the per-row notes (``inserting``).
* **Contentless.**  The index keeps no copy of the text (``content=''``); a change removes
  the old entry with the text the trigger kept.

The index is derived: when the declaration changes (a field searched or not), or a table was
rebuilt without its triggers, ``ensure`` drops it and builds it again from the rows.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

PENDING: Final = "search_pending"
META_KEY: Final = "search_index"
SHORT: Final = 3  # the index holds trigrams: shorter words are tested row by row
FORMAT: Final = 2  # how the index is made (raise it when that changes: every index rebuilds)


@dataclass(frozen=True)
class Index:
    table: str
    fields: tuple[str, ...]
    append_only: bool

    @property
    def fts(self) -> str:
        return f"{self.table}_search"

    def triggers(self) -> list[str]:
        names = [f"{self.table}_search_insert"]
        if not self.append_only:
            names += [f"{self.table}_search_update", f"{self.table}_search_delete"]
        return names


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@cache
def indexes() -> tuple[Index, ...]:
    """One index per record type that has text to search, from the declaration."""
    from desktop_audit import records

    out = []
    for rt in records.all_types():
        fields = tuple(rt.search_fields())
        if fields:
            out.append(Index(rt.cdef.table, fields, rt.cdef.append_only))
    return tuple(out)


@cache
def index_of(table: str) -> Index | None:
    return next((i for i in indexes() if i.table == table), None)


def fold(text: str | None) -> str:
    """*text* case folded, as the index holds it."""
    return text.casefold() if isinstance(text, str) else ""


def indexed_text(*values: object) -> str:
    """SQL ``search_text(field, ...)``: what the index holds of a row: its fields, folded,
    one per line (a trigram spanning two fields holds a line break, which no typed word
    has)."""
    return "\n".join(v.casefold() for v in values if isinstance(v, str) and v)


def folded_contains(word: str, *values: object) -> bool:
    """SQL ``search_has(word, field, ...)``: *word* (already folded) inside one of the
    fields, in any case and any script.  ASCII words are tested with LIKE instead."""
    return any(isinstance(v, str) and word in v.casefold() for v in values)


def declaration() -> str:
    """What the built index was built from: compared at each open (a Python with another
    Unicode version folds some letters differently)."""
    spec = [FORMAT, unicodedata.unidata_version,
            *([i.table, list(i.fields), i.append_only] for i in indexes())]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]


def _text(prefix: str, fields: Sequence[str]) -> str:
    return "search_text(" + ", ".join(f"{prefix}{_q(f)}" for f in fields) + ")"


def _old_text(fields: Sequence[str]) -> str:
    return ("search_text(" + ", ".join(f"json_extract(\"old\", '$[{n}]')"
                                       for n in range(len(fields))) + ")")


def _ddl(idx: Index) -> list[str]:
    cols = ", ".join(_q(f) for f in idx.fields)
    t, fts = idx.table, idx.fts
    old = "json_array(" + ", ".join(f"old.{_q(f)}" for f in idx.fields) + ")"
    ddl = [
        f"CREATE VIRTUAL TABLE {_q(fts)} USING fts5(text, content='', "
        f"tokenize=\"trigram case_sensitive 1\", detail=none, columnsize=0)",
        f"CREATE TRIGGER {_q(idx.triggers()[0])} AFTER INSERT ON {_q(t)} BEGIN "
        f"INSERT OR IGNORE INTO {PENDING} (tbl, rid, old) VALUES ('{t}', new.rowid, NULL); END",
    ]
    if not idx.append_only:
        changed = " OR ".join(f"old.{_q(f)} IS NOT new.{_q(f)}" for f in idx.fields)
        ddl += [
            f"CREATE TRIGGER {_q(idx.triggers()[1])} AFTER UPDATE OF {cols} ON {_q(t)} "
            f"WHEN {changed} BEGIN "
            f"INSERT OR IGNORE INTO {PENDING} (tbl, rid, old) VALUES ('{t}', old.rowid, {old}); "
            f"END",
            f"CREATE TRIGGER {_q(idx.triggers()[2])} AFTER DELETE ON {_q(t)} BEGIN "
            f"INSERT OR IGNORE INTO {PENDING} (tbl, rid, old) VALUES ('{t}', old.rowid, {old}); "
            f"END",
        ]
    return ddl


def _drop(db: Database) -> None:
    found = db.execute(
        "SELECT type, name FROM sqlite_master WHERE name LIKE '%\\_search%' ESCAPE '\\' "
        "AND type IN ('trigger', 'table')").fetchall()
    for kind, name in found:
        if kind == "trigger" and name.endswith(("_search_insert", "_search_update",
                                                "_search_delete")):
            db.execute(f"DROP TRIGGER IF EXISTS {_q(name)}")
    for kind, name in found:
        if kind == "table" and name.endswith("_search"):
            db.execute(f"DROP TABLE IF EXISTS {_q(name)}")
    db.execute(f"DROP TABLE IF EXISTS {PENDING}")


def build(db: Database) -> None:
    """Drop the index and build it from the declaration and the rows (inside the caller's
    transaction)."""
    _drop(db)
    db.execute(f"CREATE TABLE {PENDING} (tbl TEXT NOT NULL, rid INTEGER NOT NULL, old TEXT, "
               "PRIMARY KEY (tbl, rid)) WITHOUT ROWID")
    for idx in indexes():
        for stmt in _ddl(idx):
            db.execute(stmt)
        db.execute(f"INSERT INTO {_q(idx.fts)} (rowid, text) "
                   f"SELECT rowid, {_text('', idx.fields)} FROM {_q(idx.table)}")
        db.execute(f"INSERT INTO {_q(idx.fts)} ({_q(idx.fts)}) VALUES ('optimize')")
    db.set_meta(META_KEY, declaration())


def _complete(db: Database) -> bool:
    expected = {PENDING}
    for idx in indexes():
        expected |= {idx.fts, *idx.triggers()}
    marks = ", ".join("?" for _ in expected)
    found = db.execute(f"SELECT COUNT(*) FROM sqlite_master WHERE name IN ({marks})",
                       list(expected)).fetchone()[0]
    return int(found) == len(expected)


def ensure(db: Database) -> bool:
    """Build the index when it is missing, incomplete or built from another declaration.
    True when it was (re)built."""
    if db.meta(META_KEY) == declaration() and _complete(db):
        return False
    with db.atomic():
        build(db)
    return True


def catch_up(db: Database) -> int:
    """Hand the pending rows to the index (in the caller's transaction); how many."""
    tables = [r[0] for r in db.execute(f"SELECT DISTINCT tbl FROM {PENDING}").fetchall()]
    done = 0
    for table in tables:
        idx = index_of(table)
        if idx is not None:
            fts = _q(idx.fts)
            db.execute(f"INSERT INTO {fts} ({fts}, rowid, text) "
                       f"SELECT 'delete', rid, {_old_text(idx.fields)} FROM {PENDING} "
                       "WHERE tbl = ? AND old IS NOT NULL", (table,))
            done += db.execute(
                f"INSERT INTO {fts} (rowid, text) SELECT t.rowid, {_text('t.', idx.fields)} "
                f"FROM {PENDING} p JOIN {_q(table)} t ON t.rowid = p.rid WHERE p.tbl = ?",
                (table,)).rowcount
        db.execute(f"DELETE FROM {PENDING} WHERE tbl = ?", (table,))
    return done


BULK_ROWS: Final = 500  # inserts of at least this many rows are indexed as a whole


@contextmanager
def inserting(db: Database, table: str, count: int) -> Iterator[None]:
    """Around an insert of *count* new rows into *table* (in the caller's transaction).

    A large insert is handed to the index as a whole, right after it, in one statement
    that reads back the rows it wrote (rowids above the table's largest before it): the
    table's insert trigger is dropped for the insert and made again after it, both inside
    the transaction, so a failure rolls back to the trigger as it was.  A small insert (or
    one that could meet rowids noted before, of rows deleted in this transaction) goes
    through the trigger and ``catch_up``."""
    idx = index_of(table)
    if idx is None or count < BULK_ROWS or not db.search_indexed:
        yield
        return
    t = _q(table)
    top = db.execute(f"SELECT coalesce(max(rowid), 0) FROM {t}").fetchone()[0]
    if db.execute(f"SELECT 1 FROM {PENDING} WHERE tbl = ? AND rid > ? LIMIT 1",
                  (table, top)).fetchone() is not None:
        yield
        return
    trigger = _ddl(idx)[1]
    db.execute(f"DROP TRIGGER {_q(idx.triggers()[0])}")
    try:
        yield
    finally:
        db.execute(trigger)
    fts = _q(idx.fts)
    db.execute(f"INSERT INTO {fts} (rowid, text) SELECT rowid, {_text('', idx.fields)} "
               f"FROM {t} WHERE rowid > ?", (top,))


# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class Narrowing:
    """What the index says about a search's words of three characters or more."""

    expr: str | None  # an FTS5 query proposing every matching row; None: no indexed row can
    at_most: int  # how many indexed rows it proposes at most (the probe's cap when more)


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def trigrams(word: str) -> list[str]:
    seen: dict[str, None] = {}
    for i in range(len(word) - SHORT + 1):
        seen.setdefault(word[i:i + SHORT], None)
    return list(seen)


def narrowing(db: Database, idx: Index, words: Sequence[str], cap: int) -> Narrowing | None:
    """How the index narrows *words*, or None when no word is long enough for it.

    A row holding a word holds each of its trigrams, so any of them proposes a superset of
    the rows (the list confirms each).  Each trigram is counted up to *cap* (reading at most
    *cap* row ids); the query is made of the rare ones: FTS5 reads every list it joins to
    the end, and a common trigram's list is the whole table."""
    grams: dict[str, None] = {}
    for word in words:
        for gram in trigrams(fold(word)):
            grams.setdefault(gram, None)
    if not grams:
        return None
    fts = _q(idx.fts)
    counts: dict[str, int] = {}
    for gram in grams:
        counts[gram] = int(db.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH ? LIMIT ?)",
            (_phrase(gram), cap)).fetchone()[0])
        if counts[gram] == 0:
            return Narrowing(None, 0)
    ordered = sorted(counts, key=counts.__getitem__)
    rare = [g for g in ordered if counts[g] < cap]
    return Narrowing(" AND ".join(_phrase(g) for g in rare or ordered), counts[ordered[0]])


def candidates(idx: Index, found: Narrowing) -> tuple[str, list[object]]:
    """SQL (``rowid IN (...)``) for the rows the index proposes, pending rows included."""
    pending = f"SELECT rid FROM {PENDING} WHERE tbl = ?"
    if found.expr is None:
        return f"rowid IN ({pending})", [idx.table]
    fts = _q(idx.fts)
    return (f"rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ? UNION ALL {pending})",
            [found.expr, idx.table])
