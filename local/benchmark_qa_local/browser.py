"""Headless Chromium for the leaderboard's browser checks and the docs' pictures: screenshots of a page at a given
width, and a layout probe (a copy of the page with a script that measures it, read back with --dump-dom).

The report itself runs no script (its Content-Security-Policy forbids them); only the probe's copy does. Chromium
is a test dependency (`make pytest` installs the Debian package)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 120
CSP = re.compile(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>")

# Measures what a reader would notice: a page wider than the window, a name cut off or without its full text
# as a title, a table that does not scroll inside itself, the charts drawn per annotator.
PROBE = """
<script>
(() => {
  const viewport = document.documentElement.clientWidth;
  const out = {viewport, pageWidth: document.documentElement.scrollWidth,
               pageHeight: document.documentElement.scrollHeight, names: 0, clipped: [], untitled: [],
               scrolls: [], bars: 0, figures: 0, lines: 0, sections: {}};
  const block = el => { while (el && getComputedStyle(el).display === 'inline') el = el.parentElement; return el; };
  for (const el of document.querySelectorAll('.name:not(th)')) {
    out.names += 1;
    const text = el.textContent.trim();
    if ((el.getAttribute('title') || '').trim() !== text) out.untitled.push(text);
    // an ellipsis hides the cut from every measure: lay the text out without it while measuring
    const ellipsis = [];
    for (let up = el; up; up = up.parentElement) {
      if (getComputedStyle(up).textOverflow === 'ellipsis') { ellipsis.push(up); up.style.textOverflow = 'clip'; }
    }
    const range = document.createRange();
    range.selectNodeContents(el);
    const rects = [...range.getClientRects()].filter(r => r.width > 0);
    if (!rects.length) {
      out.clipped.push(text + ' (not drawn)');
      for (const up of ellipsis) up.style.textOverflow = '';
      continue;
    }
    const box = block(el).getBoundingClientRect();
    const left = Math.min(...rects.map(r => r.left)), right = Math.max(...rects.map(r => r.right));
    if (left < box.left - 1 || right > box.right + 1) out.clipped.push(text);
    for (let up = el; up; up = up.parentElement) {
      const style = getComputedStyle(up);
      const hides = v => ['hidden', 'clip'].includes(v);
      if ((hides(style.overflowX) && up.scrollWidth > up.clientWidth + 1) ||
          (hides(style.overflowY) && up.scrollHeight > up.clientHeight + 1)) {
        out.clipped.push(text + ' (hidden by ' + up.tagName + ')');
      }
    }
    for (const up of ellipsis) up.style.textOverflow = '';
  }
  for (const el of document.querySelectorAll('.scroll')) {
    const r = el.getBoundingClientRect();
    out.scrolls.push({table: (el.querySelector('table') || {}).id || '', client: el.clientWidth,
                      scroll: el.scrollWidth, overflowX: getComputedStyle(el).overflowX, left: r.left, right: r.right});
  }
  out.bars = document.querySelectorAll('#score-chart .score-bar').length;
  out.figures = document.querySelectorAll('#trend-multiples figure').length;
  out.lines = [...document.querySelectorAll('#trend-multiples polyline.own')]
    .filter(p => p.getAttribute('points').trim().split(' ').length > 1).length;
  for (const s of document.querySelectorAll('section')) {
    const r = s.getBoundingClientRect();
    out.sections[s.id] = {top: r.top + window.scrollY, height: r.height};
  }
  const pre = document.createElement('pre');
  pre.id = 'probe-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


class BrowserMissing(RuntimeError):
    pass


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise BrowserMissing(
            "Chromium not found (no chromium or chromium-browser on PATH); `make pytest` installs it "
            "(Debian: apt-get install chromium)"
        )
    return found


def _run(arguments: list[str], width: int, height: int) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
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
            f"--window-size={width},{height}",
            *arguments,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)  # noqa: S603  # our own arguments


def screenshot(page: Path, out: Path, width: int, height: int) -> Path:
    """The page as it shows in a window of width x height (the top `height` pixels)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    finished = _run([f"--screenshot={out.resolve()}", page.resolve().as_uri()], width, height)
    if not out.exists():
        raise RuntimeError(f"Chromium wrote no screenshot (exit {finished.returncode}): {finished.stderr[-2000:]}")
    return out


def probe(page: Path, width: int, height: int = 900) -> dict[str, Any]:
    """Layout measurements of the page at this window size (see PROBE)."""
    text = CSP.sub("", page.read_text(encoding="utf-8")).replace("</body>", PROBE + "</body>")
    with tempfile.TemporaryDirectory(prefix="probe-") as folder:
        copy = Path(folder) / page.name
        copy.write_text(text, encoding="utf-8")
        finished = _run(["--dump-dom", copy.as_uri()], width, height)
    found = re.search(r"<pre id=\"probe-result\">(.*?)</pre>", finished.stdout, re.S)
    if found is None:
        raise RuntimeError(f"the probe did not run (exit {finished.returncode}): {finished.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    return result
