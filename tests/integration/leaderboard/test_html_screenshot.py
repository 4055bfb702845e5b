"""The HTML leaderboard as a manager reads it, in headless Chromium: a generated team of 5 and of 60 annotators over
90 days (`benchmark_qa_local.simulation.team`), at 1024 and 1920 px wide.

A layout probe (a copy of the page with a measuring script) checks what a reader would notice: the page never
scrolls sideways, no name is cut off and every name carries its full text as a title, wide tables scroll inside
themselves, every annotator has a bar and a trend chart. The screenshots are then measured in their pixels: one
blue bar per ranked annotator, in the order and at the length of the scores. Only colours and pixel runs are
measured, never text, so fonts do not matter. Chromium is a test dependency (`make pytest` installs it); without
it these tests fail, they never skip."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa.leaderboard import Leaderboard
from benchmark_qa.leaderboard.html import BAR, LINE, render_html
from benchmark_qa_local import browser
from benchmark_qa_local.simulation import team
from PIL import Image, ImageChops

pytestmark = pytest.mark.integration

TEAMS = (5, 60)
WIDTHS = (1024, 1920)
CASES = [(size, width) for size in TEAMS for width in WIDTHS]
TOLERANCE = 8  # per channel: colour management or blending must not break an exact match
MIN_RUN = 20  # a bar is a long run; anti-aliased text never makes one
RUN = re.compile(rb"\xff{%d,}" % MIN_RUN)


@dataclass(frozen=True)
class Page:
    board: Leaderboard
    path: Path


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Page]:
    folder = tmp_path_factory.mktemp("leaderboard")
    out = {}
    for size in TEAMS:
        board = team.leaderboard(size, days=90)
        path = folder / f"team-{size}.html"
        path.write_text(render_html(board), encoding="utf-8")
        out[size] = Page(board, path)
    return out


def _chromium() -> None:
    try:
        browser.chromium()
    except browser.BrowserMissing as missing:
        pytest.fail(str(missing))


@pytest.fixture(scope="module")
def probes(pages: dict[int, Page]) -> dict[tuple[int, int], dict[str, Any]]:
    _chromium()
    return {(size, width): browser.probe(pages[size].path, width) for size, width in CASES}


@pytest.fixture(scope="module")
def shots(
    pages: dict[int, Page], probes: dict[tuple[int, int], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[int, int], Image.Image]:
    folder = tmp_path_factory.mktemp("screenshots")
    out = {}
    for size, width in CASES:
        height = int(probes[(size, width)]["pageHeight"])  # the whole page: its layout does not depend on height
        path = browser.screenshot(pages[size].path, folder / f"team-{size}-{width}.png", width, height)
        with Image.open(path) as image:
            out[(size, width)] = image.convert("RGB")
    return out


# ------------------------------------------------------------------------------------------------- the layout
@pytest.mark.parametrize(("size", "width"), CASES)
def test_the_page_never_scrolls_sideways(size: int, width: int, probes: dict[tuple[int, int], Any]) -> None:
    probe = probes[(size, width)]
    assert probe["viewport"] == width
    assert probe["pageWidth"] <= width


@pytest.mark.parametrize(("size", "width"), CASES)
def test_no_name_is_clipped_and_every_name_carries_its_full_text(
    size: int, width: int, probes: dict[tuple[int, int], Any]
) -> None:
    probe = probes[(size, width)]
    # table rows, bars, trend captions, drill-down summaries: several places per annotator
    assert probe["names"] >= 5 * size
    assert probe["clipped"] == []
    assert probe["untitled"] == []


@pytest.mark.parametrize(("size", "width"), CASES)
def test_wide_tables_scroll_inside_themselves(size: int, width: int, probes: dict[tuple[int, int], Any]) -> None:
    scrolls = probes[(size, width)]["scrolls"]
    assert {s["table"] for s in scrolls} >= {"summary", "class-heatmap", "sizes", "attributes"}
    for box in scrolls:
        assert box["overflowX"] in ("auto", "scroll"), box
        assert box["right"] <= width, box
    summary = next(s for s in scrolls if s["table"] == "summary")
    if width == 1024:
        assert summary["scroll"] > summary["client"], "at 1024 px the summary is wider than the page: it scrolls"


@pytest.mark.parametrize(("size", "width"), CASES)
def test_every_annotator_has_a_bar_and_a_trend_chart(
    size: int, width: int, probes: dict[tuple[int, int], Any], pages: dict[int, Page]
) -> None:
    probe = probes[(size, width)]
    assert (probe["bars"], probe["figures"], probe["lines"]) == (size, size, size)
    board = pages[size].board
    assert board.bucket == "week", "90 days: weekly buckets"
    assert len(board.periods) in (13, 14)
    assert all(len(row.trend) > 1 for row in board.annotators)


# --------------------------------------------------------------------------------------------- the screenshots
def mask(image: Image.Image, colour: str) -> bytes:
    """One byte per pixel, 255 where the pixel is `colour` (within TOLERANCE on every channel), row after row."""
    solid = Image.new("RGB", image.size, colour)
    red, green, blue = ImageChops.difference(image, solid).split()
    furthest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    return furthest.point(lambda v: 255 if v <= TOLERANCE else 0).tobytes()


@dataclass
class Bar:
    top: int
    bottom: int
    left: int
    length: int


def bars(image: Image.Image, colour: str) -> list[Bar]:
    """Horizontal bars of one colour, top to bottom: bands of consecutive rows holding a run of at least MIN_RUN
    pixels of it. A bar's length is its longest run (rows crossed by a black whisker are shorter)."""
    pixels = mask(image, colour)
    width = image.width
    found: list[Bar] = []
    for y in range(image.height):
        runs = [m.span() for m in RUN.finditer(pixels, y * width, (y + 1) * width)]
        if not runs:
            continue
        start, end = max(runs, key=lambda span: span[1] - span[0])
        left, length = start - y * width, end - start
        if found and found[-1].bottom == y - 1:
            bar = found[-1]
            bar.bottom = y
            if length > bar.length:
                bar.left, bar.length = left, length
        else:
            found.append(Bar(top=y, bottom=y, left=left, length=length))
    return found


def section(image: Image.Image, probe: dict[str, Any], name: str) -> Image.Image:
    box = probe["sections"][name]
    return image.crop((0, int(box["top"]), image.width, int(box["top"] + box["height"])))


@pytest.mark.parametrize(("size", "width"), CASES)
def test_the_score_bars_are_drawn_in_order_at_the_length_of_the_scores(
    size: int,
    width: int,
    shots: dict[tuple[int, int], Image.Image],
    probes: dict[tuple[int, int], Any],
    pages: dict[int, Page],
) -> None:
    chart = section(shots[(size, width)], probes[(size, width)], "scores")
    found = [b for b in bars(chart, BAR) if b.bottom - b.top >= 10]
    ranked = pages[size].board.ranked

    assert len(found) == len(ranked), f"one blue bar per ranked annotator, found {len(found)}"
    assert max(b.left for b in found) - min(b.left for b in found) <= 1, "bars start on one axis"
    # the track is as wide as a score of 1: the ratio of two bars is the ratio of their scores
    longest = max(found, key=lambda b: b.length)
    best = max(ranked, key=lambda r: r.score.value or 0.0)
    track = longest.length / (best.score.value or 1.0)
    for bar, row in zip(found, ranked, strict=True):
        assert abs(bar.length - (row.score.value or 0.0) * track) <= 3, (bar, row.annotator)
    assert track > 0.3 * width, "the bars use the page's width"


@pytest.mark.parametrize(("size", "width"), CASES)
def test_each_trend_chart_draws_its_annotators_line(
    size: int, width: int, shots: dict[tuple[int, int], Image.Image], probes: dict[tuple[int, int], Any]
) -> None:
    trend = section(shots[(size, width)], probes[(size, width)], "trend")
    drawn = mask(trend, LINE).count(255)
    assert drawn >= size * 150, f"{size} lines of 13 weeks each leave many vermillion pixels, found {drawn}"
