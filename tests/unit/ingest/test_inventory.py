"""The S3 Inventory reader on files in S3 Inventory's CSV format (Amazon S3 User Guide, "Amazon S3 Inventory"):
manifest.json, gzipped CSV data files without a header, URL-encoded keys, every-version rows."""

from __future__ import annotations

import csv
import gzip
import io
import json
from urllib.parse import quote, quote_plus

import pytest
from benchmark_qa.ingest.inventory import InventoryBucket, InventoryError, InventoryManifest, object_of, objects

SCHEMA = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass"


def data_file(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL).writerows(rows)
    return gzip.compress(text.getvalue().encode())


def manifest_json(files: list[str], schema: str = SCHEMA, fmt: str = "CSV") -> bytes:
    return json.dumps(
        {
            "sourceBucket": "uploads",
            "destinationBucket": "arn:aws:s3:::inventories",
            "version": "2016-11-30",
            "creationTimestamp": "1514944800000",
            "fileFormat": fmt,
            "fileSchema": schema,
            "files": [{"key": key, "size": 1, "MD5checksum": "x"} for key in files],
        }
    ).encode()


def row(key: str, *, etag: str = "e1", latest: str = "true", marker: str = "false", encode=quote_plus) -> list[str]:
    return [
        "uploads",
        encode(key, safe="/") if encode is quote else encode(key),
        "v1",
        latest,
        marker,
        "12",
        "2026-12-01T00:00:00.000Z",
        etag,
        "STANDARD",
    ]


def test_current_versions_with_decoded_keys_in_inventory_order() -> None:
    files = {
        "inv/data/a.csv.gz": data_file(
            [
                row("production/cam 1/a+b.jpg"),  # space and plus, form-encoded
                row("production/old.jpg", latest="false"),  # an older version
                row("production/gone.jpg", marker="true"),  # a delete marker
            ]
        ),
        "inv/data/b.csv.gz": data_file([row("benchmark/ü/x y.jpg", encode=quote), row("benchmark/b.jpg", etag="e2")]),
    }
    manifest = InventoryManifest.parse(manifest_json(list(files)), "s3://inventories/m/manifest.json")
    assert manifest.destination_bucket == "inventories"
    found = list(objects(manifest, files.__getitem__))
    assert [o.key for o in found] == ["production/cam 1/a+b.jpg", "benchmark/ü/x y.jpg", "benchmark/b.jpg"]
    assert found[2].etag == "e2"
    assert found[2].size == 12
    assert found[2].version_id == "v1"
    assert [o.key for o in objects(manifest, files.__getitem__, prefix="benchmark/")] == [
        "benchmark/ü/x y.jpg",
        "benchmark/b.jpg",
    ]


def test_a_listing_entry_is_read_too() -> None:
    entry = {"Etag": '"abc"', "Key": "production/a b.jpg", "LastModified": 1, "Size": 3, "StorageClass": "STANDARD"}
    obj = object_of(entry, "uploads", encoded_key=False)
    assert obj is not None
    assert (obj.bucket, obj.key, obj.etag, obj.size) == ("uploads", "production/a b.jpg", "abc", 3)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (manifest_json(["x"], fmt="Parquet"), "fileFormat Parquet; backfill reads CSV"),
        (manifest_json(["x"], schema="Bucket, Size"), "fileSchema lacks Key"),
        (b"{}", "is not an S3 Inventory manifest.json"),
        (b"not json", "is not an S3 Inventory manifest.json"),
    ],
)
def test_what_is_not_a_csv_inventory_is_refused_with_the_reason(raw: bytes, message: str) -> None:
    with pytest.raises(InventoryError, match=message):
        InventoryManifest.parse(raw, "s3://inventories/m/manifest.json")


def test_a_data_file_that_does_not_fit_the_schema_names_its_row() -> None:
    manifest = InventoryManifest.parse(manifest_json(["d.csv.gz"]), "m")
    broken = {"d.csv.gz": data_file([row("production/a.jpg"), ["uploads", "production/b.jpg"]])}
    with pytest.raises(InventoryError, match=r"d.csv.gz, row 2: 2 fields where fileSchema has 9"):
        list(objects(manifest, broken.__getitem__))
    with pytest.raises(InventoryError, match="not gzipped"):
        list(objects(manifest, {"d.csv.gz": b"plain"}.__getitem__))


def test_pages_come_in_key_order_and_resume_after_a_key() -> None:
    listed = [object_of({"Key": k, "Size": 1}, "uploads", encoded_key=False) for k in ("p/c", "p/a", "q/z", "p/b")]
    bucket = InventoryBucket("uploads", [o for o in listed if o is not None])
    assert [[o.key for o in page] for page in bucket.pages("p/", page_size=2)] == [["p/a", "p/b"], ["p/c"]]
    assert [[o.key for o in page] for page in bucket.pages("p/", start_after="p/a")] == [["p/b", "p/c"]]
    assert list(bucket.pages("r/")) == []
