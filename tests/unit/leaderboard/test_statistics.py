"""Per-annotator numbers: the mean task score with its interval and n, and detection / localisation / attribute
ratios pooled from summed counts (never averaged per task)."""

from __future__ import annotations

import pytest
from benchmark_qa.leaderboard import build_leaderboard

from tests.unit.leaderboard.conftest import result, wilson


def test_score_is_the_mean_of_task_scores_with_a_wilson_interval_over_tasks() -> None:
    scores = [0.2, 0.9, 0.75, 0.6, 1.0]
    board = build_leaderboard([result("a", s) for s in scores], min_tasks=1)

    row = board.annotators[0]
    mean = sum(scores) / len(scores)
    assert row.tasks == len(scores)
    assert row.score.n == len(scores)
    assert row.score.value == pytest.approx(mean)
    assert (row.score.low, row.score.high) == pytest.approx(wilson(mean, len(scores)))
    assert row.score.low is not None
    assert row.score.high is not None
    assert row.score.low < mean < row.score.high


def test_more_tasks_narrow_the_interval() -> None:
    few = build_leaderboard([result("a", 0.8) for _ in range(5)], min_tasks=1).annotators[0].score
    lots = build_leaderboard([result("a", 0.8) for _ in range(500)], min_tasks=1).annotators[0].score
    assert few.low is not None
    assert few.high is not None
    assert lots.low is not None
    assert lots.high is not None
    assert lots.high - lots.low < few.high - few.low


def test_detection_ratios_are_pooled_from_counts_not_averaged_per_task() -> None:
    # A small perfect task and a big poor one: the per-task average of precision would be (1 + 0.1) / 2.
    small = result("a", 1.0, classes={"Car": (1, 0, 0, 0.9)})
    big = result("a", 0.1, classes={"Car": (10, 90, 40, 6.0)})

    row = build_leaderboard([small, big], min_tasks=1).annotators[0]

    tp, fp, fn = 11, 90, 40
    assert (row.tp, row.fp, row.fn) == (tp, fp, fn)
    assert row.precision.value == pytest.approx(tp / (tp + fp))
    assert row.precision.value != pytest.approx((1.0 + 10 / 100) / 2)
    assert row.precision.n == tp + fp
    assert (row.precision.low, row.precision.high) == pytest.approx(wilson(tp / (tp + fp), tp + fp))
    assert row.recall.value == pytest.approx(tp / (tp + fn))
    assert row.recall.n == tp + fn
    assert (row.recall.low, row.recall.high) == pytest.approx(wilson(tp / (tp + fn), tp + fn))
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert row.f1.value == pytest.approx(f1)
    # F1 = 2J / (1 + J) of J = TP / (TP + FP + FN): n = TP + FP + FN, the interval is J's carried through that map
    low, high = wilson(tp / (tp + fp + fn), tp + fp + fn)
    assert row.f1.n == tp + fp + fn
    assert (row.f1.low, row.f1.high) == pytest.approx((2 * low / (1 + low), 2 * high / (1 + high)))
    assert row.localisation.value == pytest.approx((0.9 + 6.0) / tp)
    assert row.localisation.n == tp


def test_counts_are_summed_over_classes_too() -> None:
    task = result("a", 0.5, classes={"Car": (3, 1, 2, 2.4), "Bus": (1, 4, 0, 0.5)})
    row = build_leaderboard([task], min_tasks=1).annotators[0]
    assert (row.tp, row.fp, row.fn) == (4, 5, 2)
    assert row.localisation.value == pytest.approx(2.9 / 4)


def test_attribute_accuracy_is_pooled_over_paths_and_tasks() -> None:
    one = result("a", 0.5, attributes={"Car/colour": (3, 4), "Car/occluded": (0, 1)})
    two = result("a", 0.5, attributes={"Car/colour": (10, 20)})

    row = build_leaderboard([one, two], min_tasks=1).annotators[0]

    assert row.attributes.value == pytest.approx(13 / 25)
    assert row.attributes.n == 25
    assert (row.attributes.low, row.attributes.high) == pytest.approx(wilson(13 / 25, 25))


def test_no_evidence_is_none_with_n_zero_not_a_zero_score() -> None:
    row = build_leaderboard([result("a", 0.7)], min_tasks=1).annotators[0]
    for stat in (row.precision, row.recall, row.f1, row.localisation, row.attributes):
        assert (stat.value, stat.n, stat.low, stat.high) == (None, 0, None, None)
    assert row.score.value == pytest.approx(0.7)


def test_first_and_last_scored_compare_instants_not_strings() -> None:
    # As text "…T09…+00:00" sorts before "…T10…+05:00", but 10:00+05:00 is 05:00 UTC, the earlier moment.
    early = result("a", 0.5, at="2025-03-03T10:00:00+05:00")
    late = result("a", 0.5, at="2025-03-03T09:00:00+00:00")
    row = build_leaderboard([late, early], min_tasks=1).annotators[0]
    assert (row.first_scored_at, row.last_scored_at) == (early.scored_at, late.scored_at)
