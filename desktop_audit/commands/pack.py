"""export-pack: the PDF evidence pack of one site, for a certification auditor."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    from desktop_audit.reports.sections import SECTIONS

    p = sub.add_parser("export-pack", help="write a site's PDF evidence pack",
                       description="Write the ISO 14001 evidence pack of one site: cover, "
                                   "contents, summary, registers, inspections, reviews, findings, "
                                   "photos, audit trail and sign-off.")
    p.add_argument("--site", metavar="CODE", required=True, help="the site code, e.g. PLT-01")
    p.add_argument("--out", metavar="FILE.pdf", required=True, type=Path, help="the PDF to write")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="period start (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="period end (YYYY-MM-DD), inclusive")
    p.add_argument("--review", metavar="ID", help="objectId of the audit review the pack belongs to")
    p.add_argument("--as-of", dest="as_of", metavar="TIMESTAMP",
                   help="describe the records as they stood at this instant (ISO 8601; default "
                        "now); the same --as-of gives the same file")
    p.add_argument("--sections", metavar="LIST",
                   help=f"comma-separated subset of: {', '.join(SECTIONS)} (default all)")
    p.set_defaults(func=export_pack)


def export_pack(ctx: Any) -> int:
    from desktop_audit import clock, services
    from desktop_audit.jobs import Control
    from desktop_audit.reports import export_pack as build

    args = ctx.args
    actor = ctx.login()
    db = ctx.open_db()
    site = services.site_by_code(db, actor, args.site)
    sections = [s.strip().replace("-", "_") for s in args.sections.split(",")] if args.sections else None
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int, stage: str) -> None:
        if interactive:
            print(f"\r{done * 100 / max(total, 1):5.1f}%  {stage:<40}", end="", file=sys.stderr,
                  flush=True)

    # Default as-of: now, taken after the login so the pack's own journal entries come later.
    as_of = args.as_of or clock.now_iso()
    try:
        result = build(db, actor, site["objectId"], args.out, date_from=args.date_from,
                       date_to=args.date_to, review_id=args.review, as_of=as_of,
                       sections=sections, control=Control(progress))
    finally:
        if interactive:
            print(file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {result.path}: {result.pages} pages, {result.size / 1e6:.1f} MB, "
          f"as of {result.as_of}, SHA-256 {result.sha256}")
    return 0
