"""The upload bucket: the port the ingest pipeline reads objects and writes manifests through.

`S3Bucket` is the adapter for S3 (and moto locally, through AWS_ENDPOINT_URL); tests may pass any object
with the same methods."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from benchmark_qa.ingest.items import S3Object

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def normal_version(version_id: str | None) -> str | None:
    """S3 reports objects of an unversioned bucket with the version id "null"; treat it as none."""
    return None if version_id in (None, "", "null") else version_id


class Bucket(Protocol):
    name: str

    def read(self, key: str, *, limit: int | None = None) -> bytes | None:
        """The object's bytes (at most limit + 1 of them), or None when there is no such key."""

    def write(self, key: str, body: bytes, content_type: str) -> None: ...

    def list(self, prefix: str) -> Iterator[S3Object]:
        """The current version of every object under prefix."""

    def pages(self, prefix: str, start_after: str = "", page_size: int = 1000) -> Iterator[builtins.list[S3Object]]:
        """The current objects under prefix after `start_after`, in key order, a page at a time."""

    def content_type(self, key: str) -> str | None:
        """The object's Content-Type (listings and notifications carry none), or None when there is no such key."""


class S3Bucket:
    def __init__(self, name: str, region: str | None = None) -> None:
        self.name = name
        self._region = region

    @cached_property
    def _s3(self) -> S3Client:
        import boto3

        return boto3.client("s3", region_name=self._region)

    def read(self, key: str, *, limit: int | None = None) -> bytes | None:
        try:
            if limit is None:
                response = self._s3.get_object(Bucket=self.name, Key=key)
            else:
                response = self._s3.get_object(Bucket=self.name, Key=key, Range=f"bytes=0-{limit}")
        except self._s3.exceptions.NoSuchKey:
            return None
        except Exception as error:
            # An empty object cannot satisfy a byte range: it is there, with no bytes.
            if getattr(error, "response", {}).get("Error", {}).get("Code") == "InvalidRange":
                return b""
            raise
        return response["Body"].read()

    def write(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.name, Key=key, Body=body, ContentType=content_type)

    def content_type(self, key: str) -> str | None:
        try:
            return self._s3.head_object(Bucket=self.name, Key=key).get("ContentType")
        except Exception as error:
            if getattr(error, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None
            raise

    def pages(self, prefix: str, start_after: str = "", page_size: int = 1000) -> Iterator[list[S3Object]]:
        """The current objects under prefix after `start_after`, in key order, a listing page at a time."""
        request: dict[str, Any] = {"Bucket": self.name, "Prefix": prefix, "MaxKeys": page_size}
        if start_after:
            request["StartAfter"] = start_after
        while True:
            page = self._s3.list_objects_v2(**request)
            yield [
                S3Object(
                    bucket=self.name,
                    key=entry["Key"],
                    size=entry.get("Size", 0),
                    etag=entry.get("ETag", "").strip('"') or None,
                )
                for entry in page.get("Contents", [])
            ]
            if not page.get("IsTruncated"):
                return
            request.pop("StartAfter", None)
            request["ContinuationToken"] = page["NextContinuationToken"]

    def list(self, prefix: str) -> Iterator[S3Object]:
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
            for version in page.get("Versions", []):
                if not version.get("IsLatest"):
                    continue
                yield S3Object(
                    bucket=self.name,
                    key=version["Key"],
                    size=version.get("Size", 0),
                    etag=version.get("ETag", "").strip('"') or None,
                    version_id=normal_version(version.get("VersionId")),
                )
