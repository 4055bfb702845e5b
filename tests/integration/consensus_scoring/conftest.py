"""Consensus scoring through the template's functions, offline: the stack built from template.yaml on moto server,
ScoreFunction / ScoreWorkerFunction run by the Docker-free invoker, SQS and the schedule driven by the pump, and
Encord answered by the double (the real SDK over HTTP).

Benchmark tasks are put in "Consensus 1" straight in the double's state (what routing + annotators submitting
would do, without thousands of requests), with label rows seeded for the ground truth and each branch."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from benchmark_qa_local.encord_double import DoubleState
from benchmark_qa_local.encord_double.box_rows import TIMESTAMP, TRUTH_BOXES, label_row, precise_boxes
from benchmark_qa_local.encord_double.labels import _empty_data_units
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.encord_double.state import DataUnit, LabelRow, Subtask, TaskStatus
from benchmark_qa_local.encord_double.workflow import consensus_branch_name
from benchmark_qa_local.offline import OfflineApp, offline_app

pytestmark = pytest.mark.integration

PRECISE = "precise@benchmark-qa.local"
SLOPPY = "sloppy@benchmark-qa.local"


@dataclass
class Consensus:
    """What was seeded: task uuid -> data hash, and the label hash of each (task, annotator)."""

    tasks: dict[str, str] = field(default_factory=dict)
    label_hashes: dict[tuple[str, str], str] = field(default_factory=dict)


def put_in_review(
    state: DoubleState,
    setup: StandardSetup,
    data_hashes: Sequence[str],
    *,
    branches: dict[str, Any] | None = None,
    truth: bool = True,
) -> Consensus:
    """Ground truth in the Benchmark Project and each annotator's branch in the Production Project, and the
    Production tasks of `data_hashes` in "Consensus 1" with every subtask submitted. `branches` maps an
    annotator to a function (data_hash, author) -> label-row dict, or to None for an empty branch."""
    structure = state.ontologies[setup.ontology_hash].structure
    production = state.projects[setup.production_project_hash]
    benchmark = state.projects[setup.benchmark_project_hash]
    review = setup.production_stages["Consensus 1"]
    makers = branches or {
        a: (lambda dh, author: label_row(structure, dh, precise_boxes(), "good", author=author))
        for a in setup.annotators
    }
    wanted = set(data_hashes)
    seeded = Consensus()
    for task in production.tasks.values():
        if task.data_hash not in wanted:
            continue
        if truth:
            row = LabelRow(data_hash=task.data_hash, labels=label_row(structure, task.data_hash, TRUTH_BOXES, "good"))
            benchmark.label_rows[row.label_hash] = row
        task.subtasks = []
        for i, annotator in enumerate(setup.annotators):
            branch = consensus_branch_name(task, i)
            task.subtasks.append(Subtask(annotator=annotator, branch_name=branch, status=TaskStatus.COMPLETED))
            make = makers.get(annotator)
            if make is not None:
                row = LabelRow(data_hash=task.data_hash, branch_name=branch, labels=make(task.data_hash, annotator))
                production.label_rows[row.label_hash] = row
                seeded.label_hashes[(task.uuid, annotator)] = row.label_hash
        task.stage_uuid, task.seq, task.status = review, state.take_seq(), TaskStatus.NEW
        seeded.tasks[task.uuid] = task.data_hash
    return seeded


class App(OfflineApp):
    def stage_of(self) -> dict[str, str]:
        """task uuid -> title of the stage it is in (Production Project)."""
        with self.double.locked() as state:
            project = state.projects[self.setup.production_project_hash]
            titles = {s.uuid: s.title for s in project.workflow.stages}
            return {t.uuid: titles[t.stage_uuid] for t in project.tasks.values()}

    def comments(self) -> list[str]:
        with self.double.locked() as state:
            return [i.comment.content for i in state.issues]

    def set_env(self, **variables: str) -> None:
        for function in ("ScoreFunction", "ScoreWorkerFunction"):
            self.invoker.env_vars.setdefault(function, {}).update(variables)


def start_app(
    monkeypatch: pytest.MonkeyPatch,
    *,
    annotators: Sequence[str] = (PRECISE, SLOPPY),
    benchmark_items: int = 3,
    page_size: int = 100,
    parameters: dict[str, str] | None = None,
) -> Iterator[App]:
    def seed(state: DoubleState) -> StandardSetup:
        state.settings.page_size = page_size
        return seed_standard_setup(state, annotators=annotators, benchmark_items=benchmark_items, production_items=0)

    quick = {"ENCORD_BACKOFF_FACTOR": "0"}  # injected 429/5xx are retried at once
    with offline_app(
        App,
        seed,
        stack_name=f"score-{uuid.uuid4().hex[:8]}",  # moto state is per process
        parameters=parameters,
        env_vars={"ScoreFunction": dict(quick), "ScoreWorkerFunction": dict(quick)},
    ) as app:
        for name, value in app.stack.env().items():  # the test's own boto3 calls reach the same moto
            monkeypatch.setenv(name, value)
        yield app


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield from start_app(monkeypatch)


def _video_row(
    structure: dict[str, Any], unit: DataUnit, author: str, jitter: float, seed: int, frames: int, objects: int
) -> dict[str, Any]:
    """A video's label row: `objects` boxes (tracks) on each of `frames` frames, drawn by `author`, moved by up to
    `jitter` from a shared grid."""
    box = structure["objects"][0]
    rng = random.Random(seed)
    labels: dict[str, Any] = {}
    for frame in range(frames):
        drawn = []
        for k in range(objects):
            x, y = (k % 5) * 0.18 + 0.01 + frame * 1e-6, (k // 5) * 0.22 + 0.01
            drawn.append(
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
        labels[str(frame)] = {"objects": drawn, "classifications": []}
    (units,) = [_empty_data_units(unit)]
    units[unit.data_hash]["labels"] = labels
    answers = {
        f"{author[:2]}{k:06d}": {"objectHash": f"{author[:2]}{k:06d}", "classifications": []} for k in range(objects)
    }
    return {"data_units": units, "object_answers": answers}


def put_video_in_review(app: App, annotators: Sequence[str], frames: int, objects: int) -> Consensus:
    """The first benchmark data unit made a video of `frames` frames, its truth and each annotator's branch drawn by
    `_video_row` (each annotator a little further from the truth), and its task put in review."""
    with app.double.locked() as state:
        data_hash = app.setup.benchmark_data_hashes[0]
        unit = state.data_units[data_hash]
        unit.data_type, unit.frames, unit.fps = "video", frames, 25.0
        structure = state.ontologies[app.setup.ontology_hash].structure
        branches = {
            a: (lambda dh, author, i=i: _video_row(structure, unit, author, 0.002 * (i + 1), i, frames, objects))
            for i, a in enumerate(annotators)
        }
        seeded = put_in_review(state, app.setup, [data_hash], branches=branches)
        for row in state.projects[app.setup.benchmark_project_hash].label_rows.values():
            if row.data_hash == data_hash:
                row.labels = _video_row(structure, unit, "truth@benchmark-qa.local", 0.0, 99, frames, objects)
    return seeded
