"""`benchmark-qa manifest` against a moto S3 server holding all nine data types."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import orjson
import pytest
from benchmark_qa.ingest.manifest import ImportManifest, key_from_object_url
from benchmark_qa_local import samples
from benchmark_qa_local.cli import main

from tests.integration.ingest.moto_s3 import s3_bucket

pytestmark = pytest.mark.integration

BUCKET = "bqa-uploads"
REGION: Final = "eu-west-2"
SERIES = "1.2.826.0.1.3680043.8.498.7"
VIDEO_META = {"fps": 25, "duration": 2, "width": 4, "height": 4, "file_size": 3, "mime_type": "video/mp4"}
FILES: dict[str, bytes] = {
    "benchmark/videos/clip one+1.mp4": samples.mp4("clip"),
    "benchmark/videos/clip one+1.mp4.meta.json": orjson.dumps(
        {
            "title": "Clip 1",
            "clientMetadata": {"split": "gold"},
            "keyFrames": [0, 12],
            "videoMetadata": VIDEO_META,
        }
    ),
    "benchmark/images/ünï #1.PNG": samples.png(),
    "benchmark/audio/a.wav": samples.wav(),
    "benchmark/docs/d.pdf": samples.pdf(),
    "benchmark/text/t.txt": samples.text(),
    "benchmark/scans/brain.nii.gz": samples.nifti(),
    "benchmark/image-groups/cats/img10.jpg": samples.jpeg("10"),
    "benchmark/image-groups/cats/img2.jpg": samples.jpeg("2"),
    "benchmark/image-groups/cats/_meta.json": orjson.dumps({"clientMetadata": {"animal": "cat"}}),
    "benchmark/image-groups/cats/_READY": b"",
    "benchmark/image-sequences/run 1/f1.jpg": samples.jpeg("f1"),
    "benchmark/image-sequences/run 1/f2.jpg": samples.jpeg("f2"),
    "benchmark/dicom/series-A/IM10": samples.dicom(SERIES, None),
    "benchmark/dicom/series-A/IM2": samples.dicom(SERIES, None),
    "benchmark/dicom/series-A/IM1": samples.dicom(SERIES, None),
    "production/p.mp4": samples.mp4("p"),
    "production/bad.mp4": samples.mp4("bad"),
    "production/bad.mp4.meta.json": b"{broken",
    "production/unknown.xyz": b"\x00?",
    "production/empty.jpg": b"",
    "production/folder/": b"",
    "manifests/benchmark/old.json": b"{}",
    "elsewhere/x.mp4": b"vid",
}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    with s3_bucket(BUCKET, FILES, REGION) as endpoint:
        yield endpoint


def check_benchmark_json(manifest: ImportManifest) -> None:
    assert (len(manifest.videos), len(manifest.images), len(manifest.audio), len(manifest.pdf)) == (
        1,
        1,
        1,
        1,
    )
    assert (len(manifest.text), len(manifest.nifti), len(manifest.dicom_series)) == (1, 1, 1)
    video = manifest.videos[0]
    assert (video.title, video.client_metadata, video.key_frames) == ("Clip 1", {"split": "gold"}, [0, 12])
    assert video.object_url == f"https://{BUCKET}.s3.{REGION}.amazonaws.com/benchmark/videos/clip%20one%2B1.mp4"
    groups = {g.title: g for g in manifest.image_groups}
    assert groups["cats"].create_video is False
    assert groups["cats"].client_metadata == {"animal": "cat"}
    assert groups["run 1"].create_video is True
    assert [key_from_object_url(u)[1].rsplit("/", 1)[1] for u in groups["cats"].object_urls] == [
        "img2.jpg",
        "img10.jpg",
    ]
    assert [u.rsplit("/", 1)[1] for u in manifest.dicom_series[0].object_urls] == ["IM1", "IM2", "IM10"]
    for url in manifest.object_urls():
        bucket, key = key_from_object_url(url)
        assert bucket == BUCKET
        assert key in FILES


def test_json_per_dataset(s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["manifest", f"s3://{BUCKET}", "--out", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert code == 1  # production/bad.mp4 has a broken sidecar
    bench = ImportManifest.model_validate_json((tmp_path / "m.benchmark.json").read_bytes())
    prod = ImportManifest.model_validate_json((tmp_path / "m.production.json").read_bytes())
    check_benchmark_json(bench)
    assert [v.title for v in prod.videos] == ["p.mp4"]
    assert "error: production/bad.mp4 left out: production/bad.mp4.meta.json: not valid UTF-8 JSON" in err
    for fragment in (
        "skipped production/unknown.xyz: unknown file type",
        "skipped production/empty.jpg: zero-byte object",
        "skipped production/folder/: folder placeholder",
        "skipped manifests/benchmark/old.json: under the manifest prefix",
        "skipped elsewhere/x.mp4: first path segment 'elsewhere' names no dataset",
    ):
        assert fragment in err


def test_csv_single_dataset_and_prefix(s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "groups.csv"
    code = main(
        [
            "manifest",
            f"s3://{BUCKET}/benchmark/image-sequences/",
            "--format",
            "csv",
            "--dataset",
            "benchmark",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = out.read_text()
    assert text.splitlines()[0] == "ObjectUrl,Image group title,Create video"
    manifest = ImportManifest.from_csv(text)
    assert [(g.title, g.create_video, len(g.object_urls)) for g in manifest.image_groups] == [("run 1", True, 2)]
    # the group's clientMetadata cannot go into CSV: refused unless allowed
    assert main(["manifest", f"s3://{BUCKET}/benchmark/", "--format", "csv", "--dataset", "benchmark"]) == 2
    assert "cannot carry" in capsys.readouterr().err
    assert (
        main(
            [
                "manifest",
                f"s3://{BUCKET}/benchmark/",
                "--format",
                "csv",
                "--dataset",
                "benchmark",
                "--allow-lossy-csv",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "warning: benchmark CSV drops" in captured.err
    lossy = ImportManifest.from_csv(captured.out)
    assert (len(lossy.videos), len(lossy.images), len(lossy.dicom_series), len(lossy.image_groups)) == (
        1,
        1,
        1,
        2,
    )


def test_subprocess_and_missing_bucket(s3_server: str, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("benchmark-qa")
    env = {**os.environ}
    done = subprocess.run(
        [str(exe), "manifest", f"s3://{BUCKET}/benchmark/", "--dataset", "benchmark", "--region", REGION],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    check_benchmark_json(ImportManifest.model_validate(orjson.loads(done.stdout)))
    missing = subprocess.run(
        [str(exe), "manifest", "s3://no-such-bucket/x"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "bucket 'no-such-bucket' does not exist" in missing.stderr


def test_mrap_and_stdout_for_all_datasets(s3_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    arn = "arn:aws:s3::123123123:accesspoint/frf28frarf9.mrap"
    assert main(["manifest", f"s3://{BUCKET}/benchmark/videos/", "--mrap-arn", arn, "--dataset", "all"]) == 0
    combined = orjson.loads(capsys.readouterr().out)
    assert set(combined) == {"benchmark", "production"}
    url = combined["benchmark"]["videos"][0]["objectUrl"]
    assert url.startswith(f"https://{arn}.s3-accesspoint.amazonaws.com/benchmark/videos/")
