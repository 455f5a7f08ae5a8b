"""The summary's charts, drawn as vector graphics (crisp at any zoom, text searchable).

Each function returns a reportlab Drawing sized for one column of the summary page.
Every bar carries its number, so the charts read correctly in black and white.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib import colors

from desktop_audit.reports.fonts import BOLD, REGULAR

INK = colors.HexColor("#1f2933")
GRID = colors.HexColor("#9aa5b1")
OPEN = colors.HexColor("#c0392b")
CLOSED = colors.HexColor("#7f8c8d")
BAR = colors.HexColor("#2e6da4")


def stacked_bars(title: str, rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[str],
                 fills: Sequence[colors.Color], width: float, *, label_width: float = 110) -> Drawing:
    """Horizontal bars, one per row, stacked by series; counts written in and after each bar."""
    bar_h, gap, top, legend_h = 16.0, 7.0, 20.0, 16.0
    height = top + len(rows) * (bar_h + gap) + legend_h + 4
    d = Drawing(width, height, initialFontName=REGULAR, initialFontSize=8)
    d.add(String(0, height - 12, title, fontName=BOLD, fontSize=9, fillColor=INK))
    totals = [sum(values) for _, values in rows]
    biggest = max([*totals, 1])
    span = width - label_width - 36
    y = height - top - bar_h
    for (label, values), total in zip(rows, totals, strict=True):
        d.add(String(label_width - 6, y + 4.5, label, fontName=REGULAR, fontSize=8,
                     fillColor=INK, textAnchor="end"))
        x = label_width
        for value, fill in zip(values, fills, strict=True):
            w = span * value / biggest
            if w > 0:
                d.add(Rect(x, y, w, bar_h, fillColor=fill, strokeColor=colors.white,
                           strokeWidth=0.5))
                if w >= 14:
                    d.add(String(x + w / 2, y + 4.5, str(value), fontName=BOLD, fontSize=7.5,
                                 fillColor=colors.white, textAnchor="middle"))
            x += w
        d.add(String(x + 4, y + 4.5, str(total), fontName=REGULAR, fontSize=8, fillColor=INK))
        y -= bar_h + gap
    d.add(Line(label_width, y + bar_h + gap - 2, label_width, height - top + 2, strokeColor=GRID,
               strokeWidth=0.5))
    if len(series) > 1:
        x = label_width
        for name, fill in zip(series, fills, strict=True):
            d.add(Rect(x, 2, 9, 9, fillColor=fill, strokeColor=None))
            d.add(String(x + 13, 3.5, name, fontName=REGULAR, fontSize=7.5, fillColor=INK))
            x += 24 + 5.2 * len(name)
    return d


def _risk_fill(rating: int) -> colors.Color:
    if rating >= 16:
        return colors.HexColor("#e8a39b")
    if rating >= 10:
        return colors.HexColor("#f3c98b")
    if rating >= 5:
        return colors.HexColor("#f6e7a1")
    return colors.HexColor("#bfe0c0")


def heat_map(counts: dict[tuple[int, int], int], threshold: int, width: float) -> Drawing:
    """The 5 x 5 likelihood x severity grid: aspects per cell, cells at or above the site's
    significance threshold outlined in heavy red, the threshold named in the legend."""
    cell = min(34.0, (width - 70) / 5)
    left, bottom = 52.0, 46.0
    height = bottom + 5 * cell + 30
    d = Drawing(width, height, initialFontName=REGULAR, initialFontSize=8)
    d.add(String(0, height - 12, "Aspects by likelihood × severity", fontName=BOLD, fontSize=9,
                 fillColor=INK))
    for lik in range(1, 6):
        for sev in range(1, 6):
            x = left + (lik - 1) * cell
            y = bottom + (sev - 1) * cell
            rating = lik * sev
            d.add(Rect(x, y, cell, cell, fillColor=_risk_fill(rating), strokeColor=colors.white,
                       strokeWidth=1))
            n = counts.get((lik, sev), 0)
            d.add(String(x + cell / 2, y + cell / 2 - 3.5, str(n) if n else "·",
                         fontName=BOLD if n else REGULAR, fontSize=9 if n else 8,
                         fillColor=INK if n else GRID, textAnchor="middle"))
            d.add(String(x + cell - 2, y + 2, str(rating), fontName=REGULAR, fontSize=5,
                         fillColor=GRID, textAnchor="end"))
    # The significance threshold: a heavy outline around every cell at or above it.
    for lik in range(1, 6):
        for sev in range(1, 6):
            if lik * sev < threshold:
                continue
            x = left + (lik - 1) * cell
            y = bottom + (sev - 1) * cell
            if lik == 1 or (lik - 1) * sev < threshold:
                d.add(Line(x, y, x, y + cell, strokeColor=OPEN, strokeWidth=2))
            if sev == 1 or lik * (sev - 1) < threshold:
                d.add(Line(x, y, x + cell, y, strokeColor=OPEN, strokeWidth=2))
    for i in range(1, 6):
        d.add(String(left + (i - 0.5) * cell, bottom - 10, str(i), fontName=REGULAR, fontSize=8,
                     fillColor=INK, textAnchor="middle"))
        d.add(String(left - 6, bottom + (i - 0.5) * cell - 3, str(i), fontName=REGULAR,
                     fontSize=8, fillColor=INK, textAnchor="end"))
    d.add(String(left + 2.5 * cell, bottom - 21, "Likelihood", fontName=REGULAR, fontSize=8,
                 fillColor=INK, textAnchor="middle"))
    d.add(Group(String(0, 0, "Severity", fontName=REGULAR, fontSize=8, fillColor=INK,
                       textAnchor="middle"), transform=(0, 1, -1, 0, left - 16, bottom + 2.5 * cell)))
    d.add(Line(left, bottom - 36, left + 14, bottom - 36, strokeColor=OPEN, strokeWidth=2))
    d.add(String(left + 18, bottom - 39, f"significance threshold: risk rating ≥ {threshold}",
                 fontName=REGULAR, fontSize=7.5, fillColor=INK))
    return d
