"""Photos scaled to print resolution before they go into a pack.

A 12-megapixel original printed 12 cm wide needs about 1,000 pixels across at
200 dpi; embedding the original would make a pack of a few dozen photos hundreds
of megabytes.  JPEGs are decoded at a reduced DCT scale (Pillow's draft mode), so
scaling costs a fraction of a full decode.  The output is a baseline JPEG, the same
bytes for the same input, so packs stay reproducible.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

PRINT_DPI = 200
QUALITY = 82


@dataclass(frozen=True)
class Scaled:
    data: bytes  # JPEG
    width: int
    height: int
    original_width: int
    original_height: int


def scale_for_print(path: Path, max_width_pt: float, max_height_pt: float,
                    dpi: int = PRINT_DPI) -> Scaled:
    """The photo at *path* as a JPEG no larger than the box at *dpi* (never enlarged).

    Raises OSError / ValueError for a missing or unreadable file; the caller prints a
    placeholder instead.
    """
    from PIL import Image, ImageOps

    max_w = max(1, round(max_width_pt / 72 * dpi))
    max_h = max(1, round(max_height_pt / 72 * dpi))
    with Image.open(path) as img:
        original = img.size
        orientation = img.getexif().get(0x0112, 1)
        swap = orientation in (5, 6, 7, 8)
        box = (max_h, max_w) if swap else (max_w, max_h)
        if img.format == "JPEG":
            img.draft("RGB", box)
        img.load()
        out = ImageOps.exif_transpose(img) or img
        if out.mode not in ("RGB", "L"):
            if "A" in out.getbands() or out.mode == "P":
                rgba = out.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                out = flat
            else:
                out = out.convert("RGB")
        if out.width > max_w or out.height > max_h:
            out = out.copy()
            out.thumbnail((max_w, max_h), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=QUALITY, optimize=False, progressive=False,
                 dpi=(dpi, dpi))
        w, h = out.size
        if swap:
            original = (original[1], original[0])
    return Scaled(buf.getvalue(), w, h, original[0], original[1])
