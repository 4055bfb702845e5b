"""The routing agent against the Encord double: decisions, batching, races, faults, setup errors, dry run,
the lock and the audit records."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

import pytest
from benchmark_qa.encord.routing import Outcome, Router, RoutingReport, RoutingSetupError, run_routing
from benchmark_qa.store.routing import RoutingRepository
from benchmark_qa_local.encord_double import EncordDouble, FaultKind, FaultRule
from benchmark_qa_local.encord_double.datasets import add_data_unit, attach_dataset
from benchmark_qa_local.encord_double.state import Dataset, DataUnit, new_uuid
from encord import EncordUserClient

from tests.integration.encord_double.conftest import make_client
from tests.integration.routing.conftest import router_for, seed, stage_of

pytestmark = pytest.mark.integration

TASKS = "v2 GET projects/{project}/workflow/stages/{stage}/tasks"
ACTIONS = "v2 POST projects/{project}/workflow/stages/{stage}/actions"


def _by_outcome(report: RoutingReport) -> dict[str, int]:
    return {k.removeprefix("outcome:"): v for k, v in report.counts.items() if k.startswith("outcome:")}


def test_mixed_stage_over_many_pages_goes_yes_and_no(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=23, production=41, page_size=7)
    with double.locked() as state:  # a third dataset: its tasks are NO as well (the complement is every other)
        extra = Dataset(dataset_hash=new_uuid(), title="Extra")
        state.datasets[extra.dataset_hash] = extra
        attach_dataset(state, setup.production_project_hash, extra.dataset_hash)
        extra_units = [
            add_data_unit(state, DataUnit(dataset_hash=extra.dataset_hash, title=f"x{i}.jpg")) for i in range(5)
        ]
    double.counts.reset()

    report = run_routing(router_for(client, setup), trigger="test", request_count=double.counts.total)

    where = stage_of(double, setup)
    assert {where[h] for h in setup.benchmark_data_hashes} == {"Consensus 1 Annotate"}
    assert {where[h] for h in setup.production_data_hashes} == {"Annotate 1"}
    assert {where[u.data_hash] for u in extra_units} == {"Annotate 1"}
    assert report.counts["decision:YES"] == 23
    assert report.counts["decision:NO"] == 46
    assert _by_outcome(report) == {"routed": 69}
    assert report.status == "finished"
    # 4 YES pages (23/7) + 7 NO pages (46/7), one bundled POST per pathway
    assert double.counts.get(TASKS) == 4 + 7
    assert double.counts.get(ACTIONS) == 2
    assert report.action_requests == 2
    assert report.encord_requests == double.counts.total() == 2 + 1 + 11 + 2


def test_actions_split_into_batches(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=12, production=25)
    router = router_for(client, setup)
    router._batch_size = 10
    double.counts.reset()
    report = run_routing(router, trigger="test")
    assert double.counts.get(ACTIONS) == 2 + 3
    assert _by_outcome(report) == {"routed": 37}


def test_tasks_moved_by_someone_else_between_listing_and_acting(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=6, production=8)
    router = router_for(client, setup)
    prepared = router.prepare()
    planned = router.list_tasks(prepared)
    # A second client (a person in Encord) moves two benchmark tasks and one production task away.
    other = make_client(double)
    stage = other.get_project(setup.production_project_hash).workflow.get_stage(name="Benchmark Task?")
    moved = {str(setup.benchmark_data_hashes[0]), str(setup.benchmark_data_hashes[1]), setup.production_data_hashes[0]}
    for task in stage.get_tasks(data_hash=sorted(moved)):
        task.move(destination_stage_uuid=UUID(setup.production_stages["Archive"]))
    double.counts.reset()

    routed, requests = router.act(prepared, planned)

    outcomes = {r.data_hash: r.outcome for r in routed}
    assert {h for h, o in outcomes.items() if o is Outcome.MOVED_ELSEWHERE} == moved
    assert sum(o is Outcome.ROUTED for o in outcomes.values()) == 11
    where = stage_of(double, setup)
    assert {where[h] for h in moved} == {"Archive"}
    assert {where[h] for h in setup.benchmark_data_hashes[2:]} == {"Consensus 1 Annotate"}
    assert {where[h] for h in setup.production_data_hashes[1:]} == {"Annotate 1"}
    # each pathway: one refused bundle, one listing of what is still there, one bundle for those
    assert requests == double.counts.get(ACTIONS) == 2 + 2
    # and per pathway two listings: what is still in the stage, and which of the rest are at its destination
    assert double.counts.get("v2 GET projects/{project}/workflow/stages/{stage}/tasks") == 2 + 2


def test_throttling_and_server_errors_are_retried(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=5, production=5, page_size=3)
    double.add_fault(FaultRule(endpoint="v2 POST */actions", status=429, retry_after=0, times=1))
    double.add_fault(FaultRule(endpoint="v2 GET */tasks", status=503, times=1))
    double.add_fault(FaultRule(endpoint="v2 POST */actions", status=502, times=1))
    report = run_routing(router_for(client, setup), trigger="test")
    assert report.status == "finished"
    assert _by_outcome(report) == {"routed": 10}
    assert set(stage_of(double, setup).values()) == {"Consensus 1 Annotate", "Annotate 1"}


def test_dropped_answer_after_apply_counts_as_done(double: EncordDouble, client: EncordUserClient) -> None:
    """Issue 11: with lost answers our own moves were audited as moved_elsewhere. The tasks found at the pathway's
    destination after the refused retry were moved by us: routed."""
    setup = seed(double, benchmark=4, production=4)
    # The YES bundle is applied, its answer lost; the SDK retries and gets a 400 (tasks already left).
    double.add_fault(FaultRule(endpoint="v2 POST */actions", kind=FaultKind.DROP, times=1))
    double.counts.reset()
    report = run_routing(router_for(client, setup), trigger="test")
    assert report.status == "finished"
    assert report.errors == []
    outcomes = {t.data_hash: t.outcome for t in report.tasks}
    assert {outcomes[h] for h in setup.benchmark_data_hashes} == {Outcome.ROUTED}
    assert {outcomes[h] for h in setup.production_data_hashes} == {Outcome.ROUTED}
    where = stage_of(double, setup)
    assert {where[h] for h in setup.benchmark_data_hashes} == {"Consensus 1 Annotate"}
    # dropped bundle + its refused retry + the NO bundle; one listing finds the YES tasks gone, so no replay
    assert double.counts.get(ACTIONS) == 1 + 1 + 1


def test_persistent_server_errors_fail_the_run_and_leave_tasks(double: EncordDouble) -> None:
    setup = seed(double, benchmark=3, production=3)
    client = make_client(double, max_retries=1)
    double.add_fault(FaultRule(endpoint="v2 POST */actions", status=503))
    report = run_routing(router_for(client, setup), trigger="test")
    assert report.status == "failed"
    assert _by_outcome(report) == {"failed": 6}
    assert report.errors
    assert all("batch of 3 failed" in e for e in report.errors)
    assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}


def test_unknown_pathway_names_the_pathways(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=1, production=1)
    with pytest.raises(RoutingSetupError, match=r"no pathway 'MAYBE'.*\['NO', 'YES'\]"):
        run_routing(router_for(client, setup, yes_pathway="MAYBE"), trigger="test")
    assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}


def test_missing_stage_names_the_agent_stages(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=1, production=1)
    with pytest.raises(RoutingSetupError, match=r"no workflow stage 'Is Benchmark\?'.*\['Benchmark Task\?'\]"):
        router_for(client, setup, stage="Is Benchmark?").prepare()


def test_non_agent_stage_is_refused(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=1, production=1)
    with pytest.raises(RoutingSetupError, match=r"'Annotate 1'.*ANNOTATION stage"):
        router_for(client, setup, stage="Annotate 1").prepare()


def test_benchmark_dataset_not_attached(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=1, production=1)
    wrong = new_uuid()
    with pytest.raises(RoutingSetupError, match=f"{wrong} is not attached.*{setup.production_dataset_hash}"):
        router_for(client, setup, benchmark_dataset_hash=wrong).prepare()


def test_empty_stage_makes_no_actions(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=0, production=0)
    double.counts.reset()
    report = run_routing(router_for(client, setup), trigger="test")
    assert report.status == "finished"
    assert report.tasks == []
    assert double.counts.get(ACTIONS) == 0


def test_dry_run_records_but_moves_nothing(
    double: EncordDouble, client: EncordUserClient, repository: RoutingRepository
) -> None:
    setup = seed(double, benchmark=2, production=3)
    report = run_routing(router_for(client, setup), trigger="test", dry_run=True, repository=repository)
    assert double.counts.get(ACTIONS) == 0
    assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}
    records = repository.tasks_of_run(report.run_id)
    assert sorted((r.decision, r.outcome) for r in records) == [("NO", "dry_run")] * 3 + [("YES", "dry_run")] * 2
    assert repository.get_run(report.run_id)["dry_run"] is True
    assert repository.lock_owner(setup.production_project_hash) is None


def test_audit_records_of_a_run(double: EncordDouble, client: EncordUserClient, repository: RoutingRepository) -> None:
    setup = seed(double, benchmark=2, production=2)
    report = run_routing(
        router_for(client, setup), trigger="schedule", repository=repository, request_count=double.counts.total
    )
    run = repository.get_run(report.run_id)
    assert run["status"] == "finished"
    assert run["trigger"] == "schedule"
    assert run["counts"] == {"decision:YES": 2, "decision:NO": 2, "outcome:routed": 4, "tasks": 4}
    assert report.encord_requests is not None
    assert run["encord_requests"] == report.encord_requests > 0
    assert run["action_requests"] == 2
    assert run["duration_seconds"] >= 0
    assert [r["run_id"] for r in repository.runs(setup.production_project_hash)] == [report.run_id]
    task = report.tasks[0]
    assert [(h.decision, h.outcome) for h in repository.task_history(task.task_uuid)] == [(task.decision, "routed")]
    assert repository.lock_owner(setup.production_project_hash) is None  # released


def test_two_concurrent_runs_route_each_task_once(
    double: EncordDouble, client: EncordUserClient, repository: RoutingRepository
) -> None:
    setup = seed(double, benchmark=5, production=5)
    # Slow listings keep the first run inside its lock while the second one starts.
    double.add_fault(FaultRule(endpoint="v2 GET */tasks", kind=FaultKind.LATENCY, latency_seconds=0.3))
    reports: list[RoutingReport] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        reports.append(run_routing(router_for(make_client(double), setup), trigger="race", repository=repository))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status for r in reports) == ["finished", "locked_out"]
    winner = next(r for r in reports if r.status == "finished")
    assert _by_outcome(winner) == {"routed": 10}
    assert double.counts.get(ACTIONS) == 2
    loser = next(r for r in reports if r.status == "locked_out")
    assert repository.get_run(loser.run_id)["status"] == "locked_out"
    assert repository.tasks_of_run(loser.run_id) == []


def test_a_stale_lock_is_taken_over(
    double: EncordDouble, client: EncordUserClient, repository: RoutingRepository
) -> None:
    import time

    setup = seed(double, benchmark=1, production=1)
    project = setup.production_project_hash
    assert repository.acquire_lock(project, "live-run", seconds=60)
    assert not repository.acquire_lock(project, "other-run", seconds=60)  # held and unexpired
    assert not repository.release_lock(project, "other-run")  # only the owner releases
    assert repository.release_lock(project, "live-run")
    # A run that died 2 minutes ago with a 60 s lock: the next run takes the lock over.
    assert repository.acquire_lock(project, "crashed-run", seconds=60, now=time.time() - 120)
    report = run_routing(router_for(client, setup), trigger="test", repository=repository)
    assert report.status == "finished"
    assert _by_outcome(report) == {"routed": 2}
    assert not repository.release_lock(project, "crashed-run")  # not its lock any more
    assert repository.lock_owner(project) is None


class Killed(BaseException):
    """The invocation dies here (a BaseException: no `except Exception` in the code stops it)."""


def test_a_kill_between_the_bundles_and_the_audit_leaves_nothing_unexplained(
    double: EncordDouble, client: EncordUserClient, repository: RoutingRepository
) -> None:
    """Issue 11: a kill between routing's pathway bundle and its audit write moved the tasks once, but 825 of 900
    had no audit record, the run stayed `running` and its lock held. Now intents are written before acting, and
    the next run that takes the (expired) lock settles them by where the tasks are."""
    setup = seed(double, benchmark=12, production=18)
    project = setup.production_project_hash
    record_tasks = RoutingRepository.record_tasks
    calls = 0

    def die_on_the_outcome(self: RoutingRepository, *args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:  # 1: the intents, 2: the outcomes after the bundles
            raise Killed
        return record_tasks(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RoutingRepository, "record_tasks", die_on_the_outcome)
        with pytest.raises(Killed):
            # lock_seconds < 0: its lock has expired by the time the next run comes (no waiting in the test)
            run_routing(router_for(client, setup), trigger="schedule", repository=repository, lock_seconds=-60)
    (dead,) = repository.runs(project)
    assert dead["status"] == "running"
    assert repository.lock_owner(project) == dead["run_id"]
    assert {t.outcome for t in repository.tasks_of_run(dead["run_id"])} == {"intended"}
    assert set(stage_of(double, setup).values()) == {"Consensus 1 Annotate", "Annotate 1"}  # moved once
    # The next scheduled run takes the expired lock over, finds nothing left to move, and settles the intents.
    double.counts.reset()

    report = run_routing(router_for(client, setup), trigger="schedule", repository=repository)

    assert report.status == "finished"
    assert report.tasks == []
    assert double.counts.get(ACTIONS) == 0
    settled = repository.get_run(dead["run_id"])
    assert settled["status"] == "interrupted"
    assert settled["counts"] == {"tasks": 30, "outcome:routed": 30}
    records = repository.tasks_of_run(dead["run_id"])
    assert {r.data_hash for r in records} == set(setup.benchmark_data_hashes) | set(setup.production_data_hashes)
    outcomes = {t.task_uuid: t.outcome for t in records}
    assert len(outcomes) == 30
    assert set(outcomes.values()) == {"routed"}
    assert repository.lock_owner(project) is None


def test_a_kill_before_the_bundles_leaves_the_tasks_to_the_next_run(
    double: EncordDouble, client: EncordUserClient, repository: RoutingRepository
) -> None:
    setup = seed(double, benchmark=3, production=3)
    project = setup.production_project_hash

    def die(self: Router, *args: Any, **kwargs: Any) -> Any:
        raise Killed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Router, "act", die)
        with pytest.raises(Killed):
            run_routing(router_for(client, setup), trigger="schedule", repository=repository, lock_seconds=-60)
    (dead,) = repository.runs(project)

    report = run_routing(router_for(client, setup), trigger="schedule", repository=repository)

    assert _by_outcome(report) == {"routed": 6}
    assert {t.outcome for t in repository.tasks_of_run(dead["run_id"])} == {"not_moved"}
    assert repository.get_run(dead["run_id"])["status"] == "interrupted"
    for task in report.tasks:  # each task: not moved by the dead run, routed by this one
        history = [h.outcome for h in repository.task_history(task.task_uuid)]
        assert sorted(history) == ["not_moved", "routed"]
