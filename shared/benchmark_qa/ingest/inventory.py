"""S3 Inventory: the objects of a bucket as S3 Inventory lists them, for a backfill of millions of objects without
listing the bucket (docs/backfill.md).

What S3 writes (Amazon S3 User Guide, "Amazon S3 Inventory" and "Locating your inventory list"):
- `manifest.json` in the destination bucket: `sourceBucket`, `destinationBucket` (an ARN), `fileFormat` (CSV, ORC
  or Parquet), `fileSchema` (the column names, ", "-separated, for CSV) and `files` (each data file's `key`).
- each CSV data file gzipped, one object version a row, no header row, the columns in `fileSchema` order;
  "When using the CSV file format, the key name is URL-encoded and must be decoded before you can use it".
- `IsLatest` / `IsDeleteMarker` columns only when the inventory lists every version: only current versions that are
  not delete markers are objects here.

The same row shape reaches `BackfillBatchFunction` as a Distributed Map item (ItemReader InputType MANIFEST: one
item a row, named by `fileSchema`), so `object_of` serves both. ORC and Parquet inventories are refused with the
reason (the CSV format is what the state machine's MANIFEST reader and this module read).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from benchmark_qa.bucket import S3Bucket, normal_version
from benchmark_qa.ingest.items import S3Object


class InventoryError(ValueError):
    """The inventory cannot be read as an S3 Inventory CSV: the message names the file or field and what to do."""


@dataclass(frozen=True)
class InventoryManifest:
    source_bucket: str
    destination_bucket: str  # a bucket name (manifest.json gives its ARN)
    columns: tuple[str, ...]
    files: tuple[str, ...]  # data file keys in the destination bucket

    @classmethod
    def parse(cls, raw: bytes, where: str) -> InventoryManifest:
        try:
            document = json.loads(raw)
            fmt = str(document["fileFormat"])
            if fmt.upper() != "CSV":
                raise InventoryError(
                    f"{where}: fileFormat {fmt}; backfill reads CSV inventories (configure the inventory with "
                    "Output format CSV)"
                )
            columns = tuple(c.strip() for c in str(document["fileSchema"]).split(","))
            manifest = cls(
                source_bucket=str(document["sourceBucket"]),
                destination_bucket=str(document["destinationBucket"]).rsplit(":::", 1)[-1],  # an ARN in any partition
                columns=columns,
                files=tuple(str(f["key"]) for f in document["files"]),
            )
        except InventoryError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise InventoryError(
                f"{where} is not an S3 Inventory manifest.json ({type(error).__name__}: {error})"
            ) from None
        missing = {"Bucket", "Key"} - set(columns)
        if missing:
            raise InventoryError(f"{where}: fileSchema lacks {', '.join(sorted(missing))}")
        return manifest


def rows(manifest: InventoryManifest, read: Callable[[str], bytes]) -> Iterator[dict[str, str]]:
    """Every row of every data file, as a dict by column name. `read(key)` reads a key of the destination bucket."""
    for key in manifest.files:
        try:
            text = gzip.decompress(read(key)).decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError) as error:
            raise InventoryError(f"inventory data file {key}: not gzipped UTF-8 CSV ({error})") from None
        for number, values in enumerate(csv.reader(io.StringIO(text)), start=1):
            if len(values) != len(manifest.columns):
                raise InventoryError(
                    f"inventory data file {key}, row {number}: {len(values)} fields where fileSchema has "
                    f"{len(manifest.columns)}"
                )
            yield dict(zip(manifest.columns, values, strict=True))


def object_of(item: Mapping[str, Any], bucket: str, *, encoded_key: bool) -> S3Object | None:
    """One object from an inventory row or a Distributed Map item (an inventory row, or a ListObjectsV2 entry with
    `Key`, `Size`, `Etag`/`ETag` quoted). None: an older version or a delete marker, not an object to ingest."""
    if str(item.get("IsLatest", "true")).lower() == "false" or str(item.get("IsDeleteMarker", "")).lower() == "true":
        return None
    key = str(item["Key"])
    etag = str(item.get("ETag") or item.get("Etag") or "").strip('"') or None
    return S3Object(
        bucket=str(item.get("Bucket") or bucket),
        key=unquote_plus(key) if encoded_key else key,
        size=int(item.get("Size") or 0),
        etag=etag,
        version_id=normal_version(str(item["VersionId"])) if item.get("VersionId") else None,
    )


def objects(manifest: InventoryManifest, read: Callable[[str], bytes], prefix: str = "") -> Iterator[S3Object]:
    """The current objects the inventory lists under prefix, in the inventory's order."""
    for row in rows(manifest, read):
        obj = object_of(row, manifest.source_bucket, encoded_key=True)
        if obj is not None and obj.key.startswith(prefix):
            yield obj


class InventoryBucket(S3Bucket):
    """The upload bucket with its listing served from an inventory: `pages` in key order (the backfill closes a
    group once the listing has passed its folder, and resumes after a key), everything else from S3. The
    inventory's objects under the prefix are held in memory, sorted (about 200 bytes an object: a CLI backfill of
    a few million objects; the state machine reads larger inventories itself)."""

    def __init__(self, name: str, listed: Sequence[S3Object], region: str | None = None) -> None:
        super().__init__(name, region)
        self._listed = sorted(listed, key=lambda o: o.key)
        self._keys = [o.key for o in self._listed]

    @classmethod
    def from_manifest(cls, manifest_bucket: S3Bucket, manifest_key: str, prefix: str = "") -> InventoryBucket:
        raw = manifest_bucket.read(manifest_key)
        if raw is None:
            raise InventoryError(f"s3://{manifest_bucket.name}/{manifest_key} does not exist; name the manifest.json")
        manifest = InventoryManifest.parse(raw, f"s3://{manifest_bucket.name}/{manifest_key}")
        destination = S3Bucket(manifest.destination_bucket)

        def read(key: str) -> bytes:
            body = destination.read(key)
            if body is None:
                raise InventoryError(f"inventory data file s3://{destination.name}/{key} is missing")
            return body

        return cls(manifest.source_bucket, list(objects(manifest, read, prefix)))

    def pages(self, prefix: str, start_after: str = "", page_size: int = 1000) -> Iterator[list[S3Object]]:
        start = bisect_right(self._keys, start_after) if start_after else 0
        chosen = [o for o in self._listed[start:] if o.key.startswith(prefix)]
        for first in range(0, len(chosen), page_size):
            yield chosen[first : first + page_size]
