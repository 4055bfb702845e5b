"""The incremental ingest on moto server: the template's table and versioned bucket, driven event by event."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from benchmark_qa.bucket import S3Bucket
from benchmark_qa.ingest.items import S3Object
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.pipeline import Ingest, UploadEvent
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository
from benchmark_qa_local import samples
from benchmark_qa_local.stack import LocalStack


class World:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.bucket_name = stack.physical_id("UploadBucket")
        self.s3 = stack.boto3_client("s3")
        self.repository = UploadsRepository(state_table(stack.physical_id("StateTable"), stack.region))
        self.layout = Layout()

    def put(self, key: str, body: bytes | None = None, content_type: str | None = None, **extra: Any) -> UploadEvent:
        body = samples.for_key(key) if body is None else body
        if content_type:
            extra["ContentType"] = content_type
        response = self.s3.put_object(Bucket=self.bucket_name, Key=key, Body=body, **extra)
        obj = S3Object(
            bucket=self.bucket_name,
            key=key,
            size=len(body),
            etag=response["ETag"].strip('"'),
            version_id=response.get("VersionId"),
        )
        return UploadEvent(created=True, obj=obj)

    def delete(self, key: str, version_id: str | None = None) -> UploadEvent:
        """Delete in S3 (a delete marker, or one version) and return the removal event S3 would send."""
        extra = {"VersionId": version_id} if version_id else {}
        response = self.s3.delete_object(Bucket=self.bucket_name, Key=key, **extra)
        obj = S3Object(bucket=self.bucket_name, key=key, size=0, version_id=response.get("VersionId"))
        return UploadEvent(created=False, obj=obj)

    def ingest(self, layout: Layout | None = None) -> Ingest:
        return Ingest(self.repository, S3Bucket(self.bucket_name), layout or self.layout, "us-east-1")

    def run(self, *events: UploadEvent) -> Ingest:
        ingest = self.ingest()
        for event in events:
            ingest.accept(event)
        ingest.flush()
        return ingest

    def status(self, key: str) -> tuple[str, str | None]:
        (record, *_) = self.repository.object_versions(self.bucket_name, key)
        return record.status, record.reason

    def statuses(self, key: str) -> dict[str | None, str]:
        """eTag -> status of every recorded version of the key."""
        return {r.etag: r.status for r in self.repository.object_versions(self.bucket_name, key)}

    def entries(self) -> list[str]:
        """Every object URL of every manifest written, in order."""
        return [
            url
            for manifest in self.manifests()
            for items in manifest.values()
            if isinstance(items, list)
            for item in items
            for name, url in item.items()
            if name.startswith("objectUrl")
        ]

    def manifests(self) -> list[dict[str, Any]]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket_name, Prefix="manifests/").get("Contents", [])
        return [
            json.loads(self.s3.get_object(Bucket=self.bucket_name, Key=o["Key"])["Body"].read())
            for o in sorted(listing, key=lambda o: o["Key"])
        ]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with LocalStack(stack_name=f"ing-{uuid.uuid4().hex[:8]}") as stack:
        for name, value in stack.env().items():
            monkeypatch.setenv(name, value)
        yield World(stack)
