"""Which object URLs a manifest may send to Encord: only this stack's own uploads.

Encord fetches every URL of an upload job through the customer's cloud integration. A manifest in the manifests
prefix may have been written by anyone who can write there, so registration checks every URL before any Encord
call (issue 11: a hand-written manifest sent a private prefix, another account's bucket and
`http://169.254.169.254/...` to Encord's upload job, a confused deputy). A URL is allowed when it is exactly the
URL `urls.object_url` writes for a key of the configured upload bucket (or Multi-Region Access Point):

  * https, the bucket's regional virtual-hosted form (or the access point's), nothing else: no other host, port,
    region, query or fragment, and the same percent-encoding (so no alternative spelling of another key);
  * a key under the dataset prefix of the manifest's folder (`manifests/benchmark/` holds benchmark keys only);
  * no '.' or '..' path segment, which HTTP clients would resolve to another key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from benchmark_qa.ingest.items import DOT_SEGMENTS, Dataset
from benchmark_qa.ingest.urls import key_from_object_url, object_url

SHOWN = 5  # problems named in a manifest's error; the count says how many there are


@dataclass(frozen=True)
class UploadScope:
    bucket: str
    region: str
    prefixes: dict[Dataset, str]
    mrap_arn: str | None = None

    def problem(self, url: str, dataset: Dataset) -> str | None:  # noqa: PLR0911 - one reason per rule
        """Why `url` may not be sent for a manifest of `dataset`, or None when it may."""
        prefix = self.prefixes[dataset]
        try:
            bucket, key = key_from_object_url(url)
        except ValueError:
            return f"{url!r} is not an object URL of bucket {self.bucket}"
        owner = self.mrap_arn or self.bucket
        if bucket != owner:
            return f"{url!r} names {bucket}, not this stack's upload bucket {owner}"
        if any(segment in DOT_SEGMENTS for segment in key.split("/")):
            return f"{url!r} has a '.' or '..' path segment, which would resolve to another key"
        if key.split("/", 1)[0] != prefix or "/" not in key:
            return f"{url!r} is not under {prefix}/, the {dataset.value} dataset's prefix"
        try:
            expected = object_url(self.bucket, key, self.region, self.mrap_arn)
        except ValueError as error:
            return f"{url!r}: {error}"
        if url != expected:
            return f"{url!r} is not written as this stack writes it ({expected!r})"
        return None

    def problems(self, urls: Iterable[str], dataset: Dataset) -> tuple[int, list[str]]:
        """(how many URLs may not be sent, the first SHOWN reasons)."""
        count, shown = 0, list[str]()
        for url in urls:
            reason = self.problem(url, dataset)
            if reason is not None:
                count += 1
                if len(shown) < SHOWN:
                    shown.append(reason)
        return count, shown
