"""`benchmark-qa report` against the state table on the local stack: results written by ScoresRepository, read
back by the CLI, and each format checked against what was written."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path

import pytest
from benchmark_qa.leaderboard import NOT_ENOUGH_EVIDENCE, Leaderboard
from benchmark_qa.store.scores import AnnotatorResult
from benchmark_qa_local.cli import main
from benchmark_qa_local.stack import LocalStack

from tests.integration.leaderboard.conftest import DAYS, MIN_TASKS, NEWCOMER, SCORES, Seeded

pytestmark = pytest.mark.integration

EXPECTED_ORDER = [*sorted(SCORES, key=lambda a: -SCORES[a]), NEWCOMER[0]]


def _by_annotator(results: list[AnnotatorResult]) -> dict[str, list[AnnotatorResult]]:
    grouped: dict[str, list[AnnotatorResult]] = defaultdict(list)
    for r in results:
        grouped[r.annotator].append(r)
    return grouped


def _report(table: str, out: Path, *extra: str) -> int:
    return main(["report", "--table", table, "--out", str(out), "--min-tasks", str(MIN_TASKS), *extra])


def test_json_report_matches_what_was_written(
    aws_env: LocalStack, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "board.json"

    assert _report(seeded.table, out) == 0

    board = Leaderboard.model_validate_json(out.read_text(encoding="utf-8"))
    assert [a.annotator for a in board.annotators] == EXPECTED_ORDER
    assert [a.rank for a in board.annotators] == [1, 2, 3, None]
    assert board.annotators[-1].status == NOT_ENOUGH_EVIDENCE
    assert board.tasks == len(seeded.results), "the repeated put_result is not counted twice"
    assert board.open_errors == seeded.open_errors
    assert board.notes == [], "the running aggregates agree with the results"
    assert board.periods == list(DAYS)
    assert [(c.first, c.second, c.better) for c in board.comparisons if c.better] == [
        (EXPECTED_ORDER[0], EXPECTED_ORDER[1], EXPECTED_ORDER[0]),
        (EXPECTED_ORDER[0], EXPECTED_ORDER[2], EXPECTED_ORDER[0]),
        (EXPECTED_ORDER[1], EXPECTED_ORDER[2], EXPECTED_ORDER[1]),
    ], "10 shared items, each won: shown after Holm's correction"
    written = _by_annotator(seeded.results)
    for row in board.annotators:
        mine = written[row.annotator]
        assert row.tasks == row.score.n == len(mine)
        assert row.score.value == pytest.approx(sum(r.score for r in mine) / len(mine))
        car = next(c for c in row.classes if c.name == "Car")
        assert car.tp == sum(r.classes["Car"].tp for r in mine)
        assert car.fp == sum(r.classes["Car"].fp for r in mine)
        assert row.tp == sum(c.tp for r in mine for c in r.classes.values())
        colour = row.attribute_paths[0]
        assert (colour.path, colour.correct, colour.total) == (
            "Car/colour",
            sum(r.attributes["Car/colour"].correct for r in mine),
            sum(r.attributes["Car/colour"].total for r in mine),
        )
        missing = sum(r.conflict_totals.get("missing", 0) for r in mine)
        assert {c.name: c.count for c in row.conflicts}.get("missing", 0) == missing
        assert sum(p.score.n for p in row.trend) == len(mine)
        assert sum(c.count for c in row.confusion if c.annotated == "unmatched") == sum(
            r.details.confusion["Car"].get("unmatched", 0) for r in mine
        )
        small = next((s for s in row.sizes if s.size == "small"), None)
        assert small is not None
        assert small.fn == sum(r.details.sizes["small"].fn for r in mine)
        # the drill-down: the lowest-scoring tasks, read one by one, with links into Encord's editor
        assert len(row.worst) == min(5, len(mine))
        assert {w.task_uuid for w in row.worst} <= {r.task_uuid for r in mine}
        for task in row.worst:
            assert task.editor_url == f"https://app.encord.com/label_editor/production/{task.data_hash}/0"
            assert [c.kind for c in task.conflicts] == (["missing"] if task.score < 1 else [])
    stdout = capsys.readouterr().out
    assert f"wrote json report to {out}" in stdout


def test_csv_report_has_the_ranking_and_the_breakdowns(aws_env: LocalStack, seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "board.csv"

    assert _report(seeded.table, out, "--breakdown") == 0

    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    annotators = [r for r in rows if r["row_type"] == "annotator"]
    assert [r["annotator"] for r in annotators] == EXPECTED_ORDER
    assert [r["rank"] for r in annotators] == ["1", "2", "3", ""]
    written = _by_annotator(seeded.results)
    assert [int(r["tasks"]) for r in annotators] == [len(written[a]) for a in EXPECTED_ORDER]
    classes = {(r["annotator"], r["class"]) for r in rows if r["row_type"] in ("class",)}
    assert classes == {(a, c) for a in EXPECTED_ORDER for c in ("Bus", "Car")}
    assert {r["class"] for r in rows if r["row_type"] == "size"} == {"small"}
    attributes = [r for r in rows if r["row_type"] == "attribute"]
    assert [r["attribute"] for r in attributes] == ["Car/colour"] * len(EXPECTED_ORDER)


def test_html_report_and_the_text_on_stdout(
    aws_env: LocalStack, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nested" / "board.html"

    assert _report(seeded.table, out) == 0

    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert set(re.findall(r"https?://[^/']+", page)) == {"https://app.encord.com"}, "only links into Encord"
    bars = re.findall(r"<div class='bar score-bar' data-annotator='([^']+)'", page)
    assert bars == EXPECTED_ORDER
    stdout = capsys.readouterr().out
    lines = stdout.splitlines()
    ranking = [next(i for i, line in enumerate(lines) if name in line) for name in EXPECTED_ORDER]
    assert ranking == sorted(ranking)
    assert lines[ranking[0]].split()[:2] == ["1", EXPECTED_ORDER[0]]
    assert "not enough evidence" in lines[ranking[-1]]
    assert f"{seeded.open_errors} task(s) could not be scored yet" in stdout
    assert f"wrote html report to {out}" in stdout


def test_format_option_wins_over_the_suffix(aws_env: LocalStack, seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "board.txt"
    assert _report(seeded.table, out, "--format", "json") == 0
    assert Leaderboard.model_validate_json(out.read_text(encoding="utf-8")).tasks == len(seeded.results)
    html = tmp_path / "no-suffix"
    assert _report(seeded.table, html) == 0
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>"), "html by default"


def test_since_and_trend_options(aws_env: LocalStack, seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "board.json"

    assert _report(seeded.table, out, "--since", DAYS[-1], "--trend", "week") == 0

    board = Leaderboard.model_validate_json(out.read_text(encoding="utf-8"))
    kept = [r for r in seeded.results if r.scored_at.startswith(DAYS[-1])]
    assert board.tasks == len(kept)
    assert board.since is not None
    assert board.since.startswith(DAYS[-1])
    assert board.bucket == "week"
    assert board.periods == ["2025-03-03"], "Wednesday 5 March 2025 is in the week of Monday 3 March"
    assert {a.annotator: a.tasks for a in board.annotators} == {
        name: len(rs) for name, rs in _by_annotator(kept).items()
    }


def test_without_a_table_name_it_says_how_to_give_one(
    aws_env: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--out", str(tmp_path / "x.html")]) == 2
    assert "--table" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_a_missing_table_is_an_error_not_a_traceback(
    aws_env: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--table", "no-such-table", "--out", str(tmp_path / "x.json")]) == 2
    assert "cannot read table no-such-table" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_an_unwritable_out_is_an_error(
    aws_env: LocalStack, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert _report(seeded.table, blocker / "board.html") == 2
    assert "cannot write" in capsys.readouterr().err
