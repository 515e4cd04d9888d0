"""Bar charts drawn on the server as SVG: no JavaScript, no inline styles (the
Content-Security-Policy forbids them; colours and fonts come from classes in static/app.css).

Each chart is an image with a title and a description for screen readers (`role="img"`,
`aria-labelledby`); the page shows the same numbers in a table beside it, so nobody depends on
the picture. Bars are horizontal: month names and levels stay readable on a 375 px phone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 360  # the viewBox; the SVG scales to its box (CSS), so one unit is about one pixel
LABEL = 124  # the labels' column
VALUE = 64  # room right of the longest bar for its value
BAR = 14
GAP = 2  # between the bars of one row
ROW_GAP = 8
LEGEND = 20


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    shown: Callable[[float], str] = str,
    description: str = "",
) -> Markup:
    """A horizontal bar chart: one row per label, one bar per series in each row.

    `series` is [(name, values)], values in the order of `labels`; `shown` formats a value for
    its text. With more than one series a legend names them."""
    top = LEGEND if len(series) > 1 else 0
    row_height = len(series) * (BAR + GAP) - GAP + ROW_GAP
    height = top + max(len(labels), 1) * row_height
    largest = max((v for _name, values in series for v in values), default=0) or 1
    room = WIDTH - LABEL - VALUE
    parts = [
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    if top:
        x = LABEL
        for index, (name, _values) in enumerate(series):
            parts.append(
                f'<rect class="chart-bar chart-series-{index}" x="{x}" y="3" '
                f'width="10" height="10" rx="2"/>'
                f'<text class="chart-legend" x="{x + 14}" y="12">{escape(name)}</text>'
            )
            x += 14 + 8 * len(name) + 16
    for row, label in enumerate(labels):
        y = top + row * row_height
        middle = y + (row_height - ROW_GAP) / 2 + 4
        parts.append(
            f'<text class="chart-label" x="{LABEL - 6}" y="{middle:g}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        for index, (name, values) in enumerate(series):
            value = values[row]
            width = round(room * value / largest, 1) if value > 0 else 0
            bar_y = y + index * (BAR + GAP)
            text = escape(shown(value))
            parts.append(
                f'<rect class="chart-bar chart-series-{index}" x="{LABEL}" y="{bar_y}" '
                f'width="{width:g}" height="{BAR}" rx="2">'
                f"<title>{escape(label)}, {escape(name)}: {text}</title></rect>"
                f'<text class="chart-value" x="{LABEL + width + 4:g}" '
                f'y="{bar_y + BAR - 3}">{text}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


__all__ = ["bar_chart"]
