"""Every CLI mistake a user can make is one line on stderr that says what to do, exit code 2, no traceback: no
region, an endpoint nobody listens on, a port in use, no network to Encord, a key Encord does not know. The
commands run as the user runs them: the installed `benchmark-qa` in a process of its own, with a clean
environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmark_qa_local.encord_double import DoubleState, EncordDouble, generate_key_pair

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).with_name("benchmark-qa")
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none")}
    clean["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=120, env={**clean, **env}, cwd=tmp_path, check=False
    )


def one_line(finished: subprocess.CompletedProcess[str], *words: str) -> None:
    assert finished.returncode == 2, finished
    assert "Traceback" not in finished.stderr
    assert finished.stderr.count("\n") == 1, finished.stderr
    for word in words:
        assert word in finished.stderr, finished.stderr


def test_no_region(tmp_path: Path) -> None:
    finished = run(
        ["report", "--table", "state", "--out", "x.html"], tmp_path, AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b"
    )
    one_line(finished, "no AWS region", "AWS_DEFAULT_REGION")


def test_an_endpoint_nobody_listens_on(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    aws = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
        "AWS_MAX_ATTEMPTS": "1",  # botocore's retries with backoff only make the same answer slower
    }
    for command in (["status", "--table", "state"], ["report", "--open", "--bucket", "reports"]):
        one_line(run(command, tmp_path, **aws), "cannot reach", endpoint, "local stack")


@pytest.mark.parametrize(
    "command", [["stack", "--template", str(TEMPLATE)], ["encord-double"]], ids=["stack", "double"]
)
def test_a_port_in_use(command: list[str], busy_port: int, tmp_path: Path) -> None:
    one_line(run([*command, "--port", str(busy_port)], tmp_path), "port is in use", "--port")


def test_no_template_here(tmp_path: Path) -> None:
    one_line(run(["stack", "--port", "0"], tmp_path), "no template.yaml", "--template")


def test_no_network_to_encord(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text(generate_key_pair().private_openssh)
    domain = f"http://127.0.0.1:{closed_port()}"
    finished = run(
        [
            "route",
            "--domain",
            domain,
            "--key-file",
            str(key),
            "--project",
            "p",
            "--benchmark-dataset",
            "d",
            "--dry-run",
        ],
        tmp_path,
    )
    one_line(finished, "cannot reach Encord", "--domain")


def test_a_key_encord_does_not_know(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text(generate_key_pair().private_openssh)  # never registered with the double
    with EncordDouble(DoubleState()) as double:
        finished = run(
            ["route", "--domain", double.url, "--key-file", str(key), "--project", "p", "--benchmark-dataset", "d"],
            tmp_path,
        )
    one_line(finished, "Encord refused the key", "public key")
