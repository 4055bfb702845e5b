"""Consensus scoring through the template's functions, offline: the stack built from template.yaml on moto server,
ScoreFunction / ScoreWorkerFunction run by the Docker-free invoker, SQS and the schedule driven by the pump, and
Encord answered by the double (the real SDK over HTTP).

Benchmark tasks are put in "Consensus 1" straight in the double's state (what routing + annotators submitting
would do, without thousands of requests), with label rows seeded for the ground truth and each branch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from benchmark_qa.store.scores import ScoresRepository
from benchmark_qa.store.table import state_table
from benchmark_qa_local.encord_double import DoubleState, EncordDouble, KeyPair
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.encord_double.state import LabelRow, Subtask, TaskStatus
from benchmark_qa_local.encord_double.workflow import consensus_branch_name
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.stack import LocalStack

pytestmark = pytest.mark.integration

PRECISE = "precise@benchmark-qa.local"
SLOPPY = "sloppy@benchmark-qa.local"
TIMESTAMP = "Tue, 24 Nov 2026 12:00:00 UTC"

Box = tuple[float, float, float, float]  # x, y, w, h (0-1)
TRUTH_BOXES: tuple[Box, ...] = ((0.10, 0.10, 0.20, 0.20), (0.50, 0.50, 0.25, 0.30), (0.70, 0.10, 0.15, 0.15))


def precise_boxes() -> list[Box]:
    return [(x + 0.002, y - 0.002, w, h) for x, y, w, h in TRUTH_BOXES]


def sloppy_boxes() -> list[Box]:
    """One box missed, one far off, one loose."""
    (x0, y0, w0, h0), (x1, y1, w1, h1), _ = TRUTH_BOXES
    return [(x0 + 0.05, y0 + 0.05, w0 + 0.04, h0), (x1 + 0.3, y1 - 0.4, w1, h1)]


def label_row(
    structure: dict[str, Any],
    data_hash: str,
    boxes: Sequence[Box],
    quality: str | None,
    *,
    author: str = "truth@benchmark-qa.local",
    feature_hash: str | None = None,
) -> dict[str, Any]:
    """A label-row dict for the standard ontology (a "Box" bounding box and a "Quality" radio classification).
    `feature_hash` overrides the boxes' class, e.g. with one the ontology does not have."""
    box_class = structure["objects"][0]
    classification = structure["classifications"][0]
    attribute = classification["attributes"][0]
    objects = [
        {
            "objectHash": f"{data_hash[:6]}{author[:3]}{i:02d}",
            "featureHash": feature_hash or box_class["featureNodeHash"],
            "name": box_class["name"],
            "value": box_class["name"].lower(),
            "color": box_class.get("color", "#FF0000"),
            "shape": "bounding_box",
            "createdAt": TIMESTAMP,
            "createdBy": author,
            "confidence": 1.0,
            "manualAnnotation": True,
            "objectNumber": i + 1,
            "boundingBox": {"x": x, "y": y, "w": w, "h": h},
        }
        for i, (x, y, w, h) in enumerate(boxes)
    ]
    answers: dict[str, Any] = {}
    if quality is not None:
        option = next(o for o in attribute["options"] if o["label"] == quality)
        answers["cls00001"] = {
            "classificationHash": "cls00001",
            "featureHash": classification["featureNodeHash"],
            "classifications": [
                {
                    "name": attribute["name"],
                    "value": attribute["name"].lower(),
                    "featureHash": attribute["featureNodeHash"],
                    "answers": [
                        {"name": option["label"], "value": option["value"], "featureHash": option["featureNodeHash"]}
                    ],
                    "manualAnnotation": True,
                }
            ],
            "range": [[0, 0]],
            "createdBy": author,
            "createdAt": TIMESTAMP,
            "confidence": 1.0,
            "manualAnnotation": True,
        }
    return {
        "data_units": {
            data_hash: {
                "data_hash": data_hash,
                "data_title": "x.jpg",
                "data_link": "s3://benchmark-qa-demo/x.jpg",
                "data_type": "image/jpeg",
                "data_sequence": 0,
                "width": 1920,
                "height": 1080,
                "labels": {"objects": objects, "classifications": []},
            }
        },
        "object_answers": {o["objectHash"]: {"objectHash": o["objectHash"], "classifications": []} for o in objects},
        "classification_answers": answers,
        "object_actions": {},
    }


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


@dataclass
class App:
    stack: LocalStack
    invoker: Invoker
    pump: EventSourcePump
    double: EncordDouble
    setup: StandardSetup
    key: KeyPair

    @property
    def scores(self) -> ScoresRepository:
        return ScoresRepository(state_table(self.stack.physical_id("StateTable")))

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
    with EncordDouble(DoubleState()) as double:
        with double.locked() as state:
            state.settings.page_size = page_size
            setup = seed_standard_setup(
                state, annotators=annotators, benchmark_items=benchmark_items, production_items=0
            )
        key = double.register_key()
        stack = LocalStack(
            parameters={
                "EncordDomain": double.url,
                "ProductionProjectHash": setup.production_project_hash,
                "BenchmarkProjectHash": setup.benchmark_project_hash,
                "BenchmarkDatasetHash": setup.benchmark_dataset_hash,
                "ProductionDatasetHash": setup.production_dataset_hash,
                **(parameters or {}),
            },
            secret_values={"EncordKeySecret": key.private_openssh},
            stack_name=f"score-{uuid.uuid4().hex[:8]}",  # moto state is per process
        )
        with stack:
            for name, value in stack.env().items():  # the test's own boto3 calls reach the same moto
                monkeypatch.setenv(name, value)
            quick = {"ENCORD_BACKOFF_FACTOR": "0"}  # injected 429/5xx are retried at once
            invoker = Invoker(stack=stack, env_vars={"ScoreFunction": dict(quick), "ScoreWorkerFunction": dict(quick)})
            yield App(stack, invoker, EventSourcePump(stack, invoker), double, setup, key)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield from start_app(monkeypatch)
