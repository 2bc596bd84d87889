"""Charts as inline SVG drawn on the server (no script, no CDN): grouped bars over months, horizontal bars over
categories, and a line, each with a title, a description, labelled values, and a data table beside it for screen
readers and for copying. Drawn on a phone-wide canvas (360 units) so that the text stays legible on a phone."""

from __future__ import annotations

import html
from collections.abc import Sequence

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 360, 220, 34, 30, 12
FONT = 11
COLOURS = ("#1f5f99", "#b35900", "#2e7d32", "#7b1fa2", "#a61b1b", "#546e7a")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _frame(title: str, description: str, body: str, chart_id: str, height: int = HEIGHT) -> str:
    return (f'<figure class="chart"><svg role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{chart_id}-t">{_esc(title)}</title><desc id="{chart_id}-d">{_esc(description)}</desc>'
            f'{body}</svg><figcaption>{_esc(title)}</figcaption></figure>')


def month_label(period: str) -> str:
    """2026-11 as 11/26: twelve of them fit a phone's width."""
    return f"{period[5:7]}/{period[2:4]}" if len(period) == 7 and period[4] == "-" else period


def nice(maximum: float) -> float:
    """The axis' top: the first of 1, 2, 2.5, 5 × 10^k at or above the largest value, so ticks read 0, 25, 50…"""
    import math

    if maximum <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(maximum))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= maximum)


def _axis(maximum: float, bottom: int) -> str:
    plot_h = bottom - TOP
    ticks = []
    for i in range(5):
        value = maximum * i / 4
        y = bottom - plot_h * i / 4
        ticks.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 4}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="{FONT}" fill="#444">'
                     f'{value:.3g}</text>')
    return "".join(ticks)


def _legend(names: Sequence[str], top: int) -> str:
    return "".join(f'<rect x="{LEFT}" y="{top + 16 * j}" width="10" height="10" fill="{COLOURS[j % len(COLOURS)]}"/>'
                   f'<text x="{LEFT + 14}" y="{top + 9 + 16 * j}" font-size="{FONT}" fill="#222">{_esc(name)}</text>'
                   for j, name in enumerate(names))


def bars(chart_id: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
         shown: Sequence[Sequence[str]] | None = None) -> str:
    """Grouped vertical bars over months: ``series`` is (name, values per month); ``shown`` the text of each
    value (a suppressed one keeps its text, with the bar drawn at zero)."""
    numbers = [v or 0.0 for _, values in series for v in values]
    maximum = nice(max(numbers + [1.0]))
    bottom = HEIGHT - BOTTOM
    plot_w, plot_h = WIDTH - LEFT - 4, bottom - TOP
    group = plot_w / max(1, len(labels))
    bar_w = group * 0.8 / max(1, len(series))
    parts = [_axis(maximum, bottom)]
    for i, label in enumerate(labels):
        x0 = LEFT + i * group + group * 0.1
        for j, (name, values) in enumerate(series):
            value = values[i] or 0.0
            h = plot_h * value / maximum
            text = shown[j][i] if shown else f"{value:g}"
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{bottom - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                         f'height="{h:.1f}" fill="{COLOURS[j % len(COLOURS)]}"><title>{_esc(name)} {_esc(label)}: '
                         f'{_esc(text)}</title></rect>')
        if len(labels) <= 6 or (len(labels) - 1 - i) % 2 == 0:  # every other month, back from the last
            parts.append(f'<text x="{x0 + group * 0.4:.1f}" y="{bottom + 14}" text-anchor="middle" '
                         f'font-size="{FONT - 1}" fill="#333">{_esc(month_label(label))}</text>')
    height = HEIGHT + 16 * len(series)
    description = "; ".join(f"{name}: " + ", ".join(f"{label} {shown[j][i] if shown else values[i]}"
                                                  for i, label in enumerate(labels))
                            for j, (name, values) in enumerate(series))
    return _frame(title, description, "".join(parts) + _legend([n for n, _ in series], HEIGHT - 8), chart_id,
                  height)


def hbars(chart_id: str, title: str, labels: Sequence[str], values: Sequence[float | None],
          shown: Sequence[str]) -> str:
    """Horizontal bars over categories, each labelled in full above its bar with its value at the end."""
    maximum = max([v or 0.0 for v in values] + [1.0])
    row, width = 34, WIDTH - 8 - 40
    parts = []
    for i, (label, value, text) in enumerate(zip(labels, values, shown, strict=True)):
        y = 4 + i * row
        w = width * (value or 0.0) / maximum
        parts.append(f'<text x="4" y="{y + 11}" font-size="{FONT}" fill="#222">{_esc(label)}</text>'
                     f'<rect x="4" y="{y + 15}" width="{w:.1f}" height="12" fill="{COLOURS[0]}"/>'
                     f'<text x="{8 + w:.1f}" y="{y + 25}" font-size="{FONT}" fill="#222">{_esc(text)}</text>')
    description = ", ".join(f"{label} {text}" for label, text in zip(labels, shown, strict=True))
    return _frame(title, description, "".join(parts), chart_id, 8 + row * len(labels))


def line(chart_id: str, title: str, labels: Sequence[str], values: Sequence[float | None], unit: str = "%") -> str:
    """A line over the months; a missing value breaks it."""
    maximum = nice(max([v for v in values if v is not None] + [100.0 if unit == "%" else 1.0]))
    bottom = HEIGHT - BOTTOM
    plot_w, plot_h = WIDTH - LEFT - 24, bottom - TOP
    step = plot_w / max(1, len(labels) - 1)
    parts = [_axis(maximum, bottom)]
    points: list[str] = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + 4 + i * step
        if len(labels) <= 6 or (len(labels) - 1 - i) % 2 == 0:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" font-size="{FONT - 1}" '
                         f'fill="#333">{_esc(month_label(label))}</text>')
        if value is None:
            parts.append(_polyline(points))
            points = []
            continue
        y = bottom - plot_h * value / maximum
        points.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS[0]}"><title>{_esc(label)}: '
                     f'{value:g}{_esc(unit)}</title></circle>')
    parts.append(_polyline(points))
    description = ", ".join(f"{label} {'—' if v is None else f'{v:g}{unit}'}"
                            for label, v in zip(labels, values, strict=True))
    return _frame(title, description, "".join(parts), chart_id)


def _polyline(points: list[str]) -> str:
    if len(points) < 2:
        return ""
    return f'<polyline fill="none" stroke="{COLOURS[0]}" stroke-width="2" points="{" ".join(points)}"/>'


def data_table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f'<th scope="col">{_esc(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join((f'<th scope="row">{_esc(r[0])}</th>' if i == 0 else f"<td>{_esc(c)}</td>")
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
