"""Issue 11: one long video's peak memory in the scoring worker (soak: minutes, about 2 GB for the seeded rows).

A 10,000-frame video (SOAK_VIDEO_FRAMES to change it) with 20 boxes a frame, 3 annotators' branches and the ground
truth, read through the SDK from the double by ScoreWorkerFunction (run in this process by the Docker-free invoker).
The growth of peak RSS (VmHWM, reset first) over the worker's invocation counts what the worker allocates and also
what the double allocates to answer it (it runs in this process too), so it is an upper bound of the worker's own;
the rows the double holds are there before the measurement and are not counted. docs/performance.md ("Scoring:
memory per message", "Memory of a long video") quotes it."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import App, put_video_in_review, start_app

FRAMES, OBJECTS = int(os.environ.get("SOAK_VIDEO_FRAMES", "10000")), 20
ANNOTATORS = ("a1@benchmark-qa.local", "a2@benchmark-qa.local", "a3@benchmark-qa.local")


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield from start_app(monkeypatch, annotators=ANNOTATORS, benchmark_items=1)


def _rss_mib(field: str) -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


@pytest.mark.soak
def test_peak_memory_of_one_10000_frame_video_task_in_the_worker(app: App) -> None:
    seeded = put_video_in_review(app, ANNOTATORS, FRAMES, OBJECTS)
    app.set_env(SCORE_INLINE_MAX_TASKS="0")  # fanned out: the worker scores the task
    app.invoker.invoke("ScoreFunction", {}).raise_for_error()

    app.set_env(ENCORD_TIMEOUT_SECONDS="300")  # the double answers 4 rows of 10,000 frames slowly on a busy machine
    gc.collect()
    before = _rss_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (the peak) to the current RSS
    report = app.pump.drain(function="ScoreWorkerFunction")
    peak_mib = _rss_mib("VmHWM") - before
    print(f"\nworker drain: {report}; {FRAMES} frames: peak RSS growth over the invocation: {peak_mib:.0f} MiB")

    results = list(app.scores.results())
    assert {(r.task_uuid, r.annotator) for r in results} == {(t, a) for t in seeded.tasks for a in ANNOTATORS}
    # ScoreWorkerFunction's MemorySize (template.yaml) is sized from this number, with room for the runtime.
    memory_size = app.invoker.template.function("ScoreWorkerFunction").memory_mb
    assert peak_mib + 256 < memory_size, f"one task peaks at {peak_mib:.0f} MiB; MemorySize is {memory_size} MB"
