"""S3's own notifications of the template's versioned bucket, through IngestQueue and ManifestFunction as the
event-source pump runs them: deletes (a delete marker, one version) and messages that name another bucket."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository
from benchmark_qa_local import samples
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    with LocalStack(stack_name=f"del-{uuid.uuid4().hex[:8]}") as stack:
        for name, value in stack.env().items():
            monkeypatch.setenv(name, value)
        yield stack


def test_deletes_of_the_versioned_bucket_reach_ingest_end_to_end(stack: LocalStack) -> None:
    """Issue 11: moto sent no delete notifications for a versioned bucket, so the delete path never ran end to
    end. A delete marker and a version deleted in S3 now come through IngestQueue like S3's own."""
    s3, bucket = stack.boto3_client("s3"), stack.physical_id("UploadBucket")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    pump = EventSourcePump(stack, Invoker(stack=stack))
    s3.put_object(Bucket=bucket, Key="benchmark/gone.jpg", Body=samples.for_key("a.jpg"))
    s3.delete_object(Bucket=bucket, Key="benchmark/gone.jpg")  # a delete marker
    first = s3.put_object(Bucket=bucket, Key="benchmark/kept.jpg", Body=b"\xff\xd8\xff\xe0one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="benchmark/kept.jpg", Body=b"\xff\xd8\xff\xe0two")
    s3.delete_object(Bucket=bucket, Key="benchmark/kept.jpg", VersionId=first)  # an old version

    report = pump.drain(function="ManifestFunction")

    assert report.dead_letters == 0
    uploads = UploadsRepository(state_table(stack.physical_id("StateTable"), stack.region))
    (gone,) = uploads.object_versions(bucket, "benchmark/gone.jpg")
    assert gone.status == "deleted"
    kept = {r.version_id: r.status for r in uploads.object_versions(bucket, "benchmark/kept.jpg")}
    assert sorted(kept.values()) == ["in_manifest", "skipped"]
    assert kept[first] == "skipped"
    (manifest,) = s3.list_objects_v2(Bucket=bucket, Prefix="manifests/")["Contents"]
    body = json.loads(s3.get_object(Bucket=bucket, Key=manifest["Key"])["Body"].read())
    assert [i["objectUrl"].rsplit("/", 1)[-1] for i in body["images"]] == ["kept.jpg"]


def test_a_message_for_another_bucket_is_recorded_as_bad_and_never_retried(stack: LocalStack) -> None:
    sqs = stack.boto3_client("sqs")
    record = {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "someone-elses-bucket"}, "object": {"key": "benchmark/x.jpg", "size": 1}},
    }
    sqs.send_message(QueueUrl=stack.physical_id("IngestQueue"), MessageBody=json.dumps({"Records": [record]}))

    report = EventSourcePump(stack, Invoker(stack=stack)).drain(function="ManifestFunction")

    assert (report.successes, report.failures, report.dead_letters) == (1, 0, 0)
    uploads = UploadsRepository(state_table(stack.physical_id("StateTable"), stack.region))
    (bad,) = uploads.bad_messages()
    assert "someone-elses-bucket" in bad["reason"]
    assert uploads.object_versions("someone-elses-bucket", "benchmark/x.jpg") == []
