"""The report's quality section on the local stack (moto, built from template.yaml): ReportFunction runs the
drift monitor on its schedule, writes each alarm once as a DRIFT# event (a second run adds none), and publishes a
report whose HTML, CSV and JSON show the ground-truth flags with their evidence, agreement per class and the drift
marks (docs/annotator-quality.md)."""

from __future__ import annotations

import csv
import io
import os
import random
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import cast
from unittest import mock

import pytest
from benchmark_qa.agreement import AlphaSums
from benchmark_qa.agreement_report import TaskAgreement
from benchmark_qa.ground_truth_audit import Flag
from benchmark_qa.leaderboard import Leaderboard
from benchmark_qa.leaderboard.publish import latest_key
from benchmark_qa.store.quality import FlagRecord, QualityRepository
from benchmark_qa.store.scores import AnnotatorResult, ClassCounts
from benchmark_qa.store.table import state_table
from benchmark_qa_local.encord_double.seed import seed_standard_setup
from benchmark_qa_local.offline import OfflineApp, offline_app

pytestmark = pytest.mark.integration

TASKS = 60
CHANGE_AT = 35  # the drifting annotator's 36th task is the first after the change
STEADY, DRIFTING = "steady@example.com", "drifting@example.com"


def _result(annotator: str, i: int, score: float) -> AnnotatorResult:
    return AnnotatorResult(
        project_hash="production",
        task_uuid=f"task-{i:03d}",
        data_hash=f"data-{i:03d}",
        annotator=annotator,
        branch_name=f"b-{annotator}",
        label_hash=f"label-{annotator}-{i:03d}",
        scored_at=f"2026-11-{1 + i // 24:02d}T{i % 24:02d}:00:00.000+00:00",
        score=score,
        interval_low=0.0,
        interval_high=1.0,
        n=10,
        classes={"Car": ClassCounts(tp=round(10 * score), fp=1, fn=1, similarity_sum=5.0)},
    )


def _seed(app: OfflineApp) -> QualityRepository:
    rng = random.Random(7)
    for i in range(TASKS):
        app.scores.put_result(_result(STEADY, i, min(1.0, rng.gauss(0.9, 0.03))))
        app.scores.put_result(_result(DRIFTING, i, min(1.0, rng.gauss(0.9 if i < CHANGE_AT else 0.6, 0.03))))
    quality = QualityRepository(state_table(app.stack.physical_id("StateTable"), app.stack.region))
    flag = Flag(
        flag_id="flag-planted",
        kind="class_disputed",
        data_hash="data-007",
        data_unit="street scene 7.jpg",
        frame_first=0,
        frame_last=0,
        frames=1,
        truth_object="obj-1",
        truth_class="Truck",
        truth_value="Truck",
        consensus_value="Car",
        annotators=5,
        against_truth=["a@x", "b@x", "c@x", "d@x"],
        with_truth=["e@x"],
        agreement_with_truth=0.12,
        agreement_with_each_other=0.91,
        message="4 of 5 annotators label this object Car; the benchmark says Truck",
    )
    quality.add_flag(FlagRecord(flag=flag, task_uuid="task-007"))
    car = AlphaSums()
    for a, b in ((0.9, 0.8), (0.7, 0.75), (0.2, 0.3)):
        car.add_unit([a, b], lambda x, y: 1.0 - abs(cast("float", x) - cast("float", y)))
    quality.put_agreement("task-007", TaskAgreement(tasks=1, shapes_by_class={"Car": car}), "2026-11-01T00:00:00Z")
    return quality


@pytest.fixture(scope="module")
def app() -> Iterator[OfflineApp]:
    def seed(state: object) -> object:
        return seed_standard_setup(state, benchmark_items=1, production_items=1)  # type: ignore[arg-type]

    name = f"bqa-quality-{uuid.uuid4().hex[:6]}"
    with (
        offline_app(OfflineApp, seed, stack_name=name) as app,  # type: ignore[arg-type]
        mock.patch.dict(os.environ, app.stack.env()),  # the test's own boto3 calls reach the stack
    ):
        yield app


class _Rows(HTMLParser):
    """The text of each table row, by the id of the table it is in."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[str]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id")
        elif tag == "tr" and self._table:
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._table and self._row is not None:
            self.tables.setdefault(self._table, []).append(" ".join(t for t in self._row if t.strip()))
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self._row.append(data.strip())


def test_the_report_shows_flags_agreement_and_drift_found_once(app: OfflineApp) -> None:
    quality = _seed(app)

    first = app.pump.fire_schedule("ReportFunction").raise_for_error()
    second = app.pump.fire_schedule("ReportFunction").raise_for_error()

    assert first["drift"]["drift_events_new"] == 1, first["drift"]
    assert second["drift"]["drift_events_new"] == 0, "a re-run writes no event twice"
    events = quality.drift_events()
    assert [(a, e.stream) for a, e in events] == [(DRIFTING, "score")], "the steady annotator raised no alarm"
    event = events[0][1]
    # the mark spans the real change: from the dated change (S last at 0) to the alarm
    assert event.change_index <= CHANGE_AT <= event.alarm_index, event
    assert event.alarm_index - CHANGE_AT <= 5, "found within a few tasks of the change"

    s3 = app.stack.boto3_client("s3")
    bucket = app.stack.physical_id("ReportsBucket")
    html = s3.get_object(Bucket=bucket, Key=latest_key("html"))["Body"].read().decode()
    rows = _Rows()
    rows.feed(html)
    flag_rows = rows.tables["ground-truth-flags"][1:]
    assert len(flag_rows) == 1
    for evidence in ("class_disputed", "Truck → Car", "4 of 5", "0.120", "0.910", "street scene 7.jpg"):
        assert evidence in flag_rows[0], flag_rows
    agreement = {r.split(" ")[2]: r for r in rows.tables["agreement"][1:] if r.startswith("shapes of")}
    assert f"{quality.agreements()[0].shapes_by_class['Car'].alpha:.3f}" in agreement["Car"]
    drift_rows = rows.tables["drift"][1:]
    assert len(drift_rows) == 1
    assert DRIFTING.split("@", maxsplit=1)[0] in drift_rows[0]
    assert f"task-{event.change_index:03d}" in drift_rows[0], "where: the first task after the change"

    board = Leaderboard.model_validate_json(s3.get_object(Bucket=bucket, Key=latest_key("json"))["Body"].read())
    assert board.quality is not None
    assert board.quality.drift[0].changed_task == f"task-{event.change_index:03d}"
    text = s3.get_object(Bucket=bucket, Key=latest_key("csv"))["Body"].read().decode()
    table = list(csv.DictReader(io.StringIO(text)))
    kinds = {r["row_type"] for r in table}
    assert {"ground_truth_flag", "agreement", "drift"} <= kinds
