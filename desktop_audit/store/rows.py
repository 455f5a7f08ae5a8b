"""Reading records through the peewee models, as plain values.

Every read the core makes of a record goes through here.  Queries are written with the
models generated from the declaration; peewee turns a query into SQL slowly (about half
a millisecond for a one-line select on the development machine), so each query *shape*
is compiled once and its SQL kept, and only the parameters change between calls.  Rows
come back decoded by the one codec (lists decoded, booleans as bool).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import peewee

from desktop_audit.schema import BY_NAME, SYSTEM_COLUMNS, ClassDef
from desktop_audit.store import codec
from desktop_audit.store.models import MODELS, BaseModel

if TYPE_CHECKING:
    from desktop_audit.store.db import Database

TOMBSTONE = "deletedAt"


def model(cdef: ClassDef | str) -> type[BaseModel]:
    return MODELS[cdef if isinstance(cdef, str) else cdef.name]


@functools.cache
def columns(cdef: ClassDef) -> tuple[str, ...]:
    """The columns a record is read with: system columns, the fields, the tombstone."""
    return (*SYSTEM_COLUMNS, *(f.name for f in cdef.fields), TOMBSTONE)


@functools.cache
def _kinds(cdef: ClassDef) -> tuple[tuple[str, str], ...]:
    kinds = {f.name: f.kind for f in cdef.fields}
    return tuple((c, kinds.get(c, "string")) for c in columns(cdef))


def decode(cdef: ClassDef, row: Sequence[Any]) -> dict[str, Any]:
    """A row of ``columns(cdef)`` as a record of plain values."""
    from_db = codec.from_db
    return {name: from_db(kind, value) for (name, kind), value in zip(_kinds(cdef), row,
                                                                       strict=True)}


class _Param:
    """A stand-in value while a query shape is compiled (replaced by the real one)."""


_SHAPES: dict[tuple[Any, ...], str] = {}


def _compiled(key: tuple[Any, ...], build: Callable[[], peewee.Query]) -> str:
    sql = _SHAPES.get(key)
    if sql is None:
        sql, _params = build().sql()
        _SHAPES[key] = sql
    return sql


def _where(m: type[BaseModel], names: Iterable[str], *, include_deleted: bool,
           nocase: frozenset[str] = frozenset()) -> list[Any]:
    conds: list[Any] = []
    for name in names:
        col = getattr(m, name)
        if name in nocase:
            conds.append(peewee.fn.lower(col) == peewee.fn.lower(_Param()))  # type: ignore[arg-type]
        else:
            conds.append(col == _Param())  # type: ignore[arg-type]
    if not include_deleted:
        conds.append(m.deletedAt.is_null())
    return conds


def _fields_of(cdef: ClassDef, m: type[BaseModel]) -> list[Any]:
    return [getattr(m, c) for c in columns(cdef)]


def load(db: Database, cdef: ClassDef, object_id: str | None, *,
         include_deleted: bool = False) -> dict[str, Any] | None:
    """One record as plain values, or None (a tombstoned one only with include_deleted)."""
    if not object_id:
        return None
    rows = select(db, cdef, {"objectId": object_id}, include_deleted=include_deleted, limit=1)
    return rows[0] if rows else None


def select(db: Database, cdef: ClassDef, where: Mapping[str, Any] | None = None, *,
           order: Sequence[str] = (), limit: int | None = None,
           include_deleted: bool = False) -> list[dict[str, Any]]:
    """Records whose fields equal the values in *where* (a None value matches NULL), in
    *order* (a name, '-name' for descending)."""
    where = dict(where or {})
    nulls = tuple(sorted(k for k, v in where.items() if v is None))
    equal = tuple(k for k in where if where[k] is not None)
    key = ("select", cdef.name, equal, nulls, tuple(order), limit is not None, include_deleted)

    def build() -> peewee.Query:
        m = model(cdef)
        conds = _where(m, equal, include_deleted=include_deleted)
        conds += [getattr(m, n).is_null() for n in nulls]
        q = m.select(*_fields_of(cdef, m))
        if conds:
            q = q.where(*conds)
        if order:
            q = q.order_by(*[getattr(m, o[1:]).desc() if o.startswith("-") else getattr(m, o)
                             for o in order])
        if limit is not None:
            q = q.limit(_Param())  # type: ignore[arg-type]
        return q

    sql = _compiled(key, build)
    params = [where[k] for k in equal]
    if limit is not None:
        params.append(limit)
    return [decode(cdef, row) for row in db.handle.execute_sql(sql, params)]


def select_in(db: Database, cdef: ClassDef, name: str, values: Sequence[Any], *,
              include_deleted: bool = True) -> list[dict[str, Any]]:
    """Records whose *name* is one of *values* (in chunks the SQLite parameter limit allows)."""
    m = model(cdef)
    out: list[dict[str, Any]] = []
    for start in range(0, len(values), 500):
        part = list(values[start:start + 500])
        q = m.select(*_fields_of(cdef, m)).where(getattr(m, name).in_(part))
        if not include_deleted:
            q = q.where(m.deletedAt.is_null())
        sql, params = q.sql()
        out.extend(decode(cdef, row) for row in db.handle.execute_sql(sql, params))
    return out


def first(db: Database, cdef: ClassDef, where: Mapping[str, Any], order: Sequence[str] = ()
          ) -> dict[str, Any] | None:
    rows = select(db, cdef, where, order=order, limit=1)
    return rows[0] if rows else None


def latest(db: Database, cdef: ClassDef, where: Mapping[str, Any], order: str,
           until: Any = None) -> dict[str, Any] | None:
    """The live record whose fields equal *where* with the greatest *order* value, none
    greater than *until* (when given)."""
    equal = tuple(where)
    key = ("latest", cdef.name, equal, order, until is not None)

    def build() -> peewee.Query:
        m = model(cdef)
        conds = _where(m, equal, include_deleted=False)
        if until is not None:
            conds.append(getattr(m, order) <= _Param())  # type: ignore[arg-type]
        return (m.select(*_fields_of(cdef, m)).where(*conds)
                .order_by(getattr(m, order).desc()).limit(_Param()))  # type: ignore[arg-type]

    sql = _compiled(key, build)
    params = [where[k] for k in equal] + ([until] if until is not None else []) + [1]
    found = db.handle.execute_sql(sql, params).fetchone()
    return decode(cdef, found) if found else None


def ids(db: Database, cdef: ClassDef, where: Mapping[str, Any] | None = None, *,
        order: Sequence[str] = ("objectId",), include_deleted: bool = False) -> list[str]:
    where = dict(where or {})
    key = ("ids", cdef.name, tuple(where), tuple(order), include_deleted)

    def build() -> peewee.Query:
        m = model(cdef)
        q = m.select(m.objectId)
        conds = _where(m, where, include_deleted=include_deleted)
        if conds:
            q = q.where(*conds)
        return q.order_by(*[getattr(m, o[1:]).desc() if o.startswith("-") else getattr(m, o)
                            for o in order])

    sql = _compiled(key, build)
    return [r[0] for r in db.handle.execute_sql(sql, list(where.values()))]


def count(db: Database, cdef: ClassDef, where: Mapping[str, Any] | None = None, *,
          include_deleted: bool = False) -> int:
    where = dict(where or {})
    key = ("count", cdef.name, tuple(where), include_deleted)

    def build() -> peewee.Query:
        m = model(cdef)
        q = m.select(peewee.fn.COUNT(m.objectId))
        conds = _where(m, where, include_deleted=include_deleted)
        return q.where(*conds) if conds else q

    sql = _compiled(key, build)
    return int(db.handle.execute_sql(sql, list(where.values())).fetchone()[0])


def clash(db: Database, cdef: ClassDef, values: Mapping[str, Any], names: Sequence[str],
          exclude_id: str | None, *, nocase: bool = False) -> str | None:
    """The id of another live record holding the same values of *names*, if any (text
    compared without case when *nocase*; references always exactly, so indexes serve)."""
    key = ("clash", cdef.name, tuple(names), nocase, exclude_id is not None)
    folded = frozenset(n for n in names if nocase and cdef.get(n).kind in ("string", "text"))

    def build() -> peewee.Query:
        m = model(cdef)
        conds = _where(m, names, include_deleted=False, nocase=folded)
        if exclude_id is not None:
            conds.append(m.objectId != _Param())  # type: ignore[arg-type]
        return m.select(m.objectId).where(*conds).limit(_Param())  # type: ignore[arg-type]

    sql = _compiled(key, build)
    params = [values[n] for n in names]
    if exclude_id is not None:
        params.append(exclude_id)
    params.append(1)
    row = db.handle.execute_sql(sql, params).fetchone()
    return row[0] if row else None


def pick(db: Database, cdef: ClassDef, names: Sequence[str], where: Mapping[str, Any] | None = None,
         *, order: Sequence[str] = (), limit: int | None = None) -> list[dict[str, Any]]:
    """objectId and *names* of the live records whose fields equal *where* (what a drop-down
    needs to label its choices), in *order* (a name, '-name' for descending)."""
    m = model(cdef)
    cols = list(dict.fromkeys(["objectId", *names]))
    q = m.select(*[getattr(m, c) for c in cols]).where(m.deletedAt.is_null())
    for name, value in (where or {}).items():
        q = q.where(getattr(m, name) == value)
    if order:
        q = q.order_by(*[getattr(m, o[1:]).desc() if o.startswith("-") else getattr(m, o)
                         for o in order])
    if limit is not None:
        q = q.limit(limit)
    found: Iterable[Sequence[Any]] = q.tuples()  # type: ignore[assignment]
    return [dict(zip(cols, row, strict=True)) for row in found]


def pairs(db: Database, cdef: ClassDef, key_field: str, value_field: str, *,
          include_deleted: bool = True) -> dict[Any, Any]:
    """{key: value} over a small table (site codes, user names)."""
    m = model(cdef)
    q = m.select(getattr(m, key_field), getattr(m, value_field))
    if not include_deleted:
        q = q.where(m.deletedAt.is_null())
    sql, params = q.sql()
    return dict(db.handle.execute_sql(sql, params).fetchall())


def class_def(name: str) -> ClassDef:
    return BY_NAME[name]


def must_load(db: Database, cdef: ClassDef, object_id: Any) -> dict[str, Any]:
    from desktop_audit.errors import NotFound

    record = load(db, cdef, object_id) if isinstance(object_id, str) else None
    if record is None:
        raise NotFound(f"no {cdef.label.lower()} with id {object_id!r}")
    return record
