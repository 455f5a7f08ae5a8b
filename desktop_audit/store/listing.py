"""What a list asks of SQLite: its columns, site scope, quick filter, search and sort, as one
parameterised query, and the few ways that query is run (a page, a count, grouped counts,
every row for an export).

This is the hand-written SQL of the 200,000-row list: peewee would cost more than the
query itself on every keystroke.  No Qt here: the app's table model, its dashboard and its
export run it, and so could a command.

A search keeps every row where each typed word occurs, in any case, inside one of the record
type's search fields.  A page of a search is read by one of these plans, chosen per search
(``first_page``) and kept for the following pages:

* ``walk``: follow the sort order's index and test each row until the page is full; best
  when many rows match (a page fills after a few hundred rows);
* ``index``: take the rows the search index proposes (``store/search_index.py``), test and
  sort them; best when few rows match; a word found nowhere costs next to nothing;
* ``bounded``: when every word is shorter than the index's trigrams and the walk took too
  long (they are rare), the matches among the first ``BOUND`` rows of the list: a keystroke
  never waits for a scan of the whole table, and the list says that it looked no further;
* ``scan``: read the whole table once and keep the top rows (a person asked to search
  every row for short words).

``./dev bench ui`` measures a keystroke of each kind.

A quick filter comes from the record type (``RecordType.quick_filters``).  Its ``{today}``
is today's date *at each row's site* (``clock.today`` in the site's time zone), passed as
parameters: a plain ``?`` when every site has the same date now, else a ``CASE`` on the
row's site column naming the sites whose date differs from the laptop's.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from desktop_audit import clock, records
from desktop_audit.records.base import RecordType
from desktop_audit.schema import SITE, ClassDef, Field
from desktop_audit.store import codec, rows, search_index
from desktop_audit.store.search_index import Narrowing

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

CHECK_EVERY = 20_000  # SQLite VM steps between two looks at the clock of a budgeted query
TODAY = "{today}"
MAX_WORDS = 6
WALK_BUDGET = 0.012  # seconds a walk may take before another plan answers instead
FEW = 2_000  # candidates the index plan reads and sorts faster than a walk finds a page
BOUND = 5_000  # rows a search of short words looks at when the walk took too long
PLANS = ("walk", "index", "bounded", "scan")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    field: Field | None  # None for the system columns

    @property
    def kind(self) -> str:
        return self.field.kind if self.field else "datetime"


def columns(cdef: ClassDef) -> list[Column]:
    """Every field a person can read, then when the record last changed (an append-only
    record never changes: its own time says it all)."""
    cols = [Column(f.name, f.label, f) for f in cdef.fields
            if f.kind not in ("secret", "file") and f.name != "prevHash"]
    if not cdef.append_only:
        cols.append(Column("updatedAt", "Last changed", None))
    return cols


def default_hidden(rt: RecordType) -> set[str]:
    """Long text after the first one and what the record type keeps out of sight start
    hidden (the column chooser shows them)."""
    texts = [f.name for f in rt.cdef.fields if f.kind == "text"]
    return set(texts[1:]) | set(rt.hidden_columns)


# ---------------------------------------------------------------- today at the site


def site_zones(db: Database) -> dict[str, str | None]:
    """{site objectId: IANA zone} of every site, deleted ones too (their records keep them)."""
    return dict(rows.pairs(db, SITE, "objectId", "timeZone"))


def today_sql(column: str | None, zones: Mapping[str, str | None]) -> tuple[str, list[Any]]:
    """Today's date at the row's site as an SQL expression and its parameters.

    At most three dates exist at any instant (zones span UTC-12 to UTC+14), so the sites
    are grouped by their date; rows of no known site (none, or a site not on this laptop)
    get the laptop's date, as ``clock.today`` gives a record without a site."""
    here = clock.today(None)
    others: dict[date, list[str]] = {}
    if column is not None:
        for site, zone in sorted(zones.items()):
            day = clock.today(zone)
            if day != here:
                others.setdefault(day, []).append(site)
    if not others:
        return "?", [here.isoformat()]
    sql, params = ["CASE"], []
    for day, sites in sorted(others.items()):
        sql.append(f'WHEN "{column}" IN ({", ".join("?" for _ in sites)}) THEN ?')
        params += [*sites, day.isoformat()]
    sql.append("ELSE ? END")
    return " ".join(sql), [*params, here.isoformat()]


def with_today(fragment: str, column: str | None, zones: Mapping[str, str | None]
               ) -> tuple[str, list[Any]]:
    """A quick filter's SQL with each ``{today}`` replaced by today at the row's site."""
    pieces = fragment.split(TODAY)
    if len(pieces) == 1:
        return fragment, []
    expr, values = today_sql(column, zones)
    return f"({expr})".join(pieces), values * (len(pieces) - 1)


# ---------------------------------------------------------------- the query


@dataclass
class ListQuery:
    """The state of one list: which rows (site, quick filter, search, exact values) in which
    order.  ``zones`` ({site: IANA zone}) says whose today a quick filter's ``{today}`` is;
    the functions below read it from the database when it is None."""

    cdef: ClassDef
    visible_sites: list[str] | None = None  # None: every site (admin)
    site: str | None = None
    quick: str | None = None
    search: str = ""
    equals: dict[str, Any] = field(default_factory=dict)
    sort: str = ""
    descending: bool = False
    zones: dict[str, str | None] | None = None
    # What the search index says of ``found_for`` (read by ``_ready``).
    found: Narrowing | None = None
    found_for: str | None = None

    def __post_init__(self) -> None:
        if not self.sort:
            self.sort, self.descending = self.rt.default_sort

    @property
    def rt(self) -> RecordType:
        return records.of(self.cdef.name)

    def copy(self) -> ListQuery:
        """The same list, to run on another thread while this one changes."""
        return replace(self, equals=dict(self.equals),
                       visible_sites=None if self.visible_sites is None else list(self.visible_sites),
                       zones=None if self.zones is None else dict(self.zones))

    def quick_filter(self) -> records.QuickFilter | None:
        return next((q for q in self.rt.quick_filters if q.key == self.quick), None)

    def words(self) -> list[str]:
        return self.search.split()[:MAX_WORDS]

    @property
    def index(self) -> search_index.Index | None:
        return search_index.index_of(self.cdef.table)

    def indexed(self) -> bool:
        """The search index can narrow this search (``_ready`` asked it)."""
        return bool(self.words()) and self.found_for == self.search and self.found is not None

    def complete_plan(self) -> str:
        """The plan that reads every matching row fastest when all of them are wanted (a
        count, an export)."""
        return "index" if self.indexed() else "walk"

    def where(self, plan: str = "walk") -> tuple[str, list[Any]]:
        """The WHERE clause of *plan*: with ``index`` the rows the search index proposes
        are the only ones read (the same rows, found without reading the table); with
        ``bounded`` only the list's first ``BOUND`` rows are searched."""
        rest = (self._scope(), self._quick(), self._equals())
        parts = ['"deletedAt" IS NULL']
        params: list[Any] = []
        first: tuple[str, list[Any]] = ("", [])
        if plan == "index" and self.indexed() and self.index is not None:
            assert self.found is not None
            first = search_index.candidates(self.index, self.found)
        elif plan == "bounded" and self.words():
            sql = " AND ".join(['"deletedAt" IS NULL', *(p for p, _ in rest if p)])
            first = (f'rowid IN (SELECT rowid FROM "{self.cdef.table}" WHERE {sql} '
                     f"ORDER BY {self.order_by()} LIMIT ?)",
                     [*(v for _, vs in rest for v in vs), BOUND])
        for sql, values in (first, *rest, self._search()):
            if sql:
                parts.append(sql)
                params += values
        return " AND ".join(parts), params

    def _scope(self) -> tuple[str, list[Any]]:
        column = self.rt.site_column
        if column is None:
            return "", []
        if self.site:
            return f'"{column}" = ?', [self.site]
        if self.visible_sites is not None:
            marks = ", ".join("?" for _ in self.visible_sites) or "NULL"
            return f'"{column}" IN ({marks})', list(self.visible_sites)
        return "", []

    def _quick(self) -> tuple[str, list[Any]]:
        q = self.quick_filter()
        if q is None:
            return "", []
        if q.uses_today and self.zones is None:
            raise AssertionError("a filter on dates needs the sites' zones (ListQuery.zones)")
        sql, values = with_today(q.sql, self.rt.site_column, self.zones or {})
        return f"({sql})", values

    def _equals(self) -> tuple[str, list[Any]]:
        names = [n for n in self.equals if n == "objectId" or self.cdef.has(n)]
        return " AND ".join(f'"{n}" = ?' for n in names), [self.equals[n] for n in names]

    def _search(self) -> tuple[str, list[Any]]:
        """Each word inside one of the fields: an ASCII word by LIKE (which folds ASCII case,
        as the list always searched), a word with other letters by ``search_has`` (which
        folds case in every script, as the search index does)."""
        words = self.words()
        names = self.rt.search_fields()
        if not words or not names:
            return "", []
        parts, params = [], []
        for word in words:
            if word.isascii():
                like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                parts.append("(" + " OR ".join(f'"{n}" LIKE ? ESCAPE \'\\\'' for n in names) + ")")
                params.extend([like] * len(names))
            else:
                parts.append(f"search_has(?, {', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)})")
                params.append(search_index.fold(word))
        return " AND ".join(parts), params

    def order_by(self, *, scan: bool = False) -> str:
        """The ORDER BY; with ``scan`` the sort column's index is not used (a unary +), so
        SQLite reads the table once and keeps the top rows, which beats walking the index
        when few rows match a search."""
        direction = "DESC" if self.descending else "ASC"
        plus = "+" if scan else ""
        return f'{plus}"{self.sort}" {direction}, "{self.rt.tie_break}" {direction}'

    def select(self, names: Sequence[str], limit: int | None = None, offset: int = 0, *,
               plan: str = "walk") -> tuple[str, list[Any]]:
        """objectId, then *names*, of the rows in the list's order (a page when *limit*),
        read by *plan* (see the module's docstring)."""
        assert plan in PLANS, plan
        where, params = self.where(plan)
        cols = ", ".join(f'"{n}"' for n in ["objectId", *names])
        sql = (f'SELECT {cols} FROM "{self.cdef.table}" WHERE {where} '
               f"ORDER BY {self.order_by(scan=plan != 'walk')}")
        if limit is None:
            return sql, params
        return sql + " LIMIT ? OFFSET ?", [*params, limit, offset]

    def count(self, plan: str | None = None) -> tuple[str, list[Any]]:
        where, params = self.where(plan or self.complete_plan())
        return f'SELECT COUNT(*) FROM "{self.cdef.table}" WHERE {where}', params


# ---------------------------------------------------------------- running it


def _ready(db: Database, query: ListQuery) -> ListQuery:
    """Fill in what the query needs from the database: the sites' zones, and what the
    search index says of the search."""
    if query.zones is None:
        query.zones = site_zones(db)
    if query.found_for != query.search:
        words, index = query.words(), query.index
        query.found = search_index.narrowing(db, index, words, FEW) if words and index else None
        query.found_for = query.search
    return query


def first_page(db: Database, query: ListQuery, names: Sequence[str], limit: int
               ) -> tuple[list[tuple[Any, ...]], str]:
    """The first page of the list and the plan that read it (for the following pages):
    the index when it proposes few rows, else a walk while it fills the page quickly, else
    the index (or, for words too short for it, a bounded search)."""
    q = _ready(db, query)
    if not q.words():
        return page(db, q, names, limit) or [], "walk"
    if q.found is not None and q.found.at_most < FEW:
        return page(db, q, names, limit, plan="index") or [], "index"
    rows = page(db, q, names, limit, budget=WALK_BUDGET)
    if rows is not None:
        return rows, "walk"
    plan = "index" if q.indexed() else "bounded"
    return page(db, q, names, limit, plan=plan) or [], plan


def page(db: Database, query: ListQuery, names: Sequence[str], limit: int, offset: int = 0, *,
         plan: str = "walk", budget: float | None = None) -> list[tuple[Any, ...]] | None:
    """One page of raw rows (objectId, then *names*) read by *plan*; None when *budget*
    seconds passed before SQLite was done (the query is interrupted, nothing is left
    half-read)."""
    sql, params = _ready(db, query).select(names, limit, offset, plan=plan)
    if budget is None:
        return list(db.handle.execute_sql(sql, params).fetchall())
    conn = db.handle.connection()
    deadline = time.perf_counter() + budget
    conn.set_progress_handler(lambda: 1 if time.perf_counter() > deadline else 0, CHECK_EVERY)
    try:
        return list(conn.execute(sql, params).fetchall())
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc).lower():
            return None
        raise
    finally:
        conn.set_progress_handler(None, 0)


def count(db: Database, query: ListQuery, plan: str | None = None) -> int:
    """The number of rows the list holds (read by *plan*: by default, every matching row)."""
    sql, params = _ready(db, query).count(plan)
    return int(db.handle.execute_sql(sql, params).fetchone()[0])


def grouped(db: Database, query: ListQuery, names: Sequence[str]) -> dict[tuple[Any, ...], int]:
    """{(values of *names*): number of rows} of the list's rows."""
    q = _ready(db, query)
    where, params = q.where(q.complete_plan())
    cols = ", ".join(f'"{n}"' for n in names)
    sql = f'SELECT {cols}, COUNT(*) FROM "{query.cdef.table}" WHERE {where} GROUP BY {cols}'
    return {tuple(r[:-1]): int(r[-1]) for r in db.handle.execute_sql(sql, params).fetchall()}


@functools.cache
def _kinds(cdef: ClassDef) -> dict[str, str]:
    return {f.name: f.kind for f in cdef.fields}


def decode(cdef: ClassDef, names: Sequence[str], raw: Sequence[Any]) -> dict[str, Any]:
    """A raw row (objectId, then *names*) as plain values (lists decoded, booleans as bool)."""
    kinds = _kinds(cdef)
    from_db = codec.from_db
    out: dict[str, Any] = {"objectId": raw[0]}
    for name, value in zip(names, raw[1:], strict=True):
        out[name] = from_db(kinds.get(name, "string"), value)
    return out


def fetch(db: Database, query: ListQuery, names: Sequence[str], limit: int
          ) -> list[dict[str, Any]]:
    """The first *limit* rows of the list as plain values."""
    found = page(db, query, names, limit) or []
    return [decode(query.cdef, names, raw) for raw in found]


def iterate(db: Database, query: ListQuery, names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Every raw row of the list in its order (objectId, then *names*), read as it goes."""
    q = _ready(db, query)
    sql, params = q.select(names, plan=q.complete_plan())
    yield from db.handle.execute_sql(sql, params)
