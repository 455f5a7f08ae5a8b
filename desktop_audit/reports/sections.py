"""The sections of an evidence pack, in order: cheap to import (no ReportLab), so the command
line can list them without loading the PDF machinery."""

from __future__ import annotations

SECTIONS: tuple[str, ...] = ("summary", "aspects", "spill_kits", "legal", "reviews", "findings",
                             "photos", "trail", "signoff")
SECTION_TITLES: dict[str, str] = {
    "summary": "Summary",
    "aspects": "Aspects and impacts register",
    "spill_kits": "Spill kit inspections",
    "legal": "Legal register and evaluation of compliance",
    "reviews": "Audit reviews",
    "findings": "Findings and corrective actions",
    "photos": "Photo evidence",
    "trail": "Audit trail",
    "signoff": "Sign-off",
}
SECTION_CLAUSES: dict[str, str] = {
    "aspects": "ISO 14001 6.1.2", "legal": "ISO 14001 6.1.3, 9.1.2", "reviews": "ISO 14001 9.2",
    "findings": "ISO 14001 10.2", "spill_kits": "ISO 14001 8.2",
}
PACK_TITLE = "ISO 14001 evidence pack"
