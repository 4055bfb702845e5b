"""scan(): a full listing -> manifests per dataset, skipped objects with reasons, errors with fixes."""

from __future__ import annotations

import orjson
from benchmark_qa.ingest.items import Dataset, S3Object, SkipReason
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.scan import ScanResult, scan

LAYOUT = Layout()


def run(files: dict[str, bytes], layout: Layout = LAYOUT) -> tuple[ScanResult, list[str]]:
    reads: list[str] = []

    def read(key: str) -> bytes:
        reads.append(key)
        return files[key]

    objects = [S3Object(bucket="bkt", key=k, size=len(v), etag="e") for k, v in files.items()]
    return scan(objects, read, region="us-east-1", layout=layout), reads


def meta(**body: object) -> bytes:
    return orjson.dumps(body)


def test_datasets_groups_and_sidecars() -> None:
    result, _ = run(
        {
            "benchmark/v.mp4": b"x",
            "benchmark/v.mp4.meta.json": meta(title="V", keyFrames=[4]),
            "benchmark/image-groups/g/10.jpg": b"x",
            "benchmark/image-groups/g/2.jpg": b"x",
            "benchmark/image-groups/g/_meta.json": meta(clientMetadata={"a": 1}),
            "benchmark/image-groups/g/_READY": b"",
            "production/dicom/s/b": b"x",
            "production/i.png": b"x",
        }
    )
    assert result.errors == []
    assert result.skipped == []
    bench, prod = result.manifests[Dataset.BENCHMARK], result.manifests[Dataset.PRODUCTION]
    assert bench.videos[0].title == "V"
    assert bench.videos[0].key_frames == [4]
    assert bench.image_groups[0].client_metadata == {"a": 1}
    assert [u.rsplit("/", 1)[1] for u in bench.image_groups[0].object_urls] == ["2.jpg", "10.jpg"]
    assert (prod.entry_count, len(prod.dicom_series), len(prod.images)) == (2, 1, 1)


def test_orphan_and_skipped_sidecars() -> None:
    result, _ = run(
        {
            "benchmark/gone.mp4.meta.json": meta(),
            "benchmark/x.zzz": b"x",
            "benchmark/x.zzz.meta.json": meta(),
        }
    )
    reasons = {c.obj.key: (c.skip, c.reason) for c in result.skipped}
    assert reasons["benchmark/gone.mp4.meta.json"][0] is SkipReason.ORPHAN_SIDECAR
    assert "upload benchmark/gone.mp4 or delete the sidecar" in str(reasons["benchmark/gone.mp4.meta.json"][1])
    assert "which was skipped" in str(reasons["benchmark/x.zzz.meta.json"][1])
    assert reasons["benchmark/x.zzz"][0] is SkipReason.UNKNOWN_TYPE


def test_invalid_sidecar_leaves_the_item_out_with_an_error() -> None:
    result, _ = run({"benchmark/v.mp4": b"x", "benchmark/v.mp4.meta.json": b"{oops", "benchmark/w.mp4": b"x"})
    assert [v.title for v in result.manifests[Dataset.BENCHMARK].videos] == ["w.mp4"]
    (error,) = result.errors
    assert error.key == "benchmark/v.mp4"
    assert "benchmark/v.mp4.meta.json: not valid UTF-8 JSON" in error.message


def test_sidecar_not_fitting_the_type_is_an_error() -> None:
    result, _ = run({"benchmark/i.png": b"x", "benchmark/i.png.meta.json": meta(keyFrames=[1])})
    assert "keyFrames (videos only)" in result.errors[0].message
    assert result.manifests[Dataset.BENCHMARK].entry_count == 0


def test_oversized_sidecar_is_refused_without_reading_it() -> None:
    layout = Layout(max_sidecar_bytes=10)
    result, reads = run({"benchmark/v.mp4": b"x", "benchmark/v.mp4.meta.json": meta(title="long enough")}, layout)
    assert reads == []
    assert "over the 10-byte limit" in result.errors[0].message


def test_group_with_one_file_missing_its_sidecar() -> None:
    result, _ = run(
        {
            "benchmark/image-sequences/s/1.jpg": b"x",
            "benchmark/image-sequences/s/1.jpg.meta.json": meta(title="one"),
            "benchmark/image-sequences/s/2.jpg": b"x",
            "benchmark/image-sequences/s/2.jpg.meta.json": meta(title="two"),
            "benchmark/image-sequences/s/3.jpg": b"x",
        }
    )
    (error,) = result.errors
    assert error.group_id == "benchmark/image_sequence/s"
    assert "1 of 3 files have no sidecar (benchmark/image-sequences/s/3.jpg)" in error.message
    assert "upload benchmark/image-sequences/s/3.jpg.meta.json" in error.message
    assert result.manifests[Dataset.BENCHMARK].entry_count == 0


def test_group_with_all_member_sidecars_keeps_them_out_of_the_json() -> None:
    result, _ = run(
        {
            "benchmark/image-groups/g/1.jpg": b"x",
            "benchmark/image-groups/g/1.jpg.meta.json": meta(title="one"),
        }
    )
    assert result.errors == []
    entry = result.manifests[Dataset.BENCHMARK].to_dict()["image_groups"][0]
    assert set(entry) == {"title", "createVideo", "objectUrl_0"}


def test_group_with_invalid_sidecar_or_zero_byte_member_or_no_files() -> None:
    result, _ = run(
        {
            "benchmark/image-groups/a/1.jpg": b"x",
            "benchmark/image-groups/a/_meta.json": meta(clientMetadata="not an object"),
            "benchmark/image-groups/b/1.jpg": b"x",
            "benchmark/image-groups/b/2.jpg": b"",
            "benchmark/dicom/c/_READY": b"",
        }
    )
    messages = {e.group_id: e.message for e in result.errors}
    assert "field 'clientMetadata'" in messages["benchmark/image_group/a"]
    assert "zero-byte files benchmark/image-groups/b/2.jpg" in messages["benchmark/image_group/b"]
    assert "no files" in messages["benchmark/dicom_series/c"]
    assert result.manifests[Dataset.BENCHMARK].entry_count == 0


def test_require_ready_marker() -> None:
    files = {
        "benchmark/image-groups/a/1.jpg": b"x",
        "benchmark/image-groups/b/1.jpg": b"x",
        "benchmark/image-groups/b/_READY": b"",
    }
    result, _ = run(files, Layout(require_ready_marker=True))
    assert [g.title for g in result.manifests[Dataset.BENCHMARK].image_groups] == ["b"]
    (waiting,) = result.skipped
    assert waiting.skip is SkipReason.NOT_READY
    assert "upload benchmark/image-groups/a/_READY" in str(waiting.reason)


def test_manifest_prefix_is_never_ingested() -> None:
    result, _ = run({"manifests/benchmark/m.json": b"{}", "benchmark/a.mp4": b"x"})
    assert result.manifests[Dataset.BENCHMARK].entry_count == 1
    assert result.skipped[0].skip is SkipReason.MANIFEST_PREFIX
