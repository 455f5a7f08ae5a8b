"""CSV and XLSX export and import, with the schema's field names as columns.

References travel by readable keys (site -> siteCode, users -> username).  An
import is all or nothing: every row goes through the same services as a form,
and one bad row refuses the whole file with a message naming the row, the
column and the reason.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_audit import records
from desktop_audit.domain import trail
from desktop_audit.errors import AuditError, FileFormatError, ValidationError
from desktop_audit.jobs import Control
from desktop_audit.records.base import RecordType
from desktop_audit.schema import BY_NAME, ClassDef, Field
from desktop_audit.services import CREATE, PLAIN_CREATE, UPDATE, common, writing
from desktop_audit.services.unit_of_work import UnitOfWork
from desktop_audit.store import codec, rows

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database




def export_columns(cdef: ClassDef) -> list[str]:
    return ["objectId", *(f.name for f in cdef.exported_fields), "createdAt", "updatedAt"]


class Keys:
    """objectId <-> readable key of the records files name by key (a site by its siteCode,
    a user by username): every class whose declared ``key`` is not the objectId."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._shown: dict[str, dict[str, str]] = {}
        self._ids: dict[str, dict[str, str]] = {}

    def _load(self, target: str) -> bool:
        cdef = BY_NAME[target]
        if cdef.key == "objectId":
            return False
        if target not in self._shown:
            self._shown[target] = rows.pairs(self.db, cdef, "objectId", cdef.key)
            self._ids[target] = {str(v).lower(): k for k, v in self._shown[target].items() if v}
        return True

    def show(self, f: Field, value: Any) -> Any:
        if not f.is_reference or f.target is None or value is None or not self._load(f.target):
            return value
        keys = self._shown[f.target]
        if f.kind == "pointer_list":
            return [keys.get(v, v) for v in value or []]
        return keys.get(value, value)

    def resolve(self, f: Field, text: str) -> Any:
        if f.target is None or not self._load(f.target):
            return text.strip()
        found = self._ids[f.target].get(text.strip().lower())
        if found is None:
            raise ValidationError(f.name, f"unknown {BY_NAME[f.target].label.lower()} '{text}'")
        return found


def cell(value: Any) -> Any:
    """A value as a spreadsheet cell: yes/no as true/false, lists joined by '; ' (or, when
    an item holds a ';' itself, written as a JSON array, which import reads back)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        items = [str(v) for v in value]
        if any(";" in v for v in items) or (items and items[0].startswith("[")):
            return json.dumps(items, ensure_ascii=False)
        return "; ".join(items)
    if isinstance(value, dict):
        return codec.dumps(value)
    return "" if value is None else value


def rows_for_export(db: Database, actor: Actor, cdef: ClassDef,
                    site_id: str | None = None) -> Iterator[list[Any]]:
    keys = Keys(db)
    rt = records.of(cdef.name)
    cols = export_columns(cdef)
    fields = {f.name: f for f in cdef.fields}
    m = rows.model(cdef)
    query = m.select(*[getattr(m, c) for c in cols]).where(m.deletedAt.is_null())
    if rt.site_column is not None:
        site_column = getattr(m, rt.site_column)
        if site_id:
            query = query.where(site_column == site_id)
        elif not actor.is_admin:
            mine = site_column.in_(common.visible_site_ids(db, actor))
            query = query.where(mine | site_column.is_null() if rt.siteless_rows else mine)
    query = query.order_by(*[getattr(m, name) for name in rt.export_order])
    for row in query.tuples().iterator():
        out = []
        for name, value in zip(cols, row, strict=True):
            f = fields.get(name)
            if f is not None:
                value = keys.show(f, value)  # the models decode (lists, booleans)
            out.append(cell(value))
        yield out


def export_file(db: Database, actor: Actor, class_name: str, path: Path, *,
                site_code: str | None = None) -> int:
    """Write the records the actor can see to .csv (UTF-8, no BOM) or .xlsx; returns the count."""
    rt = records.of(class_name)
    cdef = rt.cdef
    site_id = common.site_by_code(db, actor, site_code)["objectId"] if site_code else None
    if rt.rules("export"):
        rt.require(actor, "export")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise FileFormatError(f"{path.name}: export writes .csv or .xlsx files")
    rows = rows_for_export(db, actor, cdef, site_id)
    tmp = path.with_name(path.name + ".part")
    count = 0
    try:
        if suffix == ".csv":
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(export_columns(cdef))
                for row in rows:
                    writer.writerow(row)
                    count += 1
        else:
            from openpyxl import Workbook
            from openpyxl.cell import WriteOnlyCell
            from openpyxl.utils.exceptions import IllegalCharacterError

            wb = Workbook(write_only=True)
            ws = wb.create_sheet(cdef.name[:31])
            header = export_columns(cdef)
            ws.append(header)

            def text(value: Any) -> Any:
                # Text that looks like a formula stays text: a spreadsheet never runs it, and
                # it reads back as it was written.
                if isinstance(value, str) and value.startswith("="):
                    formula_like = WriteOnlyCell(ws, value=value)
                    formula_like.data_type = "s"
                    return formula_like
                return value

            for row in rows:
                try:
                    ws.append([text(v) for v in row])
                except IllegalCharacterError as exc:
                    bad = next(h for h, v in zip(header, row, strict=True)
                               if isinstance(v, str) and any(ord(ch) < 32 and ch not in "\t\n\r"
                                                             for ch in v))
                    raise FileFormatError(
                        f"record {row[0]}, {bad}: holds a control character that an .xlsx "
                        "file cannot store; export to .csv instead") from exc
                count += 1
            wb.save(tmp)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return count


# ---------------------------------------------------------------- reading files


@dataclass
class Table:
    """A .csv or .xlsx file opened for reading row by row (never read whole: a file of a
    million rows imports in bounded memory)."""

    path: Path
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]  # (row number as a spreadsheet shows it, cells)
    sha256: str
    estimate: int  # rows expected (for progress)
    close: Callable[[], None]

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _scan(path: Path) -> tuple[str, int, bytes]:
    """One pass over the bytes: the SHA-256, the number of lines, and the first bytes."""
    digest = hashlib.sha256()
    lines = 0
    head = b""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            if not head:
                head = chunk[:65536]
            digest.update(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), lines, head


def _blank_row(row: list[Any]) -> bool:
    return not any(c not in (None, "") for c in row)


def open_table(path: Path) -> Table:
    """Open a .csv (UTF-8) or .xlsx file, or raise one clear FileFormatError."""
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _open_csv(path)
    if suffix == ".xlsx":
        return _open_xlsx(path)
    raise FileFormatError(f"{path.name}: import reads .csv or .xlsx files")


def _open_csv(path: Path) -> Table:
    digest, lines, head = _scan(path)
    if b"\x00" in head:
        raise FileFormatError(f"{path.name} is not a CSV text file (it holds binary data)")
    fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by Table.close
    try:
        header_line = fh.readline()
        fh.seek(0)
        reader = csv.reader(fh, csv.excel, delimiter=_delimiter(header_line))
        numbered = _numbered_csv(path, reader)
        header_row = next(numbered, None)
    except UnicodeDecodeError as exc:
        fh.close()
        raise FileFormatError(f"{path.name} is not UTF-8 text (byte {exc.start + 1}); save it as "
                              "'CSV UTF-8'") from exc
    except FileFormatError:
        fh.close()
        raise
    if header_row is None:
        fh.close()
        raise FileFormatError(f"{path.name} is empty (no header row)")
    header = ["" if h is None else str(h).strip() for h in header_row[1]]
    return Table(path, header, numbered, digest, max(0, lines - 1), fh.close)


def _delimiter(header_line: str) -> str:
    """The separator of the header row: a comma, or the semicolon or tab of spreadsheets
    saved in locales whose decimal mark is a comma.  Only the header is looked at: the
    values can hold anything (csv.Sniffer, guessing from values with quotes and line
    breaks, misreads files this program wrote itself)."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _numbered_csv(path: Path, reader: Any) -> Iterator[tuple[int, list[Any]]]:
    number = 0  # as a spreadsheet numbers rows: a value with line breaks is still one row
    try:
        for row in reader:
            number += 1
            if not _blank_row(row):
                yield number, row
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{path.name} is not UTF-8 text (near row {number + 1}); save it "
                              "as 'CSV UTF-8'") from exc
    except csv.Error as exc:
        raise FileFormatError(f"{path.name} is not a well-formed CSV file (row {number + 1}): "
                              f"{exc}") from exc


def _open_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    digest, _lines, _head = _scan(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileFormatError(f"{path.name} is not a readable .xlsx workbook") from exc
    ws = wb.worksheets[0]

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = list(row)
            if not _blank_row(cells):
                yield number, cells

    rows = numbered()
    first = next(rows, None)
    if first is None:
        wb.close()
        raise FileFormatError(f"{path.name} is empty (no header row)")
    header = ["" if h is None else str(h).strip() for h in first[1]]
    return Table(path, header, rows, digest, max(0, (ws.max_row or 1) - 1), wb.close)


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Header and every row of a small file (the whole file in memory: tests and tools)."""
    with open_table(path) as table:
        return table.header, [row for _n, row in table.rows]


def map_header(cdef: ClassDef, header: list[str]) -> list[str | None]:
    """The field each column holds (None for an ignored system column)."""
    names: dict[str, str] = {}
    for f in cdef.fields:
        names[f.name.lower()] = f.name
        for alias in f.aliases:
            names[alias.lower()] = f.name
    out: list[str | None] = []
    seen: set[str] = set()
    for col, title in enumerate(header, start=1):
        key = title.lower()
        if key == "objectid":
            out.append("objectId")
            name = "objectId"
        elif key in ("createdat", "updatedat"):
            out.append(None)
            continue
        elif key in names and cdef.get(names[key]).kind != "secret":
            name = names[key]
            out.append(name)
        else:
            raise FileFormatError(f"column {col} '{title}' is not a field of "
                                  f"{cdef.label.lower()} (expected: "
                                  f"{', '.join(export_columns(cdef))})")
        if name in seen:
            raise FileFormatError(f"column {col} '{title}': {name} appears twice")
        seen.add(name)
    return out


def _derived_message(rt: RecordType, name: str) -> str:
    inputs = [i for i in rt.derived_inputs(name) if i != "site"]
    return (f"is derived from {' and '.join(inputs)}; give {' and '.join(inputs)} "
            f"instead of {name}")


def _check_columns(rt: RecordType, mapped: list[str | None]) -> list[str]:
    """Refuse derived columns given without their inputs; return the required columns the
    file lacks (a file of updates, with an objectId on every row, may leave them out:
    only a row that creates a record is refused for them)."""
    cdef = rt.cdef
    present = {m for m in mapped if m}
    for f in cdef.derived_fields:
        inputs = [i for i in rt.derived_inputs(f.name) if i != "site"]
        if f.name in present and not set(inputs) <= present:
            raise ValidationError(f.name, _derived_message(rt, f.name))
    needed = [f.name for f in cdef.fields if f.required and not f.derived and not f.system
              and f.default is None and f.name not in rt.auto_filled]
    missing = [n for n in needed if n not in present]
    if missing and "objectId" not in present:
        raise _missing_columns(missing)
    return missing


def _missing_columns(missing: list[str]) -> FileFormatError:
    return FileFormatError(f"missing column{'s' if len(missing) > 1 else ''}: "
                           f"{', '.join(missing)}")


class RowReader:
    """Turns one row of cells into (objectId, values) by a plan made once per file: which
    column holds which field, how each is cleaned and looked up, which derived columns
    must be checked against their inputs, which system columns are dropped."""

    def __init__(self, rt: RecordType, mapped: list[str | None], keys: Keys) -> None:
        self.rt = rt
        self.keys = keys
        self.id_column = mapped.index("objectId") if "objectId" in mapped else None
        cdef = rt.cdef
        self.columns: list[tuple[int, str, Field, bool]] = []  # (index, name, field, derived)
        for index, name in enumerate(mapped):
            if name is None or name == "objectId":
                continue
            f = cdef.get(name)
            if f.system:
                continue  # system columns (closed, raisedBy, sha256 ...) are not imported
            self.columns.append((index, name, f, f.derived))
        self.names = tuple(name for _i, name, _f, derived in self.columns if not derived)
        self.pointers: dict[str, dict[Any, Any]] = {
            name: {} for _i, name, f, _d in self.columns if f.is_reference}

    def read(self, row: list[Any]) -> tuple[str | None, dict[str, Any]]:
        object_id = None
        if self.id_column is not None and self.id_column < len(row):
            raw_id = row[self.id_column]
            if raw_id not in (None, ""):
                object_id = str(raw_id).strip() or None
        values: dict[str, Any] = {}
        derived: list[tuple[str, Any]] = []
        width = len(row)
        for index, name, f, is_derived in self.columns:
            raw = row[index] if index < width else None
            if raw.__class__ is str:
                raw = raw.strip()
            if is_derived:
                derived.append((name, raw))
                continue
            if raw is not None and raw != "" and name in self.pointers:
                if f.kind == "pointer":
                    # The same key names the same record all through the file.
                    memo = self.pointers[name]
                    found = memo.get(raw)
                    if found is None:
                        found = self.keys.resolve(f, str(raw))
                        if raw.__class__ is str and len(memo) < 4096:
                            memo[raw] = found
                    raw = found
                else:
                    raw = [self.keys.resolve(f, part) for part in str(raw).split(";")
                           if part.strip()]
            values[name] = raw
        # Derived columns: recomputed from their inputs, refused without them.
        rt, cdef = self.rt, self.rt.cdef
        for name, given in derived:
            if given in (None, ""):
                continue
            # An input column that is present counts as given; an empty list is a value.
            missing = [i for i in rt.derived_inputs(name) if i != "site" and
                       (i not in values or (values[i] in (None, "") and not cdef.get(i).is_list))]
            if missing:
                raise ValidationError(name, _derived_message(rt, name))
        return object_id, values


def import_file(db: Database, actor: Actor, class_name: str, path: Path, *,
                control: Control | None = None) -> dict[str, int]:
    """Import a file all or nothing; returns {'created': n, 'updated': m, 'unchanged': k}.

    The file is read row by row and written in chunks inside one transaction, so memory
    stays bounded however long the file is; *control* hears (rows done, rows expected,
    "imported"), and a cancelled import rolls back and raises Cancelled."""
    control = control or Control()
    rt = records.of(class_name)
    cdef = rt.cdef
    if not rt.importable:
        raise FileFormatError(f"{cdef.plural.lower()} cannot be imported from a file")
    with open_table(path) as table:
        mapped = map_header(cdef, table.header)
        missing = _check_columns(rt, mapped)
        # Hundreds of thousands of short-lived row dicts make the cyclic collector rescan
        # the heap over and over; none of them form cycles, so it pauses for the import.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return _import_rows(db, actor, rt, table, mapped, missing, control)
        finally:
            if collecting:
                gc.enable()


CHUNK = 5000  # rows written at a time inside the import's one transaction


def _import_rows(db: Database, actor: Actor, rt: RecordType, table: Table,
                 mapped: list[str | None], missing: list[str], control: Control
                 ) -> dict[str, int]:
    stop = "import cancelled; nothing was imported"
    reader = RowReader(rt, mapped, Keys(db))
    cdef = rt.cdef
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    update = UPDATE[cdef.name]
    done = 0
    with db.atomic():
        u = UnitOfWork(db, actor, deferred=True)
        creator = writing.Creator(u, rt, reader.names) if cdef.name in PLAIN_CREATE else None
        for number, row in table.rows:
            try:
                object_id, values = reader.read(row)
                existing = u.get(cdef.name, object_id) if object_id else None
                if existing is not None:
                    before = len(u.changes)
                    assert object_id is not None
                    update(db, actor, object_id, uow=u, **values)
                    changed = len(u.changes) > before and u.changes[-1].changes
                    counts["updated" if changed else "unchanged"] += 1
                else:
                    if missing:
                        raise _missing_columns(missing)
                    if object_id is not None and (not object_id.isalnum() or len(object_id) != 10):
                        raise ValidationError("objectId", f"'{object_id}' is not a record id")
                    if creator is not None:
                        creator(values, object_id)
                    else:
                        _create_with_id(u, rt, values, object_id)
                    counts["created"] += 1
            except ValidationError as exc:
                raise exc.at_row(number) from None
            except FileFormatError:
                raise
            except AuditError as exc:
                raise ValidationError("", str(exc), row=number) from None
            done += 1
            if done % CHUNK == 0:
                control.check(stop)
                u.flush()  # into the transaction: what is pending leaves memory
                if creator is not None:
                    creator.forget()
                control.progress(done, max(done, table.estimate), "imported")
        control.check(stop)
        u.journal(trail.Entry("import", cdef.name, None, None, {
            "file": [None, table.path.name], "sha256": [None, table.sha256],
            "created": [None, counts["created"]], "updated": [None, counts["updated"]]}))
        u.flush()
        control.progress(done, done, "imported")
    return counts


def _create_with_id(u: UnitOfWork, rt: RecordType, values: dict[str, Any],
                    object_id: str | None) -> None:
    """Create through the service; a row that names its own new objectId keeps it."""
    assert u.actor is not None
    before = len(u.changes)
    CREATE[rt.name](u.db, u.actor, uow=u, **values)
    if object_id is None:
        return
    change = u.changes[before]  # the record itself comes first (then e.g. owner assignment)
    u.rename(change, object_id)
