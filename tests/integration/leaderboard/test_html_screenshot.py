"""The HTML leaderboard as a person sees it: written by `benchmark-qa report` from the state table, opened in
headless Chromium (offline, from a file), and the screenshot measured: the score bars are drawn in their colours,
their lengths are ordered like the scores and proportional to them, whiskers and trend lines are there.

Only colours and pixel runs are measured, never text, so fonts do not matter. Chromium is a test dependency
(`make pytest` installs it); without it this test fails, it never skips."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from benchmark_qa_local.cli import main
from benchmark_qa_local.report.html import BAR, BAR_UNRANKED, LINES, PLOT_W, WHISKER
from benchmark_qa_local.stack import LocalStack
from PIL import Image, ImageChops

from tests.integration.leaderboard.conftest import MIN_TASKS, NEWCOMER, SCORES, Seeded

pytestmark = pytest.mark.integration

WIDTH, HEIGHT = 1280, 1600  # wide enough that no chart is scaled, tall enough to hold the score and trend charts
TOLERANCE = 8  # per channel: colour management or blending must not break an exact match
MIN_RUN = 20  # a bar is a long run; anti-aliased text never makes one
RUN = re.compile(rb"\xff{%d,}" % MIN_RUN)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(
            "Chromium not found (no chromium or chromium-browser on PATH). The leaderboard's screenshot test needs "
            "it: `make pytest` installs it (Debian: apt-get install chromium)."
        )
    return found


def screenshot(page: Path, out: Path) -> Image.Image:
    profile = out.parent / "chromium-profile"
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # CI runs as root, where the sandbox cannot start
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--force-color-profile=srgb",  # pixels carry the page's colours unchanged
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--screenshot={out}",
        page.resolve().as_uri(),
    ]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("Chromium did not finish the screenshot within 90 s")
    if not out.exists():
        pytest.fail(f"Chromium wrote no screenshot (exit {finished.returncode}):\n{finished.stderr[-2000:]}")
    with Image.open(out) as image:
        return image.convert("RGB")


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
    """Horizontal bars (or lines) of one colour, top to bottom: bands of consecutive rows holding a run of at least
    MIN_RUN pixels of it. A bar's length is its longest run (rows crossed by a black whisker are shorter)."""
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


def count(image: Image.Image, colour: str) -> int:
    return mask(image, colour).count(255)


@pytest.fixture(scope="module")
def shot(aws_env: LocalStack, seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Image.Image:
    folder = tmp_path_factory.mktemp("screenshot")
    page = folder / "leaderboard.html"
    assert main(["report", "--table", seeded.table, "--out", str(page), "--min-tasks", str(MIN_TASKS)]) == 0
    return screenshot(page, folder / "leaderboard.png")


def test_the_page_is_not_blank(shot: Image.Image) -> None:
    assert shot.size == (WIDTH, HEIGHT)
    assert count(shot, "#FFFFFF") < 0.97 * WIDTH * HEIGHT, "almost nothing was drawn"
    assert len(shot.getcolors(maxcolors=WIDTH * HEIGHT) or []) > 20, "a rendered report has text, charts, colours"


def test_score_bars_are_ordered_and_proportional_to_the_scores(shot: Image.Image) -> None:
    ranked = bars(shot, BAR)

    scores = sorted(SCORES.values(), reverse=True)
    assert len(ranked) == len(scores), f"expected one blue bar per ranked annotator, found {ranked}"
    lengths = [b.length for b in ranked]
    assert lengths == sorted(lengths, reverse=True), "best score first, longest bar first"
    for bar, score in zip(ranked, scores, strict=True):
        assert abs(bar.length - score * PLOT_W) <= 3, (bar, score)
        assert bar.bottom - bar.top >= 10, "a bar, not a line"
    assert max(b.left for b in ranked) - min(b.left for b in ranked) <= 1, "bars start on one axis"


def test_the_unranked_annotator_has_a_grey_bar_below_the_ranked_ones(shot: Image.Image) -> None:
    ranked = bars(shot, BAR)
    grey = [b for b in bars(shot, BAR_UNRANKED) if abs(b.left - ranked[0].left) <= 1]

    assert len(grey) == 1, grey
    assert grey[0].top > ranked[-1].bottom
    assert abs(grey[0].length - NEWCOMER[1] * PLOT_W) <= 3


def test_each_bar_carries_its_interval_whisker(shot: Image.Image) -> None:
    black = mask(shot, WHISKER)
    for bar in bars(shot, BAR):
        middle = (bar.top + bar.bottom) // 2
        start = middle * shot.width + bar.left
        # the horizontal stroke from the interval's low to its high end crosses the bar's middle row
        assert black.count(255, start, start + PLOT_W) >= 20, bar


def test_trend_lines_are_level_and_stacked_like_the_scores(shot: Image.Image) -> None:
    # Every annotator scores the same each day, so each trend line is level, across all three days, at a height
    # set by its score: best on top, and equal score gaps give equal pixel gaps.
    heights = []
    for colour in LINES[: len(SCORES)]:
        line = max(bars(shot, colour), key=lambda b: b.length, default=None)
        assert line is not None, f"no trend line in {colour}"
        assert line.length >= 600, f"the {colour} line does not span the days"
        heights.append(line.top)
    assert heights == sorted(heights), "highest score highest"
    gaps = [b - a for a, b in itertools.pairwise(heights)]
    assert abs(gaps[0] - gaps[1]) <= 2, gaps
