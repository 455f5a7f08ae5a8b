"""The evidence pack, read back with poppler's tools as a certification auditor's reader would."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from desktop_audit import clock, services
from desktop_audit.cli import main
from desktop_audit.domain import trail
from desktop_audit.errors import Cancelled, NotFound, PermissionDenied, ValidationError
from desktop_audit.jobs import Control
from desktop_audit.reports import SECTION_TITLES, SECTIONS, export_pack
from desktop_audit.schema import EVIDENCE
from desktop_audit.services.evidence import blob_path
from desktop_audit.store import Database, rows
from tests.reports.tools import actor, info, run, site_id, text

UNICODE_SITE = "Łódź Süd – Werk Žabka"


def _export(db: Database, tmp_path: Path, name: str = "pack.pdf", *, user: str = "coordinator",
            code: str = "DEP-02", **kwargs: object) -> tuple[Path, object]:
    out = tmp_path / name
    result = export_pack(db, actor(db, user), site_id(db, code), out, **kwargs)  # type: ignore[arg-type]
    return out, result


def _section(full: str, key: str) -> str:
    """The text of one section: from its heading to the next section's heading."""
    titles = [f"{n} {SECTION_TITLES[k]}" for n, k in enumerate(SECTIONS, 1)]
    index = SECTIONS.index(key)
    start = full.index(titles[index] + "\n", full.index("Contents") + 400)
    end = full.index(titles[index + 1] + "\n", start) if index + 1 < len(titles) else len(full)
    return full[start:end]


def test_every_section_metadata_and_unicode(demo_db: Database, tmp_path: Path) -> None:
    pdf, result = _export(demo_db, tmp_path)
    full = text(pdf)
    for n, key in enumerate(SECTIONS, 1):
        assert f"{n} {SECTION_TITLES[key]}" in full
    assert "Contents" in full and "Evidence pack" in full
    assert UNICODE_SITE in full
    assert "Łódzkie, Poland" in full
    assert "Colin Osei (coordinator)" in full  # prepared by
    meta = info(pdf)
    assert int(meta["Pages"]) == result.pages  # type: ignore[attr-defined]
    assert meta["Title"] == f"Evidence pack: {UNICODE_SITE} (DEP-02), all records"
    assert meta["Author"] == "Colin Osei (coordinator)"
    assert "ISO 14001" in meta["Subject"] and "DEP-02" in meta["Keywords"]
    assert meta["Page size"].startswith("841.89 x 595.276")
    total = result.pages  # type: ignore[attr-defined]
    for page in (1, total // 2, total):
        assert f"Page {page} of {total}" in text(pdf, first=page, last=page)
    # Contents lines carry the page each section starts on.
    contents = text(pdf, first=2, last=2)
    for n, key in enumerate(SECTIONS, 1):
        line = next(ln for ln in contents.splitlines() if f"{n} {SECTION_TITLES[key]}" in ln)
        page = int(line.split()[-1])
        assert f"{n} {SECTION_TITLES[key]}" in text(pdf, first=page, last=page)
    # Every section is in the outline (bookmarks), the cover too.
    raw = pdf.read_bytes()
    assert b"/Outlines" in raw
    for n, key in enumerate(SECTIONS, 1):
        assert f"({n} {SECTION_TITLES[key]})".encode() in raw
    assert b"(Cover)" in raw and b"(Contents)" in raw


def test_fonts_embedded(demo_db: Database, tmp_path: Path) -> None:
    pdf, _ = _export(demo_db, tmp_path)
    rows = run("pdffonts", pdf).splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        assert "DejaVuSans" in row
        assert row.split()[-5] == "yes", row  # the emb column


def test_photos_downscaled_with_caption_and_hash(demo_db: Database, tmp_path: Path) -> None:
    pdf, _ = _export(demo_db, tmp_path)
    listing = run("pdfimages", "-list", pdf).splitlines()[2:]
    shas = [r[0] for r in demo_db.execute(
        'SELECT "sha256" FROM evidence WHERE "site" = ? AND "deletedAt" IS NULL',
        (site_id(demo_db, "DEP-02"),))]
    assert len(listing) == len(shas) == 6
    for row in listing:
        cols = row.split()
        width, height = int(cols[3]), int(cols[4])
        assert width <= 700 and height <= 700  # the originals are 2400 x 1800
        assert cols[8] == "jpeg"
    photos = _section(text(pdf), "photos")
    for sha in shas:
        assert sha in photos
    assert "Diesel tank bund" in photos and "Record: Aspect & impact A" in photos
    assert "2400×1800 px original" in photos


def test_flagged_rows(demo_db: Database, tmp_path: Path) -> None:
    pdf, _ = _export(demo_db, tmp_path)
    full = text(pdf)
    sid = site_id(demo_db, "DEP-02")
    aspects = _section(full, "aspects")
    significant = demo_db.execute('SELECT count(*) FROM aspect_impact_log WHERE "site" = ? AND '
                                  '"significant" = 1', (sid,)).fetchone()[0]
    assert significant > 0
    assert len(re.findall(r"\bSIGNIFICANT\b", aspects)) == significant + 1  # +1: the intro
    legal = _section(full, "legal")
    for code, status, due in demo_db.execute(
            'SELECT "referenceCode", "complianceStatus", "dueDate" FROM legal_register_entry '
            'WHERE "site" = ?', (sid,)):
        line = next(ln for ln in legal.splitlines() if ln.strip().startswith(code))
        assert ("NON-COMPLIANT" in line) == (status == "non_compliant"), line
        assert ("OVERDUE" in line) == (due < clock.today().isoformat()), line
    kits = _section(full, "spill_kits")
    fails = demo_db.execute('SELECT count(*) FROM spill_kit_log WHERE "site" = ? AND '
                            '"inspectionStatus" = ?', (sid, "fail")).fetchone()[0]
    assert fails > 0
    all_inspections = kits[kits.index("All inspections"):]
    assert len(re.findall(r"\bFAIL\b", all_inspections)) == fails
    assert "absorbent pads, gloves" in kits and "REPLENISH" in kits
    findings = _section(full, "findings")
    open_count = demo_db.execute('SELECT count(*) FROM audit_finding WHERE "site" = ? AND '
                                 '"closed" = 0', (sid,)).fetchone()[0]
    assert len(re.findall(r"\bOPEN\b", findings)) == open_count
    assert "PAST DUE" in findings and "major NC" in findings
    raw_findings = " ".join(text(pdf, layout=False).split())
    assert "Repair seen; hydrostatic test certificate on file" in raw_findings  # verification
    trail_text = _section(full, "trail")
    assert "verified intact" in trail_text and "create" in trail_text
    signoff = _section(full, "signoff")
    for word in ("Prepared", "Reviewed", "Approved", "Colin Osei"):
        assert word in signoff


def test_draft_on_every_page_unless_review_approved(demo_db: Database, tmp_path: Path) -> None:
    pdf, result = _export(demo_db, tmp_path, "draft.pdf")
    for page in range(1, result.pages + 1):  # type: ignore[attr-defined]
        assert "DRAFT" in text(pdf, first=page, last=page, layout=False)
    sid = site_id(demo_db, "DEP-02")
    approved = demo_db.execute('SELECT "objectId" FROM audit_review WHERE "site" = ? AND '
                               '"reviewStatus" = ?', (sid, "approved")).fetchone()[0]
    planned = demo_db.execute('SELECT "objectId" FROM audit_review WHERE "site" = ? AND '
                              '"reviewStatus" = ?', (sid, "planned")).fetchone()[0]
    final, _ = _export(demo_db, tmp_path, "final.pdf", review_id=approved)
    body = text(final, layout=False)
    assert "DRAFT" not in body and "FINAL" in body
    assert "Alex Admin" in _section(text(final), "signoff")  # the approver, from the trail
    draft, _ = _export(demo_db, tmp_path, "planned.pdf", review_id=planned)
    assert "DRAFT" in text(draft, first=1, last=1)


def test_same_as_of_gives_the_same_bytes(demo_db: Database, tmp_path: Path) -> None:
    first, result = _export(demo_db, tmp_path, "one.pdf")
    as_of = result.as_of  # type: ignore[attr-defined]
    # The first export journaled itself; a login and an edit happen after as_of.
    services.update_aspect(demo_db, actor(demo_db, "admin"),
                           demo_db.execute('SELECT "objectId" FROM aspect_impact_log WHERE '
                                           '"site" = ? LIMIT 1',
                                           (site_id(demo_db, "DEP-02"),)).fetchone()[0],
                           controlMeasure="Changed after the first pack")
    with demo_db.atomic():
        trail.append(demo_db, actor(demo_db, "coordinator"), trail.Entry("login"))
    second, again = _export(demo_db, tmp_path, "two.pdf", as_of=as_of)
    assert first.read_bytes() == second.read_bytes()
    assert again.sha256 == result.sha256  # type: ignore[attr-defined]
    exports = demo_db.execute('SELECT "changes" FROM audit_trail_event WHERE "action" = ?',
                              ("export",)).fetchall()
    assert len(exports) == 2
    assert hashlib.sha256(first.read_bytes()).hexdigest() in exports[0][0]
    assert all(r.problem is None for r in trail.verify(demo_db))
    third, _ = _export(demo_db, tmp_path, "three.pdf")
    assert third.read_bytes() != first.read_bytes()
    assert "Changed after the first pack" in text(third)
    assert "Changed after the first pack" not in text(second)


def test_as_of_in_the_past_leaves_out_later_records(demo_db: Database, tmp_path: Path) -> None:
    sid = site_id(demo_db, "DEP-02")
    before = clock.iso(clock.now() - timedelta(seconds=1))
    admin = actor(demo_db, "admin")
    services.add_aspect(demo_db, admin, site=sid, aspectCategory="waste",
                        aspectDescription="Late aspect X1", impact="Landfill",
                        likelihood=2, severity=2, actionStatus="open", loggedBy=admin.id,
                        loggedAt=clock.now_iso())
    old, _ = _export(demo_db, tmp_path, "old.pdf", as_of=before)
    new, _ = _export(demo_db, tmp_path, "new.pdf")
    assert "Late aspect X1" not in text(old)
    assert "Late aspect X1" in text(new)


def test_empty_period_is_a_valid_pack_that_says_so(demo_db: Database, tmp_path: Path) -> None:
    pdf, result = _export(demo_db, tmp_path, date_from="2001-01-01", date_to="2001-01-31")
    full = text(pdf)
    assert "No records fall within this period" in full
    assert "No spill kit inspections for this site in this period." in full
    assert "No findings for this site in this period." in full
    assert "2001-01-01 to 2001-01-31" in full
    assert int(info(pdf)["Pages"]) == result.pages  # type: ignore[attr-defined]


def test_period_filters_activity(demo_db: Database, tmp_path: Path) -> None:
    today = clock.today()
    start = (today - timedelta(days=45)).isoformat()
    pdf, _ = _export(demo_db, tmp_path, date_from=start, date_to=today.isoformat())
    kits = _section(text(pdf), "spill_kits")
    dates = re.findall(r"\b(20\d\d-\d\d-\d\d) \d\d:\d\d", kits[kits.index("All inspections"):])
    assert dates and all(start <= d <= today.isoformat() for d in dates)


def test_missing_photo_gives_placeholder_and_warning(demo_db: Database, tmp_path: Path) -> None:
    sid = site_id(demo_db, "DEP-02")
    oid = demo_db.execute('SELECT "objectId" FROM evidence WHERE "site" = ? AND "caption" = ?',
                          (sid, "Diesel tank bund")).fetchone()[0]
    record = rows.must_load(demo_db, EVIDENCE, oid)
    blob_path(demo_db, record["sha256"], record["mimeType"]).unlink()
    pdf, result = _export(demo_db, tmp_path)
    assert result.warnings and "file missing" in result.warnings[0]  # type: ignore[attr-defined]
    full = text(pdf)
    assert f"Photo file missing: {record['fileName']}" in full
    assert "Warnings" in _section(full, "summary")
    assert len(run("pdfimages", "-list", pdf).splitlines()[2:]) == 5


def test_pages_render_and_are_not_blank(demo_db: Database, tmp_path: Path) -> None:
    pdf, result = _export(demo_db, tmp_path)
    run("pdftoppm", "-png", "-r", "40", pdf, tmp_path / "page")
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == result.pages  # type: ignore[attr-defined]
    for png in pngs:
        with Image.open(png) as img:
            gray = img.convert("L")
            w, h = gray.size
            body = gray.crop((0, int(h * 0.1), w, int(h * 0.9)))  # without header and footer
            dark = sum(body.histogram()[:200])
            assert dark / (body.width * body.height) > 0.01, f"{png.name} looks blank"


def test_sections_subset_progress_and_cancel(demo_db: Database, tmp_path: Path) -> None:
    seen: list[float] = []
    pdf, result = _export(demo_db, tmp_path, sections=["findings", "signoff"],
                          control=Control(lambda done, total, _stage: seen.append(done / total)))
    full = text(pdf)
    assert "1 Findings and corrective actions" in full and "2 Sign-off" in full
    assert "Photo evidence" not in full
    assert seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen) and len(seen) > 5
    assert seen == sorted(seen)  # a progress bar never goes back
    calls = {"n": 0}

    def cancel_after_twenty(_done: int, _total: int, _stage: str) -> None:
        calls["n"] += 1
        if calls["n"] > 20:
            stopper.cancel()  # as the Cancel button does, from the other side

    stopper = Control(cancel_after_twenty)
    out = tmp_path / "cancelled.pdf"
    with pytest.raises(Cancelled):
        export_pack(demo_db, actor(demo_db, "coordinator"), site_id(demo_db, "DEP-02"), out,
                    control=stopper)
    assert not out.exists() and not list(tmp_path.glob(".cancelled.pdf*"))
    with pytest.raises(ValidationError, match="unknown section"):
        _export(demo_db, tmp_path, sections=["nope"])
    del result


def test_greek_and_cyrillic_names_print(demo_db: Database, tmp_path: Path) -> None:
    admin = actor(demo_db, "admin")
    sid = site_id(demo_db, "DEP-02")
    for username, name in (("eleni", "Ελένη Παπαδοπούλου"), ("sergei", "Сергей Иванов")):
        uid = services.create_user(demo_db, admin, username=username, email=f"{username}@x.org",
                                   role="coordinator", password="long-enough-1", full_name=name)
        services.assign_sites(demo_db, admin, uid, [sid])
        pdf, _ = _export(demo_db, tmp_path, f"{username}.pdf", user=username)
        assert f"{name} (coordinator)" in text(pdf)
        assert info(pdf)["Author"] == f"{name} (coordinator)"


def test_refusals(demo_db: Database, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        _export(demo_db, tmp_path, user="fieldstaff")
    with pytest.raises(ValidationError, match="before it starts"):
        _export(demo_db, tmp_path, date_from="2026-02-01", date_to="2026-01-01")
    with pytest.raises(ValidationError, match="does not exist"):
        _export(demo_db, tmp_path, "no/such/folder/pack.pdf")
    with pytest.raises(NotFound):
        _export(demo_db, tmp_path, review_id="NoSuchRev1")
    with pytest.raises(ValidationError, match="future"):
        _export(demo_db, tmp_path, as_of=clock.iso(clock.now() + timedelta(days=2)))


def _cli(demo_path: Path, *args: str, user: str = "coordinator",
         password: str = "coordinator-demo-2026") -> list[str]:
    return ["--db", str(demo_path), "--user", user, "export-pack", *args]


@pytest.mark.parametrize("args, message", [
    (["--site", "NOPE-9"], "unknown site 'NOPE-9'"),
    (["--site", "DEP-02", "--from", "2026-03-01", "--to", "2026-02-01"], "before it starts"),
    (["--site", "DEP-02", "--out-dir"], None),
])
def test_cli_errors_are_one_line(demo_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str], args: list[str],
                                 message: str | None) -> None:
    monkeypatch.setenv("DESKTOP_AUDIT_PASSWORD", "coordinator-demo-2026")
    if message is None:  # an unwritable output path
        args = ["--site", "DEP-02", "--out", "/proc/no-such-dir/pack.pdf"]
        message = "cannot write"
    else:
        args = [*args, "--out", str(tmp_path / "x.pdf")]
    code = main(_cli(demo_path, *args))
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and message in err, err


def test_cli_writes_the_pack(demo_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DESKTOP_AUDIT_PASSWORD", "manager-demo-2026")
    out = tmp_path / "cli.pdf"
    code = main(["--db", str(demo_path), "--user", "manager", "export-pack", "--site", "plt-01",
                 "--out", str(out), "--as-of", clock.now_iso()])
    stdout = capsys.readouterr().out
    assert code == 0 and out.exists()
    assert hashlib.sha256(out.read_bytes()).hexdigest() in stdout
    assert "Riverside Chemical Plant" in text(out, first=1, last=1)
    full = text(out)
    assert "Łódź" not in full and "Europoort" not in full  # nothing from the other sites


def test_cover_counts_changes_since_the_last_sync(demo_db: Database, tmp_path: Path) -> None:
    never, _ = _export(demo_db, tmp_path, "never.pdf")
    assert "never synced" in text(never, first=1, last=1)
    synced = clock.now() - timedelta(seconds=1)
    with demo_db.atomic():
        demo_db.set_meta("sync_last_at", clock.iso(synced))
    services.update_aspect(demo_db, actor(demo_db, "admin"),
                           demo_db.execute('SELECT "objectId" FROM aspect_impact_log WHERE '
                                           '"site" = ? LIMIT 1',
                                           (site_id(demo_db, "DEP-02"),)).fetchone()[0],
                           controlMeasure="Edited after the sync")
    pdf, _ = _export(demo_db, tmp_path, "synced.pdf")
    cover = text(pdf, first=1, last=1)
    assert "1 record changed on this computer and not yet synced" in cover
    assert synced.astimezone().strftime("%Y-%m-%d %H:%M:%S") in cover


def test_text_longer_than_a_page_splits_across_pages(demo_db: Database, tmp_path: Path) -> None:
    long = " ".join(f"step{i} of the spill response procedure was reviewed" for i in range(700))
    services.raise_finding(demo_db, actor(demo_db, "admin"), site=site_id(demo_db, "DEP-02"),
                           logType="general", severity="observation", description=long,
                           correctiveAction="Shorten the procedure")
    pdf, _ = _export(demo_db, tmp_path, sections=["findings"])
    flat = " ".join(text(pdf, layout=False).split())
    assert "step0 of the spill" in flat and "step699 of the spill response" in flat


def test_review_choices_for_a_dialog(demo_db: Database) -> None:
    from desktop_audit.reports import review_choices

    choices = review_choices(demo_db, site_id(demo_db, "DEP-02"))
    assert len(choices) == 2
    assert any("approved" in label for _, label in choices)
    assert choices[0][1] >= choices[1][1]  # newest first


def test_markup_characters_print_as_typed(demo_db: Database, tmp_path: Path) -> None:
    admin = actor(demo_db, "admin")
    sid = site_id(demo_db, "DEP-02")
    services.update_site(demo_db, admin, sid, siteName="Smith & Sons <Depot> \"B\"")
    services.raise_finding(demo_db, admin, site=sid, logType="general", severity="observation",
                           description="Label says <b>oil</b> & 5 > 3", correctiveAction="Relabel")
    pdf, _ = _export(demo_db, tmp_path)
    flat = " ".join(text(pdf, layout=False).split())
    assert "Smith & Sons <Depot> \"B\"" in flat
    assert "Label says <b>oil</b> & 5 > 3" in flat
    assert info(pdf)["Title"].startswith("Evidence pack: Smith & Sons <Depot> \"B\"")


def test_as_of_must_be_a_time(demo_db: Database, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not a date or time"):
        _export(demo_db, tmp_path, as_of="yesterday")
    with pytest.raises(ValidationError, match="end of that day"):
        _export(demo_db, tmp_path, as_of=(clock.today() + timedelta(days=1)).isoformat())
    with pytest.raises(NotFound, match="did not exist"):  # the demo site was made today
        _export(demo_db, tmp_path, as_of=(clock.today() - timedelta(days=1)).isoformat())
