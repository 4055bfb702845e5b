"""`benchmark-qa manifest` on a realistic bucket (tests/integration/ingest/realistic.py): every object gets its
recorded, explained outcome."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from benchmark_qa_local.cli import main

from tests.integration.ingest import realistic
from tests.integration.ingest.moto_s3 import s3_bucket

pytestmark = pytest.mark.integration

BUCKET = "bqa-realistic"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    with s3_bucket(BUCKET, {k: c.body for k, c in realistic.CASES.items()}) as endpoint:
        yield endpoint


def test_each_object_of_a_realistic_bucket_gets_its_outcome(
    s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    realistic.manifest_and_check(f"s3://{BUCKET}", tmp_path, lambda: capsys.readouterr().err)


def test_trusting_extensions_reads_only_what_the_extension_cannot_type(
    s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["manifest", f"s3://{BUCKET}/benchmark/", "--trust-extensions", "--out", str(tmp_path / "m.json")]) == 0
    document = orjson.loads((tmp_path / "m.json").read_bytes())
    titles = {e["title"] for e in document["images"]}
    # The MP4 named .jpg and the DICOM named .png pass as images now; DICOM folders are still read by header.
    assert {"clip.jpg", "scan.png", "IMG_0042"} <= titles
    assert {s["title"] for s in document["dicom_series"]} == set(realistic.expected_series())
