"""The object identity the incremental ingest keys its records on (docs/architecture.md: eTag first)."""

from __future__ import annotations

from benchmark_qa.ingest.items import S3Object
from benchmark_qa.ingest.pipeline import object_version


def test_the_etag_comes_before_the_version_id() -> None:
    # Listings and events both carry the eTag; some event sources (moto's) lack the versionId.
    assert object_version(S3Object(bucket="b", key="k", size=1, etag="e", version_id="v1")) == "e"
    assert object_version(S3Object(bucket="b", key="k", size=1, version_id="v1")) == "v1"
    assert object_version(S3Object(bucket="b", key="k", size=1)) == "unversioned"
