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
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_audit import records
from desktop_audit.domain import trail
from desktop_audit.errors import AuditError, FileFormatError, ValidationError
from desktop_audit.jobs import Control
from desktop_audit.records.base import RecordType
from desktop_audit.schema import BY_NAME, ClassDef, Field
from desktop_audit.services import CREATE, UPDATE, common
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
    """A value as a spreadsheet cell: yes/no as true/false, lists joined by '; '."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
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

            wb = Workbook(write_only=True)
            ws = wb.create_sheet(cdef.name[:31])
            ws.append(export_columns(cdef))
            for row in rows:
                ws.append(row)
                count += 1
            wb.save(tmp)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return count


# ---------------------------------------------------------------- reading files


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a .csv or .xlsx file, or one clear FileFormatError."""
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = path.read_bytes()
        if b"\x00" in data[:65536]:
            raise FileFormatError(f"{path.name} is not a CSV text file (it holds binary data)")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileFormatError(
                f"{path.name} is not UTF-8 text (byte {exc.start + 1}); save it as 'CSV UTF-8'"
            ) from exc
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel  # type: ignore[assignment]
        try:
            all_rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
        except csv.Error as exc:
            raise FileFormatError(f"{path.name} is not a well-formed CSV file: {exc}") from exc
    elif suffix == ".xlsx":
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise FileFormatError(f"{path.name} is not a readable .xlsx workbook") from exc
        ws = wb.worksheets[0]
        all_rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
    else:
        raise FileFormatError(f"{path.name}: import reads .csv or .xlsx files")
    all_rows = [r for r in all_rows if any(c not in (None, "") for c in r)]
    if not all_rows:
        raise FileFormatError(f"{path.name} is empty (no header row)")
    header = ["" if h is None else str(h).strip() for h in all_rows[0]]
    return header, all_rows[1:]


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


def _check_columns(rt: RecordType, mapped: list[str | None], table: list[list[Any]]) -> None:
    cdef = rt.cdef
    present = {m for m in mapped if m}
    for f in cdef.derived_fields:
        inputs = [i for i in rt.derived_inputs(f.name) if i != "site"]
        if f.name in present and not set(inputs) <= present:
            raise ValidationError(f.name, _derived_message(rt, f.name))
    if "objectId" in present:
        idx = mapped.index("objectId")
        if all(len(r) > idx and r[idx] not in (None, "") for r in table):
            return  # every row updates an existing record: partial columns are fine
    needed = [f.name for f in cdef.fields if f.required and not f.derived and not f.system
              and f.default is None and f.name not in rt.auto_filled]
    missing = [n for n in needed if n not in present]
    if missing:
        raise FileFormatError(f"missing column{'s' if len(missing) > 1 else ''}: "
                              f"{', '.join(missing)}")


def _row_values(rt: RecordType, mapped: list[str | None], row: list[Any],
                keys: Keys) -> tuple[str | None, dict[str, Any]]:
    cdef = rt.cdef
    object_id: str | None = None
    values: dict[str, Any] = {}
    for name, raw in zip(mapped, row, strict=False):
        if name is None:
            continue
        if isinstance(raw, str):
            raw = raw.strip()
        if name == "objectId":
            object_id = str(raw) if raw not in (None, "") else None
            continue
        f = cdef.get(name)
        if f.kind == "pointer" and raw not in (None, ""):
            raw = keys.resolve(f, str(raw))
        elif f.kind == "pointer_list" and raw not in (None, ""):
            raw = [keys.resolve(f, part) for part in str(raw).split(";") if part.strip()]
        values[name] = raw
    # Derived columns: recomputed from their inputs, refused without them.
    for f in cdef.derived_fields:
        if f.name not in values:
            continue
        given = values.pop(f.name)
        if given in (None, ""):
            continue
        # An input column that is present counts as given; an empty list is a value.
        missing = [i for i in rt.derived_inputs(f.name) if i != "site" and
                   (i not in values or (values[i] in (None, "") and not cdef.get(i).is_list))]
        if missing:
            raise ValidationError(f.name, _derived_message(rt, f.name))
    for f in cdef.fields:  # system columns (closed, raisedBy, sha256 ...) are not imported
        if f.system and f.name in values:
            values.pop(f.name)
    return object_id, values


def import_file(db: Database, actor: Actor, class_name: str, path: Path, *,
                control: Control | None = None) -> dict[str, int]:
    """Import a file all or nothing; returns {'created': n, 'updated': m, 'unchanged': k}.

    *control* hears (rows done, rows, stage) while the rows are "checked", then while they
    are "written"; a cancelled import rolls back and raises Cancelled."""
    control = control or Control()

    rt = records.of(class_name)
    cdef = rt.cdef
    if not rt.importable:
        raise FileFormatError(f"{cdef.plural.lower()} cannot be imported from a file")
    header, table = read_table(path)
    mapped = map_header(cdef, header)
    _check_columns(rt, mapped, table)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    # Hundreds of thousands of live row dicts make the cyclic collector rescan them over and
    # over; none of them form cycles, so it pauses for the import.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import_rows(db, actor, rt, path, table, mapped, digest, control)
    finally:
        if collecting:
            gc.enable()


def _import_rows(db: Database, actor: Actor, rt: RecordType, path: Path, table: list[list[Any]],
                 mapped: list[str | None], digest: str, control: Control) -> dict[str, int]:
    stop = "import cancelled; nothing was imported"
    keys = Keys(db)
    cdef = rt.cdef
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    total = len(table)
    update = UPDATE[cdef.name]
    with db.atomic():
        u = UnitOfWork(db, actor, deferred=True)
        for number, row in enumerate(table, start=2):  # row 1 is the header
            if number % 500 == 0:
                control.check(stop)
            try:
                object_id, values = _row_values(rt, mapped, row, keys)
                existing = u.get(cdef.name, object_id) if object_id else None
                if existing is not None:
                    before = len(u.changes)
                    assert object_id is not None
                    update(db, actor, object_id, uow=u, **values)
                    changed = len(u.changes) > before and u.changes[-1].changes
                    counts["updated" if changed else "unchanged"] += 1
                else:
                    if object_id is not None and (not object_id.isalnum() or len(object_id) != 10):
                        raise ValidationError("objectId", f"'{object_id}' is not a record id")
                    _create_with_id(u, rt, values, object_id)
                    counts["created"] += 1
            except ValidationError as exc:
                raise exc.at_row(number) from None
            except AuditError as exc:
                raise ValidationError("", str(exc), row=number) from None
            if number % 1000 == 0:
                control.progress(number - 1, total, "checked")
        control.progress(total, total, "checked")

        def written(done: int, of: int) -> None:
            control.check(stop)
            control.progress(done, of, "written")

        u.journal(trail.Entry("import", cdef.name, None, None, {
            "file": [None, path.name], "sha256": [None, digest],
            "created": [None, counts["created"]], "updated": [None, counts["updated"]]}))
        u.flush(progress=written)
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
