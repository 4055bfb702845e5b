"""The setup file: the documented example loads, and each mistake a user can make is named by its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from benchmark_qa_local.setup.config import SetupConfigError, load_config
from encord.objects import OntologyStructure

DOCS = Path(__file__).resolve().parents[3] / "docs"
EXAMPLE = DOCS / "setup.example.yaml"


def _write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "setup.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _example() -> Any:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def test_the_documented_example_loads_and_places_files_next_to_it():
    config = load_config(EXAMPLE)

    assert config.folders.benchmark.name == "Benchmark QA - benchmark files"
    assert config.workflow.agent_stage == "Benchmark Task?"
    assert config.workflow.yes_pathway == "YES"  # quoted in the file: YAML would read a bare YES as true
    assert config.ontology.structure_file == DOCS / "ontology.example.yaml"
    assert config.deployment.parameters_file == DOCS / "benchmark-qa-parameters.yaml"
    assert config.encord.key_file is not None
    assert "~" not in str(config.encord.key_file)


def test_the_example_ontology_is_a_structure_the_sdk_reads():
    structure = OntologyStructure.from_dict(yaml.safe_load((DOCS / "ontology.example.yaml").read_text()))

    assert [o.name for o in structure.objects] == ["Car"]
    assert [a.name for c in structure.classifications for a in c.attributes] == ["Weather"]


def test_a_resource_may_be_pinned_by_id_instead_of_named(tmp_path):
    document = _example()
    document["datasets"]["benchmark"] = {"id": "6f1c2a9e-0000-4000-8000-000000000001"}

    config = load_config(_write(tmp_path, document))

    assert config.datasets.benchmark.id == "6f1c2a9e-0000-4000-8000-000000000001"
    assert config.datasets.benchmark.name is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d.pop("folders"), "folders: Field required"),
        (lambda d: d["datasets"].update(production={}), "datasets.production: give a name, or an id"),
        (lambda d: d["workflow"].update(after_scoring="delete"), "workflow.after_scoring"),
        (lambda d: d["deployment"].update(bucket="s3://my-data/benchmark"), "deployment.bucket: give the bucket's"),
        (lambda d: d["deployment"].update(encord_aws_principal="arn:aws:iam::1:root"), "needs encord_external_id"),
        (lambda d: d.update(projekts={}), "projekts: Extra inputs are not permitted"),
        (lambda d: d["encord"].update(domain="api.encord.com"), "encord.domain"),
    ],
)
def test_a_bad_setup_file_names_the_key(tmp_path, change, named):
    document = _example()
    change(document)

    with pytest.raises(SetupConfigError) as raised:
        load_config(_write(tmp_path, document))

    assert named in str(raised.value)
    assert "setup.yaml" in str(raised.value)


def test_a_file_that_is_not_a_mapping_or_not_yaml_says_so(tmp_path):
    path = tmp_path / "setup.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(SetupConfigError, match="expected a mapping"):
        load_config(path)
    path.write_text("folders: [unclosed\n", encoding="utf-8")
    with pytest.raises(SetupConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(SetupConfigError, match="cannot read it"):
        load_config(tmp_path / "missing.yaml")
