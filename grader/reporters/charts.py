"""Small inline SVG charts, drawn by hand: no scripts, no fonts or styles fetched from anywhere."""

from __future__ import annotations

from html import escape

FONT = "font-family:sans-serif;font-size:12px"
GOOD, PART, BAD, TRACK = "#2e7d32", "#f9a825", "#c62828", "#e0e0e0"


def _colour(fraction: float) -> str:
    return GOOD if fraction >= 0.999 else (BAD if fraction <= 0.001 else PART)


def _num(value: float) -> str:
    return f"{value:g}"


def bar_chart(rows: list[tuple[str, float, float]], *, title: str, width: int = 720) -> str:
    """Horizontal bars `label  score/max`, one per row, coloured by the fraction scored."""
    label_w, value_w, row_h = 380, 70, 22
    bar_w = width - label_w - value_w
    height = row_h * len(rows) + 8
    parts = [f'<svg role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" style="{FONT}"><title>{escape(title)}</title>']
    for i, (label, value, maximum) in enumerate(rows):
        y = 4 + i * row_h
        fraction = value / maximum if maximum > 0 else 0.0
        shown = label if len(label) <= 56 else label[:55] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(shown)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" fill="{TRACK}"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * max(0.0, min(1.0, fraction)):.1f}" '
                     f'height="{row_h - 8}" fill="{_colour(fraction)}"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 15}">{_num(value)}/{_num(maximum)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(values: list[float], maximum: float, *, title: str, bins: int = 10, width: int = 560,
              height: int = 200) -> str:
    """Counts of `values` in `bins` equal ranges of [0, maximum]; the top range includes `maximum`."""
    counts = [0] * bins
    for value in values:
        index = int(bins * value / maximum) if maximum > 0 else 0
        counts[max(0, min(bins - 1, index))] += 1
    top = max(counts) or 1
    left, bottom, gap = 30, 36, 4
    plot_w, plot_h = width - left - 10, height - bottom - 10
    col_w = plot_w / bins
    parts = [f'<svg role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" style="{FONT}"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{10 + plot_h}" x2="{left + plot_w}" y2="{10 + plot_h}" stroke="#555"/>']
    for i, count in enumerate(counts):
        x = left + i * col_w
        h = plot_h * count / top
        parts.append(f'<rect x="{x + gap / 2:.1f}" y="{10 + plot_h - h:.1f}" width="{col_w - gap:.1f}" '
                     f'height="{h:.1f}" fill="#1565c0"><title>{count}</title></rect>')
        if count:
            parts.append(f'<text x="{x + col_w / 2:.1f}" y="{10 + plot_h - h - 3:.1f}" '
                         f'text-anchor="middle">{count}</text>')
        low = maximum * i / bins
        parts.append(f'<text x="{x + col_w / 2:.1f}" y="{10 + plot_h + 14}" text-anchor="middle">'
                     f'{_num(round(low, 1))}–</text>')
    parts.append(f'<text x="{left + plot_w}" y="{height - 4}" text-anchor="end">max {_num(maximum)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def text_bar(value: float, maximum: float, width: int = 20) -> str:
    """A bar of block characters for Markdown and terminals."""
    fraction = value / maximum if maximum > 0 else 0.0
    filled = round(width * max(0.0, min(1.0, fraction)))
    return "█" * filled + "░" * (width - filled)
