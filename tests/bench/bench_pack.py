"""Evidence pack figures, each beside its floor measured in the same run.

1. A site with 2,000 records and 20 twelve-megapixel photos: ``export_pack`` beside a
   bare ReportLab document holding the same table rows (plain strings where they fit,
   wrapping Paragraphs where they do not: the least a readable table needs) and the
   same 20 photos (embedded as they are, no scaling), no header, footer, contents,
   charts, flags or fonts to embed.
2. The site DEP-02 of ``demo --scale 20`` (about 1,500 records): the whole
   ``desktop-audit export-pack`` command (start, login, export) against 20 s, with the
   same bare floor beside it.

Each measurement runs in its own process (``python -m tests.bench.bench_pack ...``), so
its peak memory (max RSS) is its own.  Runs alternate pack / floor and the median of
REPEAT runs is reported.  The pack runs reuse one --as-of, so their files must be
byte-identical; the note says whether they were.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPEAT = int(os.environ.get("BENCH_PACK_REPEAT", "3"))
ROOT = Path(__file__).resolve().parents[2]
PHOTO_SIZE = (4000, 3000)  # 12 megapixels


# --------------------------------------------------------------------------- children


def _open(db_path: str, username: str) -> tuple[Any, Any]:
    from desktop_audit.domain import auth
    from desktop_audit.services import users
    from desktop_audit.store import open_database

    db = open_database(db_path)
    from desktop_audit import demo

    passwords = {demo.ADMIN[0]: demo.ADMIN[3], **{u[0]: u[4] for u in demo.USERS}}
    found = users.find_user(db, username)
    actor = auth.login(db, found["username"], passwords[found["username"]])
    return db, actor


def child_pack(db_path: str, site_id: str, out: str, as_of: str) -> dict[str, Any]:
    from desktop_audit.reports import export_pack

    db, actor = _open(db_path, "admin")
    started = time.perf_counter()
    result = export_pack(db, actor, site_id, out, as_of=as_of)
    seconds = time.perf_counter() - started
    db.close()
    return {"seconds": seconds, "pages": result.pages, "bytes": result.size, "sha256": result.sha256}


def _floor_tables(pack: Any) -> list[tuple[list[str], list[list[str]]]]:
    """The rows the pack prints, as plain text, section by section."""
    from desktop_audit.reports.evidence_pack import _changes_text

    def s(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, list):
            return ", ".join(str(x) for x in v)
        return str(v)

    def rows(records: list[dict[str, Any]], names: list[str]) -> tuple[list[str], list[list[str]]]:
        return ["ref", *names], [[pack.refs.get(r["objectId"], ""), *(s(r.get(n)) for n in names)]
                                 for r in records]

    out = [
        rows(pack.aspects, ["aspectCategory", "aspectDescription", "impact", "operatingCondition",
                            "likelihood", "severity", "riskRating", "thresholdApplied", "significant",
                            "obligationRefs", "controlMeasure", "actionStatus", "loggedAt"]),
        rows(pack.spill_kits, ["kitTag", "kitLocation", "lastCheckedAt", "inspectionStatus",
                               "sealStatus", "missingItems", "replenishmentNeeded", "checkedBy",
                               "notes"]),
        rows(pack.legal, ["requirementTitle", "requirementType", "jurisdiction", "reviewFrequency",
                          "lastEvaluatedAt", "dueDate", "complianceStatus", "owner", "evidenceNote"]),
        rows(pack.reviews, ["auditDate", "reviewStatus", "leadAuditor", "scope", "criteria",
                            "summaryNote"]),
        rows(pack.findings, ["severity", "logType", "sourceId", "description", "rootCause",
                             "correctiveAction", "actionOwner", "dueDate", "closed", "closedAt",
                             "verificationNote"]),
        (["at", "device", "actor", "action", "record", "changes", "hash"],
         [[e.at, f"{e.device_id} {e.seq}", e.actor_name, e.action, f"{e.record_class} {e.record_id}",
           _changes_text(e.changes), e.hash[:32]] for e in pack.trail]),
    ]
    return out


def child_floor(db_path: str, site_id: str, out: str, as_of: str, images: str = "scaled") -> dict[str, Any]:
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Image, LongTable, PageBreak, Paragraph, SimpleDocTemplate

    from desktop_audit.reports import SECTIONS, data
    from desktop_audit.schema import SITE
    from desktop_audit.services.evidence import blob_path
    from desktop_audit.store import rows

    db, actor = _open(db_path, "admin")
    site = rows.must_load(db, SITE, site_id)
    pack = data.gather(db, actor, site, as_of=as_of, period=data.Period(), review_id=None,
                       sections=frozenset(SECTIONS))
    tables = _floor_tables(pack)
    photos = [blob_path(db, e["sha256"], e["mimeType"]) for e in pack.evidence]
    db.close()
    if images == "scaled":  # the pack's print-size JPEGs, made before the clock starts
        from desktop_audit.reports.evidence_pack import PHOTO_BOX
        from desktop_audit.reports.photos import scale_for_print

        scaled = []
        for n, path in enumerate(photos):
            target = Path(out).with_name(f"{Path(out).stem}-photo{n}.jpg")
            target.write_bytes(scale_for_print(path, *PHOTO_BOX).data)
            scaled.append(target)
        photos = scaled
    from reportlab import rl_config

    rl_config.useA85 = 0  # the same stream setting as the pack

    started = time.perf_counter()
    style = getSampleStyleSheet()["BodyText"].clone("cell", fontSize=7, leading=8.5,
                                                    splitLongWords=0)
    page = landscape(A4)
    doc = SimpleDocTemplate(out, pagesize=page)
    story: list[Any] = []
    for headers, body in tables:
        # Columns shared by their average text length, never narrower than their longest
        # word (as a person laying the table out by hand would), then fitted to the page.
        mean = [max(6.0, sum(len(r[j]) for r in body) / max(1, len(body)))
                for j in range(len(headers))]
        longest = [max([len(w) for r in body[:200] for w in r[j].split()] + [len(headers[j])])
                   for j in range(len(headers))]
        widths = [max(doc.width * m / sum(mean), 4.2 * n + 12) for m, n in zip(mean, longest, strict=True)]
        widths = [w * doc.width / sum(widths) for w in widths]
        cells = [[c if len(c) * 7 <= w - 12 or stringWidth(c, "Helvetica", 7) <= w - 12
                  else Paragraph(escape(c), style) for c, w in zip(row, widths, strict=True)]
                 for row in body]
        story += [LongTable([headers, *cells], colWidths=widths, repeatRows=1), PageBreak()]
    for path in photos:
        story.append(Image(str(path), width=doc.width / 3, height=doc.width / 4))
    doc.build(story)
    seconds = time.perf_counter() - started
    rows = sum(len(body) for _, body in tables)
    return {"seconds": seconds, "rows": rows, "bytes": Path(out).stat().st_size}


def _spawn(args: list[str], env: dict[str, str]) -> tuple[str, str, float, float]:
    """Run a command; (stdout, stderr, wall seconds, peak RSS in MB of that process alone)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args[:4])} failed: {stderr.strip()[-2000:]}")
    return stdout, stderr, wall, usage.ru_maxrss / 1024


def _run_child(*args: str) -> tuple[dict[str, Any], float, float]:
    """(the child's JSON, its wall time, its peak RSS in MB)."""
    stdout, _, wall, rss = _spawn([sys.executable, "-m", "tests.bench.bench_pack", *args],
                                  dict(os.environ))
    return json.loads(stdout.strip().splitlines()[-1]), wall, rss


# --------------------------------------------------------------------------- set-up


def _photo(path: Path, n: int) -> None:
    from PIL import Image, ImageDraw

    w, h = PHOTO_SIZE
    sky = Image.linear_gradient("L").resize((w, h))
    noise = Image.effect_noise((w // 4, h // 4), 30 + n).resize((w, h))
    img = Image.merge("RGB", (sky, noise, sky.transpose(Image.Transpose.FLIP_TOP_BOTTOM)))
    draw = ImageDraw.Draw(img)
    draw.rectangle((300 + n * 150, 1200, 900 + n * 150, 2600), fill=(200, 40 + n * 9, 30))
    img.save(path, "JPEG", quality=88)


def _big_site(work: Path) -> tuple[Path, str, int]:
    """A database whose site BEN-01 holds 2,000 records and 20 photos."""
    from datetime import timedelta

    from desktop_audit import clock, demo, services
    from desktop_audit.domain import auth
    from desktop_audit.schema import USER
    from desktop_audit.services.unit_of_work import UnitOfWork
    from desktop_audit.store import open_database, rows

    db_path = work / "big.sqlite"
    db = open_database(db_path)
    admin = demo.first_run(db)
    admin = auth.actor_from_row(rows.must_load(db, USER, admin.id), admin.signer)
    users = {r["role"]: r["objectId"] for r in rows.select(db, USER)}
    sid = services.create_site(db, admin, siteCode="BEN-01", siteName="Benchmark Works – Ærøskøbing",
                               region="Syddanmark", siteOwner=users["manager"],
                               significanceThreshold=12)
    for role in ("coordinator", "auditor", "field_staff"):  # who the records name did the work
        user = rows.must_load(db, USER, users[role])
        services.assign_sites(db, admin, users[role], [*user["sites"], sid])
    admin = auth.actor_from_row(rows.must_load(db, USER, admin.id), admin.signer)
    now = clock.now()
    made: dict[str, list[str]] = {"aspects": [], "kits": [], "legal": [], "reviews": [], "findings": []}
    with db.atomic():
        u = UnitOfWork(db, admin, deferred=True)
        for i in range(500):
            made["aspects"].append(services.add_aspect(
                db, admin, uow=u, site=sid, aspectCategory=("waste", "energy_use", "emissions_to_air")[i % 3],
                aspectDescription=f"Process step {i}: solvent handling and transfer to the drum store",
                impact="VOC emissions and a risk of spills to unsealed ground", likelihood=1 + i % 5,
                severity=1 + (i // 5) % 5, actionStatus="open", loggedBy=users["auditor"],
                loggedAt=now - timedelta(days=1 + i % 300), controlMeasure="Bunded storage, weekly check",
                obligationRefs=["EPR-1"] if i % 17 == 0 else []))
        for kit in range(100):
            for month in range(7):
                bad = (kit + month) % 9 == 0
                made["kits"].append(services.add_spill_kit_check(
                    db, admin, uow=u, site=sid, kitTag=f"BK-{kit:03d}", kitLocation=f"Bay {kit % 12}",
                    lastCheckedAt=now - timedelta(days=30 * month + 1, hours=kit % 7),
                    inspectionStatus="fail" if bad else "pass",
                    sealStatus="broken" if bad else "intact",
                    missingItems=["absorbent pads", "gloves"] if bad else [],
                    checkedBy=users["field_staff"], notes="Monthly check"))
        today = clock.today()
        for i in range(200):
            made["legal"].append(services.add_legal_entry(
                db, admin, uow=u, site=sid, referenceCode=f"EPR-{i + 1}",
                requirementTitle=f"Permit condition {i + 1}: discharge limits and monitoring",
                requirementType="permit", jurisdiction="Denmark / EU", reviewFrequency="quarterly",
                dueDate=(today + timedelta(days=i - 30)).isoformat(),
                complianceStatus=("compliant", "non_compliant", "partially_compliant")[i % 3],
                owner=users["coordinator"], evidenceNote="Monitoring returns checked"))
        for i in range(100):
            made["reviews"].append(services.plan_review(
                db, admin, uow=u, site=sid, auditDate=(today - timedelta(days=3 * i)).isoformat(),
                scope="Aspects, spill response and legal compliance", criteria="ISO 14001:2015 6.1, 9.1.2",
                reviewStatus="completed", leadAuditor=users["auditor"], summaryNote="No major findings"))
        u.flush()
        for i in range(500):
            made["findings"].append(services.raise_finding(
                db, admin, uow=u, site=sid, logType="aspect", sourceId=made["aspects"][i],
                severity=("minor_nc", "observation", "major_nc", "opportunity")[i % 4],
                description=f"Finding {i}: drip tray missing under the transfer pump",
                correctiveAction="Fit a drip tray and add the pump to the weekly round",
                rootCause="Not on the inspection list", actionOwner=users["coordinator"],
                dueDate=(today + timedelta(days=i % 60 - 20)).isoformat(),
                review=made["reviews"][i % 100]))
        u.flush()
    records = sum(len(v) for v in made.values())
    photo_dir = work / "photos"
    photo_dir.mkdir()
    with db.atomic():
        for n in range(20):
            path = photo_dir / f"photo_{n:02d}.jpg"
            _photo(path, n)
            parent = ("AspectImpactLog", made["aspects"][n]) if n % 2 else ("AuditFinding",
                                                                          made["findings"][n])
            services.add_evidence(db, admin, parentClass=parent[0], parentId=parent[1], path=path,
                                  caption=f"Site photo {n + 1}")
    db.close()
    return db_path, sid, records


def _measure(report: Any, name: str, floor_name: str, db_path: Path, site_id: str, work: Path,
             note: str, *, originals: bool = True) -> None:
    from desktop_audit import clock

    as_of = clock.now_iso()
    packs, floors, rss_pack, rss_floor, shas = [], [], [], [], set()
    info: dict[str, Any] = {}
    for n in range(REPEAT):
        res, _, rss = _run_child("pack", str(db_path), site_id, str(work / f"pack{n}.pdf"), as_of)
        packs.append(res["seconds"])
        rss_pack.append(rss)
        shas.add(res["sha256"])
        info = res
        fl, _, rss = _run_child("floor", str(db_path), site_id, str(work / f"floor{n}.pdf"), as_of)
        floors.append(fl["seconds"])
        rss_floor.append(rss)
        info["rows"] = fl["rows"]
    same = "byte-identical" if len(shas) == 1 else f"{len(shas)} different files"
    report.add(name, statistics.median(packs), "s", floor_name=floor_name,
               floor_value=statistics.median(floors),
               note=(f"{note}; {info['rows']} table rows, {info['pages']} pages, "
                     f"{info['bytes'] / 1e6:.1f} MB; peak RSS {max(rss_pack):.0f} MB "
                     f"(floor {max(rss_floor):.0f} MB); {REPEAT} runs {same}"))
    if not originals:
        return
    orig, _, rss_orig = _run_child("floor", str(db_path), site_id, str(work / "floor-orig.pdf"), as_of,
                                   "originals")
    report.add(f"{floor_name}, photos embedded as taken", orig["seconds"], "s",
               note=f"for scale: {orig['bytes'] / 1e6:.0f} MB file, peak RSS {rss_orig:.0f} MB; "
                    "the pack prints photos at 200 dpi instead")


def _demo_scale_20(report: Any, work: Path) -> None:
    home = work / "home"
    env = dict(os.environ, DESKTOP_AUDIT_HOME=str(home))
    cli = [sys.executable, "-m", "desktop_audit"]
    subprocess.run([*cli, "demo", "--scale", "20"], env=env, check=True, capture_output=True,
                   timeout=1800)
    db_path = home / "audit.sqlite"
    import sqlite3

    con = sqlite3.connect(db_path)
    sid = con.execute('SELECT "objectId" FROM audit_site WHERE "siteCode" = ?', ("DEP-02",)).fetchone()[0]
    records = sum(con.execute(f'SELECT count(*) FROM "{t}" WHERE "site" = ?', (sid,)).fetchone()[0]
                  for t in ("aspect_impact_log", "spill_kit_log", "legal_register_entry",
                            "audit_review", "audit_finding"))
    con.close()
    walls, rss_all, pages = [], [], ""
    for n in range(REPEAT):
        out = work / f"demo{n}.pdf"
        stdout, _, wall, rss = _spawn([*cli, "--user", "coordinator", "export-pack", "--site",
                                       "DEP-02", "--out", str(out)],
                                      dict(env, DESKTOP_AUDIT_PASSWORD="coordinator-demo-2026"))
        walls.append(wall)
        rss_all.append(rss)
        pages = stdout.split(":")[1].split(",")[0].strip() if ":" in stdout else "?"
    report.add("export-pack, demo --scale 20 site DEP-02 (whole command)", statistics.median(walls),
               "s", note=f"limit 20 s; {records} records, {pages}; start, login (argon2id), "
                         f"export; peak RSS {max(rss_all):.0f} MB")
    _measure(report, "export_pack, demo --scale 20 site DEP-02",
             "bare ReportLab doc, same rows + print-size photos", db_path, sid, work,
             f"{records} records", originals=False)


def run(report: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-pack-") as tmp:
        work = Path(tmp)
        print("  building a site with 2,000 records and 20 photos of 12 MP ...", file=sys.stderr)
        db_path, site_id, records = _big_site(work)
        _measure(report, f"export_pack, {records} records + 20 photos (12 MP)",
                 "bare ReportLab doc, same rows + print-size photos", db_path, site_id, work,
                 "target within 2x of the floor")
        print("  demo --scale 20 ...", file=sys.stderr)
        _demo_scale_20(report, work)


if __name__ == "__main__":
    kind, *rest = sys.argv[1:]
    result = {"pack": child_pack, "floor": child_floor}[kind](*rest)
    print(json.dumps(result))
