"""Time spent per task (`Project.list_time_spent`, `GET v2/public/analytics/time-spent`) through the unmodified
SDK: one row per user, task and day, the SDK's filters and paging; and the product's join of those rows to scored
results under each answer the double can give for a consensus annotator's task uuid (Encord's sources are silent
on it: the parent task, the annotator's subtask, or none)."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import pytest
from benchmark_qa.encord.time_spent import consensus_annotate_stages, time_rows
from benchmark_qa.leaderboard.timing import join_time
from benchmark_qa.store.scores import AnnotatorAggregate, Entry
from benchmark_qa_local.encord_double import EncordDouble
from benchmark_qa_local.encord_double.analytics import record_time_spent
from benchmark_qa_local.encord_double.seed import StandardSetup
from encord import EncordUserClient

from tests.integration.encord_double.conftest import make_client, route_benchmark_to_consensus

pytestmark = pytest.mark.integration

DAY1, DAY2 = dt.date(2025, 3, 3), dt.date(2025, 3, 4)
START = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2025, 3, 10, tzinfo=dt.UTC)


@pytest.fixture
def worked(double: EncordDouble, setup: StandardSetup) -> tuple[EncordUserClient, dict[str, str]]:
    """Every consensus annotator worked on every benchmark task on two days (120 s, then 30 s); someone else worked
    on a production task in "Annotate 1". Returns the client and task uuid -> data hash of the benchmark tasks."""
    client = make_client(double)
    route_benchmark_to_consensus(client, setup)
    tasks: dict[str, str] = {}
    with double.locked() as state:
        project = state.projects[setup.production_project_hash]
        for task in project.tasks.values():
            if task.subtasks:
                tasks[task.uuid] = task.data_hash
                for sub in task.subtasks:
                    record_time_spent(state, project.project_hash, task.uuid, sub.annotator, 120, DAY1)
                    record_time_spent(state, project.project_hash, task.uuid, sub.annotator, 30, DAY2)
            elif task.data_hash in setup.production_data_hashes:
                record_time_spent(state, project.project_hash, task.uuid, "other@example.com", 45, DAY1)
    assert tasks, "precondition: benchmark tasks reached the consensus stage"
    return client, tasks


def test_rows_come_per_user_task_and_day_as_the_sdk_parses_them(
    worked: tuple[EncordUserClient, dict[str, str]], setup: StandardSetup
) -> None:
    client, tasks = worked
    project = client.get_project(setup.production_project_hash)

    rows = list(project.list_time_spent(start=START, end=END))

    annotators = len(setup.annotators)
    # both stages of a consensus block are titled "Consensus 1" on Encord (issue 10): the annotate stage by uuid
    annotate = setup.production_stages["Consensus 1 Annotate"]
    consensus = [r for r in rows if r.workflow_stage and str(r.workflow_stage.uuid) == annotate]
    assert len(consensus) == len(tasks) * annotators * 2
    assert {r.workflow_stage.title for r in consensus if r.workflow_stage} == {"Consensus 1"}
    for row in consensus:
        assert str(row.workflow_task_uuid) in tasks
        assert str(row.data_uuid) == tasks[str(row.workflow_task_uuid)]
        assert row.time_spent_seconds in (120, 30)
        assert row.period_end_time - row.period_start_time == dt.timedelta(days=1)
        assert row.user_email in setup.annotators
        assert row.dataset_title == "Benchmark Dataset"
    assert any(r.user_email == "other@example.com" for r in rows)


def test_the_sdk_filters_by_stage_user_and_window(
    worked: tuple[EncordUserClient, dict[str, str]], setup: StandardSetup
) -> None:
    client, _ = worked
    project = client.get_project(setup.production_project_hash)
    stages = consensus_annotate_stages(project)
    assert stages == [setup.production_stages["Consensus 1 Annotate"]]
    someone = setup.annotators[0]

    in_stage = list(project.list_time_spent(start=START, end=END, workflow_stage_uuid=stages))
    of_one = list(project.list_time_spent(start=START, end=END, user_email=someone))
    first_day = list(project.list_time_spent(start=START, end=dt.datetime(2025, 3, 4, tzinfo=dt.UTC)))

    assert {r.user_email for r in in_stage} == set(setup.annotators)
    assert {r.user_email for r in of_one} == {someone}
    assert {r.period_start_time.date() for r in first_day} == {DAY1}, "before is exclusive"


def test_every_page_is_read(
    double: EncordDouble, worked: tuple[EncordUserClient, dict[str, str]], setup: StandardSetup
) -> None:
    client, _ = worked
    everything = list(client.get_project(setup.production_project_hash).list_time_spent(start=START, end=END))
    with double.locked() as state:
        state.settings.page_size = 2
    paged = list(client.get_project(setup.production_project_hash).list_time_spent(start=START, end=END))
    assert len(paged) == len(everything) > 2
    assert double.counts.snapshot().get("v2 GET analytics/time-spent", 0) >= len(everything) // 2


@pytest.mark.parametrize("names", ["task", "subtask", "none"])
def test_the_join_finds_each_result_whatever_the_row_names_as_its_task(
    names: str, double: EncordDouble, worked: tuple[EncordUserClient, dict[str, str]], setup: StandardSetup
) -> None:
    client, tasks = worked
    with double.locked() as state:
        state.settings.time_spent_task_uuid = names  # type: ignore[assignment]
    project = client.get_project(setup.production_project_hash)
    rows = time_rows(project, START, END)
    expected_task = {"task": True, "subtask": False, "none": False}[names]
    assert all((r.task_uuid in tasks) == expected_task for r in rows)
    ledger = [
        AnnotatorAggregate(
            annotator=annotator,
            tasks=len(tasks),
            entries=[
                Entry(task_uuid=t, label_hash=f"L{t}", data_hash=d, scored_at="2025-03-05T10:00:00+00:00", score=0.8)
                for t, d in tasks.items()
            ],
        )
        for annotator in setup.annotators
    ]

    joined = join_time(rows, ledger)

    assert len(joined) == len(tasks) * len(setup.annotators) * 2
    per_result: dict[tuple[str, str], float] = {}
    for timed in joined:
        key = (timed.annotator, timed.entry.task_uuid)
        per_result[key] = per_result.get(key, 0.0) + timed.seconds
    assert set(per_result.values()) == {150.0}
    assert {UUID(t) for _, t in per_result} == {UUID(t) for t in tasks}
