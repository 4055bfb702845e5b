"""Honest results of `benchmark-qa manifest`: an empty prefix is an error, arguments are checked before any
storage call, progress only on a terminal, --dataset from the prefix, manifests split into parts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from benchmark_qa.ingest.items import S3Object
from benchmark_qa_local import clouds, samples
from benchmark_qa_local.cli import main
from benchmark_qa_local.cli.manifest import Progress

from tests.integration.ingest.moto_s3 import s3_bucket

pytestmark = pytest.mark.integration

BUCKET = "bqa-results"
FILES = {
    **{f"benchmark/img/{n}.jpg": samples.jpeg(str(n)) for n in range(5)},
    **{f"benchmark/vid/{n}.mp4": samples.mp4(str(n)) for n in range(3)},
    "production/a.jpg": samples.jpeg("p"),
    "production/junk/labels.json": b"{}",
}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    with s3_bucket(BUCKET, FILES) as endpoint:
        yield endpoint


def test_a_prefix_that_holds_nothing_is_an_error(s3_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", f"s3://{BUCKET}/benchmrk/"]) == 2
    err = capsys.readouterr().err
    assert f"s3://{BUCKET}/benchmrk/ holds no objects (0 listed under prefix 'benchmrk/')" in err


def test_a_prefix_with_nothing_importable_says_so(s3_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", f"s3://{BUCKET}/production/junk/"]) == 1
    err = capsys.readouterr().err
    assert "skipped production/junk/labels.json: a data file" in err
    assert "nothing to import" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ftp://bucket/x"], "is not a storage location"),
        (["gs://"], "names no a bucket"),
        (["az://account"], "names no an account and a container"),
        (["s3://b/x", "--region", "nowhere"], "--region 'nowhere' is not an AWS region"),
        (["obs://b/x", "--region", "us-east-1"], "not an Open Telekom Cloud region"),
        (["gs://b/x", "--region", "eu-west-2"], "--region does not apply"),
        (["s3://b/x", "--mrap-arn", "arn:nope"], "is not a Multi-Region Access Point ARN"),
        (["gs://b/x", "--mrap-arn", "arn:aws:s3::1:accesspoint/a.mrap"], "S3 sources only"),
        (["s3://b/x", "--batch-size", "0"], "manifest_batch_size"),
        (["s3://b/x", "--workers", "0"], "--workers"),
        (["s3://b", "--format", "csv"], "CSV for several datasets needs --out"),
    ],
)
def test_argument_errors_come_before_any_storage_call(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_call(*args: object, **kwargs: object) -> None:
        raise AssertionError("a storage client was opened before the arguments were checked")

    monkeypatch.setattr(clouds, "open_store", no_call)
    assert main(["manifest", *argv]) == 2
    assert message in capsys.readouterr().err


def test_progress_shows_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    objects = [S3Object(bucket="b", key=f"k{i}", size=1) for i in range(3)]
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress(stream, "listing s3://b", every=0)
        assert list(progress.track(objects)) == objects
        progress.done()
    assert "listing s3://b: 2 objects (" in terminal.getvalue()
    assert "at k1" in terminal.getvalue()
    assert "listing s3://b: 3 objects in" in terminal.getvalue()
    assert pipe.getvalue() == ""


def test_dataset_defaults_to_the_one_the_prefix_names(s3_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", f"s3://{BUCKET}/production/a.jpg"]) == 0
    out, err = capsys.readouterr()
    document = orjson.loads(out)
    assert [i["title"] for i in document["images"]] == ["a.jpg"]  # one manifest, not {"benchmark":…, "production":…}
    assert "listing" not in err  # not a terminal: no progress lines


def test_manifests_split_into_parts_each_within_the_batch_sizes(
    s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["manifest", f"s3://{BUCKET}/benchmark/", "--batch-size", "3", "--video-batch-size", "2"]
    assert main([*argv, "--out", str(tmp_path / "m.json")]) == 0
    parts = sorted(tmp_path.glob("m.part-*.json"))
    documents = [orjson.loads(p.read_bytes()) for p in parts]
    assert [p.name for p in parts] == ["m.part-001.json", "m.part-002.json", "m.part-003.json"]
    for document in documents:
        assert sum(len(v) for v in document.values() if isinstance(v, list)) <= 3
        assert len(document.get("videos", [])) <= 2
    titles = sorted(e["title"] for d in documents for name in ("images", "videos") for e in d.get(name, []))
    assert titles == sorted([f"{n}.jpg" for n in range(5)] + [f"{n}.mp4" for n in range(3)])
    capsys.readouterr()
    assert main(argv) == 2
    assert "split into several parts (benchmark: 3); pass --out FILE" in capsys.readouterr().err
