"""An Encord workspace as a user has it before `benchmark-qa setup`: the two workflow templates and the cloud
integration made in Encord's UI (seeded into the double), a key Encord knows, and a setup file for it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from benchmark_qa_local.encord_double import DoubleState, EncordDouble, KeyPair
from benchmark_qa_local.encord_double.workspace import UiSetup, seed_ui_setup

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[3] / "docs"
# Endpoints that create something in Encord (the counts keys of the double).
CREATING = (
    "v2 POST storage/folders",
    "v2 POST datasets",
    "v2 POST ontologies",
    "v1 project POST",
)


@dataclass
class Workspace:
    double: EncordDouble
    ui: UiSetup
    key: KeyPair
    folder: Path

    def config(self, **changes: Any) -> Path:
        """docs/setup.example.yaml pointed at the double, with `changes` applied per top-level section."""
        document = yaml.safe_load((DOCS / "setup.example.yaml").read_text(encoding="utf-8"))
        document["encord"] = {"domain": self.double.url, "key_file": "encord.key"}
        document["projects"]["benchmark"]["workflow_template"] = self.ui.benchmark_template_uuid
        document["projects"]["production"]["workflow_template"] = self.ui.production_template_uuid
        for section, value in changes.items():
            if isinstance(value, dict) and isinstance(document.get(section), dict):
                document[section].update(value)
            else:
                document[section] = value
        path = self.folder / "setup.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return path

    @property
    def parameters_file(self) -> Path:
        return self.folder / "benchmark-qa-parameters.yaml"

    def creations(self) -> int:
        return sum(self.double.counts.get(endpoint) for endpoint in CREATING)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    state = DoubleState()
    ui = seed_ui_setup(state)
    shutil.copy(DOCS / "ontology.example.yaml", tmp_path / "ontology.example.yaml")
    with EncordDouble(state) as double:
        key = double.register_key()
        (tmp_path / "encord.key").write_text(key.private_openssh, encoding="utf-8")
        yield Workspace(double, ui, key, tmp_path)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    from benchmark_qa_local.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
