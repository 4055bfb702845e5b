"""Issue 11: one long video's peak memory in the scoring worker (soak: minutes, about 2 GB for the seeded rows).

A 10,000-frame video with 20 boxes a frame, 3 annotators' branches and the ground truth, read through the SDK from
the double by ScoreWorkerFunction (run in this process by the Docker-free invoker). The growth of peak RSS (VmHWM,
reset first) over the worker's invocation counts what the worker allocates and also what the double allocates to
answer it (it runs in this process too), so it is an upper bound of the worker's own; the rows the double holds are
there before the measurement and are not counted. docs/performance.md ("Scoring: memory per message") quotes it."""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa_local.encord_double.box_rows import TIMESTAMP
from benchmark_qa_local.encord_double.labels import _empty_data_units
from benchmark_qa_local.encord_double.state import DataUnit

from .conftest import App, put_in_review, start_app

FRAMES, OBJECTS = 10_000, 20
ANNOTATORS = ("a1@benchmark-qa.local", "a2@benchmark-qa.local", "a3@benchmark-qa.local")


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield from start_app(monkeypatch, annotators=ANNOTATORS, benchmark_items=1)


def video_row(structure: dict[str, Any], unit: DataUnit, author: str, jitter: float, seed: int) -> dict[str, Any]:
    box = structure["objects"][0]
    rng = random.Random(seed)
    frames: dict[str, Any] = {}
    for frame in range(FRAMES):
        objects = []
        for k in range(OBJECTS):
            x, y = (k % 5) * 0.18 + 0.01 + frame * 1e-6, (k // 5) * 0.22 + 0.01
            objects.append(
                {
                    "objectHash": f"{author[:2]}{k:06d}",
                    "featureHash": box["featureNodeHash"],
                    "name": box["name"],
                    "value": box["name"].lower(),
                    "color": box.get("color", "#FF0000"),
                    "shape": "bounding_box",
                    "createdAt": TIMESTAMP,
                    "createdBy": author,
                    "confidence": 1.0,
                    "manualAnnotation": True,
                    "boundingBox": {
                        "x": x + rng.uniform(-jitter, jitter),
                        "y": y + rng.uniform(-jitter, jitter),
                        "w": 0.1,
                        "h": 0.12,
                    },
                }
            )
        frames[str(frame)] = {"objects": objects, "classifications": []}
    (units,) = [_empty_data_units(unit)]
    units[unit.data_hash]["labels"] = frames
    answers = {
        f"{author[:2]}{k:06d}": {"objectHash": f"{author[:2]}{k:06d}", "classifications": []} for k in range(OBJECTS)
    }
    return {"data_units": units, "object_answers": answers}


def _rss_mib(field: str) -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


@pytest.mark.soak
def test_peak_memory_of_one_10000_frame_video_task_in_the_worker(app: App) -> None:
    with app.double.locked() as state:
        (data_hash,) = app.setup.benchmark_data_hashes
        unit = state.data_units[data_hash]
        unit.data_type, unit.frames, unit.fps = "video", FRAMES, 25.0
        structure = state.ontologies[app.setup.ontology_hash].structure
        branches = {
            a: (lambda dh, author, i=i: video_row(structure, unit, author, 0.002 * (i + 1), i))
            for i, a in enumerate(ANNOTATORS)
        }
        seeded = put_in_review(state, app.setup, [data_hash], branches=branches)
        benchmark = state.projects[app.setup.benchmark_project_hash]
        for row in benchmark.label_rows.values():
            if row.data_hash == data_hash:
                row.labels = video_row(structure, unit, "truth@benchmark-qa.local", 0.0, 99)
    app.set_env(SCORE_INLINE_MAX_TASKS="0")  # fanned out: the worker scores the task
    app.invoker.invoke("ScoreFunction", {}).raise_for_error()

    app.set_env(ENCORD_TIMEOUT_SECONDS="300")  # the double answers 4 rows of 10,000 frames slowly on a busy machine
    gc.collect()
    before = _rss_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (the peak) to the current RSS
    report = app.pump.drain(function="ScoreWorkerFunction")
    peak_mib = _rss_mib("VmHWM") - before
    print(f"\nworker drain: {report}; peak RSS growth over the invocation: {peak_mib:.0f} MiB")

    results = list(app.scores.results())
    assert {(r.task_uuid, r.annotator) for r in results} == {(t, a) for t in seeded.tasks for a in ANNOTATORS}
    # ScoreWorkerFunction's MemorySize (template.yaml) is sized from this number, with room for the runtime.
    memory_size = app.invoker.template.function("ScoreWorkerFunction").memory_mb
    assert peak_mib + 256 < memory_size, f"one task peaks at {peak_mib:.0f} MiB; MemorySize is {memory_size} MB"
