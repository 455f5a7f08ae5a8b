"""PDF evidence packs (ReportLab); no Qt here, so the CLI, the tests and the app share it.

The package loads ReportLab only when a pack is built: the command line imports it to
list the sections and must stay quick to start.
"""

from __future__ import annotations

from typing import Any

from desktop_audit.reports.sections import SECTION_TITLES, SECTIONS

__all__ = ["SECTIONS", "SECTION_TITLES", "PackResult", "export_pack", "review_choices"]


def __getattr__(name: str) -> Any:
    if name in ("PackResult", "export_pack"):
        from desktop_audit.reports import evidence_pack

        return getattr(evidence_pack, name)
    if name == "review_choices":
        from desktop_audit.reports.data import review_choices

        return review_choices
    raise AttributeError(name)
