"""The evidence pack: the PDF a coordinator hands to a certification auditor.

``export_pack`` is the one entry point (the CLI's ``export-pack`` and the app's
Export dialog both call it).  It reads the records as of one instant
(data.gather), lays them out with ReportLab in a single pass, writes the file
atomically and journals the export with the file's SHA-256.

Single pass: pages are kept on the canvas until the end (PackCanvas), so "Page N
of M", the contents page numbers and the outline are filled in once every page is
known, without laying the document out twice.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import PDFDate, PDFDictionary, PDFInfo, PDFName, PDFString
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    LongTable,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from desktop_audit import __version__, clock
from desktop_audit.errors import ValidationError
from desktop_audit.jobs import Control
from desktop_audit.records.findings import FINDINGS
from desktop_audit.reports import HEADS_KEY, charts, data, fonts, photos
from desktop_audit.reports.sections import PACK_TITLE, SECTION_CLAUSES, SECTION_TITLES, SECTIONS  # noqa: F401
from desktop_audit.schema import (
    ASPECT,
    BY_NAME,
    EVIDENCE,
    FINDING,
    LEGAL,
    REVIEW,
    SEVERITIES,
    SITE,
    SPILL_KIT,
    TRAIL,
    ClassDef,
)
from desktop_audit.store import codec

if TYPE_CHECKING:
    from desktop_audit.domain.actor import Actor
    from desktop_audit.store.db import Database

# The optional sections, in pack order (cover and contents are always there).

PAGE = landscape(A4)
MARGIN = 15 * mm
HEADER_H = 13 * mm
FOOTER_H = 11 * mm
FRAME_W = PAGE[0] - 2 * MARGIN
PHOTO_COLUMNS = 3
PHOTO_BOX = (FRAME_W / PHOTO_COLUMNS - 12, 58 * mm)

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
HEAD_BG = colors.HexColor("#243b53")
ZEBRA = colors.HexColor("#f5f7fa")
FLAG_RED = colors.HexColor("#fde2e1")
FLAG_AMBER = colors.HexColor("#fff1d6")
RED_TEXT = "#b42318"
GREEN_TEXT = "#1e7b34"
INK_HEX = "#1f2933"
AMBER_TEXT = "#9a5b00"



@dataclass
class PackResult:
    path: Path
    sha256: str
    pages: int
    size: int
    as_of: str
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- styles


def _styles() -> dict[str, ParagraphStyle]:
    fonts.register()
    base = ParagraphStyle("base", fontName=fonts.REGULAR, fontSize=9, leading=11.5, textColor=INK)
    cell = ParagraphStyle("cell", parent=base, fontSize=7.2, leading=8.6)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED),
        "cell": cell,
        "cell_bold": ParagraphStyle("cell_bold", parent=cell, fontName=fonts.BOLD),
        "cell_head": ParagraphStyle("cell_head", parent=cell, fontName=fonts.BOLD,
                                    textColor=colors.white),
        "cell_num": ParagraphStyle("cell_num", parent=cell, alignment=TA_RIGHT),
        "mono": ParagraphStyle("mono", parent=cell, fontSize=5.6, leading=7.2, textColor=MUTED),
        "h1": ParagraphStyle("h1", parent=base, fontName=fonts.BOLD, fontSize=15, leading=19,
                             spaceAfter=3),
        "h2": ParagraphStyle("h2", parent=base, fontName=fonts.BOLD, fontSize=10.5, leading=13,
                             spaceBefore=8, spaceAfter=4),
        "intro": ParagraphStyle("intro", parent=base, fontSize=8.5, leading=11, textColor=MUTED,
                                spaceAfter=6),
        "title": ParagraphStyle("title", parent=base, fontName=fonts.BOLD, fontSize=26,
                                leading=31),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=13, leading=17,
                                   textColor=MUTED),
        "site": ParagraphStyle("site", parent=base, fontName=fonts.BOLD, fontSize=20, leading=25,
                               spaceBefore=14),
        "status": ParagraphStyle("status", parent=base, fontName=fonts.BOLD, fontSize=11,
                                 leading=14, alignment=TA_CENTER),
        "empty": ParagraphStyle("empty", parent=base, fontName=fonts.OBLIQUE, textColor=MUTED,
                                spaceBefore=4),
        "warn": ParagraphStyle("warn", parent=base, fontSize=8.5, leading=11,
                               textColor=colors.HexColor(RED_TEXT)),
    }


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)) if text not in (None, "") else "", style)


def _label(cdef: ClassDef, name: str) -> str:
    return cdef.get(name).label


def _words(value: Any) -> str:
    return str(value).replace("_", " ") if value not in (None, "") else ""


def _local(iso: str | None, *, seconds: bool = False) -> str:
    if not iso:
        return ""
    try:
        dt = clock.parse_iso(iso).astimezone()
    except ValueError:
        return str(iso)
    return dt.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _zone(iso: str) -> str:
    dt = clock.parse_iso(iso).astimezone()
    offset = dt.strftime("%z")
    return "UTC" if offset in ("+0000", "") else f"UTC{offset[:3]}:{offset[3:]}"


def _stamp(iso: str) -> str:
    return f"{_local(iso, seconds=True)} {_zone(iso)}"


# --------------------------------------------------------------------------- the canvas


@dataclass
class _Mark:
    page: int
    key: str
    title: str
    level: int
    top: float


class PackCanvas(Canvas):
    """Keeps every page until save(), then draws what needs the whole document: the footer's
    "Page N of M", the contents page and the outline."""

    pack: _Layout  # set by the doc template before the first page

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept: list[dict[str, Any]] = []
        self.marks: list[_Mark] = []

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._kept.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._kept)
        layout = self.pack
        for state in self._kept:
            self.__dict__.update(state)
            page = self._pageNumber
            for mark in self.marks:
                if mark.page == page:
                    self.bookmarkPage(mark.key, fit="XYZ", left=0, top=mark.top)
                    self.addOutlineEntry(mark.title, mark.key, level=mark.level,
                                         closed=mark.level > 0)
            layout.finish_page(self, page, total)
            super().showPage()
        layout.total_pages = total
        super().save()


class _Heading(Paragraph):
    """A section or sub-section title that becomes an outline entry (and a contents line)."""

    def __init__(self, text: str, style: ParagraphStyle, key: str, level: int,
                 outline_title: str | None = None) -> None:
        super().__init__(escape(text), style)
        self.key = key
        self.level = level
        self.outline_title = outline_title or text

    def draw(self) -> None:
        super().draw()
        canv = self.canv
        if isinstance(canv, PackCanvas):
            _, top = canv.absolutePosition(0, self.height)
            canv.marks.append(_Mark(canv.getPageNumber(), self.key, self.outline_title,
                                    self.level, top + 6))


class _ContentsPlaceholder(Flowable):
    """Holds the contents page's space; PackCanvas writes the lines once pages are known."""

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        self.width, self.height = availWidth, availHeight - 1
        return self.width, self.height

    def draw(self) -> None:
        canv = self.canv
        if isinstance(canv, PackCanvas):
            canv.pack.contents_page = canv.getPageNumber()
            _, canv.pack.contents_top = canv.absolutePosition(0, self.height)


# --------------------------------------------------------------------------- layout


class _Layout:
    """Page decoration (header, footer, watermark, contents) for one pack."""

    def __init__(self, pack: data.PackData, titles: list[tuple[str, str]]) -> None:
        self.pack = pack
        self.titles = titles  # (key, numbered title) in pack order
        self.contents_page = 0
        self.contents_top = 0.0
        self.total_pages = 0
        site = pack.site
        self.site_line = f"{site.get('siteName')} ({site.get('siteCode')})"
        self.period = pack.period.describe()
        self.generated = _stamp(pack.as_of)

    def on_page(self, canv: Canvas, _doc: Any) -> None:
        w, h = PAGE
        canv.saveState()
        if not self.pack.approved:
            canv.setFillColor(colors.Color(0.75, 0.1, 0.1, alpha=0.07))
            canv.setFont(fonts.BOLD, 150)
            canv.translate(w / 2, h / 2 - 40)
            canv.rotate(28)
            canv.drawCentredString(0, 0, "DRAFT")
        canv.restoreState()
        canv.saveState()
        y = h - MARGIN + 2
        canv.setFillColor(INK)
        canv.setFont(fonts.BOLD, 8.5)
        canv.drawString(MARGIN, y, self.site_line)
        canv.setFont(fonts.REGULAR, 8.5)
        canv.drawRightString(w - MARGIN, y, f"{PACK_TITLE} · period: {self.period}")
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.6)
        canv.line(MARGIN, y - 4, w - MARGIN, y - 4)
        canv.restoreState()

    def finish_page(self, canv: Canvas, page: int, total: int) -> None:
        w, _ = PAGE
        canv.saveState()
        y = MARGIN - 8
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.6)
        canv.line(MARGIN, y + 10, w - MARGIN, y + 10)
        canv.setFillColor(MUTED)
        canv.setFont(fonts.REGULAR, 7.5)
        canv.drawString(MARGIN, y, f"Generated {self.generated} · records as of that time")
        status = "FINAL: review approved" if self.pack.approved else "DRAFT: review not approved"
        canv.drawCentredString(w / 2, y, status)
        canv.setFillColor(INK)
        canv.setFont(fonts.BOLD, 8)
        canv.drawRightString(w - MARGIN, y, f"Page {page} of {total}")
        canv.restoreState()
        if page == self.contents_page:
            self._draw_contents(canv)

    def _draw_contents(self, canv: Canvas) -> None:
        assert isinstance(canv, PackCanvas)
        first = {m.key: m.page for m in canv.marks}
        x0, x1 = MARGIN + 20, MARGIN + FRAME_W * 0.62
        y = self.contents_top - 14
        for key, title in self.titles:
            page = first.get(key)
            if key in ("cover", "contents"):
                continue
            if page is None:
                continue
            canv.setFillColor(INK)
            canv.setFont(fonts.REGULAR, 11)
            canv.drawString(x0, y, title)
            canv.drawRightString(x1, y, str(page))
            tw = canv.stringWidth(title, fonts.REGULAR, 11)
            pw = canv.stringWidth(str(page), fonts.REGULAR, 11)
            canv.setStrokeColor(RULE)
            canv.setDash(1, 2)
            canv.line(x0 + tw + 6, y + 1, x1 - pw - 6, y + 1)
            canv.setDash()
            canv.linkRect("", key, (x0, y - 3, x1, y + 11), relative=0, thickness=0)
            y -= 22


# HEADS_KEY: the document information key holding the chain heads a pack was built on (JSON:
# [[chain, seq, hash], ...]); verify-trail --pack reads it back.


class _PackInfo(PDFInfo):
    """ReportLab's document information with the pack's chain heads beside it."""

    heads = "[]"

    def format(self, document: Any) -> bytes:
        d = {"Title": PDFString(self.title), "Author": PDFString(self.author),
             "Producer": PDFString(self.producer), "Creator": PDFString(self.creator),
             "Subject": PDFString(self.subject), "Keywords": PDFString(self.keywords),
             HEADS_KEY: PDFString(self.heads), "Trapped": PDFName(self.trapped)}
        d["ModDate"] = d["CreationDate"] = PDFDate(ts=document._timeStamp,
                                                   dateFormatter=self._dateFormatter)
        return bytes(PDFDictionary(d).format(document))


class _Doc(BaseDocTemplate):
    def __init__(self, buf: io.BytesIO, layout: _Layout, *, meta: dict[str, str],
                 progress: Callable[[str, int], None]) -> None:
        super().__init__(buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                         topMargin=MARGIN + HEADER_H - 4 * mm, bottomMargin=MARGIN + FOOTER_H - 4 * mm,
                         invariant=1, title=meta["title"], author=meta["author"],
                         subject=meta["subject"], keywords=meta["keywords"],
                         creator=meta["creator"], producer=meta["creator"],
                         initialFontName=fonts.REGULAR, initialFontSize=9, initialLeading=11)
        self.layout = layout
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate("page", [frame], onPage=layout.on_page)])
        self.setProgressCallBack(progress)
        self._date = meta["date"]
        self._heads = meta.get("heads", "[]")

    def build(self, flowables: list[Flowable]) -> None:  # type: ignore[override]
        layout = self.layout
        pdf_date = self._date
        heads = self._heads

        def make(*args: Any, **kwargs: Any) -> PackCanvas:
            canv = PackCanvas(*args, **kwargs)
            info = _PackInfo()
            info.__dict__.update(canv._doc.info.__dict__)
            info.heads = heads
            canv._doc.info = info
            canv.pack = layout
            canv.setDateFormatter(lambda *_: pdf_date)
            return canv

        super().build(flowables, canvasmaker=make)


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Flag:
    """A table cell in bold colour (SIGNIFICANT, FAIL, OVERDUE, ...); may hold line breaks."""

    text: str
    color: str = RED_TEXT


class _RefCell(Flowable):
    """The pack reference (A3, F12) in bold over the record's objectId in small grey."""

    def __init__(self, ref: str, object_id: str) -> None:
        super().__init__()
        self.ref, self.object_id = ref, object_id

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        self.width, self.height = availWidth, 15.0
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        c.setFillColor(INK)
        c.setFont(fonts.BOLD, CELL_SIZE)
        c.drawString(0, self.height - CELL_SIZE + 0.6, self.ref)
        c.setFillColor(MUTED)
        c.setFont(fonts.REGULAR, 5.5)
        c.drawString(0, 0.5, self.object_id)


CELL_SIZE = 7.2
CELL_LEADING = 8.6
CELL_PAD = 3.0


def _fits(text: str, avail: float, font: str) -> bool:
    for line in text.split("\n"):
        # A cheap bound first: no glyph of DejaVu Sans is wider than 1 em.
        if len(line) * CELL_SIZE > avail and stringWidth(line, font, CELL_SIZE) > avail:
            return False
    return True


def _table(headers: Sequence[str], rows: list[list[Any]], widths: Sequence[float], st: dict[str, Any],
           *, flags: Iterable[tuple[int, colors.Color]] = (), numeric: Sequence[int] = ()) -> Table:
    """A long table: bold header repeated on every page, zebra rows, flagged rows tinted.

    Cells are plain strings where they fit on their lines (drawn directly, the cheap path)
    and become wrapping Paragraphs only when they do not; ``Flag`` cells are bold and
    coloured; flowables (``_RefCell``, Paragraph) are kept as they are.
    """
    scale = FRAME_W / sum(widths)
    widths = [w * scale for w in widths]
    avail = [w - 2 * CELL_PAD for w in widths]
    head = [Paragraph(escape(h), st["cell_head"]) for h in headers]
    style: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTSIZE", (0, 0), (-1, -1), CELL_SIZE),
        ("LEADING", (0, 0), (-1, -1), CELL_LEADING),
        ("TEXTCOLOR", (0, 1), (-1, -1), INK),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, ZEBRA]),
    ]
    cell = st["cell"]
    for i, row in enumerate(rows, 1):
        for j, value in enumerate(row):
            if isinstance(value, Flag):
                if _fits(value.text, avail[j], fonts.BOLD):
                    row[j] = value.text
                    style += [("FONTNAME", (j, i), (j, i), fonts.BOLD),
                              ("TEXTCOLOR", (j, i), (j, i), colors.HexColor(value.color))]
                else:
                    row[j] = Paragraph(_flag(value.text, value.color).replace("\n", "<br/>"), cell)
            elif isinstance(value, str):
                if value and not _fits(value, avail[j], fonts.REGULAR):
                    row[j] = Paragraph(escape(value).replace("\n", "<br/>"), cell)
            elif value is None:
                row[j] = ""
            elif not isinstance(value, Flowable):
                row[j] = str(value)
    for col in numeric:
        style.append(("ALIGN", (col, 1), (col, -1), "RIGHT"))
    for row_index, tint in flags:
        style.append(("BACKGROUND", (0, row_index + 1), (-1, row_index + 1), tint))
    table = LongTable([head, *rows], colWidths=widths, repeatRows=1, splitInRow=1)
    table.setStyle(_tstyle(style))
    return table


def _tstyle(commands: list[tuple[Any, ...]]) -> TableStyle:
    """A table style whose plain-text cells use the embedded font (never a base-14 font)."""
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), fonts.REGULAR), *commands])


def _flag(text: str, color: str = RED_TEXT) -> str:
    return f'<font name="{fonts.BOLD}" color="{color}">{escape(text)}</font>'


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _when(iso: str | None) -> str:
    """A local time on two short lines (date, then time), as narrow table columns want."""
    return _local(iso).replace(" ", "\n")


class _Builder:
    """Turns PackData into flowables, one section at a time."""

    def __init__(self, pack: data.PackData, sections: Sequence[str], db: Database,
                 check: Callable[[], None], step: Callable[[float, str], None]) -> None:
        self.pack = pack
        self.sections = list(sections)
        self.db = db
        self.check = check
        self.step = step
        self.st = _styles()
        self.warnings: list[str] = []
        self.numbered: list[tuple[str, str]] = []
        self.images: dict[str, photos.Scaled | None] = {}

    def title_of(self, key: str) -> str:
        return dict(self.numbered)[key]

    def build(self) -> list[Flowable]:
        n = 1
        self.numbered = [("contents", "Contents")]
        for key in self.sections:
            self.numbered.append((key, f"{n} {SECTION_TITLES[key]}"))
            n += 1
        out: list[Flowable] = []
        out += self.cover()
        out += [PageBreak(), _Heading("Contents", self.st["h1"], "contents", 0), _ContentsPlaceholder()]
        # Photos are scaled first so that a missing file's warning can be listed in the summary.
        photo_flow = self.photos() if "photos" in self.sections else []
        for i, key in enumerate(self.sections):
            self.check()
            self.step(0.15 + 0.15 * i / max(1, len(self.sections)), SECTION_TITLES[key])
            body = photo_flow if key == "photos" else getattr(self, key)()
            heading = _Heading(self.title_of(key), self.st["h1"], key, 0)
            clause = SECTION_CLAUSES.get(key)
            out += [PageBreak(), heading]
            if clause:
                out.append(_p(clause, self.st["small"]))
            out += body
        return out

    # ----------------------------------------------------------------- cover

    def cover(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        site = pack.site
        review = pack.review
        if review:
            review_text = (f"{review.get('auditDate')} · {_words(review.get('reviewStatus'))} · "
                           f"lead auditor {pack.user_display(review.get('leadAuditor'))}"
                           + (f" · scope: {review.get('scope')}" if review.get("scope") else "")
                           + f" · id {review['objectId']}")
        else:
            review_text = "none chosen: the pack is a draft until it belongs to an approved review"
        sync = (f"{_stamp(pack.last_sync)}" if pack.last_sync else
                "never synced: these are the records held on this computer")
        unsynced = (f"{pack.unsynced} record{'s' * (pack.unsynced != 1)} changed on this computer "
                    "and not yet synced" if pack.unsynced else "none")
        rows = [
            ("Site", f"{site.get('siteName')} ({site.get('siteCode')})"),
            ("Region", site.get("region") or ""),
            ("Location", site.get("locationNote") or ""),
            ("Site owner", pack.user_display(site.get("siteOwner"))),
            ("Significance threshold", f"risk rating ≥ {pack.threshold} (likelihood × severity)"),
            ("Period", pack.period.describe()),
            ("Audit review", review_text),
            ("Prepared by", pack.user_display(pack.prepared_by.id) or pack.prepared_by.display),
            ("Generated at", f"{_stamp(pack.as_of)} (all records as they stood at that time)"),
            ("Data as of last sync", sync),
            ("Changes not yet synced", unsynced),
        ]
        label = ParagraphStyle("cover_label", parent=st["base"], fontName=fonts.BOLD, fontSize=8.5,
                               textColor=MUTED)
        table = Table([[_p(k, label), _p(v, st["base"])] for k, v in rows],
                      colWidths=[55 * mm, FRAME_W - 55 * mm - 40 * mm], hAlign="LEFT")
        table.setStyle(_tstyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 3.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
            ("LEFTPADDING", (0, 0), (0, -1), 0),
        ]))
        if pack.approved:
            status = _p("FINAL: the audit review this pack belongs to is approved", st["status"])
            tint = colors.HexColor("#e3f4e4")
        else:
            status = _p("DRAFT: not yet belonging to an approved audit review", st["status"])
            tint = FLAG_RED
        badge = Table([[status]], colWidths=[FRAME_W - 40 * mm], hAlign="LEFT")
        badge.setStyle(_tstyle([("BACKGROUND", (0, 0), (-1, -1), tint),
                                   ("TOPPADDING", (0, 0), (-1, -1), 6),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
        return [Spacer(1, 6 * mm), _p("Environmental management system", st["subtitle"]),
                _Heading("Evidence pack", st["title"], "cover", 0, "Cover"),
                _p("ISO 14001:2015 · clauses 6.1.2, 6.1.3, 9.1.2, 9.2, 10.2", st["subtitle"]),
                _p(f"{site.get('siteName')}", st["site"]), Spacer(1, 5 * mm), table,
                Spacer(1, 6 * mm), badge, Spacer(1, 4 * mm),
                _p("Checking this file: when it was written, its SHA-256 was journaled in the "
                   "site's hash-chained audit trail as an export event (desktop-audit history "
                   f"AuditSite {site['objectId']}). Exported again with the same generation time, "
                   "the same records give a byte-identical file.",
                   ParagraphStyle("cover_note", parent=st["small"], rightIndent=40 * mm))]

    # ----------------------------------------------------------------- summary

    def summary(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        today = pack.today
        sig = sum(1 for a in pack.aspects if a.get("significant"))
        fails = sum(1 for k in pack.spill_kits if k.get("inspectionStatus") == "fail")
        refill = sum(1 for k in pack.spill_kits if k.get("replenishmentNeeded"))
        overdue = sum(1 for e in pack.legal if _legal_overdue(e, today))
        noncomp = sum(1 for e in pack.legal if e.get("complianceStatus") == "non_compliant")
        open_f = [f for f in pack.findings if not f.get("closed")]
        late_f = sum(1 for f in open_f if FINDINGS.is_overdue(f, today))
        major = sum(1 for f in open_f if f.get("severity") == "major_nc")
        photos_n = len(pack.evidence)
        col = FRAME_W / 2 - 12
        counts: list[tuple[str, int | str, str]] = [
            ("Aspects in the register", len(pack.aspects), f"{sig} significant"),
            ("Spill kit inspections in the period", len(pack.spill_kits),
             f"{fails} failed · {refill} needing replenishment"),
            ("Legal register entries", len(pack.legal), f"{overdue} overdue · {noncomp} non-compliant"),
            ("Audit reviews", len(pack.reviews), ""),
            ("Findings", len(pack.findings), f"{len(open_f)} open · {late_f} past due · "
                                             f"{major} open major"),
            ("Photos", photos_n, f"{len(self.warnings)} missing" if self.warnings else ""),
            ("Audit trail events in the period", len(pack.trail), self._chain_word()),
        ]
        left_out = {"Photos": "photos", "Audit trail events in the period": "trail"}
        counts = [(a, "–", "section not included in this pack") if left_out.get(a, "summary")
                  not in self.sections else (a, b, c) for a, b, c in counts]
        table = Table([[_p("Record", st["cell_head"]), _p("Count", st["cell_head"]),
                        _p("Of which", st["cell_head"])]]
                      + [[_p(a, st["cell"]), _p(b, st["cell_num"]), _p(c, st["cell"])]
                         for a, b, c in counts],
                      colWidths=[col * 0.42, col * 0.12, col * 0.46], hAlign="LEFT")
        table.setStyle(_tstyle([("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        sev_rows = []
        for sev in SEVERITIES:
            rows = [f for f in pack.findings if f.get("severity") == sev]
            sev_rows.append((_words(sev).replace("nc", "NC"),
                             (sum(1 for f in rows if not f.get("closed")),
                              sum(1 for f in rows if f.get("closed")))))
        findings_chart = charts.stacked_bars("Findings by severity and state", sev_rows,
                                             ("open", "closed"), (charts.OPEN, charts.CLOSED), col)
        comp = Counter(e.get("complianceStatus") for e in pack.legal)
        legal_chart = charts.stacked_bars(
            "Legal register by compliance status",
            [(_words(s), (comp.get(s, 0),)) for s in LEGAL.get("complianceStatus").choices],
            ("entries",), (charts.BAR,), col)
        cells = Counter((int(a.get("likelihood") or 0), int(a.get("severity") or 0))
                        for a in pack.aspects)
        heat = charts.heat_map(dict(cells), pack.threshold, col)
        grid = Table([[table, heat], [findings_chart, legal_chart]], colWidths=[col + 24, col])
        grid.setStyle(_tstyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                  ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                  ("BOTTOMPADDING", (0, 0), (-1, -1), 10)]))
        out: list[Flowable] = [Spacer(1, 3 * mm), grid]
        empty = not (pack.aspects or pack.spill_kits or pack.legal or pack.reviews or pack.findings)
        if empty:
            out.append(_p("No records fall within this period for this site: the pack is complete "
                          "but empty.", st["empty"]))
        if self.warnings:
            out.append(_p("Warnings", st["h2"]))
            out += [_p(w, st["warn"]) for w in self.warnings]
        return out

    def _chain_word(self) -> str:
        chains = self.pack.chains
        if not chains:
            return ""
        bad = [c for c in chains if c.problem]
        return "hash chain BROKEN" if bad else "hash chains verified intact"

    # ----------------------------------------------------------------- registers

    def _intro(self, text: str) -> Paragraph:
        return _p(text, self.st["intro"])

    def _empty(self, what: str) -> list[Flowable]:
        return [_p(f"No {what} for this site in this period.", self.st["empty"])]

    def _ref_cell(self, object_id: str) -> _RefCell:
        return _RefCell(self.pack.refs.get(object_id, ""), object_id)

    def aspects(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        intro = self._intro(
            f"Every aspect recorded for the site up to the end of the period, highest risk rating "
            f"first. Risk rating = likelihood (L) × severity (S). An aspect is significant when its "
            f"rating is at or above the threshold applied (Thr.) when it was rated (the site's "
            f"threshold now: {pack.threshold}), or when it is tied to a compliance obligation. "
            f"Significant aspects are shaded and marked SIGNIFICANT.")
        if not pack.aspects:
            return [intro, *self._empty("aspects")]
        a = ASPECT
        headers = ["Ref", _label(a, "aspectCategory"), _label(a, "aspectDescription"),
                   _label(a, "impact"), "Condition", "L", "S", _label(a, "riskRating"),
                   "Thr.", _label(a, "significant"), _label(a, "obligationRefs"),
                   _label(a, "controlMeasure"), _label(a, "actionStatus"), _label(a, "loggedAt")]
        rows: list[list[Any]] = []
        flags = []
        for i, r in enumerate(pack.aspects):
            sig = bool(r.get("significant"))
            why = []
            if sig and (r.get("riskRating") or 0) >= (r.get("thresholdApplied") or 99):
                why.append("rating")
            if r.get("obligationRefs"):
                why.append("obligation")
            rows.append([
                self._ref_cell(r["objectId"]), _words(r.get("aspectCategory")),
                _s(r.get("aspectDescription")), _s(r.get("impact")),
                _words(r.get("operatingCondition")), _s(r.get("likelihood")), _s(r.get("severity")),
                f"{_s(r.get('riskRating'))} {_words(r.get('impactRating'))}",
                _s(r.get("thresholdApplied")),
                Flag("SIGNIFICANT" + (f"\n({', '.join(why)})" if why else "")) if sig else "no",
                ", ".join(r.get("obligationRefs") or []), _s(r.get("controlMeasure")),
                _words(r.get("actionStatus")), _when(r.get("loggedAt")),
            ])
            if sig:
                flags.append((i, FLAG_RED))
            if i % 200 == 199:
                self.check()
        widths = [44, 56, 100, 88, 50, 14, 14, 44, 30, 66, 56, 92, 46, 52]
        return [intro, _table(headers, rows, widths, st, flags=flags)]

    def spill_kits(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        intro = self._intro(
            "Every spill kit inspection in the period, by kit and date. Failed inspections are "
            "shaded red; inspections that found missing items or a seal not intact "
            "(replenishment needed) are shaded amber. The latest inspection of each kit is listed "
            "first.")
        if not pack.spill_kits:
            return [intro, *self._empty("spill kit inspections")]
        k = SPILL_KIT
        latest: dict[str, dict[str, Any]] = {}
        for r in pack.spill_kits:
            tag = str(r.get("kitTag"))
            if tag not in latest or (r.get("lastCheckedAt") or "") > (latest[tag].get("lastCheckedAt") or ""):
                latest[tag] = r
        status_rows: list[list[Any]] = []
        status_flags = []
        for i, (tag, r) in enumerate(sorted(latest.items())):
            status, tint = self._kit_status(r)
            status_rows.append([Flag(tag, INK_HEX), _s(r.get("kitLocation")),
                                _local(r.get("lastCheckedAt")), status,
                                ", ".join(r.get("missingItems") or []),
                                _s(pack.refs.get(r["objectId"]))])
            if tint is not None:
                status_flags.append((i, tint))
        summary = _table(["Kit", _label(k, "kitLocation"), "Latest inspection", "Result",
                          _label(k, "missingItems"), "Ref"], status_rows,
                         [50, 110, 70, 150, 190, 40], st, flags=status_flags)
        headers = ["Ref", _label(k, "kitTag"), _label(k, "kitLocation"), _label(k, "lastCheckedAt"),
                   _label(k, "inspectionStatus"), _label(k, "sealStatus"), _label(k, "missingItems"),
                   _label(k, "replenishmentNeeded"), _label(k, "checkedBy"), _label(k, "notes")]
        rows: list[list[Any]] = []
        flags = []
        for i, r in enumerate(pack.spill_kits):
            result, tint = self._kit_status(r, short=True)
            seal = r.get("sealStatus")
            rows.append([
                self._ref_cell(r["objectId"]), _s(r.get("kitTag")), _s(r.get("kitLocation")),
                _when(r.get("lastCheckedAt")), result,
                Flag(_words(seal).upper(), AMBER_TEXT) if seal not in (None, "intact") else "intact",
                ", ".join(r.get("missingItems") or []),
                Flag("REPLENISH", AMBER_TEXT) if r.get("replenishmentNeeded") else "no",
                pack.user_name(r.get("checkedBy")), _s(r.get("notes")),
            ])
            if tint is not None:
                flags.append((i, tint))
            if i % 200 == 199:
                self.check()
        widths = [44, 44, 80, 52, 74, 44, 106, 68, 66, 112]
        return [intro, _p("Kits at the end of the period", st["h2"]), summary,
                _p("All inspections", st["h2"]), _table(headers, rows, widths, st, flags=flags)]

    def _kit_status(self, r: dict[str, Any], *, short: bool = False) -> tuple[Any, colors.Color | None]:
        status = r.get("inspectionStatus")
        refill = bool(r.get("replenishmentNeeded")) and not short
        if status == "fail":
            return Flag("FAIL" + (" · REPLENISH" if refill else "")), FLAG_RED
        if status == "needs_attention":
            return Flag("NEEDS ATTENTION" + (" · REPLENISH" if refill else ""), AMBER_TEXT), FLAG_AMBER
        if r.get("replenishmentNeeded"):
            return Flag("pass · REPLENISH" if refill else "pass", AMBER_TEXT), FLAG_AMBER
        return "pass", None

    def legal(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        intro = self._intro(
            f"The register of compliance obligations as it stood on {pack.today.isoformat()} "
            f"(the generation date). An evaluation is OVERDUE when its next due date is in the "
            f"past. Non-compliant entries are shaded red; overdue, partially compliant and never "
            f"assessed ones amber.")
        if not pack.legal:
            return [intro, *self._empty("legal register entries")]
        lg = LEGAL
        headers = [_label(lg, "referenceCode"), _label(lg, "requirementTitle"),
                   _label(lg, "requirementType"), _label(lg, "jurisdiction"),
                   _label(lg, "reviewFrequency"), _label(lg, "lastEvaluatedAt"),
                   _label(lg, "dueDate"), _label(lg, "complianceStatus"), "Flags",
                   _label(lg, "owner"), _label(lg, "evidenceNote")]
        rows: list[list[Any]] = []
        flags = []
        for i, e in enumerate(pack.legal):
            marks = []
            status = e.get("complianceStatus")
            tint = None
            color = RED_TEXT
            if status == "non_compliant":
                marks.append("NON-COMPLIANT")
                tint = FLAG_RED
            elif status == "partially_compliant":
                marks.append("PARTIAL")
                tint, color = FLAG_AMBER, AMBER_TEXT
            elif status in (None, "not_assessed"):
                marks.append("NOT ASSESSED")
                tint, color = FLAG_AMBER, AMBER_TEXT
            if _legal_overdue(e, pack.today):
                marks.append("OVERDUE")
                tint = tint or FLAG_AMBER
                color = RED_TEXT
            rows.append([
                _RefCell(str(e.get("referenceCode") or ""), e["objectId"]),
                _s(e.get("requirementTitle")), _words(e.get("requirementType")),
                _s(e.get("jurisdiction")), _words(e.get("reviewFrequency")),
                e.get("lastEvaluatedAt") or "never", _s(e.get("dueDate")), _words(status),
                Flag("\n".join(marks), color) if marks else "",
                pack.user_name(e.get("owner")), _s(e.get("evidenceNote")),
            ])
            if tint is not None:
                flags.append((i, tint))
        widths = [84, 116, 52, 62, 50, 52, 52, 60, 78, 58, 100]
        return [intro, _table(headers, rows, widths, st, flags=flags)]

    def reviews(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        intro = self._intro("Internal audits (ISO 14001 9.2) dated within the period"
                            + (", and the review this pack belongs to" if pack.review else "")
                            + ": scope, criteria, lead auditor, status and outcome.")
        if not pack.reviews:
            return [intro, *self._empty("audit reviews")]
        rv = REVIEW
        per_review = Counter(f.get("review") for f in pack.findings)
        headers = ["Ref", _label(rv, "auditDate"), _label(rv, "reviewStatus"),
                   _label(rv, "leadAuditor"), _label(rv, "scope"), _label(rv, "criteria"),
                   _label(rv, "summaryNote"), "Findings"]
        rows: list[list[Any]] = []
        flags = []
        for i, r in enumerate(pack.reviews):
            this = pack.review is not None and r["objectId"] == pack.review["objectId"]
            status = _words(r.get("reviewStatus"))
            rows.append([self._ref_cell(r["objectId"]), _s(r.get("auditDate")),
                         Flag("APPROVED", GREEN_TEXT) if status == "approved" else status,
                         pack.user_display(r.get("leadAuditor")), _s(r.get("scope")),
                         _s(r.get("criteria")),
                         (r.get("summaryNote") or "") + (" [this pack's review]" if this else ""),
                         str(per_review.get(r["objectId"], 0))])
            if this:
                flags.append((i, colors.HexColor("#e6f0fa")))
        widths = [44, 50, 56, 90, 140, 130, 186, 48]
        return [intro, _table(headers, rows, widths, st, flags=flags, numeric=(7,))]

    def findings(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        intro = self._intro(
            "Findings raised in the period, and earlier findings still open (marked "
            "'carried over'), open ones first, then by severity. Major nonconformities and open "
            "findings past their due date are shaded red, other open nonconformities amber. "
            "Closing needs a corrective action, a root cause for nonconformities and a "
            "verification of effectiveness.")
        if not pack.findings:
            return [intro, *self._empty("findings")]
        fd = FINDING
        headers = ["Ref", _label(fd, "severity"), _label(fd, "logType"), _label(fd, "description"),
                   _label(fd, "rootCause"), _label(fd, "correctiveAction"), _label(fd, "actionOwner"),
                   f"{_label(fd, 'dueDate')} / raised", "State",
                   "Closing and " + _label(fd, "verificationNote").lower()]
        rows: list[list[Any]] = []
        flags = []
        for i, f in enumerate(pack.findings):
            sev = f.get("severity") or ""
            closed = bool(f.get("closed"))
            late = FINDINGS.is_overdue(f, pack.today)
            state: Any = "closed"
            if not closed:
                state = Flag("OPEN" + ("\nPAST DUE" if late else ""))
            if f.get("_carried"):
                state = Flag("OPEN\ncarried over" + ("\nPAST DUE" if late else ""))
            about = [_words(f.get("logType"))]
            src = f.get("sourceId")
            if src:
                about.append(pack.refs.get(src, src))
            if f.get("review") and f.get("review") in pack.refs:
                about.append(f"review {pack.refs[f['review']]}")
            closing = ""
            if closed:
                closing = (f"Closed {_local(f.get('closedAt'))} by "
                           f"{pack.user_name(f.get('closedBy'))}. ")
            closing += f.get("verificationNote") or ("" if closed else "not yet verified")
            sev_text = _words(sev).replace("nc", "NC")
            rows.append([
                self._ref_cell(f["objectId"]), Flag(sev_text) if sev == "major_nc" else sev_text,
                "\n".join(about), _s(f.get("description")),
                f.get("rootCause") or ("missing" if sev in ("major_nc", "minor_nc") else ""),
                _s(f.get("correctiveAction")), pack.user_name(f.get("actionOwner")),
                f"{f.get('dueDate') or 'no due date'}\nraised\n{_local(f.get('createdAt'))[:10]}",
                state, closing,
            ])
            if not closed and (sev == "major_nc" or late):
                flags.append((i, FLAG_RED))
            elif not closed and sev == "minor_nc":
                flags.append((i, FLAG_AMBER))
            if i % 200 == 199:
                self.check()
        widths = [44, 56, 66, 122, 94, 122, 60, 52, 50, 124]
        return [intro, _table(headers, rows, widths, st, flags=flags)]

    # ----------------------------------------------------------------- photos

    def _record_line(self, e: dict[str, Any]) -> str:
        pack = self.pack
        cls = e.get("parentClass") or ""
        pid = e.get("parentId") or ""
        label = BY_NAME[cls].label if cls in BY_NAME else cls
        ref = pack.refs.get(pid, pid)
        return f"{label} {ref} ({pid})"

    def photos(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        intro = self._intro(
            f"Photos attached to the records in this pack, scaled to print at "
            f"{photos.PRINT_DPI} dpi. Each SHA-256 identifies the original file kept in the "
            f"database's evidence folder, so the original can be produced and checked.")
        if not pack.evidence:
            return [intro, *self._empty("photos")]
        box_w, box_h = PHOTO_BOX
        cells: list[Any] = []
        from desktop_audit.services.evidence import blob_path

        # Scale every distinct photo once, a few at a time (Pillow decodes without the GIL).
        paths = {str(e.get("sha256") or ""): blob_path(self.db, str(e.get("sha256") or ""),
                                                       str(e.get("mimeType") or "image/jpeg"))
                 for e in pack.evidence}
        failed: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            jobs = {sha: pool.submit(photos.scale_for_print, path, box_w, box_h)
                    for sha, path in paths.items()}
            try:
                for n, (sha, job) in enumerate(jobs.items()):
                    self.check()
                    self.step(0.10 + 0.05 * n / len(jobs), f"photo {n + 1} of {len(jobs)}")
                    try:
                        self.images[sha] = job.result()
                    except (OSError, ValueError) as exc:
                        self.images[sha] = None
                        failed[sha] = ("missing" if isinstance(exc, FileNotFoundError)
                                       else "unreadable")
            except BaseException:
                for job in jobs.values():
                    job.cancel()
                raise
        for n, e in enumerate(pack.evidence):
            sha = str(e.get("sha256") or "")
            if sha in failed and not any(sha in w for w in self.warnings):
                self.warnings.append(
                    f"Photo {e.get('fileName')} ({self._record_line(e)}): file {failed[sha]}; "
                    f"a placeholder is printed instead. SHA-256 {sha}.")
            scaled = self.images[sha]
            picture: Flowable
            if scaled is None:
                picture = _Placeholder(box_w, box_h * 0.6,
                                       f"Photo file {failed.get(sha, 'missing')}: {e.get('fileName')}")
            else:
                ratio = min(box_w / scaled.width, box_h / scaled.height)
                picture = Image(io.BytesIO(scaled.data), width=scaled.width * ratio,
                                height=scaled.height * ratio)
            size = (f"{scaled.original_width}×{scaled.original_height} px original, printed from "
                    f"{scaled.width}×{scaled.height} px") if scaled else "no file"
            caption = [
                Paragraph(f'<font name="{fonts.BOLD}">Photo {n + 1}. '
                          f'{escape(e.get("caption") or e.get("fileName") or "")}</font>', st["cell"]),
                _p(f"Record: {self._record_line(e)}", st["cell"]),
                _p(f"{_label(EVIDENCE, 'takenAt')}: {_local(e.get('takenAt')) or 'not recorded'} · "
                   f"added {_local(e.get('createdAt'))} by {pack.user_name(e.get('addedBy'))}",
                   st["cell"]),
                _p(f"{_label(EVIDENCE, 'fileName')}: {e.get('fileName')} · {size}", st["cell"]),
                _p(f"SHA-256: {sha}", st["mono"]),
            ]
            cells.append([picture, Spacer(1, 2 * mm), *caption])
        cols = PHOTO_COLUMNS
        rows = [cells[i:i + cols] + [""] * (cols - len(cells[i:i + cols]))
                for i in range(0, len(cells), cols)]
        grid = Table(rows, colWidths=[FRAME_W / cols] * cols)
        grid.setStyle(_tstyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                  ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                  ("RIGHTPADDING", (0, 0), (-1, -1), 12),
                                  ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]))
        out: list[Flowable] = [intro]
        if self.warnings:
            out += [_p(w, st["warn"]) for w in self.warnings]
        out.append(grid)
        return out

    # ----------------------------------------------------------------- trail

    def trail(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        cell = st["cell"]
        broken = [c for c in pack.chains if c.problem]
        unprovable = [c for c in pack.chains if not c.problem and c.note]
        # Counted up to the generation time, so a pack made again with the same one is the same.
        events = sum(pack.chain_counts.values())
        chains = len(pack.chain_counts)
        if broken:
            verdict = ("The audit trail FAILED verification: its history was changed after it "
                       "was written.")
        else:
            verdict = (f"All {chains} hash chains this computer holds ({events:,} events up to "
                       "the generation time) were recomputed from their first event, their "
                       "signatures checked, and verified intact: no event was changed, removed "
                       "or reordered.")
        lines = [_flag("BROKEN") + f" chain {escape(c.chain)}: {escape(c.problem or '')}"
                 for c in broken]
        lines += [f"Chain {escape(c.chain)} ({pack.chain_counts.get(c.chain, 0):,} events held "
                  f"here): {escape(c.note or '')}." for c in unprovable]
        box = Table([[Paragraph(f'<font name="{fonts.BOLD}">Verification of the hash chains.</font> '
                                f"{escape(verdict)}", st["base"])],
                     *[[Paragraph(line, cell)] for line in lines]], colWidths=[FRAME_W])
        box.setStyle(_tstyle([("BACKGROUND", (0, 0), (-1, -1),
                                  FLAG_RED if broken else colors.HexColor("#e3f4e4")),
                                 ("TOPPADDING", (0, 0), (-1, -1), 3),
                                 ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
        out: list[Flowable] = [box, Spacer(1, 2 * mm)]
        if pack.heads:
            out.append(_p("Built on these chain heads (also in this file's metadata; "
                          "desktop-audit verify-trail --pack FILE checks that the trail still "
                          "holds them):", st["small"]))
            heads = Table([[_p("Chain", st["cell_head"]), _p("Seq", st["cell_head"]),
                            _p("Hash", st["cell_head"])]]
                          + [[_p(escape(c), cell), _p(str(n), st["cell_num"]), _p(h, cell)]
                             for c, n, h in pack.heads],
                          colWidths=[62 * mm, 16 * mm, 120 * mm], hAlign="LEFT")
            heads.setStyle(_tstyle([("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                                    ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
                                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
            out += [heads, Spacer(1, 4 * mm)]
        intro = self._intro(
            "Every change journaled for this site in the period, up to the generation time, "
            "oldest first: who did what to which record, the fields changed (old → new) and the "
            "event's hash. Each event's SHA-256 covers the event and the hash before it; each "
            "change is signed by the key of the person who made it.")
        out = [intro, *out]
        if not pack.trail:
            return [*out, *self._empty("audit trail events")]
        t = TRAIL
        headers = [_label(t, "at"), "Device · seq", _label(t, "actorName"), _label(t, "action"),
                   "Record", _label(t, "changes"), _label(t, "hash")]
        rows: list[list[Any]] = []
        for i, ev in enumerate(pack.trail):
            ref = pack.refs.get(ev.record_id)
            kind = BY_NAME[ev.record_class].label if ev.record_class in BY_NAME else ev.record_class
            record = f"{kind} {ref + ' ' if ref else ''}({ev.record_id})"
            rows.append([_local(ev.at, seconds=True).replace(" ", "\n"), f"{ev.device_id}\n{ev.seq}",
                         ev.actor_name, ev.action, record, _changes_text(ev.changes),
                         f"{ev.hash[:16]}\n{ev.hash[16:32]}"])
            if i % 200 == 199:
                self.check()
        widths = [58, 74, 50, 40, 110, 286, 84]
        return [*out, _table(headers, rows, widths, st)]

    # ----------------------------------------------------------------- sign-off

    def signoff(self) -> list[Flowable]:
        st, pack = self.st, self.pack
        cell = st["base"]
        review = pack.review
        prepared = (pack.user_name(pack.prepared_by.id) or pack.prepared_by.username,
                    _words(pack.prepared_by.role), pack.as_of and _local(pack.as_of)[:10])
        reviewed = ("", "", "")
        approved = ("", "", "")
        if review:
            lead = review.get("leadAuditor")
            reviewed = (pack.user_name(lead), "lead auditor", "")
            approval = _approval(self.db, review["objectId"], pack.as_of)
            if approval and pack.approved:
                who, at = approval
                role = ""
                for u in pack.users.values():
                    if u.get("username") == who:
                        who, role = str(u.get("fullName") or who), _words(u.get("role"))
                approved = (who, role, _local(at)[:10])
        head = [_p(h, st["cell_head"]) for h in ("", "Name", "Role", "Date", "Signature")]
        rows = [head]
        for what, (name, role, when) in (("Prepared", prepared), ("Reviewed", reviewed),
                                         ("Approved", approved)):
            rows.append([_p(what, st["cell_bold"]), _p(name, cell), _p(role, cell), _p(when, cell), ""])
        table = Table(rows, colWidths=[30 * mm, 70 * mm, 50 * mm, 35 * mm, 70 * mm],
                      rowHeights=[None, 16 * mm, 16 * mm, 16 * mm], hAlign="LEFT")
        table.setStyle(_tstyle([("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                                   ("GRID", (0, 0), (-1, -1), 0.5, RULE),
                                   ("VALIGN", (0, 1), (-1, -1), "MIDDLE")]))
        note = ("Prepared by the person who generated this pack. Reviewed: the lead auditor of the "
                "review this pack belongs to. Approved: the manager who approved that review, as "
                "journaled in the audit trail.")
        if not pack.approved:
            note += " The review is not approved, so this pack is a DRAFT."
        return [self._intro(note), Spacer(1, 3 * mm), table]


def _approval(db: Database, review_id: str, as_of: str) -> tuple[str, str] | None:
    """Who approved a review, and when, as the trail says (up to as_of)."""
    from desktop_audit.domain import trail

    events = [e for e in trail.history(db, "AuditReview", review_id)
              if e["action"] == "approve" and e["at"] <= as_of]
    if not events:
        return None
    last = events[-1]
    return str(last.get("actorName") or ""), str(last["at"])


def _legal_overdue(entry: dict[str, Any], today: date) -> bool:
    from desktop_audit.records.legal import LEGAL_ENTRIES

    return LEGAL_ENTRIES.is_overdue(entry, today)


def _short(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = str(value)
    return text if len(text) <= 40 else text[:38] + "…"


def _changes_text(changes: dict[str, Any], limit: int = 300) -> str:
    parts = []
    for name, pair in changes.items():
        if isinstance(pair, list) and len(pair) == 2 and pair[0] is None:
            parts.append(f"{name} = {_short(pair[1])}")
        elif isinstance(pair, list) and len(pair) == 2:
            parts.append(f"{name}: {_short(pair[0])} → {_short(pair[1])}")
        else:
            parts.append(f"{name}: {_short(pair)}")
    text = "; ".join(parts)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _Placeholder(Flowable):
    def __init__(self, width: float, height: float, text: str) -> None:
        super().__init__()
        self.width, self.height, self.text = width, height, text

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        c.setFillColor(colors.HexColor("#eef0f3"))
        c.setStrokeColor(colors.HexColor(RED_TEXT))
        c.setDash(4, 3)
        c.rect(0, 0, self.width, self.height, fill=1, stroke=1)
        c.setFillColor(colors.HexColor(RED_TEXT))
        c.setFont(fonts.BOLD, 10)
        c.drawCentredString(self.width / 2, self.height / 2, self.text[:90])
        c.restoreState()


# --------------------------------------------------------------------------- entry point


def _parse_day(value: date | str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _check_output(out: Path) -> None:
    folder = out.parent
    if out.is_dir():
        raise ValidationError("output", f"{out} is a folder; give a file name ending in .pdf")
    if not folder.is_dir():
        raise ValidationError("output", f"cannot write {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ValidationError("output", f"cannot write {out}: permission denied")


_build_lock = threading.Lock()  # ReportLab keeps some module state; one build at a time


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Binary (not ASCII85) streams while a pack is built: a quarter smaller, and no
    pure-Python base-85 pass over every page and photo."""
    from reportlab import rl_config

    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


def export_pack(db: Database, actor: Actor, site_id: str, out_path: str | os.PathLike[str], *,
                date_from: date | str | None = None, date_to: date | str | None = None,
                review_id: str | None = None, as_of: str | datetime | None = None,
                sections: Iterable[str] | None = None, control: Control | None = None,
                journal: bool = True) -> PackResult:
    """Write the evidence pack of one site to *out_path* and journal the export.

    Safe to call off the GUI thread (nothing here touches Qt); the caller gives:

    - ``site_id``: the site's objectId (``services.site_by_code`` turns a code into a site).
    - ``date_from`` / ``date_to``: the period, inclusive dates (``date`` or "YYYY-MM-DD");
      either may be None for an open end.
    - ``review_id``: the AuditReview the pack belongs to (its site must match); without
      one, or while it is not approved, every page carries a DRAFT watermark.
    - ``as_of``: the instant the pack describes and prints as its generation time (ISO
      text, a datetime, or a date meaning the end of that day); default now.  Records
      are taken as they stood then, so the same ``as_of`` gives a byte-identical file.
    - ``sections``: any of ``SECTIONS`` (default all), kept in pack order; the cover and
      contents are always included.
    - ``control``: hears progress (thousandths of the whole, with a short stage label) and
      is checked between steps; once cancelled, the export stops with ``errors.Cancelled``
      and no file is left behind.
    - ``journal``: append an ``export`` event (with the pack's SHA-256) to the audit trail.
      Its time is after ``as_of``, so it never changes a pack made again with that ``as_of``.

    Raises NotFound (site or review), PermissionDenied (field staff, or a site the actor is
    not assigned to), ValidationError (period, as_of, output path) and Cancelled.
    Returns a PackResult (path, sha256, pages, size, as_of, warnings).
    """
    from desktop_audit import records
    from desktop_audit.domain import trail
    from desktop_audit.errors import NotFound
    from desktop_audit.store import rows

    job = control or Control()

    def step(fraction: float, stage: str) -> None:
        job.fraction(fraction, stage)

    def check() -> None:
        job.check("export cancelled; no file was written")

    site = rows.load(db, SITE, site_id)
    if site is None or not actor.sees_site(site_id):
        raise NotFound(f"no site with id {site_id!r}")
    records.of("AuditSite").require(actor, "export_pack", site)
    start, end = _parse_day(date_from, "from"), _parse_day(date_to, "to")
    if start and end and end < start:
        raise ValidationError("period", f"ends on {end.isoformat()}, before it starts on "
                                        f"{start.isoformat()}")
    try:
        stamp = data.parse_as_of(as_of)
    except ValueError:
        raise ValidationError("as-of", f"{as_of!r} is not a date or time (ISO 8601)") from None
    if stamp > clock.now_iso():
        hint = (" (a date means the end of that day; give a time for today)"
                if isinstance(as_of, str) and len(as_of.strip()) == 10 else "")
        raise ValidationError("as-of", f"{stamp} is in the future{hint}; a pack describes "
                                       "records as they stood at a time already past")
    chosen = list(SECTIONS) if sections is None else [s for s in SECTIONS if s in set(sections)]
    unknown = set(sections or ()) - set(SECTIONS)
    if unknown:
        raise ValidationError("sections", f"unknown section(s) {', '.join(sorted(unknown))}; "
                                          f"known: {', '.join(SECTIONS)}")
    out = Path(out_path).expanduser().resolve()
    _check_output(out)

    check()
    step(0.0, "reading records")
    pack = data.gather(db, actor, site, as_of=stamp, period=data.Period(start, end),
                       review_id=review_id, sections=frozenset(chosen))
    check()
    step(0.1, "laying out")
    builder = _Builder(pack, chosen, db, check, step)
    flowables = builder.build()
    layout = _Layout(pack, builder.numbered)
    when = clock.parse_iso(stamp)
    meta = {
        "title": f"Evidence pack: {pack.site.get('siteName')} ({pack.site.get('siteCode')}), "
                 f"{pack.period.describe()}",
        "author": pack.user_display(actor.id) or actor.display,
        "subject": "ISO 14001 evidence pack: aspects and impacts, spill kit inspections, legal "
                   "register, audit reviews, findings, photo evidence, audit trail",
        "keywords": ", ".join(["ISO 14001", "evidence pack", str(pack.site.get("siteCode")),
                               "6.1.2", "6.1.3", "9.1.2", "9.2", "10.2",
                               "DRAFT" if not pack.approved else "approved"]),
        "creator": f"desktop-audit {__version__}",
        "date": when.strftime("D:%Y%m%d%H%M%S+00'00'"),
        "heads": codec.dumps([list(h) for h in pack.heads]),
    }
    total = max(1, len(flowables))

    def on_progress(kind: str, value: int) -> None:
        nonlocal total
        if kind == "SIZE_EST":
            total = max(1, value)
        elif kind == "PROGRESS":
            check()
            step(0.3 + 0.65 * value / total, "laying out pages")
        elif kind == "PAGE":
            check()

    buf = io.BytesIO()
    with _build_lock, _binary_streams():
        doc = _Doc(buf, layout, meta=meta, progress=on_progress)
        doc.build(flowables)
    pdf = buf.getvalue()
    check()
    step(0.97, "writing the file")
    digest = hashlib.sha256(pdf).hexdigest()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as fh:
            fh.write(pdf)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ValidationError("output", f"cannot write {out}: {exc.strerror or exc}") from None
    if journal:
        with db.atomic():
            trail.append(db, actor, trail.Entry(
                "export", "AuditSite", site_id, site_id,
                {"sha256": [None, digest], "file": [None, out.name], "asOf": [None, stamp],
                 "pages": [None, layout.total_pages],
                 "period": [None, pack.period.describe()],
                 "review": [None, review_id]}), at=data.utc_now_after(stamp))
    step(1.0, "done")
    return PackResult(out, digest, layout.total_pages, len(pdf), stamp, builder.warnings)
