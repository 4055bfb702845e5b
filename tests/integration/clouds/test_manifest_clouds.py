"""`benchmark-qa manifest` on each cloud of Encord's import spec, against real emulators the tests start:
gcp-storage-emulator (PyPI) for gs://, Azurite (npm, emulators/package-lock.json, `make install`) for Azure
Blob, moto server for OTC OBS's S3-compatible API. The realistic bucket goes into each; the manifests must hold
the same entries as on S3, in the URL form of that cloud's examples in the spec."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from benchmark_qa_local.cli import main

from tests.integration.ingest import realistic

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
AZURITE = ROOT / "emulators" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's documented development account and key (public, the same in every Azurite).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _manifests(tmp_path: Path, source: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return realistic.manifest_and_check(source, tmp_path, lambda: capsys.readouterr().err)


def _urls(documents: list[dict[str, object]]) -> list[str]:
    urls = []
    for document in documents:
        for entries in document.values():
            for entry in entries if isinstance(entries, list) else []:
                urls += [v for k, v in entry.items() if k.startswith("objectUrl")]
    return urls


@pytest.fixture
def gcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from gcp_storage_emulator.server import create_server
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    server = create_server("127.0.0.1", 0, in_memory=True)
    server.start()
    try:
        port = server._api._httpd.server_address[1]  # the emulator keeps its bound port here
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
        client = storage.Client(project="benchmark-qa", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
        bucket = client.create_bucket("encord-image-bucket")
        for key, case in realistic.CASES.items():
            bucket.blob(key).upload_from_string(case.body)
        yield "gs://encord-image-bucket"
    finally:
        server.stop()


def test_gcs(gcs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    urls = _urls(_manifests(tmp_path, gcs, capsys))
    assert urls
    assert all(u.startswith("https://storage.cloud.google.com/encord-image-bucket/") for u in urls)


@pytest.fixture
def azurite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    if not AZURITE.exists():
        pytest.fail(f"{AZURITE} is missing: run `make install` (npm ci in emulators/)")
    node = shutil.which("node")
    assert node is not None, "Azurite needs node on PATH"
    log = tmp_path / "azurite.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
             "--skipApiVersionCheck"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,  # its debug and extent files, if any, stay in the test's folder
        )  # fmt: skip
    try:
        port = None
        for _ in range(600):  # Azurite prints the port it bound before it serves; bounded wait (60 s)
            found = re.search(r"listens on http://127\.0\.0\.1:(\d+)", log.read_text())
            if found or process.poll() is not None:
                port = int(found[1]) if found else None
                break
            time.sleep(0.1)
        assert port is not None, f"Azurite did not start: {log.read_text()}"
        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
        )
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
        from azure.storage.blob import BlobServiceClient

        container = BlobServiceClient.from_connection_string(connection).create_container("encordcontainer")
        for key, case in realistic.CASES.items():
            container.upload_blob(key, case.body)
        yield f"az://{AZURITE_ACCOUNT}/encordcontainer"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def test_azure_blob(azurite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    urls = _urls(_manifests(tmp_path, azurite, capsys))
    assert urls
    assert all(u.startswith(f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/encordcontainer/") for u in urls)
    # The https:// form of the source lists the same container.
    https = f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/encordcontainer/production/"
    assert main(["manifest", https, "--out", str(tmp_path / "p.json")]) == 0
    assert {e["title"] for e in orjson.loads((tmp_path / "p.json").read_bytes())["images"]} == {
        "cam-a/frame.jpg",
        "cam-b/frame.jpg",
        "Frame.JPG",
    }


@pytest.fixture
def obs(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("OBS_ENDPOINT_URL", f"http://{host}:{port}")
        monkeypatch.setenv("OBS_ACCESS_KEY_ID", "obs-key")
        monkeypatch.setenv("OBS_SECRET_ACCESS_KEY", "obs-secret")
        s3 = boto3.client(
            "s3", endpoint_url=f"http://{host}:{port}", region_name="eu-de", aws_access_key_id="k",
            aws_secret_access_key="s",
        )  # fmt: skip
        s3.create_bucket(Bucket="encord-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-de"})  # type: ignore[typeddict-item]
        for key, case in realistic.CASES.items():
            s3.put_object(Bucket="encord-bucket", Key=key, Body=case.body)
        yield "obs://encord-bucket"
    finally:
        server.stop()


def test_otc_obs(obs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    urls = _urls(_manifests(tmp_path, obs, capsys))
    assert urls
    assert all(u.startswith("https://encord-bucket.obs.eu-de.otc.t-systems.com/") for u in urls)
    monkeypatch.delenv("OBS_SECRET_ACCESS_KEY")
    assert main(["manifest", obs]) == 2
    assert "set OBS_ACCESS_KEY_ID and OBS_SECRET_ACCESS_KEY" in capsys.readouterr().err
