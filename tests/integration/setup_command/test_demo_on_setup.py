"""The issue's "done when", offline: from an empty Encord workspace (only what the UI makes: the two workflow
templates and the cloud integration), `benchmark-qa setup` creates everything, a second run changes nothing,
`benchmark-qa doctor` passes on the stack deployed with setup's parameters, and the demo's whole workflow (upload,
manifests, registration, ground truth, routing, annotators, scoring, leaderboard) runs against what setup made."""

from __future__ import annotations

import io
import json
import os
import uuid
from unittest import mock

import pytest
from benchmark_qa_local import demo
from benchmark_qa_local.doctor import Status, from_local_stack
from benchmark_qa_local.encord_double.seed import StandardSetup, stage_roles_of
from benchmark_qa_local.encord_double.workspace import seed_ui_setup
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.setup.parameters import read_parameters
from benchmark_qa_local.simulation import EXPECTED_ORDER, demo_annotators, demo_ontology
from benchmark_qa_local.stack import LocalStack

from ..doctor.run import doctor, failures

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _standard_setup(workspace, parameters: dict[str, str]) -> StandardSetup:
    """What the demo's steps read of a setup, taken from what `benchmark-qa setup` made."""
    state = workspace.double.state
    production = state.projects[parameters["ProductionProjectHash"]]
    benchmark = state.projects[parameters["BenchmarkProjectHash"]]
    return StandardSetup(
        ontology_hash=production.ontology_hash,
        benchmark_project_hash=benchmark.project_hash,
        production_project_hash=production.project_hash,
        benchmark_dataset_hash=parameters["BenchmarkDatasetHash"],
        production_dataset_hash=parameters["ProductionDatasetHash"],
        folder_uuid=parameters["BenchmarkFolderUuid"],
        integration_hash=parameters["EncordIntegrationId"],
        production_stages=stage_roles_of(production.workflow),
        benchmark_stages=stage_roles_of(benchmark.workflow),
        annotators=tuple(demo_annotators()),
        benchmark_data_hashes=(),
        production_data_hashes=(),
    )


def test_setup_then_doctor_then_the_demo_workflow_on_what_setup_made(workspace, run_cli, tmp_path):
    with workspace.double.locked() as state:  # the demo's annotators, in templates the user made in the UI
        state.workflow_templates.clear()
        state.integrations.clear()
        workspace.ui = seed_ui_setup(state, annotators=list(demo_annotators()))
    (workspace.folder / "ontology.json").write_text(json.dumps(demo_ontology()), encoding="utf-8")
    config = workspace.config(ontology={"structure_file": "ontology.json"})

    assert run_cli("setup", "--config", str(config))[0] == 0
    workspace.double.counts.reset()
    assert run_cli("setup", "--config", str(config))[0] == 0
    assert workspace.creations() == 0

    parameters = read_parameters(workspace.parameters_file)
    stack = LocalStack(
        parameters=parameters,
        secret_values={"EncordKeySecret": workspace.key.private_openssh},
        stack_name=f"bqa-e2e-{uuid.uuid4().hex[:6]}",
    )
    with stack, mock.patch.dict(os.environ, stack.env()):
        assert failures(doctor(from_local_stack(stack))) == {}
        invoker = Invoker(stack=stack, log_stream=io.StringIO())
        world = demo.DemoWorld(
            stack,
            invoker,
            EventSourcePump(stack, invoker),
            workspace.double,
            _standard_setup(workspace, parameters),
            workspace.key,
            report_path=tmp_path / "leaderboard.html",
        )
        lines: list[str] = []
        for _, step in demo.STEPS:
            step(world, lines.append)
        after = doctor(from_local_stack(stack))

    assert world.ranking_recovered, "\n".join(lines)
    assert world.leaderboard is not None
    assert [row.annotator.split("@")[0] for row in world.leaderboard.ranked] == list(EXPECTED_ORDER)
    assert failures(after) == {}
    assert after["uploads readable"].status is Status.OK
