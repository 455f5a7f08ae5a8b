"""DejaVu Sans, shipped in resources/fonts/ and embedded (subset) in every pack, so any
Latin, Greek or Cyrillic name prints as typed (e.g. "Łódź Süd – Werk Žabka")."""

from __future__ import annotations

import threading

from desktop_audit import config

REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
OBLIQUE = "DejaVuSans-Oblique"
FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf", OBLIQUE: "DejaVuSans-Oblique.ttf"}

_lock = threading.Lock()
_done = False


def register() -> None:
    """Register the three faces with ReportLab once per process (safe from any thread)."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        from desktop_audit.errors import IntegrityError

        for name, filename in FILES.items():
            path = config.asset_path("fonts", filename)
            if not path.is_file():
                raise IntegrityError(f"font file missing: {path} (the installation is incomplete)")
            pdfmetrics.registerFont(TTFont(name, str(path)))
        addMapping(REGULAR, 0, 0, REGULAR)
        addMapping(REGULAR, 1, 0, BOLD)
        addMapping(REGULAR, 0, 1, OBLIQUE)
        addMapping(REGULAR, 1, 1, BOLD)
        _done = True
