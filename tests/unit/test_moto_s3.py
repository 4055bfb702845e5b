"""The local stack's patch of moto's S3: a bucket's EventBridge notifications are reported as AWS reports them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from benchmark_qa_local import moto_s3
from moto import mock_aws


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, whatever an earlier test exported
    moto_s3.install()
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def _configuration(s3, bucket: str) -> Any:
    answer = s3.get_bucket_notification_configuration(Bucket=bucket)
    answer.pop("ResponseMetadata")
    return answer


def test_eventbridge_notifications_are_reported_alone_or_beside_others(s3):
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="audit")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="plain-bucket")
    s3.create_bucket(Bucket="to-eventbridge")
    s3.create_bucket(Bucket="both-kinds")
    s3.put_bucket_notification_configuration(
        Bucket="to-eventbridge", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_bucket_notification_configuration(
        Bucket="both-kinds",
        NotificationConfiguration={
            "EventBridgeConfiguration": {},
            "QueueConfigurations": [{"Id": "audit", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}],
        },
    )

    assert _configuration(s3, "plain-bucket") == {}
    assert _configuration(s3, "to-eventbridge") == {"EventBridgeConfiguration": {}}
    both = _configuration(s3, "both-kinds")
    assert both["EventBridgeConfiguration"] == {}
    assert [q["Id"] for q in both["QueueConfigurations"]] == ["audit"]


def test_install_is_idempotent(s3):
    moto_s3.install()
    s3.create_bucket(Bucket="to-eventbridge")
    s3.put_bucket_notification_configuration(
        Bucket="to-eventbridge", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )

    assert _configuration(s3, "to-eventbridge") == {"EventBridgeConfiguration": {}}
