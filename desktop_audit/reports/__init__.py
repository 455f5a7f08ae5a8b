"""PDF evidence packs (ReportLab); no Qt here, so the CLI, the tests and the app share it.

The package loads ReportLab only when a pack is built: the command line imports it to
list the sections and must stay quick to start.
"""

from __future__ import annotations

from typing import Any

from desktop_audit.reports.sections import SECTION_TITLES, SECTIONS

__all__ = ["SECTIONS", "SECTION_TITLES", "PackResult", "export_pack", "pack_heads",
           "review_choices"]

HEADS_KEY = "DesktopAuditChainHeads"


def pack_heads(path: Any) -> list[tuple[str, int, str]]:
    """The chain heads (chain, seq, hash) an evidence pack says it was built on, read back
    from its document metadata."""
    import json

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    from desktop_audit.errors import ValidationError

    try:
        info: Any = PdfReader(str(path)).metadata or {}
    except (OSError, PdfReadError, ValueError) as exc:
        raise ValidationError("pack", f"cannot read {path}: {exc}") from None
    text = info.get(f"/{HEADS_KEY}")
    if text is None:
        raise ValidationError("pack", f"{path} carries no chain heads (not an evidence pack made "
                                      "by this version)")
    try:
        heads = [(str(c), int(n), str(h)) for c, n, h in json.loads(str(text))]
    except (ValueError, TypeError) as exc:
        raise ValidationError("pack", f"{path}: its chain heads cannot be read ({exc})") from None
    return heads


def __getattr__(name: str) -> Any:
    if name in ("PackResult", "export_pack"):
        from desktop_audit.reports import evidence_pack

        return getattr(evidence_pack, name)
    if name == "review_choices":
        from desktop_audit.reports.data import review_choices

        return review_choices
    raise AttributeError(name)
