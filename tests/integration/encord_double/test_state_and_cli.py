"""State file round trips and the `benchmark-qa encord-double` command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from benchmark_qa_local.encord_double import DoubleState, EncordDouble, KeyPair
from benchmark_qa_local.encord_double.seed import seed_standard_setup
from encord.workflow import AgentStage

from .conftest import make_client


def test_state_file_round_trip_serves_the_same_world(tmp_path: Path):
    state = DoubleState()
    setup = seed_standard_setup(state)
    path = tmp_path / "state.json"
    with EncordDouble(state, state_path=path) as first:
        key = first.register_key()
        client = make_client(first, key=key)
        stage = client.get_project(setup.production_project_hash).workflow.get_stage(
            name="Benchmark Task?", type_=AgentStage
        )
        next(iter(stage.get_tasks())).proceed(pathway_name="NO")

    loaded = DoubleState.load(path)  # saved by stop()
    assert key.public_hex in loaded.public_keys
    with EncordDouble(loaded) as second:
        client = make_client(second, key=key)
        stage = client.get_project(setup.production_project_hash).workflow.get_stage(
            name="Benchmark Task?", type_=AgentStage
        )
        assert len(list(stage.get_tasks())) == 5  # the routed task stayed routed
    assert json.loads(path.read_text())["version"] == 1


def test_cli_seeds_serves_and_saves_on_sigterm(tmp_path: Path):
    state_path, key_path = tmp_path / "state.json", tmp_path / "demo.key"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from benchmark_qa_local.cli import main; sys.exit(main())",
            "encord-double",
            "--port",
            "0",
            "--seed-demo",
            "--state",
            str(state_path),
            "--key-file",
            str(key_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["private_key_path"] == str(key_path)
        key = KeyPair(private_openssh=key_path.read_text(), public_hex="")
        client = make_client(info["url"], key=key)
        project = client.get_project(info["setup"]["production_project_hash"])
        assert project.title == "Production Project"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
    saved = DoubleState.load(state_path)
    assert info["setup"]["production_project_hash"] in saved.projects


def test_docs_example_state_loads_and_serves() -> None:
    docs = Path(__file__).parents[3] / "docs" / "encord-double.md"
    text = docs.read_text(encoding="utf-8")
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    state = DoubleState.from_json(example)
    with EncordDouble(state) as double:
        client = make_client(double)
        project = client.get_project("9f9f9f9f-0000-4000-8000-000000000004")
        stage = project.workflow.get_stage(name="Benchmark Task?", type_=AgentStage)
        [task] = list(stage.get_tasks())  # created on load: the file lists no tasks
        assert task.data_title == "cat.jpg"
        task.proceed(pathway_name="YES")
        assert list(stage.get_tasks()) == []
