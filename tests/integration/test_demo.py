"""`make demo` end to end: the whole Benchmark QA workflow offline must recover the simulated annotators' order,
find the planted wrong ground truth and the annotator who drifts in week 2, and the leaderboard the stack publishes
must show it honestly. With --keep, the stack and the double stay up and
`status`, `report` and `route` work on them through the export lines the demo prints."""

from __future__ import annotations

import io
import os
import re
import shlex
import threading
from pathlib import Path
from typing import cast
from unittest import mock

import pytest
from benchmark_qa.leaderboard import Leaderboard
from benchmark_qa.store.scores import Entry
from benchmark_qa_local import demo
from benchmark_qa_local.cli import main
from benchmark_qa_local.cli.demo import exports, keep_running
from benchmark_qa_local.simulation import EXPECTED_ORDER
from benchmark_qa_local.simulation.drift_stream import drifting_team

pytestmark = pytest.mark.integration


def use_the_kept_stack(world: demo.DemoWorld, folder: Path, checks: dict[str, object]) -> None:
    """What a user does in another terminal while `demo --keep` waits: paste the export line, run commands."""
    stop = threading.Event()
    printed = io.StringIO()
    with mock.patch("sys.stdout", printed):
        waiting = threading.Thread(target=keep_running, args=(world, folder / "demo.key", stop))
        waiting.start()
        try:
            variables, _ = exports(world, folder / "demo.key")
            with mock.patch.dict(os.environ, variables), mock.patch("webbrowser.open", return_value=True):
                checks["status"] = main(["status"])
                checks["open"] = main(["report", "--open", "--out", str(folder / "fetched")])
                checks["report"] = main(["report", "--out", str(folder / "board.json")])
                route = ["route", "--domain", variables["ENCORD_DOMAIN"], "--key-file", str(folder / "demo.key")]
                route += ["--project", world.setup.production_project_hash]
                route += ["--benchmark-dataset", world.setup.benchmark_dataset_hash, "--dry-run"]
                checks["route"] = main(route)
        finally:
            stop.set()
            waiting.join(timeout=10)
    checks["printed"] = printed.getvalue()


def hold(world: demo.DemoWorld, folder: Path, checks: dict[str, object]) -> None:
    """While the stack runs: the drifting annotator's ledger, then what a user does with --keep."""
    checks["drifts_ledger"] = next(a for a in world.scores.aggregates() if a.annotator == demo.DRIFTING).entries
    use_the_kept_stack(world, folder, checks)


def test_the_demo_runs_the_workflow_and_the_leaderboard_recovers_the_true_order(tmp_path: Path) -> None:
    lines: list[str] = []
    report = tmp_path / "leaderboard.html"
    checks: dict[str, object] = {}

    world = demo.run(
        say=lines.append,
        report_path=report,
        function_logs=io.StringIO(),
        hold=lambda w: hold(w, tmp_path, checks),
    )

    text = "\n".join(lines)
    assert world.ranking_recovered, text
    assert world.leaderboard is not None
    board = world.leaderboard
    assert {row.annotator for row in board.annotators} == set(drifting_team(1)), "six annotators, both weeks"
    stable = [row for row in board.annotators if row.annotator != demo.DRIFTING]
    assert [row.annotator.split("@")[0] for row in stable] == list(EXPECTED_ORDER)
    assert all(row.tasks == demo.BENCHMARK_IMAGES for row in board.annotators)
    ranks = [row.rank or 0 for row in board.annotators]
    assert ranks == sorted(ranks)
    assert ranks[0] == 1
    assert [row.rank for row in stable[:3]] == [1, 2, 3], "20 shared items separate the three best stable ones"
    # Routing sent every benchmark task YES, production NO; scored tasks were archived.
    assert "Annotate 1: 9, Archive: 20, Consensus 1 Annotate: 3" in text
    assert "open scoring errors: 0" in text
    assert "the leaderboard recovers the annotators' true order: yes" in text
    # Four ground-truth labels were planted wrong: the audit flags exactly those images (docs/annotator-quality.md).
    assert len(world.planted) == demo.PLANTED_ERRORS
    assert world.planted_found, text
    assert "every planted mistake found, nothing else flagged: yes" in text
    assert "shapes of Car" in text
    # ... and the published report lists them, with their evidence, beside agreement per class (quality section)
    assert board.quality is not None
    assert {f.data_hash for f in board.quality.flags} == {p.data_hash for p in world.planted}
    assert all(f.against_truth and f.message for f in board.quality.flags)
    assert any(a.measure == "shapes of Car" and a.alpha is not None for a in board.quality.agreement)
    # drifts@ turns careless in week 2 (its own ScoreFunction run): ReportFunction's drift check marks them alone.
    assert world.drift_found, text
    assert "the report marks drift on drifts@benchmark-qa.local only, raised in week 2: yes" in text
    [mark] = board.quality.drift
    assert (mark.annotator, mark.stream) == (demo.DRIFTING, "score")
    week2 = world.week_scored[2]
    assert mark.changed_at >= week2, "the change is dated to a week-2 task, not earlier"
    assert mark.tasks_to_alarm <= 6, "found within six tasks of the change"
    assert mark.recent_mean < mark.baseline_mean - 0.15
    ledger = cast("list[Entry]", checks["drifts_ledger"])
    week2_tasks = [e.task_uuid for e in ledger if e.scored_at >= week2]
    assert len(week2_tasks) == demo.BENCHMARK_IMAGES // demo.WEEKS
    assert mark.changed_task == week2_tasks[0], "dated to the first task of week 2, where the change is"
    # The published report's drill-down: loose boxes are loose (not missed + added), directions, sizes, time.
    rows = {row.annotator.split("@")[0]: row for row in board.annotators}
    assert rows["sloppy-boxes"].conflicts[0].name == "low_overlap"
    assert ("Car", "Truck") in {(c.truth, c.annotated) for c in rows["confuses-car-truck"].confusion}
    sizes = {s.size: s for s in rows["misses-small"].sizes}
    assert min(s.recall.value or 0.0 for s in sizes.values()) < 0.5, "the misser's defining error shows by size"
    assert all(row.time.tasks_timed == demo.BENCHMARK_IMAGES for row in board.annotators)
    assert all(row.time.cost_per_correct is not None for row in board.annotators)
    assert rows["wrong-attributes"].choices, "which radio answers it gave instead"
    worst = rows["sloppy-boxes"].worst[0]
    assert worst.editor_url is not None
    # the double's domain is not Encord's, so links keep it: the label editor path of the Production Project
    assert re.match(rf"http://127\.0\.0\.1:\d+/label_editor/{world.setup.production_project_hash}/", worst.editor_url)
    html = report.read_text()
    assert all(f"{name}@" in html for name in EXPECTED_ORDER)
    drift_rows = re.findall(r"<tr class='drift'>.*?</tr>", html)
    assert len(drift_rows) == 1, drift_rows
    [row] = drift_rows
    assert demo.DRIFTING in row
    assert mark.changed_task in row
    assert not any(f"{name}@" in row for name in EXPECTED_ORDER), "no stable annotator is marked"
    assert "<svg" in html
    # --keep: the export lines work for status, report (published and from the table) and route
    assert {k: checks[k] for k in ("status", "open", "report", "route")} == {
        "status": 0,
        "open": 0,
        "report": 0,
        "route": 0,
    }
    assert (tmp_path / "fetched" / "leaderboard.html").read_bytes() == report.read_bytes()
    fresh = Leaderboard.model_validate_json((tmp_path / "board.json").read_text())
    assert [r.annotator for r in fresh.annotators] == [r.annotator for r in board.annotators]
    printed = str(checks["printed"])
    export = next(line for line in printed.splitlines() if line.startswith("export "))
    variables = dict(part.split("=", 1) for part in shlex.split(export)[1:])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", variables["AWS_ENDPOINT_URL"])
    assert variables["REPORTS_BUCKET"].endswith("reportsbucket")
    assert {"STATE_TABLE", "AWS_DEFAULT_REGION", "ENCORD_DOMAIN"} <= variables.keys()
    assert "benchmark-qa report --open" in printed
