"""Routing 10,000 tasks of the "Benchmark Task?" stage (2,000 benchmark + 8,000 production): Encord requests (the
double's counts) and wall time of the routing agent against the exact script in Encord's Benchmark QA docs
(get_dataset + its data rows, then one proceed per task). Each runs on a fresh seeded state of the same shape,
in this one run. Prints, never asserts.

Encord's server chooses the page size of a task listing (the SDK sends none) and it is not documented, so the
comparison runs at two page sizes: listing costs one request per page for both approaches, and bounds the
ratio at about page_size / 1.1 (docs: N + N/page; agent: N/page + N/1000 + a few)."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable

from benchmark_qa.encord.routing import Router, RoutingTarget, run_routing
from benchmark_qa_local.encord_double import DoubleState, EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from encord import EncordUserClient
from encord.http.constants import RequestsSettings

# BENCH_ROUTING_TASKS scales both approaches (1/5 benchmark); BENCH_ROUTING_PAGE_SIZES the server page sizes.
PAGE_SIZES = tuple(int(p) for p in os.environ.get("BENCH_ROUTING_PAGE_SIZES", "100,1000").split(","))
TOTAL_TASKS = int(os.environ.get("BENCH_ROUTING_TASKS", "10000"))
BENCHMARK_ITEMS = TOTAL_TASKS // 5
PRODUCTION_ITEMS = TOTAL_TASKS - BENCHMARK_ITEMS


def _client(double: EncordDouble) -> EncordUserClient:
    settings = RequestsSettings(max_retries=2, backoff_factor=0.0, connect_timeout=10, read_timeout=60)
    return EncordUserClient.create_with_ssh_private_key(
        double.register_key().private_openssh, domain=double.url, requests_settings=settings
    )


def docs_script(client: EncordUserClient, setup: StandardSetup) -> None:
    """benchmark_routing.py from Encord's docs, verbatim apart from the names of the inputs and one fix: the docs
    iterate the Dataset itself, which SDK 0.1.211 cannot (no __iter__), so this reads `.data_rows`. The script's
    other flaw is kept: `task.data_hash` is a UUID and `data_row.uid` a str, so no task ever matches and every
    benchmark task goes NO (the "misrouted" column)."""
    from encord.workflow import AgentStage

    project = client.get_project(setup.production_project_hash)
    agent_stage = project.workflow.get_stage(name="Benchmark Task?", type_=AgentStage)
    benchmark_dataset = client.get_dataset(setup.benchmark_dataset_hash)
    benchmark_data_hashes = {data_row.uid for data_row in benchmark_dataset.data_rows}
    for task in agent_stage.get_tasks():
        if task.data_hash in benchmark_data_hashes:
            task.proceed(pathway_name="YES")
        else:
            task.proceed(pathway_name="NO")


def agent(client: EncordUserClient, setup: StandardSetup) -> None:
    run_routing(
        Router(client, RoutingTarget(setup.production_project_hash, setup.benchmark_dataset_hash)), trigger="bench"
    )


def _measure(
    approach: Callable[[EncordUserClient, StandardSetup], None], page_size: int
) -> tuple[int, float, int, dict[str, int]]:
    state = DoubleState()
    state.settings.page_size = page_size
    setup = seed_standard_setup(state, benchmark_items=BENCHMARK_ITEMS, production_items=PRODUCTION_ITEMS)
    with EncordDouble(state) as double:
        client = _client(double)
        double.counts.reset()
        started = time.perf_counter()
        approach(client, setup)
        seconds = time.perf_counter() - started
        requests = double.counts.total()
        with double.locked() as live:
            project = live.projects[setup.production_project_hash]
            roles = setup.stage_roles()
            where = {t.data_hash: roles[t.stage_uuid] for t in project.tasks.values()}
    bench = set(setup.benchmark_data_hashes)
    wrong = sum(
        1
        for data_hash, stage in where.items()
        if stage != ("Consensus 1 Annotate" if data_hash in bench else "Annotate 1")
    )
    return requests, seconds, wrong, dict(Counter(where.values()))


def run() -> None:
    total = BENCHMARK_ITEMS + PRODUCTION_ITEMS
    print(f"{total:,} tasks ({BENCHMARK_ITEMS:,} benchmark + {PRODUCTION_ITEMS:,} production)")
    print(f"{'page size':>9}  {'approach':<16}{'Encord requests':>17}{'wall time':>12}{'misrouted':>11}{'ratio':>10}")
    for page_size in PAGE_SIZES:
        naive = _measure(docs_script, page_size)
        ours = _measure(agent, page_size)
        for name, (requests, seconds, wrong, _) in (("docs script", naive), ("routing agent", ours)):
            print(f"{page_size:>9,}  {name:<16}{requests:>17,}{seconds:>11.2f}s{wrong:>11,}")
        print(f"{'':>9}  {'docs / agent':<16}{naive[0] / ours[0]:>16.1f}x{naive[1] / ours[1]:>11.1f}x")
        print(f"{'':>9}  stages after the docs script: {naive[3]}; after the agent: {ours[3]}")
