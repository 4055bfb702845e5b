"""`benchmark-qa route` against the Encord double."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from benchmark_qa.store.routing import RoutingRepository
from benchmark_qa_local.cli import main
from benchmark_qa_local.encord_double import EncordDouble

from tests.integration.routing.conftest import seed, stage_of

pytestmark = pytest.mark.integration


def _args(double: EncordDouble, tmp_path: Path, project: str, benchmark: str) -> list[str]:
    key_file = tmp_path / "encord.key"
    key_file.write_text(double.register_key().private_openssh)
    return ["route", "--domain", double.url, "--key-file", str(key_file), "--project", project,
            "--benchmark-dataset", benchmark]  # fmt: skip


def test_dry_run_prints_decisions_and_moves_nothing(
    double: EncordDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str], repository: RoutingRepository
) -> None:
    setup = seed(double, benchmark=2, production=3)
    table = repository._table.name
    args = _args(double, tmp_path, setup.production_project_hash, setup.benchmark_dataset_hash)
    assert main([*args, "--dry-run", "--table", table]) == 0
    out = capsys.readouterr().out
    assert sum(line.startswith("dry_run ") for line in out.splitlines()) == 5
    assert "outcome:dry_run: 5" in out
    assert "decision:YES: 2" in out
    assert "decision:NO: 3" in out
    assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}
    match = re.search(r"^run (\w+): finished \(dry run\)$", out, re.MULTILINE)
    assert match is not None
    run_id = match.group(1)
    assert len(repository.tasks_of_run(run_id)) == 5


def test_route_moves_tasks_and_reports_setup_errors(
    double: EncordDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = seed(double, benchmark=1, production=2)
    args = _args(double, tmp_path, setup.production_project_hash, setup.benchmark_dataset_hash)
    assert main([*args, "--no", "NOPE"]) == 2
    assert "no pathway 'NOPE'" in capsys.readouterr().err
    assert main(args) == 0
    assert "outcome:routed: 3" in capsys.readouterr().out
    assert set(stage_of(double, setup).values()) == {"Consensus 1 Annotate", "Annotate 1"}
