"""The leaderboard published by the stack: ReportFunction, run by its schedule on the local stack (moto, built from
template.yaml) against the Encord double, joins the time Encord measured to the stored scores and writes HTML, CSV
and JSON into the private, versioned, encrypted reports bucket; `benchmark-qa report --open` fetches the latest
and opens it. A failure to read time from Encord is a note on the page, never a missing report."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from benchmark_qa.leaderboard import Leaderboard
from benchmark_qa.leaderboard.publish import latest_key
from benchmark_qa.store.scores import AnnotatorResult, ClassCounts
from benchmark_qa_local.cli import main
from benchmark_qa_local.encord_double import DoubleState, FaultKind, FaultRule
from benchmark_qa_local.encord_double.analytics import record_time_spent
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.offline import OfflineApp, offline_app

from tests.integration.encord_double.conftest import make_client, route_benchmark_to_consensus

pytestmark = pytest.mark.integration

ITEMS = 20  # the template's MIN_TASKS: both annotators are ranked
RATE = 40.0
SKILL = {0: 0.95, 1: 0.6}  # by the annotator's position on the consensus stage
SECONDS = {0: 300, 1: 120}


def _seed(state: DoubleState) -> StandardSetup:
    return seed_standard_setup(state, benchmark_items=ITEMS, production_items=1)


def _work(app: OfflineApp) -> None:
    """Benchmark tasks reach the consensus stage; each annotator spends its time on each (the editor's timer) and
    gets a score there: the first annotator better on every item."""
    route_benchmark_to_consensus(make_client(app.double), app.setup)
    today = dt.datetime.now(dt.UTC).date()
    with app.double.locked() as state:
        project = state.projects[app.setup.production_project_hash]
        tasks = [t.model_copy(deep=True) for t in project.tasks.values() if t.subtasks]
        for task in tasks:
            for k, sub in enumerate(task.subtasks):
                record_time_spent(state, project.project_hash, task.uuid, sub.annotator, SECONDS[k], today)
    for task in tasks:
        for k, sub in enumerate(task.subtasks):
            app.scores.put_result(
                AnnotatorResult(
                    project_hash=app.setup.production_project_hash,
                    task_uuid=task.uuid,
                    data_hash=task.data_hash,
                    annotator=sub.annotator,
                    branch_name=sub.branch_name,
                    label_hash=str(uuid.uuid4()),
                    score=SKILL[k],
                    interval_low=0.0,
                    interval_high=1.0,
                    n=10,
                    classes={"Car": ClassCounts(tp=round(10 * SKILL[k]), fp=1, fn=1, similarity_sum=5.0)},
                )
            )


@pytest.fixture(scope="module")
def app() -> Iterator[OfflineApp]:
    name = f"bqa-report-{uuid.uuid4().hex[:6]}"
    parameters = {"AnnotatorHourlyRate": str(RATE)}
    with (
        offline_app(OfflineApp, _seed, stack_name=name, parameters=parameters) as app,
        mock.patch.dict(os.environ, app.stack.env()),  # the CLI's own boto3 calls reach the stack
    ):
        _work(app)
        yield app


def _s3(app: OfflineApp) -> Any:
    return app.stack.boto3_client("s3")


def _latest(app: OfflineApp) -> Leaderboard:
    body = _s3(app).get_object(Bucket=app.stack.physical_id("ReportsBucket"), Key=latest_key("json"))["Body"].read()
    return Leaderboard.model_validate_json(body)


def test_a_scheduled_run_publishes_html_csv_and_json(app: OfflineApp) -> None:
    summary = app.pump.fire_schedule("ReportFunction").raise_for_error()

    bucket = app.stack.physical_id("ReportsBucket")
    assert summary["bucket"] == bucket
    assert app.stack.outputs["ReportsBucketName"] == bucket
    assert app.stack.outputs["LatestReportUrl"] == f"s3://{bucket}/latest/leaderboard.html"
    s3 = _s3(app)
    for fmt, content_type in (("html", "text/html"), ("csv", "text/csv"), ("json", "application/json")):
        head = s3.head_object(Bucket=bucket, Key=latest_key(fmt))
        assert head["ContentType"].startswith(content_type)
        assert s3.head_object(Bucket=bucket, Key=summary["keys"][fmt])["ContentLength"] == head["ContentLength"]
    board = _latest(app)
    assert board.tasks == 2 * ITEMS
    best, other = board.annotators
    assert (best.rank, other.rank) == (1, 2), "20 shared items, each won"
    # the time Encord measured, joined task by task: 5 and 2 minutes per task
    assert (best.time.tasks_timed, best.time.minutes_per_task) == (ITEMS, 5.0)
    assert (other.time.tasks_timed, other.time.minutes_per_task) == (ITEMS, 2.0)
    assert best.time.cost_per_correct == pytest.approx(ITEMS * 300 / 3600 * RATE / (ITEMS * 10))
    assert board.hourly_rate == RATE


def test_the_reports_bucket_is_private_versioned_and_encrypted(app: OfflineApp) -> None:
    s3, bucket = _s3(app), app.stack.physical_id("ReportsBucket")
    app.pump.fire_schedule("ReportFunction").raise_for_error()
    app.pump.fire_schedule("ReportFunction").raise_for_error()

    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block[k] for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    versions = s3.list_object_versions(Bucket=bucket, Prefix=latest_key("html"))["Versions"]
    assert len(versions) >= 2, "every earlier latest stays readable"


def test_report_open_fetches_the_latest_and_opens_it(
    app: OfflineApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app.pump.fire_schedule("ReportFunction").raise_for_error()
    opened: list[str] = []

    def record(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr("webbrowser.open", record)
    monkeypatch.setenv("REPORTS_BUCKET", app.stack.physical_id("ReportsBucket"))

    assert main(["report", "--open", "--out", str(tmp_path)]) == 0

    page = tmp_path / "leaderboard.html"
    assert opened == [page.resolve().as_uri()]
    assert Leaderboard.model_validate_json((tmp_path / "leaderboard.json").read_text()) == _latest(app)
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "leaderboard.csv").read_text().startswith("row_type,")
    assert f"opened {page.resolve()}" in capsys.readouterr().out


def test_report_open_says_what_to_do_without_a_bucket_or_a_report(
    app: OfflineApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REPORTS_BUCKET", raising=False)
    assert main(["report", "--open"]) == 2
    assert "--bucket" in capsys.readouterr().err
    empty = f"empty-{uuid.uuid4().hex[:6]}"
    _s3(app).create_bucket(Bucket=empty)

    assert main(["report", "--open", "--bucket", empty, "--out", str(tmp_path)]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nothing published there yet" in err
    assert "Traceback" not in err


def test_encord_failing_is_a_note_on_the_page_not_a_missing_report(app: OfflineApp) -> None:
    app.double.add_fault(FaultRule(endpoint="v2 GET analytics/time-spent", kind=FaultKind.STATUS, status=400))
    try:
        summary = app.pump.fire_schedule("ReportFunction").raise_for_error()
    finally:
        app.double.clear_faults()

    assert summary["time_error"] is not None
    board = _latest(app)
    assert any("time spent could not be read from Encord" in note for note in board.notes)
    assert board.annotators[0].time.tasks_timed == ITEMS, "the time joined earlier is still there"
