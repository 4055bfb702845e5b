"""functions/route/app.py invoked with events/route_schedule.json and events/route_webhook.json, against the
state table and secrets on moto server (built from template.yaml) and the Encord double."""

from __future__ import annotations

import copy
import importlib.util
import json
import time
import types
import uuid
from pathlib import Path
from typing import Any

import benchmark_qa.secrets
import pytest
from benchmark_qa.config import load
from benchmark_qa.encord.webhook import sign
from benchmark_qa.store.table import state_table
from benchmark_qa_local.encord_double import EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup
from benchmark_qa_local.lambda_context import LocalLambdaContext
from benchmark_qa_local.stack import LocalStack

from tests.integration.routing.conftest import seed, stage_of

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
EVENTS = REPO / "events"
# The secret events/route_webhook.json is signed with (documented in docs/routing.md); test use only.
TEST_WEBHOOK_SECRET = "benchmark-qa-test-webhook-secret"
SAMPLE_PROJECT = "9f9f9f9f-0000-4000-8000-000000000004"
SAMPLE_TIMESTAMP = 1795694400


def _event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def _context() -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name="RouteFunction",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:RouteFunction",
        memory_limit_in_mb=512,
        aws_request_id=str(uuid.uuid4()),
        log_group_name="/aws/lambda/RouteFunction",
        log_stream_name="test",
        deadline_monotonic=time.monotonic() + 300,
    )


def _setup_with_sample_project(double: EncordDouble) -> StandardSetup:
    """The standard setup with the Production Project re-keyed to the hash the sample webhook names."""
    setup = seed(double, benchmark=3, production=4)
    with double.locked() as state:
        project = state.projects.pop(setup.production_project_hash)
        project.project_hash = SAMPLE_PROJECT
        state.projects[SAMPLE_PROJECT] = project
    return StandardSetup(**{**setup.__dict__, "production_project_hash": SAMPLE_PROJECT})


def _load_handler(
    monkeypatch: pytest.MonkeyPatch, stack: LocalStack, double: EncordDouble, setup: StandardSetup
) -> types.ModuleType:
    secrets = stack.boto3_client("secretsmanager")
    key = double.register_key()
    secrets.put_secret_value(SecretId=stack.physical_id("EncordKeySecret"), SecretString=key.private_openssh)
    secrets.put_secret_value(SecretId=stack.physical_id("WebhookSecret"), SecretString=TEST_WEBHOOK_SECRET)
    environment = stack.function_environment(
        "RouteFunction",
        {
            "ENCORD_DOMAIN": double.url,
            "ENCORD_BACKOFF_FACTOR": "0",
            "PRODUCTION_PROJECT_HASH": setup.production_project_hash,
            "BENCHMARK_DATASET_HASH": setup.benchmark_dataset_hash,
        },
    )
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # A fresh cold start: settings, table and cached secrets are per process.
    load.cache_clear()
    state_table.cache_clear()
    monkeypatch.setattr(benchmark_qa.secrets, "_provider", None)
    spec = importlib.util.spec_from_file_location("route_app_under_test", REPO / "functions/route/app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The sample is signed at a fixed time; the handler sees a clock 5 s later.
    monkeypatch.setattr(module, "time", types.SimpleNamespace(time=lambda: SAMPLE_TIMESTAMP + 5))
    return module


@pytest.fixture
def handler_setup(
    double: EncordDouble, routing_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> tuple[types.ModuleType, StandardSetup]:
    setup = _setup_with_sample_project(double)
    return _load_handler(monkeypatch, routing_stack, double, setup), setup


def test_schedule_event_routes_the_stage(
    double: EncordDouble, handler_setup: tuple[types.ModuleType, StandardSetup]
) -> None:
    app, setup = handler_setup
    result = app.handler(_event("route_schedule.json"), _context())
    assert result["status"] == "finished"
    assert result["counts"]["outcome:routed"] == 7
    where = stage_of(double, setup)
    assert {where[h] for h in setup.benchmark_data_hashes} == {"Consensus 1 Annotate"}
    assert {where[h] for h in setup.production_data_hashes} == {"Annotate 1"}
    run = app.repository.get_run(result["run_id"])
    assert run["trigger"] == "schedule"
    assert run["counts"]["tasks"] == 7


def test_webhook_event_with_valid_signature_routes(
    double: EncordDouble, handler_setup: tuple[types.ModuleType, StandardSetup]
) -> None:
    app, setup = handler_setup
    response = app.handler(_event("route_webhook.json"), _context())
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["status"] == "finished"
    assert app.repository.get_run(body["run_id"])["trigger"] == "webhook"
    assert set(stage_of(double, setup).values()) == {"Consensus 1 Annotate", "Annotate 1"}


def _tampered(change: str) -> dict[str, Any]:
    event = copy.deepcopy(_event("route_webhook.json"))
    headers = event["headers"]
    if change == "signature":
        headers["x-encord-signature"] = sign("not-the-secret", headers["x-encord-timestamp"], event["body"].encode())
    elif change == "body":
        event["body"] = event["body"].replace('"pending_count":6', '"pending_count":7')
    elif change == "stale":
        stale = str(SAMPLE_TIMESTAMP - 400)
        headers["x-encord-timestamp"] = stale
        headers["x-encord-signature"] = sign(TEST_WEBHOOK_SECRET, stale, event["body"].encode())
    elif change == "headers":
        del headers["x-encord-signature"], headers["x-encord-timestamp"]
    return event


@pytest.mark.parametrize("change", ["signature", "body", "stale", "headers"])
def test_webhook_rejections_are_401_without_detail(
    double: EncordDouble, handler_setup: tuple[types.ModuleType, StandardSetup], change: str
) -> None:
    app, setup = handler_setup
    runs_before = len(app.repository.runs(setup.production_project_hash))  # the table lives for the session
    response = app.handler(_tampered(change), _context())
    assert response["statusCode"] == 401
    assert json.loads(response["body"]) == {"message": "unauthorized"}
    assert TEST_WEBHOOK_SECRET not in response["body"]
    assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}
    assert len(app.repository.runs(setup.production_project_hash)) == runs_before


def test_webhook_for_another_event_type_is_acknowledged_without_routing(
    double: EncordDouble, handler_setup: tuple[types.ModuleType, StandardSetup]
) -> None:
    app, setup = handler_setup
    event = _event("route_webhook.json")
    event["body"] = event["body"].replace("agent_stage_work_available_event", "something_else")
    timestamp = event["headers"]["x-encord-timestamp"]
    event["headers"]["x-encord-signature"] = sign(TEST_WEBHOOK_SECRET, timestamp, event["body"].encode())
    runs_before = len(app.repository.runs(setup.production_project_hash))
    response = app.handler(event, _context())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"message": "acknowledged"}
    assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}
    assert len(app.repository.runs(setup.production_project_hash)) == runs_before


class _FunctionUrl:
    """A Function URL in front of the handler: each POST becomes a payload-2.0 event, the handler's answer the
    HTTP response. Port 0, stopped by the context manager."""

    def __init__(self, app: types.ModuleType) -> None:
        import http.server
        import threading

        module = app

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                event = copy.deepcopy(_event("route_webhook.json"))
                event["headers"] = {k.lower(): v for k, v in self.headers.items()}
                event["body"] = body.decode()
                answer = module.handler(event, _context())
                payload = answer["body"].encode()
                self.send_response(answer["statusCode"])
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_notifications_the_double_sends_over_http(
    double: EncordDouble, handler_setup: tuple[types.ModuleType, StandardSetup]
) -> None:
    """Encord's side of the webhook: the double signs and POSTs its deliveries (docs' task-ready notifications,
    encord-agents' envelope) to the Function URL. Another event type is acknowledged and routes nothing; a
    version-2 envelope is 501; the agent-stage notification routes the stage."""
    from benchmark_qa_local.encord_double import notifications

    app, setup = handler_setup
    stage = setup.production_stages["Benchmark Task?"]
    with _FunctionUrl(app) as url:
        other = notifications.signed(
            notifications.envelope("task_submitted_event", {}), TEST_WEBHOOK_SECRET, timestamp=SAMPLE_TIMESTAMP
        )
        assert notifications.post(url, other)[0] == 200
        assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}

        with double.locked() as state:
            document = notifications.work_available(state, setup.production_project_hash, stage)
        assert document["payload"]["pending_count"] == 7
        newer = notifications.signed({**document, "version": 2}, TEST_WEBHOOK_SECRET, timestamp=SAMPLE_TIMESTAMP)
        assert notifications.post(url, newer)[0] == 501
        assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}

        status, body = notifications.post(
            url, notifications.signed(document, TEST_WEBHOOK_SECRET, timestamp=SAMPLE_TIMESTAMP)
        )
    assert status == 200
    assert json.loads(body)["status"] == "finished"
    assert set(stage_of(double, setup).values()) == {"Consensus 1 Annotate", "Annotate 1"}
