"""S3 upload -> manifest -> Encord upload job -> items linked to the dataset, through the template's own
functions, queues and schedules, with the unmodified SDK talking to the Encord double."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from benchmark_qa.encord.registration import external_manifest_id
from benchmark_qa_local.encord_double import FaultConfig, FaultRule

from .conftest import App, objects, repository, run_until_registered, storage_urls

pytestmark = pytest.mark.integration

FILES = (
    "benchmark/street scene 1.jpg",
    "benchmark/café+2.png",
    "production/clips/drive.mp4",
    "production/notes.pdf",
    "benchmark/dicom/Series A/slice10.dcm",
    "benchmark/dicom/Series A/slice2.dcm",
    "benchmark/dicom/Series A/_READY",
)


def dataset_items(app: App) -> Counter[str]:
    with app.double.locked() as state:
        return Counter(u.backing_item_uuid for u in state.data_units.values() if u.backing_item_uuid)


def test_uploads_are_registered_into_the_right_folder_and_dataset(app: App) -> None:
    for key in FILES:
        app.upload(key, b"" if key.endswith("_READY") else None)

    run_until_registered(app)

    records = objects(app)
    media = {k: r for k, r in records.items() if r.role in ("item", "group_member")}
    assert set(media) == {k for k in FILES if not k.endswith("_READY")}
    assert {r.status for r in media.values()} == {"registered"}
    with app.double.locked() as state:
        units = {u.data_hash: u for u in state.data_units.values()}
    for record in media.values():
        assert record.encord is not None
        unit = units[record.encord["data_hash"]]
        expected = (
            app.setup.benchmark_dataset_hash
            if record.key.startswith("benchmark/")
            else app.setup.production_dataset_hash
        )
        assert unit.dataset_hash == expected, record.key
        assert record.encord["dataset_hash"] == expected
    # The DICOM series is one data unit holding both files, in natural order.
    series = {r.encord["data_hash"] for k, r in media.items() if "/dicom/" in k if r.encord}
    assert len(series) == 1
    (series_unit,) = (units[h] for h in series)
    with app.double.locked() as state:
        item = state.storage_items[series_unit.backing_item_uuid or ""]
    assert [u.rsplit("/", 1)[-1] for u in item.urls] == ["slice2.dcm", "slice10.dcm"]
    assert sum(storage_urls(app).values()) == 6


def test_a_repeated_manifest_notification_starts_no_second_job(app: App) -> None:
    app.upload("benchmark/one.jpg")
    run_until_registered(app)
    with app.double.locked() as state:
        jobs_before = len(state.upload_jobs)
    manifest = next(r for r in repository(app).all_objects() if r.key == "benchmark/one.jpg").manifest_id
    manifest_key = repository(app).get_manifest(manifest or "")["s3_key"]

    # S3 and SQS deliver at least once: the same notification again, as S3 would send it.
    queue = app.stack.physical_id("RegisterQueue")
    body = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "awsRegion": "us-east-1",
                "s3": {"bucket": {"name": app.bucket}, "object": {"key": manifest_key, "size": 10}},
            }
        ]
    }
    app.stack.boto3_client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    report = app.pump.drain()

    assert report.invocations >= 1
    with app.double.locked() as state:
        assert len(state.upload_jobs) == jobs_before
    assert storage_urls(app).total() == 1


def test_per_file_errors_are_recorded_against_the_object(app: App) -> None:
    with app.double.locked() as state:
        state.settings.failing_url_substrings = ["broken"]
    app.upload("production/ok.jpg")
    app.upload("production/broken.jpg")

    run_until_registered(app)

    records = objects(app)
    assert records["production/ok.jpg"].status == "registered"
    failed = records["production/broken.jpg"]
    assert failed.status == "failed"
    assert failed.reason is not None
    assert "Encord could not import it" in failed.reason
    assert "broken.jpg" in failed.reason


def test_twenty_percent_of_encord_requests_failing_registers_every_object_exactly_once(app: App) -> None:
    app.invoker.env_vars["RegisterFunction"]["RESTART_AFTER_SECONDS"] = "0"
    keys = [f"benchmark/batch/{i:02d}.jpg" for i in range(12)] + [f"production/batch/{i:02d}.jpg" for i in range(12)]
    for key in keys:
        app.upload(key)
    # 20 % of all Encord requests fail: throttled, server errors, and responses lost after the action applied.
    app.double.configure_faults(
        FaultConfig(
            seed=7,
            rules=[
                FaultRule(endpoint="*", kind="status", status=429, retry_after=0, probability=0.07),
                FaultRule(endpoint="*", kind="status", status=500, probability=0.07),
                FaultRule(endpoint="*", kind="drop", probability=0.06),
            ],
        )
    )

    run_until_registered(app, rounds=80)
    fired = dict(app.double.faults.fired)
    app.double.clear_faults()

    assert fired.get("status 429", 0) > 0
    assert fired.get("status 500", 0) > 0
    assert fired.get("drop", 0) > 0

    records = objects(app)
    assert {records[k].status for k in keys} == {"registered"}
    urls = storage_urls(app)
    assert len(urls) == len(keys)
    assert set(urls.values()) == {1}, "a URL was imported twice"
    linked = dataset_items(app)
    assert set(linked.values()) == {1}, "an item was linked twice"
    assert {r.encord["item_uuid"] for r in records.values() if r.encord} == set(linked)
    with app.double.locked() as state:
        data_hashes = {u.data_hash for u in state.data_units.values()}
    assert {r.encord["data_hash"] for r in records.values() if r.encord} <= data_hashes


def test_the_storage_folder_is_opened_once_per_invocation_not_per_manifest(app: App) -> None:
    folder_gets = "v2 GET storage/folders/{folder}"
    app.upload("benchmark/a.jpg")
    app.upload("production/b.jpg")
    app.double.counts.reset()

    app.pump.drain()  # two manifests (one per dataset, one seeded folder), started by one RegisterFunction batch

    assert len(repository(app).manifests_with_status("uploading")) == 2
    assert app.double.counts.get(folder_gets) == 1
    app.double.counts.reset()
    polls = 0
    while repository(app).manifests_with_status("uploading"):
        assert polls < 10, "the jobs never finished"
        app.pump.fire_schedule("RegisterFunction")
        polls += 1

    assert {r.status for k, r in objects(app).items() if k.endswith(".jpg")} == {"registered"}
    assert app.double.counts.get(folder_gets) == polls  # each poll polled both manifests


def test_a_manifest_written_by_hand_is_registered_once(app: App) -> None:
    url = f"https://{app.bucket}.s3.us-east-1.amazonaws.com/benchmark/by-hand/cat.jpg"
    document = {"images": [{"objectUrl": url, "title": "cat"}], "skip_duplicate_urls": True}
    key = "manifests/benchmark/by-hand.json"
    app.upload(key, json.dumps(document).encode())
    app.pump.drain()
    # The notification again (at-least-once), before and after the poller finishes the job.
    body = {
        "Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": app.bucket}, "object": {"key": key}}}]
    }
    queue = app.stack.physical_id("RegisterQueue")
    app.stack.boto3_client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    for _ in range(5):
        app.pump.drain()
        app.pump.fire_schedule("RegisterFunction").raise_for_error()
    app.stack.boto3_client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    app.pump.drain()

    manifest = repository(app).get_manifest(external_manifest_id(key))
    assert manifest["manifest_kind"] == "external"
    assert manifest["status"] == "registered", manifest
    assert storage_urls(app)[url] == 1
    with app.double.locked() as state:
        assert len(state.upload_jobs) == 1
