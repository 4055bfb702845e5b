"""Task comments through task.issues."""

from __future__ import annotations

import pytest
from encord.exceptions import InvalidArgumentsError
from encord.issues.issue_client import FileIssue
from encord.workflow import AgentStage


def test_add_file_issue_is_stored_and_listed(double, client, setup):
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    task = next(iter(stage.get_tasks(data_hash=setup.benchmark_data_hashes[0])))

    task.issues.add_file_issue("Annotator agreement 0.42", ["benchmark-qa"])

    [stored] = double.state.issues
    assert stored.data_hash == setup.benchmark_data_hashes[0]
    assert stored.comment.content == "Annotator agreement 0.42"
    [listed] = list(task.issues.list())
    assert isinstance(listed, FileIssue)
    assert listed.comments[0].content == "Annotator agreement 0.42"
    assert [t.name for t in listed.tags] == ["benchmark-qa"]


def test_issue_on_data_outside_the_project_is_rejected(double, client, setup):
    bench = client.get_project(setup.benchmark_project_hash)
    prod_stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    task = next(iter(prod_stage.get_tasks(dataset_hash=setup.production_dataset_hash)))
    task.issues._project_uuid = bench.project_hash  # point the SDK's issue client at the other project
    with pytest.raises(InvalidArgumentsError):
        task.issues.add_file_issue("wrong project", [])
    assert double.state.issues == []
