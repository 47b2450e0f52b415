"""Charts as inline SVG text: no script, no CDN, readable offline and in any browser.

Each function returns one ``<svg>`` element; labels are escaped. The x axis is a list of
labels (days or weeks) spaced evenly; markers are vertical dashed lines at a label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Band", "Marker", "band_chart", "line_chart", "stacked_bars"]

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 30, 40
PALETTE = ("#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#ca8a04", "#db2777")


@dataclass(frozen=True)
class Band:
    """A value with its interval at one x label."""

    label: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Marker:
    """A vertical line at an x label, e.g. a drift alarm or a new model."""

    label: str
    text: str
    color: str = "#dc2626"


class _Frame:
    """Maps data to the plot area."""

    def __init__(self, n: int, low: float, high: float) -> None:
        if high <= low:
            low, high = low - 1.0, high + 1.0
        pad = (high - low) * 0.05
        self.n, self.low, self.high = n, low - pad, high + pad

    def x(self, i: float) -> float:
        span = WIDTH - LEFT - RIGHT
        return LEFT + (span * i / (self.n - 1) if self.n > 1 else span / 2)

    def y(self, value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (self.high - value) / (self.high - self.low)


def _open(title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}" '
        'font-family="system-ui, sans-serif" font-size="11">',
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="600">{escape(title)}</text>',
    ]


def _axes(frame: _Frame, labels: Sequence[str], markers: Sequence[Marker]) -> list[str]:
    parts = []
    for k in range(5):
        value = frame.low + (frame.high - frame.low) * k / 4
        y = frame.y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_short(value)}</text>'
        )
    if frame.low < 0 < frame.high:
        y0 = frame.y(0.0)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y0:.1f}" y2="{y0:.1f}" stroke="#6b7280"/>'
        )
    step = max(1, len(labels) // 8)
    for i in range(0, len(labels), step):
        parts.append(
            f'<text x="{frame.x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(labels[i])}</text>"
        )
    position = {label: i for i, label in enumerate(labels)}
    for k, marker in enumerate(markers):
        at = position.get(marker.label)
        if at is None:
            continue
        x = frame.x(at)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
            f'stroke="{marker.color}" stroke-dasharray="4 3"/>'
            f'<text x="{x + 3:.1f}" y="{TOP + 10 + 12 * (k % 4)}" fill="{marker.color}">'
            f"{escape(marker.text)}</text>"
        )
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    return [
        f'<rect x="{WIDTH - RIGHT + 12}" y="{TOP + 16 * i}" width="10" height="10" '
        f'fill="{PALETTE[i % len(PALETTE)]}"/>'
        f'<text x="{WIDTH - RIGHT + 27}" y="{TOP + 9 + 16 * i}">{escape(name)}</text>'
        for i, name in enumerate(names)
    ]


def _short(value: float) -> str:
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.1f}M"
    if size >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.3g}"


def band_chart(title: str, points: Sequence[Band], markers: Sequence[Marker] = ()) -> str:
    """A line with its confidence band (e.g. the lift over time)."""
    parts = _open(title)
    if not points:
        return "".join([*parts, _empty(), "</svg>"])
    frame = _Frame(len(points), min(p.low for p in points), max(p.high for p in points))
    parts += _axes(frame, [p.label for p in points], markers)
    upper = [f"{frame.x(i):.1f},{frame.y(p.high):.1f}" for i, p in enumerate(points)]
    lower = [f"{frame.x(i):.1f},{frame.y(p.low):.1f}" for i, p in enumerate(points)]
    if len(points) == 1:
        x = frame.x(0)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.y(points[0].low):.1f}" '
            f'y2="{frame.y(points[0].high):.1f}" stroke="#93c5fd" stroke-width="8"/>'
        )
    else:
        parts.append(
            f'<polygon points="{" ".join(upper + lower[::-1])}" fill="#93c5fd" opacity="0.5"/>'
        )
    line = " ".join(f"{frame.x(i):.1f},{frame.y(p.value):.1f}" for i, p in enumerate(points))
    parts.append(f'<polyline points="{line}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
    parts += [
        f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(p.value):.1f}" r="3" fill="{PALETTE[0]}">'
        f"<title>{escape(p.label)}: {p.value:,.0f} [{p.low:,.0f}, {p.high:,.0f}]</title></circle>"
        for i, p in enumerate(points)
    ]
    return "".join([*parts, *_legend(["lift", "95% interval"]), "</svg>"])


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    markers: Sequence[Marker] = (),
) -> str:
    """One line per series over the labels (None leaves a gap)."""
    parts = _open(title)
    values = [v for s in series.values() for v in s if v is not None]
    if not labels or not values:
        return "".join([*parts, _empty(), "</svg>"])
    frame = _Frame(len(labels), min(0.0, min(values)), max(values))
    parts += _axes(frame, labels, markers)
    for k, (name, points) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        segment: list[str] = []
        for i, value in enumerate([*points, None]):
            if value is not None:
                segment.append(f"{frame.x(i):.1f},{frame.y(value):.1f}")
                continue
            if segment:
                parts.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{color}" '
                    f'stroke-width="2"><title>{escape(name)}</title></polyline>'
                )
            segment = []
    return "".join([*parts, *_legend(list(series)), "</svg>"])


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    markers: Sequence[Marker] = (),
) -> str:
    """Stacked bars per label (e.g. the motion mix per day)."""
    parts = _open(title)
    totals = [sum(s[i] for s in series.values()) for i in range(len(labels))]
    if not labels or max(totals, default=0) <= 0:
        return "".join([*parts, _empty(), "</svg>"])
    frame = _Frame(len(labels), 0.0, max(totals))
    parts += _axes(frame, labels, markers)
    width = max(2.0, (WIDTH - LEFT - RIGHT) / max(len(labels), 1) * 0.7)
    base = [0.0] * len(labels)
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        for i, value in enumerate(values):
            if value <= 0:
                continue
            top, bottom = frame.y(base[i] + value), frame.y(base[i])
            parts.append(
                f'<rect x="{frame.x(i) - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" '
                f'height="{bottom - top:.1f}" fill="{color}"><title>{escape(labels[i])} '
                f"{escape(name)}: {value:,.0f}</title></rect>"
            )
            base[i] += value
    return "".join([*parts, *_legend(list(series)), "</svg>"])


def _empty() -> str:
    return f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data yet</text>'
