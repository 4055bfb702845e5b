"""Every events/manifest_*.json and events/register_*.json sample, invoked through its handler as
`benchmark-qa invoke` (or `sam local invoke -e`) would, against the local stack and the Encord double.

The samples name the default local stack's bucket; the tests swap in their own stack's names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository

from .conftest import App

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[3] / "events"
DEFAULT_BUCKET = "benchmark-qa-local-uploads-123456789012"


def load_event(app: App, name: str) -> dict[str, Any]:
    text = (EVENTS / name).read_text()
    event: dict[str, Any] = json.loads(text.replace(DEFAULT_BUCKET, app.bucket))
    return event


def statuses(app: App) -> dict[str, tuple[str, str | None]]:
    repository = UploadsRepository(state_table(app.stack.physical_id("StateTable")))
    return {r.key: (r.status, r.reason) for r in repository.all_objects()}


def test_manifest_upload_event_writes_a_manifest_and_ignores_the_test_event(app: App) -> None:
    result = app.invoker.invoke("ManifestFunction", load_event(app, "manifest_upload.json"))

    assert result.ok, result.error
    assert result.payload == {"batchItemFailures": []}
    recorded = statuses(app)
    # '+' in an S3 event key is a space; %C3%A9 is é.
    assert recorded["benchmark/street scene 1.jpg"][0] == "in_manifest"
    assert recorded["production/videos/clipé.mp4"][0] == "in_manifest"
    listing = app.stack.boto3_client("s3").list_objects_v2(Bucket=app.bucket, Prefix="manifests/")
    keys = sorted(o["Key"] for o in listing["Contents"])
    assert [k.split("/")[1] for k in keys] == ["benchmark", "production"]


def test_manifest_bad_input_event_records_every_outcome_and_fails_nothing(app: App) -> None:
    result = app.invoker.invoke("ManifestFunction", load_event(app, "manifest_bad_input.json"))

    assert result.ok, result.error
    assert result.payload == {"batchItemFailures": []}, "bad input is recorded, never retried into the DLQ"
    recorded = statuses(app)
    assert recorded["benchmark/notes.xyz"][0] == "skipped"
    assert "unknown file type" in (recorded["benchmark/notes.xyz"][1] or "")
    assert recorded["benchmark/zero.png"][0] == "skipped"
    assert recorded["benchmark/empty-folder/"][0] == "skipped"
    table = app.stack.boto3_client("dynamodb")
    bad = table.get_item(
        TableName=app.stack.physical_id("StateTable"),
        Key={"pk": {"S": "MESSAGE#00000000-0000-4000-8000-000000000000"}, "sk": {"S": "MESSAGE"}},
    )["Item"]
    assert "not JSON" in bad["reason"]["S"]


def test_manifest_sweep_event_closes_a_quiet_group(app: App) -> None:
    app.invoker.env_vars["ManifestFunction"] = {"GROUP_QUIET_SECONDS": "0"}
    app.upload("benchmark/image-groups/lot/a.jpg")
    app.upload("benchmark/image-groups/lot/b.jpg")
    app.pump.drain(function="ManifestFunction")
    assert statuses(app)["benchmark/image-groups/lot/a.jpg"][0] == "pending", "no marker: the group waits"

    result = app.invoker.invoke("ManifestFunction", load_event(app, "manifest_sweep.json"))

    assert result.ok, result.error
    assert result.payload["sweep"] is True
    assert len(result.payload["manifests"]) == 1
    assert {statuses(app)[f"benchmark/image-groups/lot/{n}.jpg"][0] for n in "ab"} == {"in_manifest"}


def test_register_manifest_event_starts_one_upload_job(app: App) -> None:
    document = {"images": [{"objectUrl": f"https://{app.bucket}.s3.us-east-1.amazonaws.com/benchmark/x.jpg"}]}
    app.upload("manifests/benchmark/20261124T120000-demo0001.json", json.dumps(document).encode())

    event = load_event(app, "register_manifest.json")
    first = app.invoker.invoke("RegisterFunction", event)
    again = app.invoker.invoke("RegisterFunction", event)

    assert first.ok, first.error
    assert again.ok, again.error
    with app.double.locked() as state:
        assert len(state.upload_jobs) == 1, "a repeated event must not start a second job"


def test_register_poll_event_finishes_jobs(app: App) -> None:
    app.upload("benchmark/poll.jpg")
    app.pump.drain()

    result = app.invoker.invoke("RegisterFunction", load_event(app, "register_poll.json"))

    assert result.ok, result.error
    assert set(result.payload) == {"finished", "pending", "restarted", "errors"}
    assert result.payload["errors"] == {}
    for _ in range(5):
        if statuses(app)["benchmark/poll.jpg"][0] == "registered":
            break
        app.invoker.invoke("RegisterFunction", load_event(app, "register_poll.json")).raise_for_error()
    assert statuses(app)["benchmark/poll.jpg"][0] == "registered"
