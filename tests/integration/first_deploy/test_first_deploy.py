"""A first deploy in the README's order: the stack runs before the Encord key is stored (and, for registration,
before the cloud integration exists). Until then every Encord-facing run skips with one log line and the
SkippedNotReady metric: nothing fails, so nothing lands in a dead-letter queue and no alarm fires. Once the key and
the integration are there, the same schedules do the work, including what waited."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from unittest import mock

import pytest
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository
from benchmark_qa_local import samples
from benchmark_qa_local.encord_double import DoubleState, EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import InvocationResult, Invoker
from benchmark_qa_local.offline import encord_parameters
from benchmark_qa_local.stack import LocalStack

pytestmark = pytest.mark.integration

ENCORD_SCHEDULES = ("RegisterFunction", "RouteFunction", "ScoreFunction")


def _skip_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The functions' log records (caplog sees them whichever stream Powertools' handler writes to)."""
    return [r for r in caplog.records if r.name == "benchmark-qa" and " skipped: " in r.getMessage()]


def _skipped_metric(result: InvocationResult) -> float:
    documents = [json.loads(line) for line in result.logs.splitlines() if line.startswith('{"_aws"')]
    return sum(sum(d.get("SkippedNotReady", [0])) for d in documents)


@pytest.fixture
def fresh(tmp_path) -> Iterator[tuple[LocalStack, EventSourcePump, EncordDouble, StandardSetup]]:
    """setup has run (the parameters are set) but nobody has stored the key nor named the integration yet."""
    with EncordDouble(DoubleState()) as double:
        with double.locked() as state:
            setup = seed_standard_setup(state, benchmark_items=0, production_items=0)
        parameters = {**encord_parameters(double.url, setup), "EncordIntegrationId": ""}
        with LocalStack(parameters=parameters, stack_name=f"bqa-fresh-{uuid.uuid4().hex[:6]}") as stack:
            invoker = Invoker(stack=stack, env_vars={"RegisterFunction": {"RESTART_AFTER_SECONDS": "0"}})
            with mock.patch.dict(os.environ, stack.env()):
                yield stack, EventSourcePump(stack, invoker), double, setup


def test_every_encord_schedule_skips_with_one_line_and_a_metric_until_the_key_is_stored(fresh, caplog):
    stack, pump, _, _ = fresh

    results = {}
    for name in ENCORD_SCHEDULES:
        caplog.clear()
        results[name] = pump.fire_schedule(name)
        [line] = _skip_lines(caplog)
        assert line.levelname == "WARNING"

    for name, result in results.items():
        assert result.ok, (name, result.error)
        assert result.payload["skipped"], name
        assert _skipped_metric(result) == 1
    assert "INTEGRATION_ID is empty" in results["RegisterFunction"].payload["reason"]
    assert "put-secret-value --secret-id" in results["RouteFunction"].payload["reason"]
    assert "no Encord key stored" in results["ScoreFunction"].payload["reason"]
    sqs = stack.boto3_client("sqs")
    depth = sqs.get_queue_attributes(
        QueueUrl=stack.physical_id("ScheduleDeadLetterQueue"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert depth == "0"


def test_the_leaderboard_is_published_before_the_key_and_its_time_sync_waits(fresh, caplog):
    stack, pump, _, _ = fresh

    result = pump.fire_schedule("ReportFunction")

    assert result.ok, result.error
    assert result.payload["time_error"] is None, "a key not stored yet is not a failure"
    assert "no Encord key stored" in result.payload["time_waiting"]
    [line] = _skip_lines(caplog)
    assert line.levelname == "WARNING"
    assert _skipped_metric(result) == 1
    page = stack.boto3_client("s3").get_object(Bucket=stack.physical_id("ReportsBucket"), Key="latest/leaderboard.json")
    notes = json.loads(page["Body"].read())["notes"]
    assert any("put-secret-value --secret-id" in note for note in notes)


def test_the_webhook_answers_503_until_encords_secret_is_stored(fresh, caplog):
    _, pump, _, _ = fresh

    response, _ = pump.call_function_url(
        "RouteFunction", "POST", body="{}", headers={"x-encord-signature": "00", "x-encord-timestamp": "1"}
    )

    assert response["statusCode"] == 503
    assert json.loads(response["body"]) == {"message": "not ready"}
    [line] = _skip_lines(caplog)
    assert "webhook secret Encord generated is not stored yet" in line.getMessage()


def test_uploads_wait_for_the_key_and_the_integration_then_register(fresh, monkeypatch):
    """The README's order: deploy, then store the key, then (after the integration exists) set its id."""
    stack, pump, double, setup = fresh
    s3 = stack.boto3_client("s3")
    bucket = stack.physical_id("UploadBucket")
    s3.put_object(Bucket=bucket, Key="benchmark/early.jpg", Body=samples.for_key("benchmark/early.jpg"))

    drained = pump.drain()  # the manifest is written; RegisterFunction skips its message without failing it
    uploads = UploadsRepository(state_table(stack.physical_id("StateTable"), stack.region))
    [manifest] = uploads.manifests_with_status("written")

    assert drained.errors == 0
    assert drained.dead_letters == 0
    key = double.register_key()
    stack.boto3_client("secretsmanager").put_secret_value(
        SecretId=stack.physical_id("EncordKeySecret"), SecretString=key.private_openssh
    )
    # The integration id arrives with the next deploy (setup's parameters): the function's environment.
    pump.invoker.env_vars["RegisterFunction"]["INTEGRATION_ID"] = setup.integration_hash
    for _ in range(3):
        pump.fire_schedule("RegisterFunction", cold=True).raise_for_error()
    [record] = [r for r in uploads.all_objects() if r.key == "benchmark/early.jpg"]

    assert uploads.get_manifest(manifest["manifest_id"])["status"] == "registered"
    assert record.status == "registered"
    assert record.encord is not None
    assert record.encord["dataset_hash"] == setup.benchmark_dataset_hash
