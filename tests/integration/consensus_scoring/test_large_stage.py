"""A large stage through the deployed shape: ScoreFunction fans tasks x 2 annotators out through ScoreQueue to
ScoreWorkerFunction while Encord answers 429s, 5xx and drops connections. Every task must be scored exactly once
and archived; a message whose move failed comes back and only moves.

The default gate runs 200 tasks (20 messages); `make soak` runs the 2,000-task stage (marker `soak`)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
from benchmark_qa_local.encord_double import FaultConfig, FaultKind, FaultRule

from .conftest import PRECISE, SLOPPY, App, put_in_review, start_app
from .test_scoring import precise_and_sloppy

pytestmark = pytest.mark.integration

MESSAGES = 20  # ScoreQueue messages the stage is fanned out into, at every scale


@pytest.fixture(params=[200, pytest.param(2000, marks=pytest.mark.soak)], ids=lambda n: f"{n}-tasks")
def tasks(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def big_app(monkeypatch: pytest.MonkeyPatch, tasks: int) -> Iterator[App]:
    yield from start_app(monkeypatch, benchmark_items=tasks, page_size=500)


def test_every_task_of_a_large_stage_is_scored_exactly_once_despite_faults(big_app: App, tasks: int) -> None:
    app = big_app
    batch = tasks // MESSAGES
    started = time.perf_counter()
    with app.double.locked() as state:
        seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes, branches=precise_and_sloppy(app))
    assert len(seeded.tasks) == tasks
    app.set_env(SCORE_BATCH_SIZE=str(batch))
    app.double.configure_faults(
        FaultConfig(
            seed=11,
            rules=[
                # The first move of some message fails on every retry the SDK makes: that message must come back.
                FaultRule(endpoint="v2 POST */move-tasks", status=503, times=4),
                FaultRule(endpoint="*", status=429, retry_after=0, probability=0.05),
                FaultRule(endpoint="v1 *", status=502, probability=0.03),
                FaultRule(endpoint="v1 labelrow GET", kind=FaultKind.DROP, probability=0.1),
                # Applied, then the answer is lost: the SDK's retry is refused (400) as the tasks already left.
                FaultRule(endpoint="v2 POST */move-tasks", kind=FaultKind.DROP, probability=0.3),
            ],
        )
    )
    app.double.counts.reset()
    seeded_at = time.perf_counter()

    schedule = app.pump.fire_schedule("ScoreFunction")
    payload = schedule.raise_for_error()
    drain = app.pump.drain(max_rounds=20)
    after = app.pump.fire_schedule("ScoreFunction").raise_for_error()
    elapsed = time.perf_counter() - seeded_at

    assert payload["mode"] == "fan_out"
    assert payload["stage_tasks"] == tasks
    assert payload["messages_sent"] == tasks // batch
    assert drain.failures >= 1, "the message whose move failed was retried"
    assert drain.dead_letters == 0
    assert after["stage_tasks"] == 0, "nothing is left in the stage"
    fired = app.double.faults.fired
    assert fired["status 503"] == 4, fired
    assert fired["status 429"] > 0, fired
    assert fired["drop"] > 0, fired

    results = list(app.scores.results())
    assert len(results) == tasks * 2
    assert len({(r.task_uuid, r.annotator) for r in results}) == tasks * 2
    assert {(r.task_uuid, r.annotator) for r in results} == {(t, a) for t in seeded.tasks for a in (PRECISE, SLOPPY)}
    aggregates = {a.annotator: a for a in app.scores.aggregates()}
    assert aggregates[PRECISE].tasks == aggregates[SLOPPY].tasks == tasks
    assert aggregates[PRECISE].score_sum / tasks > aggregates[SLOPPY].score_sum / tasks
    stages = app.stage_of()
    assert Counter(stages[t] for t in seeded.tasks) == {"Archive": tasks}
    assert app.scores.errors() == []

    requests = app.double.counts.total()
    print(  # measured numbers for docs/consensus-scoring.md (pytest -s)
        f"\nlarge stage: {tasks} tasks x 2 annotators, {requests} Encord requests "
        f"({requests / tasks:.3f} per task; {app.double.counts.snapshot()}), faults {dict(fired)}, "
        f"scoring {elapsed:.1f} s, with seeding {time.perf_counter() - started:.1f} s"
    )
