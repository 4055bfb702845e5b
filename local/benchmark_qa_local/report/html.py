"""The leaderboard as one self-contained HTML page: inline CSS and inline SVG charts drawn here, no JavaScript,
no fonts, scripts or images from anywhere (a Content-Security-Policy forbids them), so it opens offline, can be
mailed, and reads the same with JavaScript off.

Sections: summary table, score bars with 95% whiskers, per-class F1 heatmap, trend lines, conflicts and hints,
per-attribute accuracy, how to read. Colours are Okabe-Ito (distinguishable with the common colour-vision
deficiencies) and every coloured mark also carries its number as text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from benchmark_qa.leaderboard import AnnotatorRow, Leaderboard
from benchmark_qa.scoring.metrics import Stat

# Score bars use a colour no other mark uses, so a screenshot can find them.
BAR = "#0072B2"
BAR_UNRANKED = "#B8B8B8"
WHISKER = "#000000"
GRID = "#DDDDDD"
# Okabe-Ito without the bar blue; black last.
LINES = ("#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
# viridis stops for the heatmap (perceptually uniform, readable in greyscale)
HEAT = ((0x44, 0x01, 0x54), (0x3B, 0x52, 0x8B), (0x21, 0x91, 0x8C), (0x5E, 0xC9, 0x62), (0xFD, 0xE7, 0x25))

LABEL_W = 240  # annotator names left of the bars
PLOT_W = 560  # score 0..1 across this many pixels
ROW_H = 30
BAR_H = 18

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #1a1a1a; background: #ffffff; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6rem; margin: 0.4em 0; }
h2 { font-size: 1.2rem; margin: 1.6em 0 0.5em; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
p.meta, p.note { color: #444; margin: 0.3em 0; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e4e4e4; text-align: right; vertical-align: top; }
th { background: #f3f3f3; }
td.name, th.name, td.text, th.text { text-align: left; }
tr.unranked td { color: #555; font-style: italic; }
.ci { color: #555; font-size: 0.85em; white-space: nowrap; }
svg { display: block; margin: 8px 0; font-size: 12px; }
svg text { fill: #1a1a1a; }
.bar { display: inline-block; height: 10px; background: #D55E00; vertical-align: middle; }
dl dt { font-weight: 600; margin-top: 0.5em; }
dl dd { margin-left: 1.5em; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(s: Stat) -> str:
    return "–" if s.value is None else f"{s.value:.3f}"


def _ci(s: Stat) -> str:
    if s.low is None or s.high is None:
        return ""
    return f' <span class="ci">[{s.low:.2f}–{s.high:.2f}] n={s.n}</span>'


def _heat(value: float) -> tuple[str, str]:
    """Fill and a text colour readable on it."""
    position = min(max(value, 0.0), 1.0) * (len(HEAT) - 1)
    i = min(int(position), len(HEAT) - 2)
    t = position - i
    r, g, b = (round(a + (c - a) * t) for a, c in zip(HEAT[i], HEAT[i + 1], strict=True))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return f"#{r:02X}{g:02X}{b:02X}", "#000000" if luminance > 140 else "#FFFFFF"


def _summary(board: Leaderboard) -> str:
    head = (
        "<tr><th>Rank</th><th class='name'>Annotator</th><th>Tasks</th><th>Mean task score [95% CI]</th>"
        "<th>Precision</th><th>Recall</th><th>F1</th><th>Localisation</th><th>Attribute accuracy</th>"
        "<th class='text'>Status</th></tr>"
    )
    rows = []
    for row in board.annotators:
        css = "ranked" if row.rank is not None else "unranked"
        rows.append(
            f"<tr class='{css}' data-annotator='{_e(row.annotator)}' data-rank='{row.rank or ''}'>"
            f"<td>{row.rank or '–'}</td><td class='name'>{_e(row.annotator)}</td><td>{row.tasks}</td>"
            f"<td>{_num(row.score)}{_ci(row.score)}</td>"
            f"<td>{_num(row.precision)}{_ci(row.precision)}</td><td>{_num(row.recall)}{_ci(row.recall)}</td>"
            f"<td>{_num(row.f1)}{_ci(row.f1)}</td><td>{_num(row.localisation)}</td>"
            f"<td>{_num(row.attributes)}{_ci(row.attributes)}</td><td class='text'>{_e(row.status)}</td></tr>"
        )
    if not rows:
        rows.append("<tr><td colspan='10' class='text'>No scored tasks.</td></tr>")
    return f"<table id='summary'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _x(value: float) -> int:
    return LABEL_W + round(min(max(value, 0.0), 1.0) * PLOT_W)


def _score_bars(rows: list[AnnotatorRow]) -> str:
    top = 24
    height = top + ROW_H * max(len(rows), 1) + 8
    width = LABEL_W + PLOT_W + 280
    parts = [
        f"<svg id='score-chart' role='img' aria-labelledby='score-chart-title' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'><title id='score-chart-title'>Mean task score per annotator, "
        "bars with 95% interval whiskers</title>"
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = _x(tick)
        parts.append(f"<line x1='{x}' y1='{top - 4}' x2='{x}' y2='{height - 8}' stroke='{GRID}' stroke-width='1'/>")
        parts.append(f"<text x='{x}' y='{top - 8}' text-anchor='middle'>{tick:g}</text>")
    for i, row in enumerate(rows):
        y = top + i * ROW_H + (ROW_H - BAR_H) // 2
        mid = y + BAR_H // 2
        value = row.score.value or 0.0
        colour = BAR if row.rank is not None else BAR_UNRANKED
        label = f"{row.rank}. {row.annotator}" if row.rank is not None else row.annotator
        parts.append(f"<text x='{LABEL_W - 8}' y='{mid + 4}' text-anchor='end'>{_e(label)}</text>")
        parts.append(
            f"<rect class='score-bar' data-annotator='{_e(row.annotator)}' x='{LABEL_W}' y='{y}' "
            f"width='{_x(value) - LABEL_W}' height='{BAR_H}' fill='{colour}' shape-rendering='crispEdges'>"
            f"<title>{_e(row.annotator)}: {_num(row.score)} (n={row.tasks} tasks)</title></rect>"
        )
        if row.score.low is not None and row.score.high is not None:
            lo, hi = _x(row.score.low), _x(row.score.high)
            parts.append(
                f"<path d='M{lo} {mid - 5}V{mid + 5}M{lo} {mid}H{hi}M{hi} {mid - 5}V{mid + 5}' "
                f"stroke='{WHISKER}' stroke-width='2' fill='none' shape-rendering='crispEdges'/>"
            )
        note = f"{_num(row.score)}  n={row.tasks}" + ("" if row.rank is not None else "  not enough evidence")
        parts.append(f"<text x='{LABEL_W + PLOT_W + 8}' y='{mid + 4}'>{_e(note)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _heatmap(board: Leaderboard) -> str:
    classes = board.classes
    if not classes or not board.annotators:
        return "<p class='note'>No object classes were scored.</p>"
    cell_w, cell_h, top = 90, 26, 60
    width = LABEL_W + cell_w * len(classes) + 20
    height = top + cell_h * len(board.annotators) + 10
    parts = [
        f"<svg id='class-heatmap' role='img' aria-labelledby='class-heatmap-title' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}'><title id='class-heatmap-title'>F1 per annotator "
        "and class (darker is lower; the number is printed in each cell)</title>"
    ]
    for j, name in enumerate(classes):
        x = LABEL_W + j * cell_w + cell_w // 2
        parts.append(f"<text x='{x}' y='{top - 10}' text-anchor='middle'>{_e(name)}</text>")
    for i, row in enumerate(board.annotators):
        y = top + i * cell_h
        parts.append(f"<text x='{LABEL_W - 8}' y='{y + cell_h // 2 + 4}' text-anchor='end'>{_e(row.annotator)}</text>")
        by_class = {c.name: c for c in row.classes}
        for j, name in enumerate(classes):
            x = LABEL_W + j * cell_w
            c = by_class.get(name)
            if c is None or c.f1.value is None:
                fill, ink, text = "#FFFFFF", "#777777", "–"
            else:
                fill, ink = _heat(c.f1.value)
                text = f"{c.f1.value:.2f}"
            tip = f"{row.annotator} / {name}: " + (
                f"F1 {c.f1.value:.3f}, TP {c.tp}, FP {c.fp}, FN {c.fn}" if c and c.f1.value is not None else "none"
            )
            parts.append(
                f"<rect x='{x + 1}' y='{y + 1}' width='{cell_w - 2}' height='{cell_h - 2}' fill='{fill}' "
                f"stroke='#cccccc'><title>{_e(tip)}</title></rect>"
                f"<text x='{x + cell_w // 2}' y='{y + cell_h // 2 + 4}' text-anchor='middle' "
                f"style='fill:{ink}'>{text}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _trend(board: Leaderboard) -> str:
    periods = board.periods
    shown = board.annotators[: len(LINES)]
    if not periods or not shown:
        return "<p class='note'>No trend yet.</p>"
    left, top, plot_w, plot_h = 60, 20, 700, 240
    width, height = left + plot_w + 260, top + plot_h + 50
    step = plot_w / max(len(periods) - 1, 1)
    index = {p: k for k, p in enumerate(periods)}

    def at(period: str, value: float) -> tuple[float, float]:
        x = left + (index[period] * step if len(periods) > 1 else plot_w / 2)
        return round(x, 1), round(top + (1.0 - value) * plot_h, 1)

    parts = [
        f"<svg id='trend-chart' role='img' aria-labelledby='trend-chart-title' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'><title id='trend-chart-title'>Mean task score per {board.bucket}</title>"
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        _, y = at(periods[0], tick)
        parts.append(f"<line x1='{left}' y1='{y}' x2='{left + plot_w}' y2='{y}' stroke='{GRID}'/>")
        parts.append(f"<text x='{left - 6}' y='{y + 4}' text-anchor='end'>{tick:g}</text>")
    labelled = periods if len(periods) <= 12 else periods[:: max(len(periods) // 12, 1)]
    for period in labelled:
        x, _ = at(period, 0.0)
        parts.append(f"<text x='{x}' y='{top + plot_h + 18}' text-anchor='middle'>{_e(period)}</text>")
    for k, row in enumerate(shown):
        colour = LINES[k]
        points = [(p.period, p.score) for p in row.trend if p.score.value is not None]
        xy = [at(period, s.value or 0.0) for period, s in points]
        if len(xy) > 1:
            path = " ".join(f"{x},{y}" for x, y in xy)
            parts.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'/>")
        for (x, y), (period, s) in zip(xy, points, strict=True):
            parts.append(
                f"<circle cx='{x}' cy='{y}' r='4' fill='{colour}'><title>{_e(row.annotator)} {_e(period)}: "
                f"{_num(s)} (n={s.n} tasks)</title></circle>"
            )
        ly = top + 10 + k * 20
        parts.append(
            f"<line x1='{left + plot_w + 20}' y1='{ly}' x2='{left + plot_w + 44}' y2='{ly}' stroke='{colour}' "
            f"stroke-width='3'/><text x='{left + plot_w + 50}' y='{ly + 4}'>{_e(row.annotator)}</text>"
        )
    parts.append("</svg>")
    hidden = len(board.annotators) - len(shown)
    more = f"<p class='note'>{hidden} more annotator(s) are in the table and the JSON/CSV.</p>" if hidden > 0 else ""
    return "".join(parts) + more


def _conflicts(rows: Iterable[AnnotatorRow]) -> str:
    body = []
    for row in rows:
        biggest = max((c.count for c in row.conflicts), default=1)
        kinds = "<br>".join(
            f"<span class='bar' style='width:{max(round(80 * c.count / biggest), 2)}px'></span> "
            f"{_e(c.name)} ({c.count})"
            for c in row.conflicts
        )
        hints = "<br>".join(f"{_e(h.name)} ({h.count} task{'s' if h.count != 1 else ''})" for h in row.hints)
        body.append(
            f"<tr><td class='name'>{_e(row.annotator)}</td><td class='text'>{kinds or '–'}</td>"
            f"<td class='text'>{hints or '–'}</td></tr>"
        )
    return (
        "<table id='conflicts'><thead><tr><th class='name'>Annotator</th><th class='text'>Conflict kinds "
        "(frames)</th><th class='text'>Hints most often given</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _attributes(rows: Iterable[AnnotatorRow]) -> str:
    body = [
        f"<tr><td class='name'>{_e(row.annotator)}</td><td class='text'>{_e(a.path)}</td><td>{a.correct}</td>"
        f"<td>{a.total}</td><td>{_num(a.accuracy)}{_ci(a.accuracy)}</td></tr>"
        for row in rows
        for a in row.attribute_paths
    ]
    if not body:
        return "<p class='note'>No attributes were scored.</p>"
    return (
        "<table id='attributes'><thead><tr><th class='name'>Annotator</th><th class='text'>Attribute path</th>"
        f"<th>Correct</th><th>Total</th><th>Accuracy [95% CI]</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _reading(board: Leaderboard) -> str:
    methods = "".join(f"<dt>{_e(name)}</dt><dd>{_e(text)}</dd>" for name, text in board.methods.items())
    return f"<p id='ranking-rule'>{_e(board.ranking_rule)}</p><dl>{methods}</dl>"


def render_html(board: Leaderboard) -> str:
    since = f" since {_e(board.since)}" if board.since else ""
    notes = "".join(f"<p class='note'>Note: {_e(n)}</p>" for n in board.notes)
    errors = (
        f"<p class='note'>{board.open_errors} task(s) could not be scored yet and are not counted.</p>"
        if board.open_errors
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Annotator leaderboard</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>Annotator leaderboard</h1>
<p class="meta">{board.tasks} scored tasks{since}, {len(board.annotators)} annotators; ranked with at least
{board.min_tasks} tasks. Generated {_e(board.generated_at)}.</p>
{errors}{notes}
<h2>Summary</h2>
{_summary(board)}
<h2>Mean task score with 95% interval</h2>
{_score_bars(board.annotators)}
<h2>F1 per class</h2>
{_heatmap(board)}
<h2>Trend</h2>
{_trend(board)}
<h2>Most frequent conflicts and hints</h2>
{_conflicts(board.annotators)}
<h2>Attribute accuracy</h2>
{_attributes(board.annotators)}
<h2>How to read this report</h2>
{_reading(board)}
</main>
</body>
</html>
"""
