"""The Docker-free invoker: environment and layers from the template, warm and cold starts, errors."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.stack import LocalStack

ECHO_KEYS = [
    "TABLE",
    "QUEUE_URL",
    "SECRET",
    "BUCKET",
    "GREETING",
    "LEVEL",
    "JOINED",
    "AWS_ENDPOINT_URL",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_TRACE_DISABLED",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_PROFILE",
]


def test_environment_and_layer_come_from_the_template(tiny_stack: LocalStack, tiny_invoker: Invoker) -> None:
    result = tiny_invoker.invoke("Echo", {"keys": ECHO_KEYS})
    assert result.ok, result.error
    env = result.payload["env"]
    assert env["TABLE"] == tiny_stack.physical_id("Table")  # Globals, !Ref
    assert env["QUEUE_URL"] == tiny_stack.physical_id("Work")  # moto's URL for the queue
    assert env["SECRET"] == tiny_stack.physical_id("Token")  # the ARN moto assigned
    assert env["BUCKET"] == f"{tiny_stack.deployment.stack_name}-bucket-123456789012"  # !Sub of pseudo parameters
    assert env["JOINED"] == f"hello/{tiny_stack.deployment.stack_name}-Work"  # !Join of !Ref and !GetAtt
    assert env["LEVEL"] == "function"  # the function's own variable wins over Globals
    assert env["GREETING"] == "hello"  # parameter default
    assert env["AWS_ENDPOINT_URL"] == tiny_stack.endpoint_url
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Tiny"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == f"{tiny_stack.deployment.stack_name}-Echo"
    assert env["AWS_PROFILE"] is None  # the developer's AWS settings never leak into a function
    assert result.payload["layer"] == "hello from the layer"


def test_context_is_realistic(tiny_stack: LocalStack, tiny_invoker: Invoker) -> None:
    result = tiny_invoker.invoke("Echo", {})
    context = result.payload["context"]
    name = f"{tiny_stack.deployment.stack_name}-Echo"
    assert context["function_name"] == name
    assert context["memory_limit_in_mb"] == 1024  # the function's MemorySize beats Globals
    assert context["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert context["log_group_name"] == f"/aws/lambda/{name}"
    assert context["aws_request_id"] == result.request_id
    assert 0 < context["remaining_ms"] <= 7000  # Globals Timeout: 7


def test_warm_calls_reuse_the_module_and_cold_calls_reload_it(tiny_invoker: Invoker) -> None:
    first = tiny_invoker.invoke("Echo", {})
    second = tiny_invoker.invoke("Echo", {})
    cold = tiny_invoker.invoke("Echo", {}, cold=True)
    assert first.cold_start
    assert not second.cold_start
    assert cold.cold_start
    assert first.payload["init_id"] == second.payload["init_id"] != cold.payload["init_id"]
    # Two functions sharing one CodeUri (Echo, OnUpload) still get separate environments.
    assert tiny_invoker.invoke("OnUpload", {}).payload["init_id"] != cold.payload["init_id"]


def test_env_vars_file_overrides_and_forces_a_new_environment(tiny_stack: LocalStack, tmp_path: Path) -> None:
    overrides = tmp_path / "env.json"
    overrides.write_text(
        json.dumps({"Parameters": {"GREETING": "hey", "LEVEL": "p"}, "Echo": {"LEVEL": "own", "NOT_DECLARED": "x"}})
    )
    plain = Invoker(stack=tiny_stack).invoke("Echo", {"keys": ["GREETING", "LEVEL", "NOT_DECLARED"]})
    custom = Invoker(stack=tiny_stack, env_vars=overrides).invoke(
        "Echo", {"keys": ["GREETING", "LEVEL", "NOT_DECLARED"]}
    )
    assert plain.payload["env"] == {"GREETING": "hello", "LEVEL": "function", "NOT_DECLARED": None}
    # Function-specific beats Parameters; undeclared variables are ignored, as in sam local invoke.
    assert custom.payload["env"] == {"GREETING": "hey", "LEVEL": "own", "NOT_DECLARED": None}
    # The value read at cold start follows the environment: settings are not shared between environments.
    assert (plain.payload["greeting_at_init"], custom.payload["greeting_at_init"]) == ("hello", "hey")


def test_the_callers_process_is_left_as_it_was(tiny_invoker: Invoker) -> None:
    environ, path = dict(os.environ), list(sys.path)
    tiny_invoker.invoke("Echo", {})
    assert dict(os.environ) == environ
    assert sys.path == path
    assert "greeting" not in sys.modules  # the layer's modules stay inside the function's environment


def test_a_handler_exception_is_reported_as_lambda_does(tiny_invoker: Invoker) -> None:
    result = tiny_invoker.invoke("Boom", {"reason": "pears"})
    assert not result.ok
    assert result.payload is None
    assert result.error is not None
    assert result.error["errorType"] == "ValueError"
    assert result.error["errorMessage"] == "cannot handle pears"
    assert result.error["requestId"] == result.request_id
    assert any("in fail" in line and "app.py" in line for line in result.error["stackTrace"])
    assert '"errorType": "ValueError"' in result.logs


def test_logs_are_captured_per_call(tiny_invoker: Invoker) -> None:
    result = tiny_invoker.invoke("Echo", {})
    assert "echo handler ran" in result.logs
    assert f"START RequestId: {result.request_id}" in result.logs
    assert f"REPORT RequestId: {result.request_id}" in result.logs


def test_an_import_error_is_an_init_error(tiny_stack: LocalStack, tiny_template: Path) -> None:
    (tiny_template.parent / "boom" / "app.py").write_text("import not_a_module_anywhere\n")
    result = Invoker(stack=tiny_stack).invoke("Boom", {})
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert "not_a_module_anywhere" in result.error["errorMessage"]


def test_without_a_stack_names_resolve_to_aws_form(tiny_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    result = Invoker(tiny_template).invoke("Echo", {"keys": ["QUEUE_URL", "AWS_ENDPOINT_URL"]})
    assert result.payload["env"] == {
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/benchmark-qa-local-Work",
        "AWS_ENDPOINT_URL": None,
    }
