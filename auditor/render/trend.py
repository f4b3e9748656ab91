"""The Trend chart: open findings by severity over the last runs, as one inline SVG.

The same SVG goes into report.html and report.pdf (no script, no external reference, no
font file). It must read in greyscale and on a black-and-white printer, so a severity is
never told by colour alone: each has its own fill pattern (solid, hatched, dotted, striped,
plain), the legend shows the patterns, every segment tall enough carries its count, and
every bar its total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import escape

from auditor.history.timeline import TrendPoint

WIDTH = 720
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 46, 14, 44, 58
LABEL_MIN = 13  # px: a segment this tall shows its count
ID = "ta-trend"


@dataclass(frozen=True)
class Style:
    severity: str
    colour: str
    pattern: str  # "solid" | "hatch" | "dots" | "stripes" | "plain"
    ink: str  # text colour on the segment
    label: str


# Bottom of the stack first: the most severe findings sit on the axis, where they are read.
STYLES = [
    Style("critical", "#5c0a0a", "solid", "#ffffff", "critical (solid)"),
    Style("high", "#c62828", "hatch", "#ffffff", "high (hatched)"),
    Style("medium", "#e0a030", "dots", "#1f2933", "medium (dotted)"),
    Style("low", "#9ec5e0", "stripes", "#1f2933", "low (striped)"),
    Style("info", "#f2f4f7", "plain", "#1f2933", "info (plain)"),
]


def _defs() -> str:
    """One <pattern> per textured severity: the texture is what survives greyscale."""
    c = {s.severity: s.colour for s in STYLES}
    return (
        "<defs>"
        f'<pattern id="{ID}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{c["high"]}"/>'
        '<rect width="2.2" height="6" fill="#ffffff"/></pattern>'
        f'<pattern id="{ID}-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        f'<rect width="5" height="5" fill="{c["medium"]}"/>'
        '<circle cx="2.5" cy="2.5" r="1.2" fill="#1f2933"/></pattern>'
        f'<pattern id="{ID}-stripes" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="{c["low"]}"/>'
        '<rect y="0" width="6" height="1.6" fill="#1f3a5f"/></pattern>'
        "</defs>"
    )


def _fill(style: Style) -> str:
    if style.pattern in ("hatch", "dots", "stripes"):
        return f"url(#{ID}-{style.pattern})"
    return style.colour


def _ticks(top: int) -> list[int]:
    """About five round gridline values from 0 to at least `top`."""
    if top <= 0:
        return [0, 1]
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    return list(range(0, top + step, step)) if top % step else list(range(0, top + 1, step))


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def trend_svg(points: Sequence[TrendPoint]) -> str:
    """The chart for `points` (oldest first); an empty string when there is no run."""
    if not points:
        return ""
    ticks = _ticks(max(p.open_total for p in points))
    ymax = ticks[-1] or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(points)
    bar = min(44.0, slot * 0.62)
    rotate = len(points) > 8

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / ymax

    title = (
        f"Open findings by severity in the last {len(points)} run"
        f"{'s' if len(points) != 1 else ''}, {_date(points[0].collected_at)} to "
        f"{_date(points[-1].collected_at)}"
    )
    desc = "; ".join(
        f"{_date(p.collected_at)}: {p.open_total} open ("
        + ", ".join(f"{p.open.get(s.severity, 0)} {s.severity}" for s in STYLES)
        + ")"
        for p in points
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" viewBox="0 0 {WIDTH} '
        f'{HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-labelledby="{ID}-title {ID}-desc" font-family="DejaVu Sans, sans-serif">',
        f'<title id="{ID}-title">{escape(title)}</title>',
        f'<desc id="{ID}-desc">{escape(desc)}</desc>',
        _defs(),
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    # legend, left to right in stack order (bottom first)
    x: float = LEFT
    for style in STYLES:
        out.append(
            f'<rect x="{x}" y="10" width="14" height="14" fill="{_fill(style)}" '
            'stroke="#1f2933" stroke-width="0.8"/>'
            f'<text x="{x + 19}" y="21.5" font-size="11.5" fill="#1f2933">{style.label}</text>'
        )
        x += 24 + 7.2 * len(style.label)
    # gridlines and the y axis
    for t in ticks:
        ty = y(t)
        out.append(
            f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{WIDTH - RIGHT}" y2="{ty:.1f}" '
            f'stroke="{"#52606d" if t == 0 else "#d9e2ec"}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#52606d">{t}</text>'
        )
    for i, p in enumerate(points):
        cx = LEFT + slot * i + slot / 2
        x0 = cx - bar / 2
        base = 0
        for style in STYLES:
            n = p.open.get(style.severity, 0)
            if not n:
                continue
            top, bottom = y(base + n), y(base)
            out.append(
                f'<rect x="{x0:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{bottom - top:.1f}" '
                f'fill="{_fill(style)}" stroke="#1f2933" stroke-width="0.8">'
                f"<title>{_date(p.collected_at)}: {n} {style.severity}</title></rect>"
            )
            if bottom - top >= LABEL_MIN:
                out.append(_segment_label(cx, (top + bottom) / 2, n, style))
            base += n
        out.append(
            f'<text x="{cx:.1f}" y="{y(base) - 5:.1f}" font-size="11.5" font-weight="bold" '
            f'text-anchor="middle" fill="#1f2933">{base}</text>'
        )
        label = _date(p.collected_at)
        ly = TOP + plot_h + 14
        if rotate:
            out.append(
                f'<text x="{cx:.1f}" y="{ly:.1f}" font-size="10" text-anchor="end" '
                f'fill="#52606d" transform="rotate(-40 {cx:.1f} {ly:.1f})">{label}</text>'
            )
        else:
            out.append(
                f'<text x="{cx:.1f}" y="{ly + 2:.1f}" font-size="10.5" text-anchor="middle" '
                f'fill="#52606d">{label}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def _segment_label(cx: float, cy: float, n: int, style: Style) -> str:
    """The count on its segment, on a small white plate over a texture so it stays legible."""
    text = str(n)
    if style.pattern in ("hatch", "dots", "stripes"):
        w = 7 * len(text) + 6
        return (
            f'<rect x="{cx - w / 2:.1f}" y="{cy - 7:.1f}" width="{w}" height="14" rx="3" '
            'fill="#ffffff" stroke="#1f2933" stroke-width="0.5"/>'
            f'<text x="{cx:.1f}" y="{cy + 4:.1f}" font-size="11" text-anchor="middle" '
            f'fill="#1f2933">{text}</text>'
        )
    return (
        f'<text x="{cx:.1f}" y="{cy + 4:.1f}" font-size="11" text-anchor="middle" '
        f'fill="{style.ink}">{text}</text>'
    )
