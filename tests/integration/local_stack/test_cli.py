"""`benchmark-qa invoke` and `benchmark-qa stack` end to end, in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

CLI = Path(sys.executable).parent / "benchmark-qa"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def _run_cli(cwd: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=60, env=_env(), cwd=cwd, check=False
    )


def test_invoke_prints_the_result_and_logs_apart(tiny_template: Path) -> None:
    event = tiny_template.parent / "event.json"
    event.write_text(json.dumps({"keys": ["GREETING", "TABLE", "AWS_ENDPOINT_URL"]}))
    env_vars = tiny_template.parent / "env.json"
    env_vars.write_text(json.dumps({"Echo": {"GREETING": "from-file"}}))
    done = _run_cli(
        tiny_template.parent,
        ["invoke", "Echo", "-e", str(event), "--env-vars", str(env_vars), "--template", str(tiny_template)],
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # stdout holds the result only
    assert payload["env"]["GREETING"] == "from-file"
    assert payload["env"]["TABLE"] == "benchmark-qa-local-Table"
    assert payload["env"]["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")  # a stack was started
    assert "echo handler ran" in done.stderr


def test_invoke_exits_1_on_a_handler_error(tiny_template: Path) -> None:
    done = _run_cli(tiny_template.parent, ["invoke", "Boom", "--no-stack"])
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "ValueError"


def _stack_until_ready(*arguments: str) -> list[str]:
    """`benchmark-qa stack` on an ephemeral port: its output up to the "ready" line, then stopped with Ctrl-C
    (asserted to exit 0)."""
    process = subprocess.Popen(
        [str(CLI), "stack", "--port", "0", "--template", str(REPO / "template.yaml"), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("ready"):
                break
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert process.returncode == 0
    return lines


def test_stack_command_serves_until_interrupted(tmp_path: Path) -> None:
    lines = _stack_until_ready()
    assert "benchmark-qa-local-uploads-123456789012" in "".join(lines)
    [export] = [line for line in lines if line.startswith("export ")]
    assert "AWS_REGION=us-east-1" in export
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:" in export


def test_stack_command_runs_with_the_parameters_file_setup_wrote(tmp_path: Path) -> None:
    parameters = tmp_path / "benchmark-qa-parameters.yaml"
    parameters.write_text("ExistingBucketName: their-data\nAgentStage: Old name\n", encoding="utf-8")
    output = "".join(
        _stack_until_ready("--parameters", str(parameters), "--parameter", "AgentStage=Is it a benchmark?")
    )
    assert "UploadBucket                 skipped: condition CreateUploadBucket is false" in output
    assert '"UploadBucketName": "their-data"' in output
