"""encord-agents (0.2.10, from the package index) running a task agent on the double's "Benchmark Task?" stage:
its `Runner.run_stage` (bundled pathway actions, per-task fallback) and its `QueueRunner` (tasks as JSON
messages, as an SQS fan-out would carry them). The agent takes a dependency that reads each task's storage item
(encord-agents' `dep_storage_item`: label-row metadata -> `backing_item_uuid` -> `get_storage_items`), and one
that reads the Benchmark Dataset's rows, converting `DataRow.uid` to a UUID as encord-agents' own code does.

No `from __future__ import annotations` here: encord-agents resolves the agent's parameters from their
annotations at run time, and string annotations naming local functions cannot be resolved."""

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

import pytest
from benchmark_qa_local.encord_double import EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup
from encord import EncordUserClient
from encord.storage import StorageItem
from encord.workflow.stages.agent import AgentStage, AgentTask
from encord_agents.core.dependencies.models import Depends
from encord_agents.tasks import QueueRunner, Runner
from encord_agents.tasks.dependencies import dep_storage_item
from encord_agents.tasks.models import TaskCompletionResult

from tests.integration.routing.conftest import seed, stage_of

pytestmark = pytest.mark.integration


def benchmark_agent(
    client: EncordUserClient, setup: StandardSetup, seen: dict[UUID, StorageItem]
) -> Callable[..., str]:
    def benchmark_hashes() -> set[UUID]:
        rows = client.get_dataset(setup.benchmark_dataset_hash).data_rows
        return {UUID(row.uid) for row in rows}

    def route(
        task: AgentTask,
        item: Annotated[StorageItem, Depends(dep_storage_item)],
        benchmark: Annotated[set[UUID], Depends(benchmark_hashes)],
    ) -> str:
        seen[task.data_hash] = item
        return "YES" if task.data_hash in benchmark else "NO"

    return route


def check_routed(double: EncordDouble, setup: StandardSetup, seen: dict[UUID, StorageItem]) -> None:
    where = stage_of(double, setup)
    assert {where[h] for h in setup.benchmark_data_hashes} == {"Consensus 1 Annotate"}
    assert {where[h] for h in setup.production_data_hashes} == {"Annotate 1"}
    with double.locked() as state:
        units = {UUID(h): u for h, u in state.data_units.items()}
    assert set(seen) == {UUID(h) for h in (*setup.benchmark_data_hashes, *setup.production_data_hashes)}
    for data_hash, item in seen.items():  # the storage item behind each task, as Encord serves it
        assert str(item.uuid) == units[data_hash].backing_item_uuid
        assert item.name == units[data_hash].title
        assert item.get_signed_url() == units[data_hash].file_link


def test_runner_routes_the_stage(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=4, production=6, page_size=3)
    seen: dict[UUID, StorageItem] = {}
    runner = Runner(project_hash=setup.production_project_hash, user_client=client)
    runner.stage("Benchmark Task?")(benchmark_agent(client, setup, seen))
    double.counts.reset()

    runner.run_stage("Benchmark Task?")

    check_routed(double, setup, seen)
    assert double.counts.get("v2 POST projects/{project}/workflow/stages/{stage}/actions") == 1  # one bundle


def test_queue_runner_routes_tasks_sent_as_messages(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=3, production=3)
    seen: dict[UUID, StorageItem] = {}
    runner = QueueRunner(setup.production_project_hash, user_client=client)
    wrapped = runner.stage("Benchmark Task?")(benchmark_agent(client, setup, seen))
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    messages = [task.model_dump_json() for task in stage.get_tasks()]  # the producer's side of the queue

    results = [TaskCompletionResult.model_validate_json(wrapped(message)) for message in messages]

    assert len(results) == 6
    assert all(r.success for r in results), [r.error for r in results if not r.success]
    check_routed(double, setup, seen)
