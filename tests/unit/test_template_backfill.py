"""template.yaml's backfill on Step Functions (docs/backfill.md), resolved as CloudFormation would: the state
machine's role may do what the definition's readers, child workflows and task need and nothing else, the Distributed
Map takes its batch size and concurrency from the parameters, and the inventory bucket is readable only when named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa_local.deployment import LocalDeployment
from benchmark_qa_local.provisioning_state_machines import definition
from benchmark_qa_local.template import SamTemplate

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
STACK = "bqa"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def template() -> SamTemplate:
    return SamTemplate.load(TEMPLATE)


def _statements(deployment: LocalDeployment, role: str) -> dict[str, dict[str, Any]]:
    (policy,) = deployment.resolve(deployment.template.properties(role)["Policies"])
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def _states(deployment: LocalDeployment) -> dict[str, Any]:
    document = json.loads(definition(deployment, deployment.template.properties("BackfillStateMachine")))
    return dict(document["States"])


def test_the_state_machine_role_does_only_what_the_definition_needs(template: SamTemplate) -> None:
    deployment = LocalDeployment(template, stack_name=STACK)
    statements = _statements(deployment, "BackfillStateMachineRole")
    assert set(statements) == {
        "InvokeBackfillBatches",
        "ListUploads",
        "RunChildWorkflows",
        "WatchChildWorkflows",
        "DeliverExecutionLogs",
    }, "no inventory bucket named: nothing to read"
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{STACK}-BackfillBatchFunction"
    assert statements["InvokeBackfillBatches"]["Resource"] == [function, f"{function}:*"]
    listing = statements["ListUploads"]
    assert listing["Action"] == ["s3:ListBucket"]
    assert listing["Resource"] == f"arn:aws:s3:::{STACK}-uploads-{ACCOUNT}"
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["benchmark/*", "production/*"]
    machine = f"{STACK}-backfill"
    assert statements["RunChildWorkflows"]["Resource"].endswith(f":stateMachine:{machine}")
    assert statements["WatchChildWorkflows"]["Resource"].endswith(f":execution:{machine}/*")
    assert deployment.resource("BackfillStateMachine").name == machine, "the role names the machine it runs"
    states = _states(deployment)
    tasks = [
        task
        for state in states.values()
        for task in [state, *state.get("ItemProcessor", {}).get("States", {}).values()]
        if task["Type"] == "Task"
    ]
    assert {t["Parameters"]["FunctionName"] for t in tasks} == {function}, "it invokes the function its role names"
    assert states["FromListing"]["ItemReader"]["Parameters"]["Bucket"] == f"{STACK}-uploads-{ACCOUNT}"


def test_the_inventory_bucket_is_readable_only_when_named(template: SamTemplate) -> None:
    deployment = LocalDeployment(template, stack_name=STACK, parameters={"BackfillInventoryBucket": "inv"})
    reading = _statements(deployment, "BackfillStateMachineRole")["ReadInventory"]
    assert reading["Action"] == ["s3:GetObject"]
    assert reading["Resource"] == "arn:aws:s3:::inv/*"


def test_batch_size_and_concurrency_come_from_the_parameters(template: SamTemplate) -> None:
    deployment = LocalDeployment(
        template, stack_name=STACK, parameters={"BackfillBatchSize": "250", "BackfillMaxConcurrency": "3"}
    )
    states = _states(deployment)
    assert states["Settings"]["Parameters"] == {
        "batchSize.$": "States.StringToJson('250')",
        "maxConcurrency.$": "States.StringToJson('3')",
    }
    for name in ("FromListing", "FromInventory"):
        assert states[name]["ItemBatcher"]["MaxItemsPerBatchPath"] == "$.settings.batchSize"
        assert states[name]["MaxConcurrencyPath"] == "$.settings.maxConcurrency"
        assert states[name]["ItemBatcher"]["MaxInputBytesPerBatch"] <= 256 * 1024, "a Lambda payload's limit"
    limits = template.parameters["BackfillMaxConcurrency"]
    assert (limits["MinValue"], limits["MaxValue"]) == (1, 1000)


def test_the_batch_function_reads_and_writes_only_the_upload_prefixes(template: SamTemplate) -> None:
    deployment = LocalDeployment(template, stack_name=STACK)
    statements = _statements(deployment, "BackfillBatchFunctionRole")
    bucket = f"arn:aws:s3:::{STACK}-uploads-{ACCOUNT}"
    assert statements["ReadUploads"]["Resource"] == [f"{bucket}/benchmark/*", f"{bucket}/production/*"]
    assert statements["WriteManifests"]["Resource"] == f"{bucket}/manifests/*"
    assert not [s for s in statements.values() if "sqs:" in json.dumps(s) or "states:" in json.dumps(s)]


def test_a_batch_that_times_out_leaves_its_express_child_time_for_a_retry(template: SamTemplate) -> None:
    """An Express child workflow lives at most 300 s (AWS Step Functions quotas): the batch function's timeout, the
    wait before the first retry of a failed task and one more try must fit, or a slow batch fails the execution."""
    deployment = LocalDeployment(template, stack_name=STACK)
    timeout = int(template.properties("BackfillBatchFunction")["Timeout"])
    for name in ("FromListing", "FromInventory"):
        states = _states(deployment)[name]["ItemProcessor"]["States"]
        (task,) = states.values()
        failed = next(r for r in task["Retry"] if "States.TaskFailed" in r["ErrorEquals"])
        assert 2 * timeout + failed["IntervalSeconds"] < 300, (name, timeout)
