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


def _queue(name: str) -> tuple[Any, str, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


def _bodies(sqs: Any, url: str) -> list[dict[str, Any]]:
    import json

    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
    return bodies


def test_a_versioned_bucket_notifies_every_delete_with_its_version_and_a_growing_sequencer(s3):
    """moto sent nothing for a delete marker and named the current object when a version was deleted (and only
    once the key had no version left); S3 sends DeleteMarkerCreated / Delete with the version id every time."""
    sqs, url, arn = _queue("ingest")
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_versioning(Bucket="uploads", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="uploads",
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]},
                {"QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]},
            ]
        },
    )
    first = s3.put_object(Bucket="uploads", Key="benchmark/a b.jpg", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket="uploads", Key="benchmark/a b.jpg", Body=b"two")["VersionId"]
    s3.delete_object(Bucket="uploads", Key="benchmark/a b.jpg", VersionId=first)  # an old version
    marker = s3.delete_object(Bucket="uploads", Key="benchmark/a b.jpg")["VersionId"]  # a delete marker

    records = [r for body in _bodies(sqs, url) for r in body.get("Records", [])]
    names = [r["eventName"] for r in records]
    objects = [r["s3"]["object"] for r in records]
    assert names == [
        "ObjectCreated:Put",
        "ObjectCreated:Put",
        "ObjectRemoved:Delete",
        "ObjectRemoved:DeleteMarkerCreated",
    ]
    assert [o["versionId"] for o in objects] == [first, second, first, marker]
    assert {o["key"] for o in objects} == {"benchmark/a+b.jpg"}  # form-encoded, as S3 sends keys
    assert "eTag" in objects[0]
    assert "eTag" not in objects[2]
    assert "size" not in objects[3]
    sequencers = [o["sequencer"] for o in objects]
    assert sequencers == sorted(sequencers)
    assert len(set(sequencers)) == 4
    assert s3.get_object(Bucket="uploads", Key="benchmark/a b.jpg", VersionId=second)["Body"].read() == b"two"


def test_an_unversioned_bucket_still_notifies_its_deletes_once(s3):
    sqs, url, arn = _queue("plain")
    s3.create_bucket(Bucket="plain")
    s3.put_bucket_notification_configuration(
        Bucket="plain",
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}]},
    )
    s3.put_object(Bucket="plain", Key="k", Body=b"x")
    s3.delete_object(Bucket="plain", Key="k")

    (record,) = [r for body in _bodies(sqs, url) for r in body.get("Records", [])]
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert "versionId" not in record["s3"]["object"]
    assert record["s3"]["object"]["sequencer"]


def test_eventbridge_gets_deletes_of_a_versioned_bucket_with_their_kind(s3):
    import json

    sqs, url, arn = _queue("bridge")
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="s3", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="s3", Targets=[{"Id": "q", "Arn": arn}])
    s3.create_bucket(Bucket="theirs")
    s3.put_bucket_versioning(Bucket="theirs", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="theirs", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    version = s3.put_object(Bucket="theirs", Key="production/x.png", Body=b"x")["VersionId"]
    marker = s3.delete_object(Bucket="theirs", Key="production/x.png")["VersionId"]
    s3.delete_object(Bucket="theirs", Key="production/x.png", VersionId=version)

    # (moto also sends "Object Tags Added" for a put; the stack's rules match created and deleted only)
    bodies = [b for b in _bodies(sqs, url) if b["detail-type"] in ("Object Created", "Object Deleted")]
    assert [b["detail-type"] for b in bodies] == ["Object Created", "Object Deleted", "Object Deleted"]
    assert [b["detail"]["object"]["version-id"] for b in bodies] == [version, marker, version]
    assert [b["detail"].get("deletion-type") for b in bodies] == [
        None,
        "Delete Marker Created",
        "Permanently Deleted",
    ]
    assert bodies[0]["detail"]["object"]["etag"]
    assert "etag" not in bodies[1]["detail"]["object"]


def test_deleting_the_last_version_of_a_key_notifies_once(s3):
    sqs, url, arn = _queue("last")
    s3.create_bucket(Bucket="last-version")
    s3.put_bucket_versioning(Bucket="last-version", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="last-version",
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}]},
    )
    version = s3.put_object(Bucket="last-version", Key="k", Body=b"x")["VersionId"]
    s3.delete_object(Bucket="last-version", Key="k", VersionId=version)

    (record,) = [r for body in _bodies(sqs, url) for r in body.get("Records", [])]
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert record["s3"]["object"]["versionId"] == version
