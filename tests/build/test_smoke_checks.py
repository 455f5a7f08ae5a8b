"""The smoke test's own checks tell a real picture from a blank one (no build needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.build.conftest import ROOT, load_smoke

smoke = load_smoke()
TEXT = "Riverside Chemical Plant - Łódź Süd: 12 open findings, 3 spill kits overdue"


def font() -> ImageFont.FreeTypeFont:
    for path in [*sorted((ROOT / "resources" / "fonts").glob("DejaVuSans.ttf")),
                 Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")]:
        if path.is_file():
            return ImageFont.truetype(str(path), 13)
    raise AssertionError("no DejaVu Sans: ./dev installs fonts-dejavu-core")


def picture(tmp_path: Path, kind: str) -> Path:
    img = Image.new("RGB", (800, 500), (246, 247, 249))
    draw = ImageDraw.Draw(img)
    for n, colour in enumerate([(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]):
        draw.rectangle((420 + n * 80, 420 - n * 70, 480 + n * 80, 460), fill=colour)  # a bar chart
    draw.ellipse((60, 300, 260, 480), fill=(148, 103, 189), outline=(40, 40, 40))
    with Image.open(ROOT / "resources" / "demo_photos" / "site_entrance.jpg") as photo:
        photo.thumbnail((130, 130))  # photos have greys too; they must not count as text
        img.paste(photo.convert("RGB"), (280, 300))
    for row in range(12):
        y = 20 + row * 22
        if kind == "text":
            draw.text((20, y), TEXT, fill=(30, 30, 30), font=font())
        elif kind == "boxes":  # what Qt draws when it has no font at all
            for x in range(20, 560, 9):
                draw.rectangle((x, y, x + 6, y + 11), outline=(0, 0, 0))
    path = tmp_path / f"{kind}.png"
    img.save(path)
    return path


def test_text_is_recognised(tmp_path: Path) -> None:
    assert "glyph edge pixels" in smoke.check_png(picture(tmp_path, "text"))


@pytest.mark.parametrize("kind", ["boxes", "none"])
def test_missing_text_is_refused(tmp_path: Path, kind: str) -> None:
    with pytest.raises(AssertionError, match="no readable text"):
        smoke.check_png(picture(tmp_path, kind))


def test_a_blank_window_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blank.png"
    Image.new("RGB", (800, 500), (240, 240, 240)).save(path)
    with pytest.raises(AssertionError, match="blank"):
        smoke.check_png(path)


def pdf(path: Path, *, font: bool = True, photo: bool = True) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    if font:
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(ROOT / "resources" / "fonts" / "DejaVuSans.ttf")))
        c.setFont("DejaVuSans", 12)
    c.drawString(72, 720, "Evidence pack: Łódź Süd")
    if photo:
        c.drawImage(str(ROOT / "resources" / "demo_photos" / "site_entrance.jpg"), 72, 400, 200, 150)
    c.showPage()
    c.save()
    return path


def test_a_pack_with_fonts_and_photos_passes(tmp_path: Path) -> None:
    assert "1 pages, DejaVu Sans embedded, 1 images" in smoke.check_pdf(pdf(tmp_path / "good.pdf"))


def test_a_truncated_pdf_is_refused(tmp_path: Path) -> None:
    good = pdf(tmp_path / "good.pdf")
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(AssertionError, match="truncated"):
        smoke.check_pdf(cut)


def test_a_pdf_without_the_bundled_font_or_photos_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="DejaVu"):
        smoke.check_pdf(pdf(tmp_path / "nofont.pdf", font=False))
    with pytest.raises(AssertionError, match="no photos"):
        smoke.check_pdf(pdf(tmp_path / "nophoto.pdf", photo=False))


def test_the_bare_environment_holds_only_what_is_given(tmp_path: Path) -> None:
    env = smoke.bare_env(tmp_path, DESKTOP_AUDIT_PASSWORD="x")
    assert {"HOME", "DESKTOP_AUDIT_HOME", "QT_QPA_PLATFORM", "DESKTOP_AUDIT_PASSWORD"} <= set(env)
    assert "PATH" not in env and "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env
