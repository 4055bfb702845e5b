"""The local stack builds what the template declares, wires notifications, and resolves names."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa_local.provisioning import BUILT_TYPES, SKIPPED
from benchmark_qa_local.stack import LocalStack
from benchmark_qa_local.template import SamTemplate

from .conftest import REAL_TEMPLATE, TINY_TEMPLATE, write_tiny_project


def _exists(stack: LocalStack, logical_id: str, resource_type: str) -> bool:
    ref = stack.physical_id(logical_id)
    if resource_type == "AWS::S3::Bucket":
        stack.boto3_client("s3").head_bucket(Bucket=ref)
    elif resource_type == "AWS::SQS::Queue":
        stack.boto3_client("sqs").get_queue_attributes(QueueUrl=ref, AttributeNames=["QueueArn"])
    elif resource_type in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
        stack.boto3_client("dynamodb").describe_table(TableName=ref)
    elif resource_type == "AWS::SecretsManager::Secret":
        stack.boto3_client("secretsmanager").describe_secret(SecretId=ref)
    elif resource_type == "AWS::SNS::Topic":
        stack.boto3_client("sns").get_topic_attributes(TopicArn=ref)
    elif resource_type == "AWS::SSM::Parameter":
        stack.boto3_client("ssm").get_parameter(Name=ref)
    elif resource_type == "AWS::Serverless::StateMachine":
        stack.boto3_client("stepfunctions").describe_state_machine(stateMachineArn=ref)
    else:
        raise AssertionError(f"teach this test how to look up a {resource_type}")
    return True


def _queue_keys(stack: LocalStack, queue_logical_id: str) -> list[str]:
    sqs = stack.boto3_client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.physical_id(queue_logical_id), MaxNumberOfMessages=10).get(
        "Messages", []
    )
    keys = []
    for message in messages:
        sqs.delete_message(QueueUrl=stack.physical_id(queue_logical_id), ReceiptHandle=message["ReceiptHandle"])
        keys += [r["s3"]["object"]["key"] for r in json.loads(message["Body"]).get("Records", [])]
    return keys


def test_real_template_builds_every_resource(local_stack: LocalStack) -> None:
    template = SamTemplate.load(REAL_TEMPLATE)
    report = local_stack.report
    assert report.unsupported == {}, "the template gained resources the local stack cannot emulate"
    assert set(report.created) | set(report.skipped) == set(template.resources)
    for logical_id, physical in report.created.items():
        assert _exists(local_stack, logical_id, physical.type)
    # Every type the template uses is either built or skipped on purpose.
    assert {r["Type"] for r in template.resources.values()} <= BUILT_TYPES | set(SKIPPED)


def test_real_template_outputs_and_environment_are_resolved(local_stack: LocalStack) -> None:
    template = SamTemplate.load(REAL_TEMPLATE)
    outputs = local_stack.outputs
    intrinsics = local_stack.deployment.intrinsics
    unconditional = {name for name, output in template.outputs.items() if "Condition" not in output}
    conditional = {
        name for name, o in template.outputs.items() if "Condition" in o and intrinsics.condition(o["Condition"])
    }
    assert set(outputs) == unconditional | conditional
    assert all(isinstance(v, str) and v for v in outputs.values())
    for spec in template.functions():
        environment = local_stack.function_environment(spec.logical_id)
        assert set(spec.environment) <= set(environment)
        assert environment["AWS_ENDPOINT_URL"] == local_stack.endpoint_url
        assert not any("Ref" in v or "Fn::" in v for v in environment.values())


def test_real_upload_notifications_follow_the_prefixes(local_stack: LocalStack) -> None:
    s3 = local_stack.boto3_client("s3")
    bucket = local_stack.physical_id("UploadBucket")
    token = uuid.uuid4().hex
    s3.put_object(Bucket=bucket, Key=f"benchmark/{token}/a b.jpg", Body=b"x")
    s3.put_object(Bucket=bucket, Key=f"manifests/{token}.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key=f"elsewhere/{token}.jpg", Body=b"x")

    ingest, register = _queue_keys(local_stack, "IngestQueue"), _queue_keys(local_stack, "RegisterQueue")
    # form-encoded as S3 sends it: a space is '+', '/' stays (benchmark_qa_local.moto_s3; moto alone encoded '/')
    assert [k for k in ingest if token in k] == [f"benchmark/{token}/a+b.jpg"]
    assert [k for k in register if token in k] == [f"manifests/{token}.json"]


def test_tiny_stack_builds_resources_with_their_properties(tiny_stack: LocalStack) -> None:
    assert set(tiny_stack.report.created) == {"Table", "DeadLetters", "Work", "Bucket", "Token"}
    bucket = tiny_stack.physical_id("Bucket")
    assert bucket == f"{tiny_stack.deployment.stack_name}-bucket-123456789012"
    assert tiny_stack.boto3_client("s3").get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    attributes = tiny_stack.boto3_client("sqs").get_queue_attributes(
        QueueUrl=tiny_stack.physical_id("Work"), AttributeNames=["All"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "42"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == tiny_stack.resource("DeadLetters").attributes["Arn"]
    assert int(redrive["maxReceiveCount"]) == 2

    dynamodb = tiny_stack.boto3_client("dynamodb")
    table = dynamodb.describe_table(TableName=tiny_stack.physical_id("Table"))["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-g"]
    ttl = dynamodb.describe_time_to_live(TableName=tiny_stack.physical_id("Table"))["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"

    secret = tiny_stack.boto3_client("secretsmanager").get_secret_value(SecretId=tiny_stack.physical_id("Token"))
    assert len(secret["SecretString"]) == 20
    assert secret["SecretString"].isalnum()
    assert tiny_stack.outputs == {"WorkQueueUrl": tiny_stack.physical_id("Work"), "BucketName": bucket}


def test_tiny_notifications_route_only_the_configured_prefix(tiny_stack: LocalStack) -> None:
    s3 = tiny_stack.boto3_client("s3")
    bucket = tiny_stack.physical_id("Bucket")
    assert _queue_keys(tiny_stack, "Work") == [], "the s3:TestEvent is dropped and nothing else is queued"
    s3.put_object(Bucket=bucket, Key="incoming/one.txt", Body=b"1")
    s3.put_object(Bucket=bucket, Key="outgoing/two.txt", Body=b"2")
    assert _queue_keys(tiny_stack, "Work") == ["incoming/one.txt"]


def test_parameters_are_overridable(tmp_path: Path) -> None:
    template = write_tiny_project(tmp_path)
    with LocalStack(template, stack_name="param-test", parameters={"IncomingPrefix": "in"}) as stack:
        s3 = stack.boto3_client("s3")
        s3.put_object(Bucket=stack.physical_id("Bucket"), Key="in/x", Body=b"")
        s3.put_object(Bucket=stack.physical_id("Bucket"), Key="incoming/x", Body=b"")
        assert _queue_keys(stack, "Work") == ["in/x"]


def test_a_resource_the_stack_cannot_build_is_reported(tmp_path: Path) -> None:
    template = write_tiny_project(
        tmp_path, TINY_TEMPLATE.replace("Resources:\n", "Resources:\n  Stream:\n    Type: AWS::Kinesis::Stream\n", 1)
    )
    with LocalStack(template, stack_name="unsupported-test") as stack:
        assert stack.report.unsupported == {"Stream": "AWS::Kinesis::Stream"}


def test_stop_removes_the_resources_and_a_second_stack_can_reuse_the_names(tmp_path: Path) -> None:
    template = write_tiny_project(tmp_path)
    for _ in range(2):
        with LocalStack(template, stack_name="reused") as stack:
            stack.boto3_client("s3").put_object(Bucket=stack.physical_id("Bucket"), Key="incoming/a", Body=b"")
            bucket: Any = stack.physical_id("Bucket")
    with LocalStack(template, stack_name="observer") as observer:
        names = [b["Name"] for b in observer.boto3_client("s3").list_buckets()["Buckets"]]
        assert bucket not in names


def test_stop_empties_a_versioned_bucket_of_more_than_one_listing_page(tmp_path: Path) -> None:
    """1,000 versions plus delete markers: moto's version listing stopped after the first page once its keys were
    deleted, and the bucket was left behind (BucketNotEmpty, warned on every `make bench`)."""
    template = write_tiny_project(tmp_path)
    with LocalStack(template, stack_name="many-versions") as stack:
        s3, bucket = stack.boto3_client("s3"), stack.physical_id("Bucket")
        for i in range(1_000):
            s3.put_object(Bucket=bucket, Key=f"other/{i:04d}", Body=b"x")
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"other/{i:04d}"} for i in range(50)]})
    with LocalStack(template, stack_name="many-versions-observer") as observer:
        assert bucket not in [b["Name"] for b in observer.boto3_client("s3").list_buckets()["Buckets"]]


def test_attaching_to_a_running_stack_creates_nothing_and_finds_secret_arns(tiny_stack: LocalStack) -> None:
    attached = LocalStack(
        tiny_stack.template, stack_name=tiny_stack.deployment.stack_name, endpoint_url=tiny_stack.endpoint_url
    )
    with attached:
        assert attached.report.created == {}
        assert attached.physical_id("Token") == tiny_stack.physical_id("Token")
        assert attached.physical_id("Work") == tiny_stack.physical_id("Work")


def test_client_environment_points_at_moto(tiny_stack: LocalStack) -> None:
    env = tiny_stack.env()
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(env)


def test_unknown_parameter_is_refused(tiny_template: Path) -> None:
    with pytest.raises(ValueError, match="unknown parameters"):
        LocalStack(tiny_template, parameters={"GreetingTypo": "x"}).start()


def test_moto_in_a_process_of_its_own_builds_the_stack_and_ends_with_it(tmp_path: Path) -> None:
    """`moto_process`: the same resources and notifications, served by a child process that stops with the stack
    and keeps no state of this process's moto (a second core for long runs: docs/backfill.md)."""
    import os

    template = write_tiny_project(tmp_path)
    with LocalStack(template, stack_name="own-process", moto_process=True) as stack:
        pid = stack.moto_pid
        assert pid is not None
        assert pid != os.getpid()
        s3 = stack.boto3_client("s3")
        s3.put_object(Bucket=stack.physical_id("Bucket"), Key="incoming/one.txt", Body=b"1")
        assert _queue_keys(stack, "Work") == ["incoming/one.txt"]
    assert stack.moto_pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the child has ended and been reaped


def test_a_moto_process_that_cannot_listen_fails_in_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto waits forever for a port another process holds; the stack does not: it names the failure and ends the
    child instead of hanging."""
    import socket

    from benchmark_qa_local import moto_process

    monkeypatch.setattr(moto_process, "READY_SECONDS", 5.0)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        child = moto_process.MotoProcess(taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="did not start in 5 s"):
            child.start()
    assert child.pid is None  # stopped and reaped
