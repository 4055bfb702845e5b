"""`benchmark-qa doctor` on the local stack and the Encord double: it passes on what setup made, and reports each
failure it knows with what to do (one line each, non-zero exit)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from unittest import mock

import pytest
from benchmark_qa_local import samples
from benchmark_qa_local.doctor import Check, Status, from_local_stack
from benchmark_qa_local.encord_double import FaultRule, generate_key_pair
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.setup.parameters import read_parameters
from benchmark_qa_local.stack import LocalStack

from .run import doctor, failures

pytestmark = pytest.mark.integration

ENCORD_CHECKS = ("integration", "folders", "datasets", "projects", "workflow", "uploads readable")


def test_doctor_passes_on_what_setup_made(deployment):
    checks = doctor(deployment.deployed)

    assert failures(checks) == {}
    assert checks["encord key"].message.startswith("stored; public key SHA256:")
    assert checks["workflow"].message == "'Benchmark Task?' (YES/NO) -> 'Consensus 1' -> 'Archive'"
    assert checks["schedules"].message.startswith("5 enabled")  # issue 14 added ReportFunction's schedule
    assert "ReportFunctionSchedule" in checks["schedules"].message
    assert f"reports in {deployment.stack.outputs['ReportsBucketName']}" in checks["stack"].message
    # Nothing uploaded yet, and no webhook secret: both are advice, not failures.
    assert {n for n, c in checks.items() if c.status is Status.WARN} == {"uploads readable", "webhook"}


def test_the_cli_prints_one_line_per_check_and_exits_by_the_failures(deployment, capsys):
    from benchmark_qa_local.cli import main

    argv = ["doctor", "--local", "--stack-name", deployment.stack.deployment.stack_name,
            "--parameters", str(deployment.parameters_file)]  # fmt: skip
    with mock.patch.dict(os.environ, deployment.stack.env()):
        passing = main(argv)
        out = capsys.readouterr().out
        sqs = deployment.stack.boto3_client("sqs")
        dlq = deployment.stack.physical_id("ScheduleDeadLetterQueue")
        sqs.send_message(QueueUrl=dlq, MessageBody="{}")
        try:
            failing = main(argv)
        finally:
            sqs.purge_queue(QueueUrl=dlq)
        failed_out = capsys.readouterr().out

    assert passing == 0
    lines = out.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["stack", "encord", "encord"]
    assert len([line for line in lines if line[:5].strip() in {"ok", "warn"}]) == 15
    assert lines[-1].endswith("ready")
    assert failing == 1
    assert "FAIL  dead-letter queues  1 message(s) in ScheduleDeadLetterQueue: read them with aws sqs" in failed_out


def test_a_key_not_stored_fails_and_the_encord_checks_wait_for_it(deployment):
    with LocalStack(
        parameters=read_parameters(deployment.parameters_file), stack_name=f"bqa-nokey-{uuid.uuid4().hex[:6]}"
    ) as bare:
        checks = doctor(from_local_stack(bare))

    assert "put-secret-value --secret-id arn:aws:secretsmanager" in failures(checks)["encord key"]
    assert {name for name, c in checks.items() if c.status is Status.SKIP} == {"encord access", *ENCORD_CHECKS}


def test_a_key_encord_does_not_know_fails_encord_access(deployment):
    secrets = deployment.stack.boto3_client("secretsmanager")
    arn = deployment.stack.outputs["EncordKeySecretArn"]
    secrets.put_secret_value(SecretId=arn, SecretString=generate_key_pair().private_openssh)
    try:
        checks = doctor(deployment.deployed)
    finally:
        secrets.put_secret_value(SecretId=arn, SecretString=deployment.key.private_openssh)

    assert (
        "refuses the key: add its public half in Encord (Settings > Public keys)" in failures(checks)["encord access"]
    )
    assert all(checks[name].status is Status.SKIP for name in ENCORD_CHECKS)


def test_a_key_that_is_not_ed25519_is_named_without_quoting_it(deployment):
    secrets = deployment.stack.boto3_client("secretsmanager")
    arn = deployment.stack.outputs["EncordKeySecretArn"]
    secrets.put_secret_value(
        SecretId=arn, SecretString="-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY-----"
    )
    try:
        checks = doctor(deployment.deployed)
    finally:
        secrets.put_secret_value(SecretId=arn, SecretString=deployment.key.private_openssh)

    assert "store an unencrypted OpenSSH Ed25519 private key" in failures(checks)["encord key"]
    assert "MC4CAQ" not in failures(checks)["encord key"]


RANDOM = "00000000-0000-4000-8000-00000000dead"


@pytest.mark.parametrize(
    ("parameter", "value", "reported"),
    [
        ("EncordIntegrationId", "", {"integration": "EncordIntegrationId is empty, so uploads wait"}),
        ("EncordIntegrationId", RANDOM, {"integration": "cannot use cloud integration"}),
        ("BenchmarkFolderUuid", RANDOM, {"folders": f"cannot open BenchmarkFolderUuid {RANDOM}"}),
        (
            "ProductionDatasetHash",
            RANDOM,
            {"datasets": f"cannot open ProductionDatasetHash {RANDOM}", "projects": f"lacks dataset(s) ['{RANDOM}']"},
        ),
        (
            "BenchmarkProjectHash",
            RANDOM,
            {"projects": f"cannot open BenchmarkProjectHash {RANDOM}: make the key's user an Admin of it"},
        ),
        ("AgentStage", "Is it a benchmark?", {"workflow": "no workflow stage 'Is it a benchmark?'"}),
        ("YesPathway", "Ground truth", {"workflow": "has no pathway 'Ground truth'"}),
        ("ReviewStage", "Review 2", {"workflow": "no workflow stage 'Review 2'"}),
        ("ArchiveStage", "Review 1", {"workflow": "stage 'Review 1' is a REVIEW stage, not a final stage"}),
        ("EncordDomain", "http://127.0.0.1:9", {"encord access": "cannot reach http://127.0.0.1:9"}),
    ],
)
def test_each_wrong_parameter_is_reported_with_what_to_do(deployment, parameter, value, reported):
    deployed = deployment.deployed
    deployed = dataclasses.replace(deployed, parameters={**deployed.parameters, parameter: value})

    found = failures(doctor(deployed))

    assert set(found) == set(reported), found
    for check, message in reported.items():
        assert message in found[check]


def test_a_project_the_key_may_not_open_is_reported(deployment):
    deployment.double.add_fault(FaultRule(endpoint="v2 GET projects/{project}", status=403))
    try:
        found = failures(doctor(deployment.deployed))
    finally:
        deployment.double.clear_faults()

    assert "make the key's user an Admin of it" in found["projects"]
    assert "make the key's user an Admin of it" in found["workflow"]


def test_a_project_missing_a_dataset_is_reported(deployment):
    project_hash = deployment.deployed.parameter("ProductionProjectHash")
    with deployment.double.locked() as state:
        project = state.projects[project_hash]
        kept = list(project.dataset_hashes)
        project.dataset_hashes = kept[:1]
    try:
        found = failures(doctor(deployment.deployed))
    finally:
        with deployment.double.locked() as state:
            state.projects[project_hash].dataset_hashes = kept

    assert "lacks dataset(s)" in found["projects"]


def test_a_disabled_schedule_is_reported(deployment):
    scheduler = deployment.stack.boto3_client("scheduler")
    name = deployment.stack.deployment.schedule_name("ScoreFunction", "Schedule")
    schedule = scheduler.get_schedule(Name=name)
    fields = {k: schedule[k] for k in ("Name", "ScheduleExpression", "FlexibleTimeWindow", "Target")}
    scheduler.update_schedule(**fields, State="DISABLED")
    try:
        found = failures(doctor(deployment.deployed))
    finally:
        scheduler.update_schedule(**fields, State="ENABLED")

    assert found == {"schedules": f"ScoreFunctionSchedule is DISABLED: enable schedule {name} in the EventBridge "
                                  "Scheduler console, or deploy again"}  # fmt: skip


def test_missing_outputs_stop_the_checks(deployment):
    deployed = deployment.deployed
    outputs = {k: v for k, v in deployed.outputs.items() if k != "ScoreQueueUrl"}

    checks = doctor(dataclasses.replace(deployed, outputs=outputs))

    assert list(checks) == ["stack"]
    assert "lacks outputs ['ScoreQueueUrl']: deploy the current template" in checks["stack"].message


def test_uploads_readable_follows_registration(deployment):
    """No upload: advice. A registered upload: its item is found in Encord. An upload Encord could not read: a
    failure naming the manifest."""
    stack, double = deployment.stack, deployment.double
    pump = EventSourcePump(stack, Invoker(stack=stack))
    bucket = stack.outputs["UploadBucketName"]
    s3 = stack.boto3_client("s3")

    def register(key: str) -> Check:
        s3.put_object(Bucket=bucket, Key=key, Body=samples.for_key(key))
        with mock.patch.dict(os.environ, stack.env()):
            pump.drain()
            for _ in range(3):  # the double answers PENDING to a job's first poll
                if not pump.fire_schedule("RegisterFunction").raise_for_error()["pending"]:
                    break
        return doctor(deployment.deployed)["uploads readable"]

    assert register("benchmark/readable.jpg").message.startswith(
        f"Encord imported s3://{bucket}/benchmark/readable.jpg as item "
    )
    with double.locked() as state:
        state.settings.failing_url_substrings = ["unreadable"]
    try:
        check = register("production/unreadable.jpg")
    finally:
        with double.locked() as state:
            state.settings.failing_url_substrings = []

    assert check.status is Status.FAIL
    assert "registered no object: see benchmark-qa status" in check.message


def test_a_manifest_encord_refused_is_reported(deployment):
    stack = deployment.stack
    pump = EventSourcePump(stack, Invoker(stack=stack))
    s3 = stack.boto3_client("s3")
    deployment.double.add_fault(FaultRule(endpoint="v2 POST storage/folders/{folder}/data-upload-jobs", status=403))
    try:
        s3.put_object(
            Bucket=stack.outputs["UploadBucketName"],
            Key="benchmark/refused.jpg",
            Body=samples.for_key("benchmark/refused.jpg"),
        )
        with mock.patch.dict(os.environ, stack.env()):
            pump.drain()
    finally:
        deployment.double.clear_faults()

    check = doctor(deployment.deployed)["uploads readable"]

    assert check.status is Status.FAIL
    assert "failed: " in check.message
    assert "the latest manifest" in check.message


def test_an_existing_bucket_without_eventbridge_or_cors_is_reported(deployment):
    """The bucket is the user's: doctor says which switch to turn on, and sees it once it is."""
    token = uuid.uuid4().hex[:6]
    bucket = f"users-data-{token}"
    parameters = {**read_parameters(deployment.parameters_file), "ExistingBucketName": bucket}
    with LocalStack(
        parameters=parameters,
        secret_values={"EncordKeySecret": deployment.key.private_openssh},
        stack_name=f"bqa-doctor-byo-{token}",
    ) as stack:
        s3 = stack.boto3_client("s3")
        s3.create_bucket(Bucket=bucket)
        try:
            before = failures(doctor(from_local_stack(stack)))
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
            s3.put_bucket_cors(
                Bucket=bucket,
                CORSConfiguration={
                    "CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://app.encord.com"]}]
                },
            )
            after = doctor(from_local_stack(stack))
        finally:
            s3.delete_bucket(Bucket=bucket)

    assert set(before) == {"bucket", "cors"}
    assert "does not send events to EventBridge" in before["bucket"]
    assert "Amazon EventBridge" in before["bucket"]
    assert "no CORS rule lets Encord's web app GET files" in before["cors"]
    assert failures(after) == {}
    assert after["bucket"].message == f"{bucket} (yours) sends its events to EventBridge"


def test_a_stack_in_cloudformation_is_read_from_its_outputs_and_parameters(deployment):
    """The AWS path (`--stack-name`), against moto's CloudFormation with a stack of the same outputs."""
    from benchmark_qa_local.doctor import StackNotFound, from_cloudformation

    outputs = deployment.stack.outputs
    body = {
        "Parameters": {"AgentStage": {"Type": "String", "Default": "Benchmark Task?"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    cloudformation = deployment.stack.boto3_client("cloudformation")
    name = f"bqa-cfn-{uuid.uuid4().hex[:6]}"
    cloudformation.create_stack(StackName=name, TemplateBody=__import__("json").dumps(body))
    try:
        with mock.patch.dict(os.environ, deployment.stack.env()):
            deployed = from_cloudformation(name, deployment.stack.region)
            with pytest.raises(StackNotFound, match="cannot read stack 'no-such-stack'"):
                from_cloudformation("no-such-stack", deployment.stack.region)
    finally:
        cloudformation.delete_stack(StackName=name)

    assert deployed.outputs == outputs
    assert deployed.parameters == {"AgentStage": "Benchmark Task?"}
    assert deployed.schedules == []
