"""The upload bucket: the port the ingest pipeline reads objects and writes manifests through.

`S3Bucket` is the adapter for S3 (and moto locally, through AWS_ENDPOINT_URL); tests may pass any object
with the same methods."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from benchmark_qa.ingest.items import S3Object

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def normal_version(version_id: str | None) -> str | None:
    """S3 reports objects of an unversioned bucket with the version id "null"; treat it as none."""
    return None if version_id in (None, "", "null") else version_id


# S3 errors that belong to one object and will not go away by retrying: the object is archived (Glacier, Deep
# Archive: InvalidObjectState until restored), or this function may not read it (another owner, a KMS key it
# cannot use). Throttling and 5xx are not among them: those are retried.
UNREADABLE_CODES = frozenset(
    {"InvalidObjectState", "AccessDenied", "403", "KMS.DisabledException", "KMS.NotFoundException"}
)


class Unreadable(Exception):
    """S3 cannot serve this object to this function: its record fails with the reason, nothing else does."""

    def __init__(self, key: str, code: str, message: str = "") -> None:
        advice = (
            "restore it from its archive storage class (its ObjectRestore:Completed notification brings it back)"
            if code == "InvalidObjectState"
            else "let the stack's functions read it (bucket policy, object ownership, KMS key policy)"
        )
        super().__init__(f"S3 cannot serve {key} ({code}{': ' + message if message else ''}); {advice}")
        self.key = key
        self.code = code


@dataclass(frozen=True)
class ObjectHead:
    """What S3 says of a key's current version (HEAD)."""

    etag: str | None
    version_id: str | None
    content_type: str | None

    def is_version(self, etag: str | None, version_id: str | None) -> bool:
        """Whether the current version is the one an event or record names, compared as records are keyed
        (`pipeline.object_version`: the eTag first, then the version id; with neither, it cannot differ)."""
        if etag and self.etag:
            return etag == self.etag
        if version_id and self.version_id:
            return version_id == self.version_id
        return True


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


class Bucket(Protocol):
    name: str

    def read(self, key: str, *, limit: int | None = None) -> bytes | None:
        """The object's bytes (at most limit + 1 of them), or None when there is no such key."""

    def write(self, key: str, body: bytes, content_type: str) -> None: ...

    def list(self, prefix: str, start_after: str = "") -> Iterator[S3Object]:
        """The current version of every object under prefix (after `start_after`, in key order)."""

    def pages(self, prefix: str, start_after: str = "", page_size: int = 1000) -> Iterator[builtins.list[S3Object]]:
        """The current objects under prefix after `start_after`, in key order, a page at a time."""

    def content_type(self, key: str) -> str | None:
        """The object's Content-Type (listings and notifications carry none), or None when there is no such key."""

    def head(self, key: str) -> ObjectHead | None:
        """The key's current version, or None when there is none (deleted, or a delete marker is current)."""


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
            code = _code(error)
            # An empty object cannot satisfy a byte range: it is there, with no bytes.
            if code == "InvalidRange":
                return b""
            if code in UNREADABLE_CODES:
                raise Unreadable(key, code) from None
            raise
        return response["Body"].read()

    def write(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.name, Key=key, Body=body, ContentType=content_type)

    def content_type(self, key: str) -> str | None:
        head = self.head(key)
        return None if head is None else head.content_type

    def head(self, key: str) -> ObjectHead | None:
        try:
            response = self._s3.head_object(Bucket=self.name, Key=key)
        except Exception as error:
            if _code(error) in ("404", "NoSuchKey", "405"):  # 405: a delete marker is the current version
                return None
            raise
        return ObjectHead(
            etag=str(response.get("ETag", "")).strip('"') or None,
            version_id=normal_version(response.get("VersionId")),
            content_type=response.get("ContentType"),
        )

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

    def list(self, prefix: str, start_after: str = "") -> Iterator[S3Object]:
        request: dict[str, Any] = {"Bucket": self.name, "Prefix": prefix}
        if start_after:
            request["KeyMarker"] = start_after  # versions of the keys after it
        while True:
            page = self._s3.list_object_versions(**request)
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
            if not page.get("IsTruncated"):
                return
            request["KeyMarker"] = page["NextKeyMarker"]
            request["VersionIdMarker"] = page.get("NextVersionIdMarker") or "null"
