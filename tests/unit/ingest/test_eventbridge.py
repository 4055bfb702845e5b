"""S3 events through EventBridge (an existing bucket): read into the same upload events as S3 notifications."""

from __future__ import annotations

import json

import pytest
from benchmark_qa.ingest.pipeline import BadMessage, parse_notification

# AWS's example (docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html), with an encoded key.
OBJECT_CREATED = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "111122223333",
    "time": "2021-11-12T00:00:00Z",
    "region": "ca-central-1",
    "resources": ["arn:aws:s3:::my-data"],
    "detail": {
        "version": "0",
        "bucket": {"name": "my-data"},
        "object": {
            "key": "benchmark/street+scene%2B1.jpg",
            "size": 5,
            "etag": "b1946ac92492d2347c6235b4d2611184",
            "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
            "sequencer": "617f08299329d189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}


def _with(**changes: object) -> str:
    event = json.loads(json.dumps(OBJECT_CREATED))
    event.update(changes)
    return json.dumps(event)


def test_an_object_created_event_becomes_an_upload_with_the_decoded_key():
    [upload] = parse_notification(json.dumps(OBJECT_CREATED))

    assert upload.created is True
    assert upload.obj.bucket == "my-data"
    assert upload.obj.key == "benchmark/street scene+1.jpg"
    assert (upload.obj.size, upload.obj.etag) == (5, "b1946ac92492d2347c6235b4d2611184")
    assert upload.obj.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"


def test_an_object_deleted_event_is_a_removal_and_an_unversioned_bucket_has_no_version():
    detail = json.loads(json.dumps(OBJECT_CREATED["detail"]))
    detail["object"] = {"key": "benchmark/a.jpg", "sequencer": "617f0837b476e463"}
    detail["deletion-type"] = "Permanently Deleted"

    [upload] = parse_notification(_with(**{"detail-type": "Object Deleted", "detail": detail}))

    assert upload.created is False
    assert (upload.obj.key, upload.obj.size, upload.obj.etag, upload.obj.version_id) == (
        "benchmark/a.jpg",
        0,
        None,
        None,
    )


def test_other_s3_event_types_are_ignored():
    assert parse_notification(_with(**{"detail-type": "Object Tags Added"})) == []


def test_an_eventbridge_event_without_a_key_is_a_bad_message():
    detail = {"bucket": {"name": "my-data"}, "object": {}}

    with pytest.raises(BadMessage, match="EventBridge S3 event without bucket or key"):
        parse_notification(_with(detail=detail))
