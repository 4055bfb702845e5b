"""The leaderboard at scale on the local stack: 100,000 stored results of a generated team of 60 over 90 days.

Measured side by side in one run:
  * ReportFunction, invoked as its schedule invokes it (Docker-free invoker, moto server built from
    template.yaml): read the aggregates and ledgers plus the drill-down's few results, build, render HTML, CSV and
    JSON, and publish them to the reports bucket. Target: under 10 s.
  * the same read and render without publishing, split into reading and building/rendering;
  * reading every stored result instead (each annotator's results through the table's index) and folding them
    in memory, as the report did before it kept aggregates: measured for a tenth of the annotators and scaled
    linearly (all of them takes minutes on moto). A Scan of the table would measure moto itself, which sorts every
    item of the table for each page.

The results are loaded as the very items put_result leaves (`result_item` and `aggregate_items`, which
tests/unit/store/test_ledger.py checks against put_result), put straight into moto's in-process backend: 100,000
transactions through moto's HTTP front would take hours. Benchmarks print; they never assert timings.
"""

from __future__ import annotations

import gc
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

RESULTS = 100_000
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
SAMPLE_SHARE = 10  # the every-result comparison reads a tenth of the annotators (all of them would take minutes)
TEAM, DAYS, PER_TASK = 60, 90, 4
REPO = Path(__file__).resolve().parents[1]


def load(stack: Any, results: list[Any]) -> int:
    """Put the results and their aggregates into the stack's table through moto's backend (same process)."""
    from benchmark_qa.store.scores import aggregate_items, result_item
    from benchmark_qa.store.table import to_dynamo
    from benchmark_qa_local.deployment import DEFAULT_ACCOUNT_ID
    from benchmark_qa_local.moto_dynamodb import drop_index_maps
    from boto3.dynamodb.types import TypeSerializer
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][stack.region].tables[stack.physical_id("StateTable")]
    serializer = TypeSerializer()
    items = [*aggregate_items(results).values(), *(result_item(r) for r in results)]
    for item in items:
        table.put_item({name: serializer.serialize(value) for name, value in to_dynamo(item).items()})
    drop_index_maps(table)
    return len(items)


def run() -> None:
    from benchmark_qa.store.scores import ScoresRepository
    from benchmark_qa.store.table import state_table
    from benchmark_qa_local.simulation.team import results
    from benchmark_qa_local.stack import LocalStack

    tasks_per_day = RESULTS // (DAYS * PER_TASK)
    started = time.perf_counter()
    generated = [r for r, _ in results(TEAM, DAYS, tasks_per_day, PER_TASK)]
    print(
        f"generated {len(generated):,} results of {TEAM} annotators over {DAYS} days in "
        f"{time.perf_counter() - started:.1f} s"
    )
    stack = LocalStack(REPO / "template.yaml", stack_name=f"bench-board-{uuid.uuid4().hex[:6]}")
    with stack, mock.patch.dict(os.environ, stack.env()):
        repository = ScoresRepository(state_table(stack.physical_id("StateTable"), stack.region))
        started = time.perf_counter()
        items = load(stack, generated)
        print(f"loaded {items:,} items into the local stack in {time.perf_counter() - started:.1f} s")
        del generated
        # moto keeps the table in this process (about 10 million small objects); in AWS it lives in DynamoDB, not
        # in the function's heap. Freezing it keeps Python's cycle collector from walking it on every collection.
        gc.collect()
        gc.freeze()
        report_function(stack)
        seconds = read_and_render(repository)
        every_result(repository, seconds)


def report_function(stack: Any) -> None:
    """ReportFunction as its schedule runs it: read, build, render, publish."""
    from benchmark_qa_local.invoker import Invoker

    invoker = Invoker(stack=stack)
    invoker.invoke("ReportFunction", {})  # cold start and imports, not measured
    started = time.perf_counter()
    published = invoker.invoke("ReportFunction", {}).raise_for_error()
    print(
        f"ReportFunction (read, build, render, publish): {time.perf_counter() - started:.2f} s for "
        f"{published['tasks']:,} results of {published['annotators']} annotators -> s3://{published['bucket']}/latest/"
    )


def read_and_render(repository: Any) -> float:
    """The same without publishing, in its parts; returns the seconds of read + build + render."""
    from benchmark_qa.leaderboard import read_leaderboard, worst_keys
    from benchmark_qa.leaderboard.publish import render_all

    started = time.perf_counter()
    aggregates = repository.aggregates()
    aggregates_s = time.perf_counter() - started
    started = time.perf_counter()
    drill = repository.results_of(worst_keys(aggregates))
    drill_s = time.perf_counter() - started
    started = time.perf_counter()
    board = read_leaderboard(repository, min_tasks=20)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    pages = render_all(board)
    render_s = time.perf_counter() - started
    sizes = ", ".join(f"{fmt} {len(body) / 1e6:.1f} MB" for fmt, body in pages.items())
    print(
        f"  read aggregates + ledgers + drill-down results, build: {read_s:.2f} s; render: {render_s:.2f} s "
        f"({sizes})\n  of which: aggregates and ledgers {aggregates_s:.2f} s "
        f"({sum(len(a.entries) for a in aggregates):,} entries), the drill-down's {len(drill)} results {drill_s:.2f} s"
    )
    return read_s + render_s


def every_result(repository: Any, report_s: float) -> None:
    """Reading every result instead, for a tenth of the annotators, scaled linearly."""
    from benchmark_qa.leaderboard import build_leaderboard

    annotators = [a.annotator for a in repository.aggregates()]
    sample = annotators[: max(1, len(annotators) // SAMPLE_SHARE)]
    started = time.perf_counter()
    every = [r for a in sample for r in repository.results_since(a, EPOCH)]
    every_s = time.perf_counter() - started
    started = time.perf_counter()
    build_leaderboard(every, min_tasks=20)
    fold_s = time.perf_counter() - started
    whole = (every_s + fold_s) * len(annotators) / len(sample)
    print(
        f"  every result read instead, for {len(sample)} of {len(annotators)} annotators ({len(every):,} results "
        f"through the annotators' index): {every_s:.2f} s, then folded and built: {fold_s:.2f} s; for all "
        f"{len(annotators)}, linearly: {whole:.0f} s"
    )
    print(
        f"ratio: reading every result would take {whole / report_s:.0f}x reading the aggregates, ledgers and the "
        "drill-down's results"
    )
