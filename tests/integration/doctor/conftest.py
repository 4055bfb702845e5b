"""A deployment as `benchmark-qa setup` leaves it: the Encord double's workspace made by setup (through the SDK),
and the local stack built from template.yaml with setup's parameters file and the key stored."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from benchmark_qa_local.doctor import Deployed, from_local_stack
from benchmark_qa_local.encord_double import DoubleState, EncordDouble, KeyPair
from benchmark_qa_local.encord_double.workspace import UiSetup, seed_ui_setup
from benchmark_qa_local.setup import load_config, run_setup
from benchmark_qa_local.setup.parameters import read_parameters
from benchmark_qa_local.stack import LocalStack
from encord import EncordUserClient

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[3] / "docs"


def setup_workspace(double: EncordDouble, ui: UiSetup, key: KeyPair, folder: Path) -> Path:
    """Run setup from docs/setup.example.yaml against the double; returns the parameters file it wrote."""
    shutil.copy(DOCS / "ontology.example.yaml", folder / "ontology.example.yaml")
    document = yaml.safe_load((DOCS / "setup.example.yaml").read_text(encoding="utf-8"))
    document["encord"] = {"domain": double.url}
    document["projects"]["benchmark"]["workflow_template"] = ui.benchmark_template_uuid
    document["projects"]["production"]["workflow_template"] = ui.production_template_uuid
    (folder / "setup.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    client = EncordUserClient.create_with_ssh_private_key(key.private_openssh, domain=double.url)
    result = run_setup(client, load_config(folder / "setup.yaml"))
    assert result.ok, [s.detail for s in result.workspace.problems]
    return result.parameters_file


@dataclass
class Deployment:
    double: EncordDouble
    key: KeyPair
    stack: LocalStack
    parameters_file: Path

    @property
    def deployed(self) -> Deployed:
        return from_local_stack(self.stack)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("deployment")
    state = DoubleState()
    ui = seed_ui_setup(state)
    with EncordDouble(state) as double:
        key = double.register_key()
        parameters_file = setup_workspace(double, ui, key, folder)
        stack = LocalStack(
            parameters=read_parameters(parameters_file),
            secret_values={"EncordKeySecret": key.private_openssh},
            stack_name=f"bqa-doctor-{uuid.uuid4().hex[:6]}",
        )
        with stack:
            yield Deployment(double, key, stack, parameters_file)
