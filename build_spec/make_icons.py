"""Draw the application icon and write it as .png, .ico (Windows) and .icns (macOS).

    .venv/bin/python build_spec/make_icons.py

The files in resources/icons/ are committed; run this again only to change the design.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
NAME = "desktop-audit"
GREEN = (27, 107, 74, 255)
LEAF = (142, 207, 119, 255)
WHITE = (255, 255, 255, 255)


def draw(size: int = 1024) -> Image.Image:
    """A green tile with a leaf and a check mark: the environmental audit, passed."""
    scale = 4  # draw large, shrink once: smooth edges without anti-aliasing support
    s = size * scale
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    pad = s * 0.06
    d.rounded_rectangle((pad, pad, s - pad, s - pad), radius=s * 0.2, fill=GREEN)
    # The leaf: two circle arcs meeting at the tips (a vesica), tilted by its placement.
    r = s * 0.36
    cx, cy = s * 0.5, s * 0.47
    leaf = Image.new("L", (s, s), 0)
    a = Image.new("L", (s, s), 0)
    b = Image.new("L", (s, s), 0)
    ImageDraw.Draw(a).ellipse((cx - r * 1.35, cy - r * 1.35 + r * 0.55, cx + r * 1.35 - r * 0.9,
                               cy + r * 1.35 + r * 0.55), fill=255)
    ImageDraw.Draw(b).ellipse((cx - r * 1.35 + r * 0.9, cy - r * 1.35 - r * 0.55, cx + r * 1.35,
                               cy + r * 1.35 - r * 0.55), fill=255)
    leaf.paste(a, mask=b)
    img.paste(Image.new("RGBA", (s, s), LEAF), mask=leaf)
    # The check mark across the leaf.
    w = int(s * 0.075)
    points = [(s * 0.28, s * 0.52), (s * 0.44, s * 0.68), (s * 0.74, s * 0.34)]
    d.line(points, fill=WHITE, width=w, joint="curve")
    for x, y in (points[0], points[-1]):
        d.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=WHITE)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    big = draw(1024)
    big.resize((256, 256), Image.Resampling.LANCZOS).save(ICONS / f"{NAME}.png", optimize=True)
    big.save(ICONS / f"{NAME}.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64),
                                           (128, 128), (256, 256)])
    big.save(ICONS / f"{NAME}.icns")
    for path in sorted(ICONS.glob(f"{NAME}.*")):
        print(f"{path.relative_to(ICONS.parent.parent)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
