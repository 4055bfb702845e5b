"""`make demo` end to end: the whole Benchmark QA workflow offline must recover the simulated annotators' order."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from benchmark_qa_local import demo
from benchmark_qa_local.simulation import EXPECTED_ORDER

pytestmark = pytest.mark.integration


def test_the_demo_runs_the_workflow_and_the_leaderboard_recovers_the_true_order(tmp_path: Path) -> None:
    lines: list[str] = []
    report = tmp_path / "leaderboard.html"

    world = demo.run(say=lines.append, report_path=report, function_logs=io.StringIO())

    text = "\n".join(lines)
    assert world.ranking_recovered, text
    assert world.leaderboard is not None
    ranked = [row.annotator.split("@")[0] for row in world.leaderboard.ranked]
    assert ranked == list(EXPECTED_ORDER)
    assert all(row.tasks == demo.BENCHMARK_IMAGES for row in world.leaderboard.annotators)
    # Routing sent every benchmark task YES, production NO; scored tasks were archived.
    assert "Annotate 1: 9, Archive: 20, Consensus 1 Annotate: 3" in text
    assert "open scoring errors: 0" in text
    assert "the leaderboard recovers the annotators' true order: yes" in text
    # Four ground-truth labels were planted wrong: the audit flags exactly those images (docs/ground-truth-audit.md).
    assert len(world.planted) == demo.PLANTED_ERRORS
    assert world.planted_found, text
    assert "every planted mistake found, nothing else flagged: yes" in text
    assert "shapes of Car" in text
    html = report.read_text()
    assert all(f"{name}@" in html for name in EXPECTED_ORDER)
    assert "<svg" in html
