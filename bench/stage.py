"""A whole consensus stage through the deployed shape: 1,000 benchmark tasks x 3 annotators in "Consensus 1",
ScoreFunction fans them out through ScoreQueue and ScoreWorkerFunction scores, records and archives them, on the
local stack (moto server built from template.yaml, the Docker-free invoker) against the Encord double (the real
SDK over HTTP). Prints tasks per second per worker, Encord requests per task and DynamoDB writes per result,
each beside its floor. Never asserts timings.

Floors. Encord: the fewest requests the SDK allows for the stage in one pass: open both projects (project and
ontology each), list the stage (one request per page), the label-row metadata of the branches and of the truth
(one listing per 100 data hashes each), read each task's rows before the next task's (its branches in one bundle,
its truth row in another: a worker holds one task's rows at a time) and move the tasks (bundles of 500).
DynamoDB: one TransactWriteItems per result (the result and its annotator's aggregates, atomically) and one PutItem
per task (its inter-annotator agreement).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import time
import uuid
from collections import Counter
from typing import Any

from benchmark_qa_local.encord_double import DoubleState
from benchmark_qa_local.encord_double.box_rows import label_row, precise_boxes, sloppy_boxes
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.offline import offline_app

from tests.integration.consensus_scoring.conftest import App, put_in_review

TASKS = int(os.environ.get("BENCH_STAGE_TASKS", "1000"))
ANNOTATORS = ("precise@benchmark-qa.local", "sloppy@benchmark-qa.local", "careful@benchmark-qa.local")
PAGE_SIZE = 500  # the double's task-listing page (Encord's server chooses it; the SDK sends none)
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def encord_floor(tasks: int) -> int:
    return (
        4  # get_project + ontology, for the Production and the Benchmark Project
        + math.ceil(tasks / PAGE_SIZE)  # the stage's task pages
        + 2 * math.ceil(tasks / 100)  # label-row metadata: production branches, benchmark truth
        # the rows, one task at a time (memory per message bounded, issue 11): the task's branches in one bundle
        # and its truth row (another project, so another request); the bulk reads before that took
        # ceil(tasks * annotators / 100) + ceil(tasks / 100)
        + 2 * tasks
        + math.ceil(tasks / 500)  # move-tasks bundles to Archive
    )


class _DynamoWrites:
    """Counts DynamoDB write requests made by the functions (they run in this process under the invoker)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.seconds = 0.0  # spent in DynamoDB requests (moto server here)
        self._original: Any = None

    def __enter__(self) -> _DynamoWrites:
        from botocore.client import BaseClient

        original = self._original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, untyped
        counts = self.counts

        def counted(client: Any, operation: str, params: Any) -> Any:
            if client.meta.service_model.service_name != "dynamodb":
                return original(client, operation, params)
            if operation in WRITES:
                counts[operation] += 1
            started = time.perf_counter()
            try:
                return original(client, operation, params)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(BaseClient, "_make_api_call", counted)  # noqa: B010
        return self

    def __exit__(self, *exc: object) -> None:
        from botocore.client import BaseClient

        setattr(BaseClient, "_make_api_call", self._original)  # noqa: B010


def run() -> None:
    def seed(state: DoubleState) -> StandardSetup:
        state.settings.page_size = PAGE_SIZE
        return seed_standard_setup(state, annotators=ANNOTATORS, benchmark_items=TASKS, production_items=0)

    started = time.perf_counter()
    fan_out = {"ScoreFunction": {"SCORE_INLINE_MAX_TASKS": "0"}}  # every task through ScoreQueue and the workers
    quiet = io.StringIO()  # the functions' logs (Powertools writes them to stdout)
    with (
        contextlib.redirect_stdout(quiet),
        offline_app(
            App, seed, stack_name=f"bench-stage-{uuid.uuid4().hex[:8]}", env_vars=fan_out, log_stream=quiet
        ) as app,
    ):
        for name, value in app.stack.env().items():
            os.environ[name] = value
        structure = app.double.state.ontologies[app.setup.ontology_hash].structure
        boxes = {ANNOTATORS[0]: precise_boxes(), ANNOTATORS[1]: sloppy_boxes(), ANNOTATORS[2]: precise_boxes()[:2]}
        branches = {
            a: (lambda dh, author, b=b: label_row(structure, dh, b, "good", author=author)) for a, b in boxes.items()
        }
        with app.double.locked() as state:
            seeded = put_in_review(state, app.setup, app.setup.benchmark_data_hashes, branches=branches)
        seeding = time.perf_counter() - started
        app.double.counts.reset()
        worker_seconds: list[float] = []
        invoke = app.invoker.invoke

        def timed(logical_id: str, event: Any, *, cold: bool = False) -> Any:
            result = invoke(logical_id, event, cold=cold)
            if logical_id == "ScoreWorkerFunction":
                worker_seconds.append(result.duration_ms / 1000)
            return result

        app.invoker.invoke = timed  # type: ignore[method-assign]
        with _DynamoWrites() as writes:
            begun = time.perf_counter()
            fanned = app.pump.fire_schedule("ScoreFunction").raise_for_error()
            drain = app.pump.drain(max_rounds=20)
            after = app.pump.fire_schedule("ScoreFunction").raise_for_error()
            wall = time.perf_counter() - begun
        requests = app.double.counts.total()
        results = len(list(app.scores.results()))
        archived = Counter(app.stage_of()[t] for t in seeded.tasks)["Archive"]
    print(f"{len(seeded.tasks):,} tasks x {len(ANNOTATORS)} annotators seeded in {seeding:.0f} s")
    tasks, per_worker = len(seeded.tasks), sum(worker_seconds)
    floor = encord_floor(tasks)
    written = sum(writes.counts.values())
    print(
        f"ScoreFunction: {fanned['mode']} of {fanned['stage_tasks']} tasks in {fanned['messages_sent']} messages; "
        f"{drain.invocations} ScoreWorkerFunction invocations, {drain.failures} retried, {drain.dead_letters} dead; "
        f"then {after['stage_tasks']} left; {results:,} results, {archived:,} tasks archived; {wall:.0f} s in all"
    )
    print(f"{'':40}{'measured':>12}{'floor':>10}{'anchor':>28}")
    print(f"{'tasks/s per worker':40}{tasks / per_worker:>12.1f}{'':>10}{'(local stack, one process)':>28}")
    print(f"{'  without DynamoDB (moto) time':40}{tasks / max(per_worker - writes.seconds, 1e-9):>12.1f}")
    per_task = f"{requests / tasks:>12.3f}{floor / tasks:>10.3f}"
    print(f"{'Encord requests per task':40}{per_task}{'fewest, a task at a time':>28}")
    write_floor = (results + tasks) / max(results, 1)  # a transaction per result, an agreement record per task
    per_result = f"{written / max(results, 1):>12.2f}{write_floor:>10.2f}"
    print(f"{'DynamoDB writes per result':40}{per_result}{'+ agreement/task':>28}")
    print(f"  Encord requests: {requests} ({dict(app.double.counts.snapshot())}); floor {floor}")
    print(f"  DynamoDB writes: {dict(writes.counts)}")
