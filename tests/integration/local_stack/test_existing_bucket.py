"""Uploads flow through the stack whether it owns the bucket (S3 notifications) or subscribes to an existing one
(ExistingBucketName: S3 -> EventBridge -> rules -> the same queues). The existing bucket is the user's: the stack
never changes its notification configuration and never deletes it."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from benchmark_qa.ingest.pipeline import parse_notification
from benchmark_qa_local import samples
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.stack import LocalStack

pytestmark = pytest.mark.integration


@dataclass
class Uploads:
    stack: LocalStack
    pump: EventSourcePump
    bucket: str
    existing: bool

    def messages(self, queue: str) -> list[str]:
        sqs = self.stack.boto3_client("sqs")
        url = self.stack.physical_id(queue)
        bodies = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return bodies


def _users_bucket(stack: LocalStack, name: str) -> Any:
    """A bucket as its owner set it up before the stack existed: its own queue notification, and EventBridge on."""
    s3, sqs = stack.boto3_client("s3"), stack.boto3_client("sqs")
    s3.create_bucket(Bucket=name)
    queue_url = sqs.create_queue(QueueName=f"{name}-own-audit")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": "owner-audit", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "audit/"}]}}}
            ],
            "EventBridgeConfiguration": {},
        },
    )  # fmt: skip
    return _notifications(stack, name)


def _notifications(stack: LocalStack, bucket: str) -> Any:
    configuration = stack.boto3_client("s3").get_bucket_notification_configuration(Bucket=bucket)
    configuration.pop("ResponseMetadata", None)
    return configuration


@pytest.fixture(params=["own bucket", "existing bucket"])
def uploads(request: pytest.FixtureRequest) -> Iterator[Uploads]:
    existing = request.param == "existing bucket"
    token = uuid.uuid4().hex[:8]
    users_bucket = f"users-data-{token}"
    parameters = {"ExistingBucketName": users_bucket} if existing else {}
    with LocalStack(stack_name=f"bqa-byo-{token}", parameters=parameters) as stack:
        if existing:
            _users_bucket(stack, users_bucket)
        pump = EventSourcePump(stack, Invoker(stack=stack))
        bucket = stack.outputs["UploadBucketName"]
        with mock.patch.dict(os.environ, stack.env()):
            yield Uploads(stack, pump, bucket, existing)
        if existing:
            s3 = stack.boto3_client("s3")
            for entry in s3.list_objects_v2(Bucket=users_bucket).get("Contents", []):
                s3.delete_object(Bucket=users_bucket, Key=entry["Key"])
            s3.delete_bucket(Bucket=users_bucket)


def test_uploads_become_manifests_and_the_manifests_reach_registration(uploads: Uploads) -> None:
    s3 = uploads.stack.boto3_client("s3")
    s3.put_object(
        Bucket=uploads.bucket, Key="benchmark/street scene.jpg", Body=samples.for_key("benchmark/street scene.jpg")
    )
    s3.put_object(Bucket=uploads.bucket, Key="production/drive.mp4", Body=samples.for_key("production/drive.mp4"))
    s3.put_object(Bucket=uploads.bucket, Key="elsewhere/notes.jpg", Body=b"not ours")

    report = uploads.pump.drain(function="ManifestFunction")

    assert report.successes == 2  # the key outside both prefixes never reached the ingest queue
    assert report.errors == 0
    listing = s3.list_objects_v2(Bucket=uploads.bucket, Prefix="manifests/").get("Contents", [])
    manifests = sorted(entry["Key"] for entry in listing)
    assert [key.split("/")[1] for key in manifests] == ["benchmark", "production"]
    benchmark = json.loads(s3.get_object(Bucket=uploads.bucket, Key=manifests[0])["Body"].read())
    assert benchmark["images"][0]["objectUrl"].endswith("/benchmark/street%20scene.jpg")
    arrived = sorted(u.obj.key for body in uploads.messages("RegisterQueue") for u in parse_notification(body))
    assert arrived == manifests


# The existing bucket only: moto 5.2.5 crashes notifying the delete marker of a versioned bucket (the stack's own
# bucket is versioned; FakeDeleteMarker has no etag), so that path cannot be driven through moto.
@pytest.mark.parametrize("uploads", ["existing bucket"], indirect=True)
def test_a_deletion_in_an_existing_bucket_reaches_ingest_as_a_removal(uploads: Uploads) -> None:
    s3 = uploads.stack.boto3_client("s3")
    s3.put_object(
        Bucket=uploads.bucket,
        Key="benchmark/image-groups/lot/cam1.jpg",
        Body=samples.for_key("benchmark/image-groups/lot/cam1.jpg"),
    )
    s3.delete_object(Bucket=uploads.bucket, Key="benchmark/image-groups/lot/cam1.jpg")

    events = [u for body in uploads.messages("IngestQueue") for u in parse_notification(body)]

    assert [(u.created, u.obj.key) for u in events] == [
        (True, "benchmark/image-groups/lot/cam1.jpg"),
        (False, "benchmark/image-groups/lot/cam1.jpg"),
    ]


def test_the_stack_never_rewrites_an_existing_buckets_notifications_nor_deletes_it() -> None:
    token = uuid.uuid4().hex[:8]
    bucket = f"users-data-{token}"
    with LocalStack(stack_name=f"bqa-own-{token}") as helper:  # only to reach moto before the stack under test
        before = _users_bucket(helper, bucket)
        s3 = helper.boto3_client("s3")
        s3.put_object(Bucket=bucket, Key="benchmark/kept.jpg", Body=samples.for_key("benchmark/kept.jpg"))
        with LocalStack(stack_name=f"bqa-byo-{token}", parameters={"ExistingBucketName": bucket}) as stack:
            assert _notifications(stack, bucket) == before
            assert "UploadBucket" in stack.report.skipped
        assert _notifications(helper, bucket) == before
        assert [e["Key"] for e in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["benchmark/kept.jpg"]
        s3.delete_object(Bucket=bucket, Key="benchmark/kept.jpg")
        s3.delete_bucket(Bucket=bucket)
