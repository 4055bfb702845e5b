"""The event pipeline on the realistic bucket (tests/integration/ingest/realistic.py): the same outcomes as
`benchmark-qa manifest`, recorded per object in the state table; DICOM folders split at group close."""

from __future__ import annotations

import json
import uuid

import pytest
from benchmark_qa.bucket import S3Bucket
from benchmark_qa.ingest.items import S3Object
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.pipeline import Ingest, UploadEvent
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository
from benchmark_qa_local.stack import LocalStack

from tests.integration.ingest import realistic

pytestmark = pytest.mark.integration


def test_the_pipeline_gives_each_object_of_a_realistic_bucket_its_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalStack(stack_name=f"real-{uuid.uuid4().hex[:8]}") as stack:
        for name, value in stack.env().items():
            monkeypatch.setenv(name, value)
        bucket = stack.physical_id("UploadBucket")
        s3 = stack.boto3_client("s3")
        repository = UploadsRepository(state_table(stack.physical_id("StateTable"), stack.region))
        events = []
        bodies = {**{k: c.body for k, c in realistic.CASES.items()}, **dict.fromkeys(realistic.READY_MARKERS, b"")}
        for key, body in bodies.items():
            etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')
            events.append(UploadEvent(created=True, obj=S3Object(bucket=bucket, key=key, size=len(body), etag=etag)))
        # Two batches, the markers in the first: group close reads the folders, not the events.
        ingest = Ingest(repository, S3Bucket(bucket), Layout(), stack.region)
        for event in events[len(events) // 2 :]:
            ingest.accept(event)
        ingest.flush()
        ingest = Ingest(repository, S3Bucket(bucket), Layout(), stack.region)
        for event in events[: len(events) // 2]:
            ingest.accept(event)
        ingest.flush()

        listing = s3.list_objects_v2(Bucket=bucket, Prefix="manifests/").get("Contents", [])
        documents = [json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listing]
        realistic.check_manifests(documents)
        skips = realistic.expected_skips()
        for key in realistic.CASES:
            (record, *_) = repository.object_versions(bucket, key)
            if key in skips:
                assert record.status == "skipped", (key, record.status, record.reason)
                assert realistic.SKIP_PHRASES[skips[key]] in (record.reason or ""), (key, record.reason)
            else:
                assert record.status == "in_manifest", (key, record.status, record.reason)
