"""Which S3 events ingest acts on, and whose: issue 11 found every event that was not ObjectCreated treated as a
delete, and events of any bucket (or none) turned into URLs of that bucket."""

from __future__ import annotations

import json

import pytest
from benchmark_qa.ingest.pipeline import BadMessage, change_of, parse_notification

from tests.unit.ingest.test_eventbridge import OBJECT_CREATED


def _record(event_name: str, bucket: str = "uploads", key: str = "benchmark/a.jpg") -> str:
    record = {
        "eventName": event_name,
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 3, "eTag": "e", "sequencer": "0A"}},
    }
    return json.dumps({"Records": [record]})


@pytest.mark.parametrize(
    ("event_name", "change"),
    [
        ("ObjectCreated:Put", "created"),
        ("ObjectCreated:CompleteMultipartUpload", "created"),
        ("ObjectRemoved:Delete", "removed"),
        ("ObjectRemoved:DeleteMarkerCreated", "removed"),
        ("LifecycleExpiration:Delete", "removed"),
        ("LifecycleExpiration:DeleteMarkerCreated", "removed"),
        ("ObjectRestore:Completed", "restored"),
        ("ObjectRestore:Post", None),
        ("ObjectRestore:Delete", None),
        ("ObjectTagging:Put", None),
        ("ObjectAcl:Put", None),
        ("LifecycleTransition", None),
        ("IntelligentTiering", None),
        ("Replication:OperationFailedReplication", None),
        ("s3:ObjectRemoved:Delete", "removed"),
    ],
)
def test_each_event_type_is_a_creation_a_removal_a_restore_or_nothing(event_name: str, change: str | None) -> None:
    assert change_of(event_name) == change
    events = parse_notification(_record(event_name), bucket="uploads")
    assert [(e.created, e.restored) for e in events] == (
        [] if change is None else [(change == "created", change == "restored")]
    )


def test_an_event_for_another_bucket_is_a_bad_message() -> None:
    with pytest.raises(BadMessage, match=r"bucket 'someone-elses'.*ingests bucket 'uploads' only"):
        parse_notification(_record("ObjectCreated:Put", bucket="someone-elses"), bucket="uploads")


def test_an_event_naming_no_bucket_is_a_bad_message() -> None:
    with pytest.raises(BadMessage, match="bucket name"):
        parse_notification(_record("ObjectCreated:Put", bucket=""), bucket="uploads")


def test_an_eventbridge_event_for_another_bucket_is_a_bad_message() -> None:
    with pytest.raises(BadMessage, match="bucket 'my-data'"):
        parse_notification(json.dumps(OBJECT_CREATED), bucket="uploads")
    assert parse_notification(json.dumps(OBJECT_CREATED), bucket="my-data")


def test_a_restore_through_eventbridge_is_a_restore() -> None:
    event = {**OBJECT_CREATED, "detail-type": "Object Restore Completed"}
    (restored,) = parse_notification(json.dumps(event), bucket="my-data")
    assert restored.restored
    assert not restored.created
