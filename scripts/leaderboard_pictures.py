"""The pictures in docs/leaderboard.md: the report of a generated team (5 and 60 annotators over 90 days) in headless
Chromium at 1024 and 1920 px, the same pages and widths the browser tests check. Run after changing the page:

    .venv/bin/python scripts/leaderboard_pictures.py docs/img
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmark_qa.leaderboard.html import render_html
from benchmark_qa_local import browser
from benchmark_qa_local.simulation import team
from PIL import Image

# (team size, width, section to start at, section to end after): what each picture shows
PICTURES = [
    (5, 1024, "groups", "scores"),
    (60, 1920, "groups", "summary"),
    (60, 1024, "scores", "scores"),
    (60, 1920, "trend", "speed"),
    (60, 1920, "classes", "confusion"),
    (5, 1920, "drill-down", "drill-down"),
]
MAX_HEIGHT = 2200


def picture(page: Path, out: Path, width: int, first: str, last: str) -> None:
    probe = browser.probe(page, width)
    top = int(probe["sections"][first]["top"]) - 8
    end = probe["sections"][last]
    bottom = min(int(end["top"] + end["height"]), top + MAX_HEIGHT)
    with tempfile.TemporaryDirectory() as folder:
        shot = browser.screenshot(page, Path(folder) / "page.png", width, int(probe["pageHeight"]))
        with Image.open(shot) as image:
            image.crop((0, max(top, 0), width, bottom)).convert("RGB").quantize(colors=256).save(out, optimize=True)


def main(folder: str) -> int:
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        pages = {}
        for size in sorted({p[0] for p in PICTURES}):
            html = render_html(team.leaderboard(size, days=90))
            # the drill-down picture shows the first annotator's details opened
            pages[size] = Path(work) / f"team-{size}.html"
            pages[size].write_text(html.replace("<details id=", "<details open id=", 1), encoding="utf-8")
        for size, width, first, last in PICTURES:
            out = target / f"leaderboard-{size}-{width}-{first}.png"
            picture(pages[size], out, width, first, last)
            print(out, f"{out.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))
