"""events/score_schedule.json and events/score_worker.json invoked through their handlers, as
`benchmark-qa invoke` (or `sam local invoke -e`) would, against the local stack and the Encord double.

The worker sample names placeholder tasks; the test swaps in tasks it put in the review stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import PRECISE, SLOPPY, App, put_in_review
from .test_scoring import precise_and_sloppy

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[3] / "events"
SAMPLE_TASKS = [
    ("11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000001"),
    ("11111111-0000-4000-8000-000000000002", "22222222-0000-4000-8000-000000000002"),
]


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def test_score_schedule_event_scores_the_stage(app: App) -> None:
    with app.double.locked() as state:
        seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes, branches=precise_and_sloppy(app))

    result = app.invoker.invoke("ScoreFunction", load_event("score_schedule.json"))

    payload = result.raise_for_error()
    assert payload["stage_tasks"] == len(seeded.tasks)
    assert payload["counts"]["results_written"] == 2 * len(seeded.tasks)
    assert {app.stage_of()[t] for t in seeded.tasks} == {"Archive"}


def test_score_worker_event_scores_its_tasks_and_nothing_else(app: App) -> None:
    with app.double.locked() as state:
        seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes, branches=precise_and_sloppy(app))
    (first, first_hash), (second, second_hash), (third, _) = seeded.tasks.items()
    event = load_event("score_worker.json")
    body = event["Records"][0]["body"]
    for (sample_task, sample_hash), (task, data_hash) in zip(
        SAMPLE_TASKS, [(first, first_hash), (second, second_hash)], strict=True
    ):
        body = body.replace(sample_task, task).replace(sample_hash, data_hash)
    event["Records"][0]["body"] = body

    result = app.invoker.invoke("ScoreWorkerFunction", event)

    assert result.raise_for_error() == {"batchItemFailures": []}
    scored = {(r.task_uuid, r.annotator) for r in app.scores.results()}
    assert scored == {(t, a) for t in (first, second) for a in (PRECISE, SLOPPY)}
    stages = app.stage_of()
    assert (stages[first], stages[second], stages[third]) == ("Archive", "Archive", "Consensus 1")


def test_score_worker_sample_as_shipped_finds_no_tasks_and_fails_nothing(app: App) -> None:
    result = app.invoker.invoke("ScoreWorkerFunction", load_event("score_worker.json"))

    assert result.raise_for_error() == {"batchItemFailures": []}
    assert list(app.scores.results()) == []


def test_an_unreadable_worker_message_is_kept_for_the_dead_letter_queue(app: App) -> None:
    event = load_event("score_worker.json")
    event["Records"][0]["body"] = json.dumps({"run_id": "x", "tasks": []})

    result = app.invoker.invoke("ScoreWorkerFunction", event)

    # Every record of the batch failed, so Powertools fails the invocation: SQS retries, then dead-letters it.
    assert result.error is not None
    error = json.dumps(result.error)
    assert "is not a ScoreMessage" in error
    assert event["Records"][0]["messageId"] in error
