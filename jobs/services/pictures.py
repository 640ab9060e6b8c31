"""Pictures drawn on the server as inline SVG (no script, no CDN): a Run's steps as a Gantt timeline, row counts
over recent Runs as sparklines, and horizontal bars for counts by category."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from etl.text import plural

STATUS_COLOURS = {"succeeded": "#2e7d32", "failed": "#c62828", "running": "#1f6fb2", "pending": "#9e9e9e",
                  "skipped": "#bdbdbd", "cancelled": "#ef6c00"}
STAGE_COLOURS = {"etl": "#1f6fb2", "schema": "#6a1b9a", "sync": "#00838f"}


@dataclass
class Bar:
    """One step of a timeline: its label, stage, status and when it ran."""

    label: str
    stage: str
    status: str
    start: datetime | None
    end: datetime | None
    detail: str = ""


def gantt(bars: Sequence[Bar], width: int = 900, row: int = 16) -> SafeString:
    """A timeline of steps: one row per step, a bar from its start to its end (x axis: seconds since the first
    start). Steps that never ran are listed without a bar."""
    timed = [b for b in bars if b.start and b.end]
    if not timed:
        return mark_safe("")
    origin = min(b.start for b in timed)
    span = max((max(b.end for b in timed) - origin).total_seconds(), 0.001)
    label_w, pad = 190, 8
    plot = width - label_w - pad * 2
    height = row * len(bars) + 28
    out = [f'<svg class="ho-gantt" role="img" aria-label="Timeline of {plural(len(bars), "step")}" '
           f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
           f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">']
    for i in range(5):  # axis: 0, 1/4 ... of the span
        x = label_w + pad + plot * i / 4
        out.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 14}" stroke="#ddd"/>'
                   f'<text x="{x:.1f}" y="{height - 2}" text-anchor="middle" fill="#666">{span * i / 4:.1f} s</text>')
    for i, b in enumerate(bars):
        y = i * row + 2
        out.append(f'<text x="{label_w - 4}" y="{y + row - 5}" text-anchor="end" fill="#333">'
                   f'{escape(b.label[:32])}</text>')
        if b.start and b.end:
            x = label_w + pad + plot * (b.start - origin).total_seconds() / span
            w = max(plot * (b.end - b.start).total_seconds() / span, 2)
            colour = STAGE_COLOURS.get(b.stage, "#555") if b.status == "succeeded" else \
                STATUS_COLOURS.get(b.status, "#555")
            seconds = (b.end - b.start).total_seconds()
            tip = f"{b.label}: {seconds:.2f} s, {b.status}" + (f", {b.detail}" if b.detail else "")
            out.append(f'<rect class="ho-gantt-bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 4}" '
                       f'rx="2" fill="{colour}"><title>{escape(tip)}</title></rect>')
    out.append("</svg>")
    return mark_safe("".join(out))


def sparkline(values: Sequence[int | None], width: int = 120, height: int = 24, label: str = "") -> SafeString:
    """A small line of counts, oldest first; the last point is marked. Missing values break the line."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        return mark_safe("")
    low, high = min(v for _, v in points), max(v for _, v in points)
    spread = (high - low) or 1
    step = (width - 6) / max(len(values) - 1, 1)

    def xy(i: int, v: int) -> tuple[float, float]:
        return 3 + i * step, height - 3 - (height - 6) * ((v - low) / spread if high != low else 0.5)

    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in points))
    last_x, last_y = xy(*points[-1])
    title = escape(label or ", ".join("–" if v is None else f"{v:,}" for v in values))
    return mark_safe(
        f'<svg class="ho-spark" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>'
        f'<polyline points="{path}" fill="none" stroke="#1f6fb2" stroke-width="1.5"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="#1f6fb2"/></svg>')


def bars(items: Sequence[tuple[str, int]], width: int = 520, row: int = 18, colour: str = "#1f6fb2",
         colours: dict[str, str] | None = None, links: dict[str, str] | None = None) -> SafeString:
    """Horizontal bars, one per (label, count), longest first as given; a label may link somewhere."""
    if not items:
        return mark_safe("")
    top = max(c for _, c in items) or 1
    label_w = 170
    plot = width - label_w - 60
    out = [f'<svg class="ho-bars" role="img" aria-label="{plural(len(items), "bar")}" viewBox="0 0 {width} '
           f'{row * len(items) + 4}" width="100%" style="max-width:{width}px" xmlns="http://www.w3.org/2000/svg" '
           'font-size="11" font-family="sans-serif">']
    for i, (label, count) in enumerate(items):
        y = i * row + 2
        w = max(plot * count / top, 1 if count else 0)
        fill = (colours or {}).get(label, colour)
        text = f'<text x="{label_w - 4}" y="{y + row - 6}" text-anchor="end" fill="#333">{escape(label[:30])}</text>'
        if links and label in links:
            text = f'<a href="{escape(links[label])}">{text}</a>'
        out.append(f'{text}<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 5}" fill="{fill}">'
                   f'<title>{escape(label)}: {count:,}</title></rect>'
                   f'<text x="{label_w + w + 4:.1f}" y="{y + row - 6}" fill="#333">{count:,}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))
