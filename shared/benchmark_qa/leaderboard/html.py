"""The leaderboard as one self-contained HTML page for the people who manage annotators.

Inline CSS, HTML bars and inline SVG drawn here; no JavaScript, fonts, scripts or images from anywhere (a
Content-Security-Policy forbids them), so it opens offline, can be mailed, and reads the same with JavaScript
off. Built to read at 5 and at 60 annotators, 1024 to 1920 px wide: names wrap (never clipped; every name also
carries its full text as a title), wide tables scroll inside themselves with the name column pinned, and the trend
is one small chart per annotator against the team's line. Colours are Okabe-Ito and viridis (both readable with
the common colour-vision deficiencies), and every coloured mark also carries its number as text.

`SECTIONS` lists the page's sections in order; a new section is a new entry (id, title, renderer).
"""

from __future__ import annotations

import html
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from benchmark_qa.leaderboard.model import AnnotatorRow, Leaderboard, TrendPoint
from benchmark_qa.scoring.metrics import Stat
from benchmark_qa.task_details import NO_ANSWER

# Score bars use a colour no other mark uses, so a screenshot can find them.
BAR = "#0072B2"
BAR_UNRANKED = "#B8B8B8"
WHISKER = "#000000"
TEAM = "#888888"  # the team's line in every small multiple
LINE = "#D55E00"  # the annotator's own line (Okabe-Ito vermillion: distinct from the bars' blue)
BAND = "#EEF3F8"  # shading of every other rank group
RIGHT = "#D6E6F4"  # confusion cells: a light Okabe-Ito blue for "right" ...
CONFUSED = "#F8E0D0"  # ... and a light orange for a confusion (blue / orange stay apart for every colour vision)
# viridis stops for heat cells (perceptually uniform, readable in greyscale)
HEAT = ((0x44, 0x01, 0x54), (0x3B, 0x52, 0x8B), (0x21, 0x91, 0x8C), (0x5E, 0xC9, 0x62), (0xFD, 0xE7, 0x25))
SPARK_W, SPARK_H = 240, 90  # viewBox of one small multiple
COMPACT_GROUPS = 8  # more ranks than this: their words fold away (the summary table shows every rank)
SCATTER_W, SCATTER_H = 720, 380

CSS = """
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #1a1a1a; background: #ffffff; font-size: 15px; line-height: 1.4; }
main { max-width: 1600px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6rem; margin: 0.4em 0; }
h2 { font-size: 1.25rem; margin: 1.8em 0 0.5em; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 1.05rem; margin: 1.2em 0 0.4em; }
p.meta, p.note { color: #444; margin: 0.3em 0; }
nav { margin: 0.6em 0; display: flex; flex-wrap: wrap; gap: 4px 14px; }
a { color: #0B5394; }
.name { overflow-wrap: anywhere; }
.scroll { overflow: auto; max-width: 100%; border: 1px solid #e4e4e4; }
.scroll.tall { max-height: 640px; }
table { border-collapse: separate; border-spacing: 0; font-size: 0.9rem; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e4e4e4; text-align: right; vertical-align: top;
         background: #ffffff; }
thead th { background: #f3f3f3; position: sticky; top: 0; z-index: 2; }
th.name, td.name { text-align: left; position: sticky; left: 0; z-index: 1; min-width: 15em; max-width: 24em;
                   border-right: 1px solid #e4e4e4; }
td { white-space: nowrap; }
td.name, td.text { white-space: normal; }
table.wide { width: 100%; }
thead th.name { z-index: 3; }
td.text, th.text { text-align: left; }
tr.unranked td { color: #555; font-style: italic; }
.ci { color: #555; font-size: 0.85em; white-space: nowrap; }
.rank { display: inline-block; min-width: 1.8em; font-weight: 600; }
ol.groups { padding-left: 0; list-style: none; }
ol.groups li { margin: 0.35em 0; padding: 6px 10px; border-left: 4px solid #0072B2; background: #F6F9FC; }
.bar-row { display: grid; grid-template-columns: minmax(12em, 22em) minmax(200px, 1fr) 10em; align-items: center;
           column-gap: 10px; padding: 3px 6px; }
.bar-row.band { background: #EEF3F8; }  /* BAND: every other rank group */
.track { position: relative; height: 18px; }
.bar { position: absolute; left: 0; top: 0; height: 18px; }
.whisker { position: absolute; top: 8px; height: 2px; background: #000000; }
.whisker::before, .whisker::after { content: ""; position: absolute; top: -5px; width: 2px; height: 12px;
                                     background: #000000; }
.whisker::before { left: 0; } .whisker::after { right: 0; }
.axis { font-size: 0.8rem; color: #555; position: relative; height: 1.2em; }
.axis span { position: absolute; transform: translateX(-50%); }
.value { font-variant-numeric: tabular-nums; white-space: nowrap; font-size: 0.9rem; }
.multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px 14px; }
.multiples figure { margin: 0; border: 1px solid #e4e4e4; padding: 4px 6px; }
.multiples figcaption { font-size: 0.85rem; min-height: 2.6em; }
.multiples svg { width: 100%; height: auto; display: block; }
svg text { fill: #1a1a1a; font-size: 12px; }
svg.scatter { width: 100%; max-width: 900px; height: auto; display: block; }
.legend { font-size: 0.85rem; color: #444; }
.swatch { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin: 0 4px 0 10px; }
details { margin: 0.4em 0; border: 1px solid #e4e4e4; padding: 4px 10px; }
details > summary { cursor: pointer; font-weight: 600; }
details[open] > summary { margin-bottom: 0.5em; }
.kind-error { color: #A63D00; font-weight: 600; }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px 24px; }
dl dt { font-weight: 600; margin-top: 0.5em; }
dl dd { margin-left: 1.5em; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _anchor(name: str) -> str:
    return "a-" + "".join(c if c.isalnum() else "-" for c in name)


BREAK_AFTER = re.compile(r"([@._+-])")


def _breakable(name: str) -> str:
    """The escaped name with line-break chances after @ . _ + - (e-mail addresses wrap at their parts)."""
    return "".join(_e(part) + ("<wbr>" if BREAK_AFTER.fullmatch(part) else "") for part in BREAK_AFTER.split(name))


def _name(name: str, tag: str = "span", css: str = "name") -> str:
    """A name that wraps and is never clipped; its full text is also its title (shown on hover)."""
    return f"<{tag} class='{css}' title='{_e(name)}'>{_breakable(name)}</{tag}>"


def _name_cell(name: str, inner: str | None = None) -> str:
    return f"<td class='name' title='{_e(name)}'>{inner if inner is not None else _breakable(name)}</td>"


def _num(s: Stat | None, digits: int = 3) -> str:
    return "–" if s is None or s.value is None else f"{s.value:.{digits}f}"


def _ci(s: Stat) -> str:
    if s.low is None or s.high is None:
        return ""
    return f" <span class='ci'>[{s.low:.2f}–{s.high:.2f}] n={s.n}</span>"


def _pct(value: float) -> str:
    return f"{min(max(value, 0.0), 1.0) * 100:.3f}%"


def _heat(value: float) -> tuple[str, str]:
    """Fill and a text colour readable on it."""
    position = min(max(value, 0.0), 1.0) * (len(HEAT) - 1)
    i = min(int(position), len(HEAT) - 2)
    t = position - i
    r, g, b = (round(a + (c - a) * t) for a, c in zip(HEAT[i], HEAT[i + 1], strict=True))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return f"#{r:02X}{g:02X}{b:02X}", "#000000" if luminance > 140 else "#FFFFFF"


def _heat_cell(s: Stat | None, tip: str) -> str:
    if s is None or s.value is None:
        return f"<td title='{_e(tip)}: no evidence'>–</td>"
    fill, ink = _heat(s.value)
    return (
        f"<td class='heat' style='background:{fill};color:{ink}' title='{_e(tip)}: {s.value:.3f}, n={s.n}'>"
        f"{s.value:.2f}</td>"
    )


def _money(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{value:,.2f} {_e(currency)}"


def _minutes(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _rank_cell(row: AnnotatorRow) -> str:
    return f"<span class='rank'>{row.rank if row.rank is not None else '–'}</span>"


# ------------------------------------------------------------------------------------------------- sections
def _groups(board: Leaderboard) -> str:
    if not board.groups:
        return "<p class='note'>Nobody has enough scored tasks to be ranked yet.</p>"
    shown = sum(1 for c in board.comparisons if c.better)
    items = f"<ol class='groups'>{''.join(f'<li data-rank={g.rank}>{_e(g.words)}</li>' for g in board.groups)}</ol>"
    largest = max(len(g.annotators) for g in board.groups)
    shared = f", the largest shared by {largest} annotators" if largest > 1 else ", none shared"
    intro = (
        f"<p>{len(board.ranked)} annotators are ranked. {len(board.comparisons)} pairs of them share benchmark "
        f"items: {shown} of those pairs show a difference at the {board.alpha:.0%} level (after Holm's correction), "
        f"{len(board.comparisons) - shown} cannot be told apart. A rank is 1 + the number of annotators shown to be "
        f"better, so annotators with the same rank cannot be told apart: {len(board.groups)} ranks{shared}.</p>"
    )
    if len(board.groups) <= COMPACT_GROUPS:
        return intro + items
    return intro + f"<details><summary>Every rank, in words</summary>{items}</details>"


def _summary(board: Leaderboard) -> str:
    head = (
        "<tr><th>Rank</th><th class='name'>Annotator</th><th>Tasks</th><th>Mean task score [95% CI]</th>"
        "<th>Better than</th><th>Worse than</th><th>Cannot tell apart</th><th>F1</th><th>Recall</th>"
        "<th>Precision</th><th>Attribute accuracy</th><th>Minutes per task</th><th>Tasks per hour</th>"
        "<th>Cost per correct object</th><th class='text'>Top conflict</th></tr>"
    )
    rows = []
    for row in board.annotators:
        css = "ranked" if row.rank is not None else "unranked"
        top = f"{_e(row.conflicts[0].name)} ({row.conflicts[0].count})" if row.conflicts else "–"
        tested = row.rank is not None
        rows.append(
            f"<tr class='{css}' data-annotator='{_e(row.annotator)}' data-rank='{row.rank or ''}'>"
            f"<td>{_rank_cell(row)}</td>"
            + _name_cell(row.annotator, f"<a href='#{_anchor(row.annotator)}'>{_breakable(row.annotator)}</a>")
            + f"<td>{row.tasks}</td>"
            f"<td>{_num(row.score)}{_ci(row.score)}</td>"
            f"<td>{row.better_than if tested else '–'}</td><td>{row.worse_than if tested else '–'}</td>"
            f"<td>{row.not_distinguishable if tested else '–'}</td>"
            f"<td>{_num(row.f1)}</td><td>{_num(row.recall)}</td><td>{_num(row.precision)}</td>"
            f"<td>{_num(row.attributes)}</td><td>{_minutes(row.time.minutes_per_task)}</td>"
            f"<td>{_minutes(row.time.tasks_per_hour)}</td>"
            f"<td>{_money(row.time.cost_per_correct, board.currency)}</td>"
            f"<td class='text'>{top if tested else _e(row.status)}</td></tr>"
        )
    if not rows:
        rows.append("<tr><td colspan='15' class='text'>No scored tasks.</td></tr>")
    table = f"<table id='summary' class='wide'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    return f"<div class='scroll tall'>{table}</div>"


def _score_bars(board: Leaderboard) -> str:
    if not board.annotators:
        return "<p class='note'>No scored tasks.</p>"
    rows = []
    band, previous = False, None
    for row in board.annotators:
        if row.rank != previous:
            band, previous = not band, row.rank
        shade = " band" if band and row.rank is not None else ""
        colour = BAR if row.rank is not None else BAR_UNRANKED
        whisker = ""
        if row.score.low is not None and row.score.high is not None:
            whisker = (
                f"<div class='whisker' style='left:{_pct(row.score.low)};width:{_pct(row.score.high - row.score.low)}'>"
                "</div>"
            )
        note = f"{_num(row.score)} · n={row.tasks}" + ("" if row.rank is not None else " · too few tasks")
        rows.append(
            f"<div class='bar-row{shade}'><div>{_rank_cell(row)}{_name(row.annotator)}</div>"
            f"<div class='track'><div class='bar score-bar' data-annotator='{_e(row.annotator)}' "
            f"style='width:{_pct(row.score.value or 0.0)};background:{colour}' "
            f"title='{_e(row.annotator)}: {_num(row.score)}'></div>{whisker}</div>"
            f"<div class='value'>{_e(note)}</div></div>"
        )
    ticks = "".join(f"<span style='left:{_pct(t)}'>{t:g}</span>" for t in (0.0, 0.25, 0.5, 0.75, 1.0))
    axis = f"<div class='bar-row'><div></div><div class='axis'>{ticks}</div><div></div></div>"
    return f"<div class='bars' id='score-chart'>{axis}{''.join(rows)}</div>"


def _polyline(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def _spark(row: AnnotatorRow, periods: list[str], team: list[TrendPoint], span: tuple[float, float]) -> str:
    left, right, top, bottom = 30, 6, 6, 16
    plot_w, plot_h = SPARK_W - left - right, SPARK_H - top - bottom
    index = {p: k for k, p in enumerate(periods)}
    step = plot_w / max(len(periods) - 1, 1)
    low, high = span

    def at(period: str, value: float) -> tuple[float, float]:
        x = left + (index[period] * step if len(periods) > 1 else plot_w / 2)
        return x, top + (high - value) / (high - low) * plot_h

    grid = "".join(
        f"<line x1='{left}' x2='{SPARK_W - right}' y1='{at(periods[0], v)[1]:.1f}' y2='{at(periods[0], v)[1]:.1f}' "
        f"stroke='#E4E4E4'/><text x='{left - 4}' y='{at(periods[0], v)[1] + 4:.1f}' text-anchor='end'>{v:.1f}</text>"
        for v in (low, (low + high) / 2, high)
    )
    team_xy = [at(p.period, p.score.value) for p in team if p.score.value is not None and p.period in index]
    own = [(p.period, p.score) for p in row.trend if p.score.value is not None]
    own_xy = [at(period, s.value or 0.0) for period, s in own]
    dots = "".join(
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2.5' fill='{LINE}'><title>{_e(period)}: {_num(s)} "
        f"(n={s.n} tasks)</title></circle>"
        for (x, y), (period, s) in zip(own_xy, own, strict=True)
    )
    first, last = periods[0], periods[-1]
    label = (
        f"<text x='{left}' y='{SPARK_H - 3}'>{_e(first[5:])}</text>"
        f"<text x='{SPARK_W - right}' y='{SPARK_H - 3}' text-anchor='end'>{_e(last[5:])}</text>"
    )
    return (
        f"<svg class='spark' viewBox='0 0 {SPARK_W} {SPARK_H}' role='img' "
        f"aria-label='{_e(row.annotator)}: mean task score per period'>{grid}{label}"
        f"<polyline points='{_polyline(team_xy)}' fill='none' stroke='{TEAM}' stroke-width='1.5' "
        "stroke-dasharray='4 3'/>"
        f"<polyline class='own' points='{_polyline(own_xy)}' fill='none' stroke='{LINE}' stroke-width='2'/>"
        f"{dots}</svg>"
    )


def _trend(board: Leaderboard) -> str:
    if not board.periods or not board.annotators:
        return "<p class='note'>No trend yet.</p>"
    span = _score_range(board)
    legend = (
        f"<p class='legend'>One chart per annotator, mean task score per {board.bucket} ({len(board.periods)} "
        f"{board.bucket}s, {_e(board.periods[0])} to {_e(board.periods[-1])}), all on the same scale "
        f"({span[0]:.1f} to {span[1]:.1f}). "
        f"<span class='swatch' style='background:{LINE}'></span>the annotator "
        f"<span class='swatch' style='background:{TEAM}'></span>the team (median of the annotators)</p>"
    )
    figures = "".join(
        f"<figure data-annotator='{_e(row.annotator)}'><figcaption>{_rank_cell(row)}{_name(row.annotator)}"
        f"</figcaption>{_spark(row, board.periods, board.team_trend, span)}</figure>"
        for row in board.annotators
    )
    return legend + f"<div class='multiples' id='trend-multiples'>{figures}</div>"


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `top`, about `count` steps of 1, 2, 2.5 or 5 x 10^k."""
    rough = max(top, 1e-9) / count
    magnitude = 10.0 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= rough)
    return [step * k for k in range(math.ceil(top / step - 1e-9) + 1)]


def _score_range(board: Leaderboard) -> tuple[float, float]:
    """One score axis for every small multiple, wide enough for every point (tenths, within 0..1)."""
    values = [p.score.value for row in board.annotators for p in row.trend if p.score.value is not None]
    values += [p.score.value for p in board.team_trend if p.score.value is not None]
    if not values:
        return 0.0, 1.0
    low = max(0.0, math.floor((min(values) - 0.02) * 10) / 10)
    high = min(1.0, math.ceil((max(values) + 0.02) * 10) / 10)
    return (low, high) if high > low else (0.0, 1.0)


def _speed(board: Leaderboard) -> str:
    timed = [r for r in board.annotators if r.time.minutes_per_task is not None and r.score.value is not None]
    if not timed:
        return (
            "<p class='note'>No time from Encord yet: the report joins Encord's time spent per task "
            "(Project.list_time_spent) once ProductionProjectHash is set and tasks have been worked on.</p>"
        )
    left, right, top, bottom = 56, 16, 12, 44
    x_ticks = _ticks(max(r.time.minutes_per_task or 0.0 for r in timed))
    x_max = x_ticks[-1]
    plot_w, plot_h = SCATTER_W - left - right, SCATTER_H - top - bottom
    parts = [
        f"<svg class='scatter' id='speed-chart' viewBox='0 0 {SCATTER_W} {SCATTER_H}' role='img' "
        "aria-label='Mean task score against minutes per task, one dot per annotator'>"
    ]
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + (1 - v) * plot_h
        parts.append(
            f"<line x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' y2='{y:.1f}' stroke='#E4E4E4'/>"
            f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end'>{v:g}</text>"
        )
    for m in x_ticks:
        x = left + m / x_max * plot_w
        parts.append(f"<text x='{x:.1f}' y='{top + plot_h + 16}' text-anchor='middle'>{m:g}</text>")
    middle = f"{top + plot_h / 2:.0f}"
    parts.append(
        f"<text x='{left + plot_w / 2:.0f}' y='{SCATTER_H - 6}' text-anchor='middle'>minutes per task (median)</text>"
        f"<text x='14' y='{middle}' text-anchor='middle' transform='rotate(-90 14 {middle})'>mean task score</text>"
    )
    for row in timed:
        x = left + (row.time.minutes_per_task or 0.0) / x_max * plot_w
        y = top + (1 - (row.score.value or 0.0)) * plot_h
        colour = BAR if row.rank is not None else BAR_UNRANKED
        cost = _money(row.time.cost_per_correct, board.currency)
        parts.append(
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='5' fill='{colour}' fill-opacity='0.8' stroke='#FFFFFF'>"
            f"<title>{_e(row.annotator)}: score {_num(row.score)}, {_minutes(row.time.minutes_per_task)} min per "
            f"task, cost per correct object {cost}</title></circle>"
        )
    parts.append("</svg>")
    rate = (
        f"Cost per correct object uses an hourly rate of {board.hourly_rate:,.2f} {_e(board.currency)}."
        if board.hourly_rate is not None
        else "Set an hourly rate (AnnotatorHourlyRate) to see the cost per correct object."
    )
    return (
        "<p>Each dot is an annotator (hover for the name); up is more accurate, left is faster. The summary table "
        f"lists every number. {rate}</p>" + "".join(parts)
    )


def _class_heatmap(board: Leaderboard) -> str:
    if not board.classes or not board.annotators:
        return "<p class='note'>No object classes were scored.</p>"
    head = "".join(f"<th>{_e(name)}</th>" for name in board.classes)
    body = []
    for row in board.annotators:
        by_class = {c.name: c for c in row.classes}
        cells = "".join(
            _heat_cell(by_class[name].f1 if name in by_class else None, f"{row.annotator} / {name} F1")
            for name in board.classes
        )
        body.append(f"<tr>{_name_cell(row.annotator)}{cells}</tr>")
    return (
        "<p class='legend'>F1 per annotator and class; darker is lower, the number is in each cell.</p>"
        f"<div class='scroll tall'><table id='class-heatmap'><thead><tr><th class='name'>Annotator</th>{head}</tr>"
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _sizes(board: Leaderboard) -> str:
    sizes = ("small", "medium", "large")
    if not any(row.sizes for row in board.annotators):
        return "<p class='note'>No boxes, polygons or masks with a known frame size were scored.</p>"
    head = "".join(f"<th>{s} recall</th>" for s in sizes) + "".join(f"<th>{s} precision</th>" for s in sizes)
    body = []
    for row in board.annotators:
        by_size = {s.size: s for s in row.sizes}
        cells = "".join(
            _heat_cell(by_size[s].recall if s in by_size else None, f"{row.annotator} / {s} recall") for s in sizes
        ) + "".join(
            _heat_cell(by_size[s].precision if s in by_size else None, f"{row.annotator} / {s} precision")
            for s in sizes
        )
        body.append(f"<tr>{_name_cell(row.annotator)}{cells}</tr>")
    return (
        "<p class='legend'>Share of benchmark objects found (recall) and of drawn objects that are right "
        "(precision), by object size in the frame's pixels: small below 32×32, medium below 96×96, large above "
        "(COCO's sizes). An annotator who misses small objects shows a dark column at their size.</p>"
        f"<div class='scroll tall'><table id='sizes'><thead><tr><th class='name'>Annotator</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _confusion_table(cells: Iterable[tuple[str, str, int]], table_id: str = "") -> str:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for truth, annotated, n in cells:
        counts[(truth, annotated)] += n
    if not counts:
        return "<p class='note'>No objects were matched.</p>"

    def order(names: set[str]) -> list[str]:
        return sorted(n for n in names if n != "unmatched") + (["unmatched"] if "unmatched" in names else [])

    rows, cols = order({t for t, _ in counts}), order({a for _, a in counts})
    head = "".join(f"<th>{_e('missed' if c == 'unmatched' else c)}</th>" for c in cols)
    body = []
    for truth in rows:
        total = sum(counts[(truth, c)] for c in cols)
        cells_html = []
        for c in cols:
            n = counts.get((truth, c), 0)
            right = truth == c
            style = "" if not n else f" style='background:{RIGHT if right else CONFUSED}'"
            label = "added, no benchmark object" if truth == "unmatched" else truth
            tip = f"{label} → {'missed' if c == 'unmatched' else c}: {n} of {total}"
            cells_html.append(f"<td{style} title='{_e(tip)}'>{n or ''}</td>")
        name = "added (no benchmark object)" if truth == "unmatched" else truth
        body.append(f"<tr><th class='name' scope='row'>{_e(name)}</th>{''.join(cells_html)}</tr>")
    ident = f" id='{table_id}'" if table_id else ""
    return (
        f"<div class='scroll'><table class='confusion'{ident}><thead><tr><th class='name'>benchmark ↓ / annotated →"
        f"</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _confusion(board: Leaderboard) -> str:
    cells = [(c.truth, c.annotated, c.count) for row in board.annotators for c in row.confusion]
    return (
        "<p class='legend'>Rows: the class in the benchmark. Columns: the class the annotator gave it. Blue: "
        "right; orange: a confusion, read row to column (a Car labelled Truck is in row Car, column Truck). "
        "Column 'missed': benchmark objects nobody matched; row 'added': objects drawn where the benchmark has "
        "none. Each annotator's own matrix is in the drill-down.</p>" + _confusion_table(cells, "confusion")
    )


def _attributes(board: Leaderboard) -> str:
    paths = sorted({a.path for row in board.annotators for a in row.attribute_paths})
    if not paths:
        return "<p class='note'>No attributes were scored.</p>"
    head = "".join(f"<th>{_e(p)}</th>" for p in paths)
    body = []
    for row in board.annotators:
        by_path = {a.path: a for a in row.attribute_paths}
        cells = "".join(
            _heat_cell(by_path[p].accuracy if p in by_path else None, f"{row.annotator} / {p} accuracy") for p in paths
        )
        body.append(f"<tr>{_name_cell(row.annotator)}{cells}</tr>")
    return (
        "<p class='legend'>Share of attribute answers that match the benchmark, per attribute; which wrong answers "
        "were given is in each annotator's drill-down.</p>"
        f"<div class='scroll tall'><table id='attributes'><thead><tr><th class='name'>Annotator</th>{head}</tr>"
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _link(url: str | None, text: str) -> str:
    return f"<a href='{_e(url)}' rel='noopener' target='_blank'>{_e(text)}</a>" if url else _e(text)


def _worst_tasks(row: AnnotatorRow) -> str:
    if not row.worst:
        return "<p class='note'>No task details stored.</p>"
    blocks = []
    for task in row.worst:
        items = []
        for c in task.conflicts:
            what = c.subject
            if c.truth or c.annotated:
                change = f"{c.truth or NO_ANSWER} → {c.annotated or NO_ANSWER}"
                what = change if c.subject == c.truth else f"{c.subject}: {change}"
            sim = f", similarity {c.similarity:.2f}" if c.similarity is not None else ""
            frames = f"frame {c.frame}" + (f" (+{c.frames - 1})" if c.frames > 1 else "")
            truth = f" · {_link(c.truth_url, 'benchmark')}" if c.truth_url else ""
            items.append(
                f"<li><span class='kind-{_e(c.severity)}'>{_e(c.kind)}</span> {_e(what)} — "
                f"{_link(c.editor_url, frames)}{_e(sim)}{truth}</li>"
            )
        minutes = f", {task.minutes:.1f} min" if task.minutes is not None else ""
        blocks.append(
            f"<li><strong>{_link(task.editor_url, task.data_title or task.data_hash)}</strong> score "
            f"{task.score:.3f}{minutes}, scored {_e(task.scored_at[:10])}"
            f"<ul>{''.join(items) or '<li>no conflicts</li>'}</ul></li>"
        )
    return f"<ol class='worst'>{''.join(blocks)}</ol>"


def _choices(row: AnnotatorRow) -> str:
    if not row.choices:
        return "<p class='note'>No radio answer differed from the benchmark.</p>"
    body = "".join(
        f"<tr><td class='text'>{_e(c.path)}</td><td class='text'>{_e(c.truth)} → {_e(c.answered)}</td>"
        f"<td>{c.frames}</td></tr>"
        for c in row.choices
    )
    return (
        "<div class='scroll'><table class='choices'><thead><tr><th class='text'>Attribute</th>"
        f"<th class='text'>benchmark → answered</th><th>Frames</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def _drill_one(board: Leaderboard, row: AnnotatorRow) -> str:
    sizes = "".join(
        f"<tr><td class='text'>{_e(s.size)}</td><td>{s.tp}</td><td>{s.fn}</td><td>{s.fp}</td>"
        f"<td>{_num(s.recall)}</td><td>{_num(s.precision)}</td></tr>"
        for s in row.sizes
    )
    t = row.time
    time = (
        f"<p>{t.tasks_timed} of {row.tasks} tasks timed, {t.hours:.1f} h; {_minutes(t.minutes_per_task)} min per task "
        f"(median), {_minutes(t.tasks_per_hour)} tasks per hour; {t.correct_objects} correct objects, cost per "
        f"correct object {_money(t.cost_per_correct, board.currency)}.</p>"
        if t.tasks_timed
        else "<p class='note'>No time from Encord for these tasks.</p>"
    )
    hints = "".join(f"<li>{_e(h.name)} ({h.count} task{'s' if h.count != 1 else ''})</li>" for h in row.hints)
    kinds = "".join(f"<li>{_e(c.name)}: {c.count} frames</li>" for c in row.conflicts)
    rank = f"rank {row.rank}" if row.rank is not None else "not ranked (not enough evidence)"
    return (
        f"<details id='{_anchor(row.annotator)}' data-annotator='{_e(row.annotator)}'><summary>"
        f"{_name(row.annotator)} — {rank}, score {_num(row.score)}, {row.tasks} tasks</summary>"
        f"<h3>Worst tasks and the conflicts behind them</h3>{_worst_tasks(row)}"
        "<div class='cols'><div><h3>Class confusion (benchmark → annotated)</h3>"
        f"{_confusion_table((c.truth, c.annotated, c.count) for c in row.confusion)}</div>"
        "<div><h3>By object size</h3>"
        + (
            "<div class='scroll'><table><thead><tr><th class='text'>Size</th><th>Found</th><th>Missed</th>"
            f"<th>Extra</th><th>Recall</th><th>Precision</th></tr></thead><tbody>{sizes}</tbody></table></div>"
            if sizes
            else "<p class='note'>No sized objects.</p>"
        )
        + f"</div><div><h3>Radio answers that differ</h3>{_choices(row)}</div>"
        f"<div><h3>Time and cost</h3>{time}<h3>Conflicts</h3><ul>{kinds or '<li>none</li>'}</ul>"
        f"<h3>Hints given to the annotator</h3><ul>{hints or '<li>none</li>'}</ul></div></div></details>"
    )


def _drill_down(board: Leaderboard) -> str:
    if not board.annotators:
        return "<p class='note'>No scored tasks.</p>"
    return (
        "<p>Open an annotator to see their lowest-scoring tasks and the disagreements behind them. Each frame link "
        "opens the task in Encord's label editor at that frame (on the object, where there is one); 'benchmark' "
        "opens the same frame in the Benchmark Project.</p>" + "".join(_drill_one(board, r) for r in board.annotators)
    )


def _pairs(board: Leaderboard) -> str:
    if not board.comparisons:
        return "<p class='note'>No two ranked annotators share a benchmark item.</p>"
    shown = sorted((c for c in board.comparisons if c.better), key=lambda c: (c.p_adjusted, c.first, c.second))
    body = "".join(
        f"<tr><td class='text'>{_e(c.better)}</td><td class='text'>{_e(c.second if c.better == c.first else c.first)}"
        f"</td><td>{c.shared_items}</td><td>{max(c.first_higher, c.second_higher)} : "
        f"{min(c.first_higher, c.second_higher)}</td><td>{c.ties}</td><td>{c.p_adjusted:.3g}</td></tr>"
        for c in shown
    )
    rest = len(board.comparisons) - len(shown)
    table = (
        "<div class='scroll tall'><table id='pairs'><thead><tr><th class='text'>Better</th><th class='text'>than</th>"
        "<th>Shared items</th><th>Higher on (better : other)</th><th>Equal on</th><th>Holm-adjusted p</th></tr>"
        f"</thead><tbody>{body}</tbody></table></div>"
        if shown
        else ""
    )
    return (
        f"<details><summary>{len(board.comparisons)} pairs compared: {len(shown)} differences shown, {rest} pairs "
        "cannot be told apart</summary>"
        "<p class='note'>Every pair, with its counts and p-values, is in the JSON version of this report "
        f"(comparisons).</p>{table}</details>"
    )


def _reading(board: Leaderboard) -> str:
    methods = "".join(f"<dt>{_e(name)}</dt><dd>{_e(text)}</dd>" for name, text in board.methods.items())
    return f"<p id='ranking-rule'>{_e(board.ranking_rule)}</p><dl>{methods}</dl>"


def _fixed(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _quality(board: Leaderboard) -> str:
    """Suspect ground truth, agreement without ground truth and drift marks (docs/annotator-quality.md)."""
    q = board.quality
    if q is None:
        return "<p class='note'>The quality records were not read for this report.</p>"
    flags = "".join(
        f"<tr class='flag'><td class='text'>{_e(f.kind)}</td><td class='text'>{_e(f.status)}</td>"
        f"<td class='text'>{_e(f.data_unit or f.data_hash)}</td><td class='text'>{_e(f.subject)}</td>"
        f"<td class='text'>{_e(f.truth_value or '')} → {_e(f.consensus_value or '')}</td>"
        f"<td>{len(f.against_truth)} of {f.annotators}</td><td>{_fixed(f.agreement_with_truth)}</td>"
        f"<td>{_fixed(f.agreement_with_each_other)}</td><td class='text'>{_e(f.message)}</td></tr>"
        for f in q.flags
    )
    flag_table = (
        "<div class='scroll'><table id='ground-truth-flags'><thead><tr><th class='text'>Flag</th>"
        "<th class='text'>Status</th><th class='text'>Data unit</th><th class='text'>Object or attribute</th>"
        "<th class='text'>benchmark → annotators</th><th>Against the truth</th><th>Overlap with truth</th>"
        f"<th>Overlap with each other</th><th class='text'>Evidence</th></tr></thead><tbody>{flags}</tbody></table>"
        "</div>"
        if q.flags
        else "<p class='note' id='ground-truth-flags'>No suspect ground truth: no benchmark object or answer that "
        "most annotators agree against.</p>"
    )
    agreement = "".join(
        f"<tr class='agreement'><td class='text'>{_e(a.measure)}</td><td>{a.units}</td><td>{_fixed(a.alpha)}</td>"
        f"<td>{_fixed(a.ac1)}</td></tr>"
        for a in q.agreement
    )
    drift = "".join(
        f"<tr class='drift'><td class='text'>{_name(d.annotator)}</td><td class='text'>{_e(d.stream)}</td>"
        f"<td class='text'>{_e(d.changed_at)}</td><td class='text'>{_e(d.changed_task)}</td>"
        f"<td>{d.tasks_to_alarm}</td><td>{d.baseline_mean:.3f} → {d.recent_mean:.3f}</td></tr>"
        for d in q.drift
    )
    drift_table = (
        "<div class='scroll'><table id='drift'><thead><tr><th class='name'>Annotator</th><th class='text'>Stream</th>"
        "<th class='text'>Changed at</th><th class='text'>First task after the change</th><th>Tasks to alarm</th>"
        f"<th>Mean before → since</th></tr></thead><tbody>{drift}</tbody></table></div>"
        if q.drift
        else "<p class='note' id='drift'>No drift: no annotator's scores fell below their own baseline.</p>"
    )
    return (
        "<h3>Suspect ground truth</h3><p class='legend'>Benchmark objects or answers most annotators agree against, "
        "with the evidence; review them in the Benchmark Project.</p>"
        f"{flag_table}"
        f"<h3>Agreement without ground truth</h3><p class='legend'>Over {q.agreement_tasks} consensus tasks: "
        "Krippendorff's alpha (1 perfect, 0 chance level) and Gwet's AC1 for categories.</p>"
        "<div class='scroll'><table id='agreement'><thead><tr><th class='text'>Measure</th><th>Units</th>"
        f"<th>alpha</th><th>AC1</th></tr></thead><tbody>{agreement}</tbody></table></div>"
        "<h3>Drift</h3><p class='legend'>When and where an annotator's quality changed (a CUSUM chart on their own "
        f"baseline).</p>{drift_table}"
    )


Section = tuple[str, str, Callable[[Leaderboard], str]]
SECTIONS: list[Section] = [
    ("groups", "Who is better, and who cannot be told apart", _groups),
    ("summary", "Summary", _summary),
    ("scores", "Mean task score with 95% interval", _score_bars),
    ("trend", "Trend", _trend),
    ("speed", "Accuracy against speed", _speed),
    ("classes", "F1 per class", _class_heatmap),
    ("sizes", "Detection by object size", _sizes),
    ("confusion", "Class confusion, benchmark → annotated", _confusion),
    ("attributes", "Attribute accuracy", _attributes),
    ("drill-down", "Drill-down per annotator", _drill_down),
    ("pairs", "Pairwise comparisons", _pairs),
    ("quality", "Ground truth, agreement and drift", _quality),
    ("reading", "How to read this report", _reading),
]


def render_html(board: Leaderboard) -> str:
    since = f" since {_e(board.since)}" if board.since else ""
    notes = "".join(f"<p class='note'>Note: {_e(n)}</p>" for n in board.notes)
    errors = (
        f"<p class='note'>{board.open_errors} task(s) could not be scored yet and are not counted.</p>"
        if board.open_errors
        else ""
    )
    span = f", scored {_e(board.periods[0])} to {_e(board.periods[-1])}" if board.periods else ""
    nav = "".join(f"<a href='#{ident}'>{_e(title)}</a>" for ident, title, _ in SECTIONS)
    body = "".join(
        f"<section id='{ident}'><h2>{_e(title)}</h2>{render(board)}</section>" for ident, title, render in SECTIONS
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
<p class="meta">{board.tasks} scored tasks{since} from {len(board.annotators)} annotators{span}; ranked with at
least {board.min_tasks} tasks. Generated {_e(board.generated_at)}.</p>
{errors}{notes}
<nav>{nav}</nav>
{body}
</main>
</body>
</html>
"""
