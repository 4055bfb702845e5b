"""`benchmark-qa manifest` on a realistic bucket (tests/integration/ingest/realistic.py): every object gets its
recorded, explained outcome."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import orjson
import pytest
from benchmark_qa_local.cli import main
from moto.server import ThreadedMotoServer

from tests.integration.ingest import realistic

pytestmark = pytest.mark.integration

BUCKET = "bqa-realistic"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.delenv("AWS_PROFILE", raising=False)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for key, case in realistic.CASES.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=case.body)
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def test_each_object_of_a_realistic_bucket_gets_its_outcome(
    s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["manifest", f"s3://{BUCKET}", "--out", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert code == 0, err
    documents = [orjson.loads(p.read_bytes()) for p in sorted(tmp_path.glob("m.*.json"))]
    realistic.check_manifests(documents)
    for key, kind in realistic.expected_skips().items():
        (line,) = [line for line in err.splitlines() if line.startswith(f"skipped {key}:")]
        assert realistic.SKIP_PHRASES[kind] in line, line


def test_trusting_extensions_reads_only_what_the_extension_cannot_type(
    s3_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["manifest", f"s3://{BUCKET}/benchmark/", "--trust-extensions", "--out", str(tmp_path / "m.json")]) == 0
    document = orjson.loads((tmp_path / "m.json").read_bytes())
    titles = {e["title"] for e in document["images"]}
    # The MP4 named .jpg and the DICOM named .png pass as images now; DICOM folders are still read by header.
    assert {"clip.jpg", "scan.png", "IMG_0042"} <= titles
    assert {s["title"] for s in document["dicom_series"]} == set(realistic.expected_series())
