"""Export the rows of a list's current filter to .csv or .xlsx, in the import format (the
app's Export… button; ``desktop-audit export`` writes whole classes through tabular.py)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from desktop_audit.errors import FileFormatError
from desktop_audit.io import tabular
from desktop_audit.jobs import Control
from desktop_audit.store import codec, listing
from desktop_audit.store.listing import ListQuery


def export_list(db: Any, query: ListQuery, path: Path, *,
                control: Control | None = None) -> int:
    """Write the rows *query* selects; returns how many."""
    control = control or Control()
    cdef = query.cdef
    cols = tabular.export_columns(cdef)
    names = [c for c in cols if c != "objectId"]  # the list reads objectId first
    fields = {f.name: f for f in cdef.fields}
    total = listing.count(db, query)
    keys = tabular.Keys(db)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise FileFormatError(f"{path.name}: export writes .csv or .xlsx files")

    def rows() -> Any:
        for n, raw in enumerate(listing.iterate(db, query, names), start=1):
            row = dict(zip(["objectId", *names], raw, strict=True))
            if n % 1000 == 0:
                control.check("export cancelled; no file was written")
                control.progress(n, total, "written")
            out = []
            for name in cols:
                value = row[name]
                f = fields.get(name)
                if f is not None:
                    value = keys.show(f, codec.from_db(f.kind, value))
                out.append(tabular.cell(value))
            yield out

    tmp = path.with_name(path.name + ".part")
    count = 0
    try:
        if suffix == ".csv":
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(cols)
                for row in rows():
                    writer.writerow(row)
                    count += 1
        else:
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            ws = wb.create_sheet(cdef.name[:31])
            ws.append(cols)
            for row in rows():
                ws.append(row)
                count += 1
            wb.save(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    control.progress(count, total, "written")
    return count
