"""Workflow stages, task queues and actions, driven through the SDK."""

from __future__ import annotations

import pytest
from benchmark_qa_local.encord_double import EncordDouble, workflow
from benchmark_qa_local.encord_double.datasets import add_data_unit
from benchmark_qa_local.encord_double.errors import ApiError, ErrorKind
from benchmark_qa_local.encord_double.paging import make_page_token, read_page_token
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.encord_double.state import DataUnit
from encord import Project
from encord.exceptions import InvalidArgumentsError
from encord.workflow import (
    AgentStage,
    AnnotationStage,
    ConsensusAnnotationStage,
    ConsensusReviewStage,
    FinalStage,
    ReviewStage,
)
from encord.workflow.stages.consensus_annotation import ConsensusAnnotationTask

from .conftest import route_benchmark_to_consensus

TASKS = "v2 GET projects/{project}/workflow/stages/{stage}/tasks"
ACTIONS = "v2 POST projects/{project}/workflow/stages/{stage}/actions"
MOVE = "v2 POST projects/{project}/workflow/stages/{stage}/move-tasks"


def _stage_of(double: EncordDouble, setup: StandardSetup, data_hash: str) -> str:
    """The role of the stage the Production task of `data_hash` is in (titles repeat in a consensus block)."""
    project = double.state.projects[setup.production_project_hash]
    task = next(t for t in project.tasks.values() if t.data_hash == data_hash)
    return setup.stage_roles()[task.stage_uuid]


def test_get_project_exposes_workflow_stages_with_sdk_types(client, setup):
    project = client.get_project(setup.production_project_hash)

    agent = project.workflow.get_stage(name="Benchmark Task?", type_=AgentStage)
    assert {p.name for p in agent.pathways} == {"YES", "NO"}
    yes = next(p for p in agent.pathways if p.name == "YES")
    assert str(yes.destination_uuid) == setup.production_stages["Consensus 1 Annotate"]
    assert project.workflow.get_stage(uuid=setup.production_stages["Consensus 1"], type_=ConsensusReviewStage)
    assert project.workflow.get_stage(
        uuid=setup.production_stages["Consensus 1 Annotate"], type_=ConsensusAnnotationStage
    )
    assert project.workflow.get_stage(name="Annotate 1", type_=AnnotationStage)
    assert project.workflow.get_stage(name="Review 1", type_=ReviewStage)
    archive = project.workflow.get_stage(name="Archive", type_=FinalStage)
    assert str(archive.uuid) == setup.production_stages["Archive"]
    with pytest.raises(AssertionError):
        project.workflow.get_stage(name="Archive", type_=AgentStage)
    assert project.ontology_structure.get_child_by_title("Box")


@pytest.mark.parametrize("review_first", [False, True], ids=["annotate-first", "review-first"])
def test_the_consensus_block_shares_one_title_and_the_sdk_takes_the_first_title_match(double, client, review_first):
    """Encord titles both stages of the block "Consensus 1"; SDK 0.1.211's get_stage(name=...) returns the first
    stage with the title and asserts its type (encord/workflow/workflow.py:110-116), so one of the two kinds can
    never be found by name: whichever is listed second."""
    with double.locked() as state:
        setup = seed_standard_setup(state, review_first=review_first)
    workflow_ = client.get_project(setup.production_project_hash).workflow
    block = [s for s in workflow_.stages if s.title == "Consensus 1"]
    assert [type(s) for s in block] == (
        [ConsensusReviewStage, ConsensusAnnotationStage]
        if review_first
        else [ConsensusAnnotationStage, ConsensusReviewStage]
    )
    second = ConsensusAnnotationStage if review_first else ConsensusReviewStage
    with pytest.raises(AssertionError, match=f"Expected '{second.__name__}'"):
        workflow_.get_stage(name="Consensus 1", type_=second)


def test_list_datasets(client, setup):
    datasets = list(client.get_project(setup.production_project_hash).list_datasets())
    assert {str(d.dataset_hash) for d in datasets} == {setup.benchmark_dataset_hash, setup.production_dataset_hash}


def test_agent_tasks_paginate_with_server_page_size(double, client, setup):
    with double.locked() as state:
        state.settings.page_size = 2
        for i in range(4):
            add_data_unit(state, DataUnit(dataset_hash=setup.benchmark_dataset_hash, title=f"extra-{i}.jpg"))
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    double.counts.reset()

    tasks = list(stage.get_tasks(dataset_hash=setup.benchmark_dataset_hash))

    assert len(tasks) == 7  # 3 seeded + 4 extra, none of the production dataset
    assert len({t.uuid for t in tasks}) == 7
    assert double.counts.get(TASKS) == 4  # pages of 2, 2, 2, 1


def test_agent_task_filters(client, setup):
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    both = [setup.benchmark_dataset_hash, setup.production_dataset_hash]
    assert len(list(stage.get_tasks(dataset_hash=both))) == 6
    assert len(list(stage.get_tasks(dataset_hash=setup.production_dataset_hash))) == 3
    one = setup.production_data_hashes[1]
    assert [str(t.data_hash) for t in stage.get_tasks(data_hash=one)] == [one]
    titled = list(stage.get_tasks(data_title="PRODUCTION-0002"))
    assert [t.data_title for t in titled] == ["production-0002.jpg"]
    assert list(stage.get_tasks(status="COMPLETED")) == []
    assert len(list(stage.get_tasks(status=["NEW"]))) == 6


def test_bundled_proceed_routes_yes_and_no_in_one_request_each(double, client, setup):
    project = client.get_project(setup.production_project_hash)
    stage = project.workflow.get_stage(name="Benchmark Task?", type_=AgentStage)
    yes = list(stage.get_tasks(dataset_hash=setup.benchmark_dataset_hash))
    no = list(stage.get_tasks(dataset_hash=setup.production_dataset_hash))
    double.counts.reset()

    for tasks, pathway in ((yes, "YES"), (no, "NO")):
        with project.create_bundle() as bundle:
            for task in tasks:
                task.proceed(pathway_name=pathway, bundle=bundle)

    assert double.counts.get(ACTIONS) == 2
    assert list(stage.get_tasks()) == []
    for data_hash in setup.benchmark_data_hashes:
        assert _stage_of(double, setup, data_hash) == "Consensus 1 Annotate"
    annotate = project.workflow.get_stage(name="Annotate 1", type_=AnnotationStage)
    assert {str(t.data_hash) for t in annotate.get_tasks()} == set(setup.production_data_hashes)


def test_single_proceed_by_pathway_uuid(double, client, setup):
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    no = next(p for p in stage.pathways if p.name == "NO")
    task = next(iter(stage.get_tasks(data_hash=setup.production_data_hashes[0])))

    task.proceed(pathway_uuid=no.uuid)

    assert _stage_of(double, setup, setup.production_data_hashes[0]) == "Annotate 1"


def test_unknown_pathway_is_invalid_argument(client, setup):
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    task = next(iter(stage.get_tasks()))
    with pytest.raises(InvalidArgumentsError):
        task.proceed(pathway_name="MAYBE")


def test_proceed_on_moved_task_rejects_the_whole_request(double, client, setup):
    project = client.get_project(setup.production_project_hash)
    stage = project.workflow.get_stage(name="Benchmark Task?", type_=AgentStage)
    first, second = list(stage.get_tasks(dataset_hash=setup.benchmark_dataset_hash))[:2]
    first.proceed(pathway_name="YES")

    with pytest.raises(InvalidArgumentsError):
        first.proceed(pathway_name="YES")
    bundle = project.create_bundle()
    second.proceed(pathway_name="YES", bundle=bundle)
    first.proceed(pathway_name="YES", bundle=bundle)
    with pytest.raises(InvalidArgumentsError):
        bundle.execute()  # what `with project.create_bundle()` runs on exit

    # Nothing of the failed bundle was applied: `second` is still waiting in the agent stage.
    assert _stage_of(double, setup, str(second.data_hash)) == "Benchmark Task?"
    second.proceed(pathway_name="YES")
    assert _stage_of(double, setup, str(second.data_hash)) == "Consensus 1 Annotate"


def _submit_all_subtasks(project: Project, setup: StandardSetup) -> list[ConsensusAnnotationTask]:
    annotate = project.workflow.get_stage(
        uuid=setup.production_stages["Consensus 1 Annotate"], type_=ConsensusAnnotationStage
    )
    parents = list(annotate.get_tasks())
    for parent in parents:
        for sub in parent.subtasks:
            sub.submit()
    return parents


def test_consensus_annotation_creates_one_subtask_per_annotator(client, setup):
    project = route_benchmark_to_consensus(client, setup)
    annotate = project.workflow.get_stage(
        uuid=setup.production_stages["Consensus 1 Annotate"], type_=ConsensusAnnotationStage
    )
    parents = list(annotate.get_tasks())

    assert len(parents) == 3
    for parent in parents:
        assert sorted(str(s.assignee) for s in parent.subtasks) == sorted(setup.annotators)
        assert len({s.label_branch_name for s in parent.subtasks}) == len(setup.annotators)
        assert all(s.label_branch_name != "main" for s in parent.subtasks)


def test_consensus_review_exposes_options_after_all_subtasks_submitted(client, setup):
    project = route_benchmark_to_consensus(client, setup)
    annotate = project.workflow.get_stage(
        uuid=setup.production_stages["Consensus 1 Annotate"], type_=ConsensusAnnotationStage
    )
    review = project.workflow.get_stage(uuid=setup.production_stages["Consensus 1"], type_=ConsensusReviewStage)
    parent = next(iter(annotate.get_tasks()))
    parent.subtasks[0].submit()
    assert list(review.get_tasks()) == []  # one annotator is still working

    parent.subtasks[1].submit()

    [task] = list(review.get_tasks())
    assert task.data_hash == parent.data_hash
    assert {(o.annotator, o.label_branch_name) for o in task.options} == {
        (s.assignee, s.label_branch_name) for s in parent.subtasks
    }
    assert all(o.label_hash is None for o in task.options)  # no annotator saved labels


def test_consensus_reject_goes_to_archive_and_approve_to_complete(client, setup):
    project = route_benchmark_to_consensus(client, setup)
    _submit_all_subtasks(project, setup)
    review = project.workflow.get_stage(uuid=setup.production_stages["Consensus 1"], type_=ConsensusReviewStage)
    first, second, third = list(review.get_tasks())

    with project.create_bundle() as bundle:
        first.reject(bundle=bundle)
        second.approve(bundle=bundle)
    archive = project.workflow.get_stage(name="Archive", type_=FinalStage)
    third.move(destination_stage_uuid=archive.uuid)

    assert {t.data_hash for t in archive.get_tasks()} == {first.data_hash, third.data_hash}
    complete = project.workflow.get_stage(name="Complete", type_=FinalStage)
    assert [t.data_hash for t in complete.get_tasks()] == [second.data_hash]


def test_bundled_move_and_move_of_absent_task(double, client, setup):
    project = client.get_project(setup.production_project_hash)
    stage = project.workflow.get_stage(name="Benchmark Task?", type_=AgentStage)
    archive = project.workflow.get_stage(name="Archive", type_=FinalStage)
    tasks = list(stage.get_tasks(dataset_hash=setup.production_dataset_hash))
    double.counts.reset()

    with project.create_bundle() as bundle:
        for task in tasks:
            task.move(destination_stage_uuid=archive.uuid, bundle=bundle)

    assert double.counts.get(MOVE) == 1
    assert len(list(archive.get_tasks())) == 3
    with pytest.raises(InvalidArgumentsError):
        tasks[0].move(destination_stage_uuid=archive.uuid)


def test_review_assign_release_and_assignee_filter(client, setup):
    project = client.get_project(setup.benchmark_project_hash)
    annotate = project.workflow.get_stage(name="Annotate 1", type_=AnnotationStage)
    review = project.workflow.get_stage(name="Review 1", type_=ReviewStage)
    task = next(iter(annotate.get_tasks()))
    task.submit()
    [in_review] = list(review.get_tasks())

    in_review.assign("reviewer@benchmark-qa.local")
    assert [t.assignee for t in review.get_tasks(assignee="reviewer@benchmark-qa.local")] == [
        "reviewer@benchmark-qa.local"
    ]
    in_review.release()
    assert list(review.get_tasks(assignee="reviewer@benchmark-qa.local")) == []
    in_review.reject()
    assert str(task.data_hash) in {str(t.data_hash) for t in annotate.get_tasks()}


def test_approve_is_not_allowed_in_agent_stage(double, setup):
    # The SDK offers no approve on agent tasks, so the state machine is asked directly.
    project = double.state.projects[setup.production_project_hash]
    task = next(iter(project.tasks.values()))
    with pytest.raises(ApiError):
        workflow.apply_actions(
            double.state,
            project,
            setup.production_stages["Benchmark Task?"],
            [{"taskUuid": task.uuid, "action": "APPROVE"}],
        )


@pytest.mark.parametrize(
    "token",
    [
        make_page_token("offset", 3),  # a storage listing's token
        make_page_token("seq", -1),
        "not-a-token",
    ],
)
def test_a_task_page_token_the_double_did_not_make_is_invalid_arguments(token: str) -> None:
    assert read_page_token("seq", make_page_token("seq", 7)) == 7
    with pytest.raises(ApiError) as raised:
        read_page_token("seq", token)
    assert raised.value.kind is ErrorKind.INVALID_ARGUMENTS
