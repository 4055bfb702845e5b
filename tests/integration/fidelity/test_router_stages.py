"""Workflows with router stages (USER_ROUTER, PERCENTAGE_ROUTER): the pinned SDK cannot open them
(encord/workflow/workflow.py:60); routing and scoring open them without the routers, through the SDK's own calls,
or stop with an error that says what to do, recorded on the run."""

from __future__ import annotations

import pytest
from benchmark_qa.encord import projects
from benchmark_qa.encord.consensus import ConsensusReview, ConsensusTarget
from benchmark_qa.encord.routing import RoutingSetupError, run_routing
from benchmark_qa.store.routing import RoutingRepository
from benchmark_qa_local.encord_double import EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup
from benchmark_qa_local.encord_double.state import Pathway, Stage, StageType
from encord import EncordUserClient

from tests.integration.routing.conftest import router_for, seed, stage_of

pytestmark = pytest.mark.integration


def add_routers(double: EncordDouble, setup: StandardSetup) -> None:
    """NO goes through a percentage router splitting between "Annotate 1" and "Review 1"; the consensus block's
    approve edge through a user router to "Complete"."""
    ids = setup.production_stages
    with double.locked() as state:
        workflow = state.projects[setup.production_project_hash].workflow
        split = Stage(
            title="Split",
            stage_type=StageType.PERCENTAGE_ROUTER,
            pathways=[
                Pathway(name="A", destination_uuid=ids["Annotate 1"]),
                Pathway(name="B", destination_uuid=ids["Review 1"]),
            ],
        )
        by_user = Stage(
            title="By user",
            stage_type=StageType.USER_ROUTER,
            pathways=[Pathway(name="anyone", destination_uuid=ids["Complete"])],
        )
        agent = workflow.stage(ids["Benchmark Task?"])
        review = workflow.stage(ids["Consensus 1"])
        assert agent is not None
        assert review is not None
        next(p for p in agent.pathways if p.name == "NO").destination_uuid = split.uuid
        review.next_uuid = by_user.uuid
        workflow.stages[1:1] = [split, by_user]


def test_the_sdk_cannot_open_a_project_with_a_router(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=1, production=1)
    add_routers(double, setup)
    with pytest.raises(AssertionError, match=r"Unknown stage type: WorkflowStageType\.PERCENTAGE_ROUTER"):
        client.get_project(setup.production_project_hash)


def test_routing_works_through_a_workflow_with_routers(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=4, production=10)
    add_routers(double, setup)

    report = run_routing(router_for(client, setup), trigger="test")

    assert report.status == "finished"
    where = stage_of(double, setup)
    assert {where[h] for h in setup.benchmark_data_hashes} == {"Consensus 1 Annotate"}
    # the double's percentage router splits the NO tasks between its two pathways
    assert {where[h] for h in setup.production_data_hashes} == {"Annotate 1", "Review 1"}


def test_scoring_opens_a_workflow_with_routers(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=2, production=1)
    add_routers(double, setup)
    review = ConsensusReview(
        client, ConsensusTarget(setup.production_project_hash, setup.benchmark_project_hash)
    ).open()
    assert str(review.stage.uuid) == setup.production_stages["Consensus 1"]
    assert review.list_tasks() == []
    titles = {s.title for s in review.production.workflow.stages}
    assert "Split" not in titles
    assert "By user" not in titles


def test_when_the_project_cannot_be_read_without_routers_the_run_records_why(
    double: EncordDouble, client: EncordUserClient, repository: RoutingRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = seed(double, benchmark=1, production=1)
    add_routers(double, setup)

    def moved_internals(*args: object) -> None:
        raise AttributeError("'EncordUserClient' object has no attribute '_api_client'")

    monkeypatch.setattr(projects, "_without_unbuildable_stages", moved_internals)
    with pytest.raises(
        RoutingSetupError, match=r"cannot build.*PERCENTAGE_ROUTER.*Route tasks around the router"
    ) as raised:
        run_routing(router_for(client, setup), trigger="test", repository=repository, run_id="router-run")
    run = repository.get_run("router-run")
    assert run["status"] == "failed"
    assert run["errors"] == [f"RoutingSetupError: {raised.value}"]
    assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}
