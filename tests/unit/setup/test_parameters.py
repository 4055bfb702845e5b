"""The deployment parameters file: what SAM CLI itself reads from it, and what setup keeps of a user's edits."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmark_qa_local.setup.parameters import (
    OWNED,
    ParametersFileError,
    merge,
    read_parameters,
    write_parameters,
)
from benchmark_qa_local.template import SamTemplate
from samcli.cli.types import CfnParameterOverridesType  # type: ignore[import-untyped]

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"

VALUES = {
    "EncordDomain": "https://api.encord.com",
    "ProductionProjectHash": "eeaeb9ed-fcb1-4f4d-8d67-db74ba2e8429",
    "AgentStage": "Benchmark Task?",
    "YesPathway": "YES",
    "NoPathway": "NO",
    "ExistingBucketName": "",
    "AlarmEmail": "ops@example.com",
    "GroupQuietSeconds": "600",
}


def test_sam_cli_reads_every_value_back_as_the_same_string(tmp_path):
    """`sam deploy --parameter-overrides file://...` (make deploy) parses the file with this very class."""
    path = tmp_path / "benchmark-qa-parameters.yaml"
    write_parameters(path, VALUES)

    parsed = CfnParameterOverridesType().convert(f"file://{path}", None, None)

    assert parsed == VALUES  # YES/NO stay strings, "" stays empty, numbers stay text


def test_every_parameter_setup_owns_is_a_template_parameter():
    assert set(OWNED) <= set(SamTemplate.load(TEMPLATE).parameters)


def test_a_users_own_parameters_are_kept_and_only_changes_are_written(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("AlarmEmail: ops@example.com\nAgentStage: Old name\n", encoding="utf-8")

    merged, changed = merge(read_parameters(path), {"AgentStage": "Benchmark Task?", "YesPathway": "YES"})
    assert write_parameters(path, merged) is True
    again, unchanged = merge(read_parameters(path), {"AgentStage": "Benchmark Task?", "YesPathway": "YES"})

    assert changed == ["AgentStage", "YesPathway"]
    assert read_parameters(path) == {
        "AlarmEmail": "ops@example.com",
        "AgentStage": "Benchmark Task?",
        "YesPathway": "YES",
    }
    assert unchanged == []
    assert write_parameters(path, again) is False  # the same text: the file is left alone


def test_a_parameters_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("- a\n- list\n", encoding="utf-8")

    with pytest.raises(ParametersFileError, match="expected a mapping"):
        read_parameters(path)
    assert read_parameters(tmp_path / "none-yet.yaml") == {}
