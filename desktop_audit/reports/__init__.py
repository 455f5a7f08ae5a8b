"""PDF evidence packs (ReportLab); no Qt here, so the CLI, the tests and the app share it."""

from desktop_audit.reports.data import review_choices
from desktop_audit.reports.evidence_pack import SECTION_TITLES, SECTIONS, PackResult, export_pack

__all__ = ["SECTIONS", "SECTION_TITLES", "PackResult", "export_pack", "review_choices"]
