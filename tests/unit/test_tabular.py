"""CSV / XLSX export and import: round trips, all-or-nothing, clear refusals."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from desktop_audit import services
from desktop_audit.errors import FileFormatError, ValidationError
from desktop_audit.io import tabular
from desktop_audit.schema import FINDING
from desktop_audit.store import rows
from tests.conftest import World

HEADER = ["site", "logType", "severity", "description", "correctiveAction", "actionOwner",
          "dueDate"]


def _rows(n: int, site: str = "PLT-01") -> list[list[str]]:
    return [[site, "general", ("observation", "minor_nc", "major_nc")[i % 3],
             f"Finding {i} at Łódź Süd", f"Action {i}", "coordinator", "2026-12-31"]
            for i in range(n)]


def _write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(("\ufeff" if bom else "") + buf.getvalue(), encoding="utf-8")
    return path


def _count(w: World, table: str = "audit_finding") -> int:
    return w.db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def test_csv_import_creates_and_export_round_trips(world: World, tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "in.csv", HEADER, _rows(30), bom=True)
    counts = tabular.import_file(world.db, world.admin, "AuditFinding", src)
    assert counts == {"created": 30, "updated": 0, "unchanged": 0}
    out = tmp_path / "out.csv"
    assert tabular.export_file(world.db, world.admin, "AuditFinding", out) == 30
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8").splitlines()[0].split(",") == tabular.export_columns(FINDING)
    assert "Łódź Süd" in raw.decode("utf-8")
    trail_before = _count(world, "audit_trail_event")
    again = tabular.import_file(world.db, world.admin, "AuditFinding", out)
    assert again == {"created": 0, "updated": 0, "unchanged": 30}
    out2 = tmp_path / "out2.csv"
    tabular.export_file(world.db, world.admin, "AuditFinding", out2)
    assert out2.read_bytes() == raw  # imported back unchanged
    assert _count(world, "audit_trail_event") == trail_before + 1  # just the import event


def test_xlsx_round_trip_and_updates_by_object_id(world: World, tmp_path: Path) -> None:
    tabular.import_file(world.db, world.admin, "AuditFinding",
                        _write_csv(tmp_path / "in.csv", HEADER, _rows(5)))
    out = tmp_path / "f.xlsx"
    tabular.export_file(world.db, world.admin, "AuditFinding", out)
    from openpyxl import load_workbook

    wb = load_workbook(out)
    ws = wb.active
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("correctiveAction") + 1, value="Replaced action")
    oid = ws.cell(row=2, column=1).value
    wb.save(out)
    counts = tabular.import_file(world.db, world.admin, "AuditFinding", out)
    assert counts == {"created": 0, "updated": 1, "unchanged": 4}
    assert rows.load(world.db, FINDING, oid)["correctiveAction"] == "Replaced action"


def test_one_bad_row_refuses_the_whole_file(world: World, tmp_path: Path) -> None:
    rows = _rows(500)
    rows[316][2] = "catastrophic"
    src = _write_csv(tmp_path / "in.csv", HEADER, rows)
    before = (_count(world), _count(world, "audit_trail_event"), _count(world, "outbox"))
    with pytest.raises(ValidationError) as err:
        tabular.import_file(world.db, world.admin, "AuditFinding", src)
    assert str(err.value).startswith("row 318, severity: 'catastrophic' is not one of")
    assert (_count(world), _count(world, "audit_trail_event"), _count(world, "outbox")) == before


def test_an_unknown_site_names_the_row(world: World, tmp_path: Path) -> None:
    rows = _rows(3)
    rows[1][0] = "XXX-99"
    with pytest.raises(ValidationError, match="row 3, site: unknown site 'XXX-99'"):
        tabular.import_file(world.db, world.admin, "AuditFinding",
                            _write_csv(tmp_path / "in.csv", HEADER, rows))


def test_a_site_the_user_is_not_assigned_to_is_refused(world: World, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="row 2: you are not assigned to this site"):
        tabular.import_file(world.db, world.auditor, "AuditFinding",
                            _write_csv(tmp_path / "in.csv", HEADER, _rows(2, "DEP-02")))


def test_seed_spellings_are_accepted(world: World, tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "kits.csv",
                     ["site", "kitId", "inspectionDate", "inspectionStatus", "sealStatus",
                      "missingItems"],
                     [["PLT-01", "SK-1", "2026-01-05 09:30", "fail", "broken", "gloves; pillows"]])
    assert tabular.import_file(world.db, world.admin, "SpillKitLog", src)["created"] == 1
    row = world.db.execute('SELECT "kitTag", "lastCheckedAt", "missingItems", '
                           '"replenishmentNeeded" FROM spill_kit_log').fetchone()
    assert row[0] == "SK-1" and row[1].startswith("2026-01-05") and "pillows" in row[2]
    assert row[3] == 1


def test_a_derived_value_without_its_inputs_is_refused(world: World, tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "a.csv",
                     ["site", "aspectCategory", "aspect", "impact", "riskRating", "actionStatus"],
                     [["PLT-01", "waste", "Oily rags", "Soil", "20", "open"]])
    with pytest.raises(ValidationError,
                       match="riskRating: is derived from likelihood and severity; give"):
        tabular.import_file(world.db, world.admin, "AspectImpactLog", src)
    # With its inputs the derived value is recomputed, never trusted.
    src = _write_csv(tmp_path / "b.csv",
                     ["site", "aspectCategory", "aspect", "impact", "likelihood", "severity",
                      "riskRating", "actionStatus"],
                     [["PLT-01", "waste", "Oily rags", "Soil", "2", "2", "20", "open"]])
    tabular.import_file(world.db, world.admin, "AspectImpactLog", src)
    assert world.db.execute('SELECT "riskRating" FROM aspect_impact_log').fetchone()[0] == 4


def test_duplicate_rows_within_a_file_are_caught(world: World, tmp_path: Path) -> None:
    header = ["site", "kitTag", "lastCheckedAt", "inspectionStatus", "sealStatus"]
    row = ["PLT-01", "SK-1", "2026-01-05T09:00:00Z", "pass", "intact"]
    with pytest.raises(ValidationError, match="row 3, lastCheckedAt: kit SK-1 already has"):
        tabular.import_file(world.db, world.admin, "SpillKitLog",
                            _write_csv(tmp_path / "k.csv", header, [row, row]))
    assert _count(world, "spill_kit_log") == 0


@pytest.mark.parametrize(("content", "suffix", "message"), [
    ("site,severity\nPLT-01,minor_nc\n".encode("latin-1") + b"\xe9\xe8\n", ".csv",
     "not UTF-8 text"),
    (b"site,logType,description\nPLT-01,general,x\n", ".csv",
     "missing columns: severity, correctiveAction"),
    (b"site,colour\nPLT-01,red\n", ".csv", "column 2 'colour' is not a field of finding"),
    (bytes(range(256)) * 8, ".csv", "not a CSV text file"),
    (b"PK\x03\x04 definitely not a workbook", ".xlsx", "not a readable .xlsx workbook"),
    (b"", ".csv", "is empty"),
    (b"a,b\n", ".txt", "import reads .csv or .xlsx"),
])
def test_malformed_files_give_one_clear_message(world: World, tmp_path: Path, content: bytes,
                                                suffix: str, message: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=message):
        tabular.import_file(world.db, world.admin, "AuditFinding", path)
    assert _count(world) == 0


def test_xlsx_with_one_bad_row(world: World, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in _rows(20):
        ws.append(r)
    ws.cell(row=12, column=HEADER.index("dueDate") + 1, value="31/12/2026")
    wb.save(tmp_path / "f.xlsx")
    with pytest.raises(ValidationError, match="row 12, dueDate: '31/12/2026' is not a date"):
        tabular.import_file(world.db, world.admin, "AuditFinding", tmp_path / "f.xlsx")
    assert _count(world) == 0


def test_field_staff_import_is_held_to_their_role(world: World, tmp_path: Path) -> None:
    rows = _rows(3)  # observation, minor_nc, major_nc
    with pytest.raises(ValidationError, match="row 3: field staff may raise observations"):
        tabular.import_file(world.db, world.field_staff, "AuditFinding",
                            _write_csv(tmp_path / "in.csv", HEADER, rows))
    assert _count(world) == 0
    services.raise_finding(world.db, world.admin, site=world.site_a, logType="general",
                           severity="observation", description="d", correctiveAction="c")


AWKWARD = ('Line one, with "quotes"\nline two; ünïcødé Łódź 漢字 🛢️', "=SUM(A1:A2)", "  padded  ",
           "-1", "0012", "TRUE", "2026-01-02", "a,b;c|d")


def _awkward_records(w: World) -> None:
    """Values a spreadsheet likes to change: formulas, numbers and dates as text, leading
    zeros, spaces, line breaks, quotes, separators, other scripts; empty lists and fields."""
    a = w.site_a
    for n, text in enumerate(AWKWARD):
        line = text.replace("\n", " ")  # for the one-line fields
        services.raise_finding(w.db, w.admin, site=a, logType="general", severity="minor_nc",
                               description=text, correctiveAction=f"Act {n}: {text}",
                               rootCause=None if n % 2 else text)
        services.add_spill_kit_check(w.db, w.admin, site=a, kitTag=f"KIT-{n:03d}",
                                     kitLocation=line, inspectionStatus="pass" if n % 2 else "fail",
                                     sealStatus="intact",
                                     missingItems=[] if n % 2 else ["pads", line.strip()],
                                     notes=text if n % 3 else None)
        services.add_aspect(w.db, w.admin, site=a, aspectCategory="emissions_to_air",
                            aspectDescription=text, impact=f"Impact {n}", likelihood=1 + n % 5,
                            severity=5 - n % 5, actionStatus="open",
                            obligationRefs=[] if n % 2 else [line.strip(), "Permit 7"])
        services.add_legal_entry(w.db, w.admin, site=a, referenceCode=f"REF-{n}",
                                 requirementTitle=line,
                                 requirementType="permit", jurisdiction="EU",
                                 reviewFrequency="annual", dueDate="2027-03-31",
                                 complianceStatus="compliant", owner=w.manager.id,
                                 evidenceNote=text if n % 2 else None)
        services.plan_review(w.db, w.admin, site=a, auditDate=f"2026-0{1 + n % 9}-1{n}",
                             scope=text, criteria=None, reviewStatus="planned",
                             leadAuditor=w.auditor.id)
    services.update_site(w.db, w.admin, w.site_b, locationNote=AWKWARD[0])


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_every_importable_class_exported_unchanged_imports_back_as_unchanged(
        world: World, tmp_path: Path, suffix: str) -> None:
    from desktop_audit import records

    _awkward_records(world)
    for rt in records.importable():
        name = rt.cdef.name
        out = tmp_path / f"{rt.cli_name}{suffix}"
        exported = tabular.export_file(world.db, world.admin, name, out)
        assert exported > 0, name
        trail_before = _count(world, "audit_trail_event")
        counts = tabular.import_file(world.db, world.admin, name, out)
        assert counts == {"created": 0, "updated": 0, "unchanged": exported}, name
        assert _count(world, "audit_trail_event") == trail_before + 1, name  # the import event
        again = tmp_path / f"again-{rt.cli_name}{suffix}"
        tabular.export_file(world.db, world.admin, name, again)
        if suffix == ".csv":
            assert again.read_bytes() == out.read_bytes(), name


def _index_answers(w: World) -> dict[tuple[str, str], set[int]]:
    """Which rows each search index proposes for every trigram of the rows it indexes."""
    from desktop_audit.store import search_index

    out: dict[tuple[str, str], set[int]] = {}
    for idx in search_index.indexes():
        if idx.table not in ("audit_finding", "audit_trail_event"):
            continue
        cols = ", ".join(f'"{f}"' for f in idx.fields)
        grams: set[str] = set()
        for row in w.db.execute(f'SELECT {cols} FROM "{idx.table}"').fetchall():
            grams.update(search_index.trigrams(search_index.indexed_text(*row)))
        for gram in sorted(grams):
            found = w.db.execute(f'SELECT rowid FROM "{idx.fts}" WHERE "{idx.fts}" MATCH ?',
                                 (search_index._phrase(gram),)).fetchall()
            out[(idx.table, gram)] = {r[0] for r in found}
    return out


def _state(w: World) -> tuple[object, ...]:
    tables = ("audit_finding", "audit_trail_event", "outbox", "trail_head", "search_pending")
    triggers = sorted(r[0] for r in w.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall())
    return (*(_count(w, t) for t in tables), triggers,
            w.db.execute('SELECT "chain", "seq", "hash" FROM trail_head ORDER BY 1').fetchall())


def test_a_large_import_journals_queues_and_indexes_every_row(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_audit.domain import trail
    from desktop_audit.store import listing, search_index
    from desktop_audit.store.listing import ListQuery

    monkeypatch.setattr(tabular, "CHUNK", 600)  # two chunks, each indexed as a whole
    n = 1200
    rows = _rows(n)
    for i, row in enumerate(rows):
        row[3] = f"Drain cover {i} at bay q{i:05d}w"
    before = _state(world)
    trail_before = _count(world, "audit_trail_event")
    src = _write_csv(tmp_path / "in.csv", HEADER, rows)
    assert tabular.import_file(world.db, world.admin, "AuditFinding", src)["created"] == n
    assert _count(world) == n
    events = world.db.execute(
        'SELECT "recordId", "changes" FROM audit_trail_event WHERE "action" = ? '
        'AND "recordClass" = ?', ("create", "AuditFinding")).fetchall()
    assert len(events) == n and _count(world, "audit_trail_event") == trail_before + n + 1
    assert {r[0] for r in events} == {r[0] for r in world.db.execute(
        'SELECT "objectId" FROM audit_finding').fetchall()}
    assert all(r.problem is None for r in trail.verify(world.db))
    queued = world.db.execute('SELECT "className", count(*) FROM outbox GROUP BY 1').fetchall()
    assert dict(queued)["AuditFinding"] == n
    assert dict(queued)["AuditTrailEvent"] == trail_before + n + 1
    assert _count(world, search_index.PENDING) == 0
    assert _state(world)[-2] == before[-2]  # the triggers as they were
    oid = world.db.execute('SELECT "objectId" FROM audit_finding WHERE "description" = ?',
                           ("Drain cover 777 at bay q00777w",)).fetchone()[0]
    found = listing.page(world.db, ListQuery(FINDING, search="Q00777W"), ["description"], 10,
                         plan="index")
    assert [r[0] for r in found or []] == [oid]
    # The index holds exactly what an index built again from the rows holds.
    answers = _index_answers(world)
    with world.db.atomic():
        search_index.build(world.db)
    assert _index_answers(world) == answers


def test_a_bad_row_after_a_written_chunk_leaves_everything_as_it_was(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_audit.domain import trail

    monkeypatch.setattr(tabular, "CHUNK", 600)
    rows = _rows(1200)
    rows[1000][6] = "2026-02-30"
    before, answers = _state(world), _index_answers(world)
    with pytest.raises(ValidationError, match="row 1002, dueDate: '2026-02-30' is not a date"):
        tabular.import_file(world.db, world.admin, "AuditFinding",
                            _write_csv(tmp_path / "in.csv", HEADER, rows))
    assert _state(world) == before
    assert _index_answers(world) == answers
    assert all(r.problem is None for r in trail.verify(world.db))
    # ... and the next import writes and indexes as if nothing had happened.
    assert tabular.import_file(world.db, world.admin, "AuditFinding", _write_csv(
        tmp_path / "ok.csv", HEADER, _rows(700)))["created"] == 700
    answers = _index_answers(world)
    with world.db.atomic():
        from desktop_audit.store import search_index

        search_index.build(world.db)
    assert _index_answers(world) == answers
