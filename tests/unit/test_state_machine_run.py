"""The Docker-free state machine run (benchmark_qa_local.state_machine_run) on states that need no stack: Pass and
Choice as the Amazon States Language defines them."""

from __future__ import annotations

from typing import Any

import pytest
from benchmark_qa_local.state_machine_run import Run, StateMachineRun, UnsupportedState


def _run(machine: dict[str, Any], document: dict[str, Any]) -> Any:
    runner = StateMachineRun.__new__(StateMachineRun)  # Pass, Choice and Succeed touch neither stack nor invoker
    return runner._states(machine, document, Run(), top=True)


def test_a_pass_state_without_parameters_passes_its_input_on() -> None:
    machine = {"StartAt": "Keep", "States": {"Keep": {"Type": "Pass", "ResultPath": "$.copy", "End": True}}}
    assert _run(machine, {"prefix": "benchmark/"}) == {"prefix": "benchmark/", "copy": {"prefix": "benchmark/"}}


def test_a_pass_state_with_parameters_resolves_paths_and_string_to_json() -> None:
    machine = {
        "StartAt": "Settings",
        "States": {
            "Settings": {
                "Type": "Pass",
                "Parameters": {"size.$": "States.StringToJson('500')", "prefix.$": "$.prefix", "fixed": 1},
                "ResultPath": "$.settings",
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    out = _run(machine, {"prefix": "production/"})
    assert out["settings"] == {"size": 500, "prefix": "production/", "fixed": 1}


def test_a_state_type_it_does_not_cover_is_refused_by_name() -> None:
    machine = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 1, "End": True}}}
    with pytest.raises(UnsupportedState, match="Wait"):
        _run(machine, {})
