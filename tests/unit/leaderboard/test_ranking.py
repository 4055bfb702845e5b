"""The ranking rule: lower 95% bound of the mean task score, a minimum number of tasks, and shared ranks on ties."""

from __future__ import annotations

import pytest
from benchmark_qa.leaderboard import NOT_ENOUGH_EVIDENCE, AnnotatorRow, build_leaderboard, rank
from benchmark_qa.scoring.metrics import Stat

from tests.unit.leaderboard.conftest import GENERATED, many, result, wilson


def test_a_high_score_on_few_tasks_does_not_outrank_a_slightly_lower_score_on_many() -> None:
    # 0.95 on 20 tasks has the higher mean but, with its wide interval, the lower bound.
    lucky_low, _ = wilson(0.95, 20)
    steady_low, _ = wilson(0.90, 200)
    assert lucky_low < steady_low, "precondition: the example must separate mean order from bound order"

    board = build_leaderboard(many("lucky", 0.95, 20) + many("steady", 0.90, 200), min_tasks=20)

    assert [(a.annotator, a.rank) for a in board.annotators] == [("steady", 1), ("lucky", 2)]
    assert board.annotators[0].score.low == pytest.approx(steady_low)
    assert board.annotators[1].score.low == pytest.approx(lucky_low)


def test_ranks_follow_the_lower_bound_for_many_annotators() -> None:
    scores = {"a": (0.55, 40), "b": (0.80, 25), "c": (0.70, 90), "d": (0.99, 21), "e": (0.62, 300)}
    results = [r for name, (score, count) in scores.items() for r in many(name, score, count)]

    board = build_leaderboard(results, min_tasks=20)

    expected = sorted(scores, key=lambda name: wilson(*scores[name])[0], reverse=True)
    assert [a.annotator for a in board.annotators] == expected
    assert [a.rank for a in board.annotators] == [1, 2, 3, 4, 5]
    assert [a.annotator for a in board.ranked] == expected


def test_fewer_tasks_than_the_minimum_get_no_rank_and_come_after_the_ranking() -> None:
    results = many("perfect-but-new", 1.0, 4) + many("ranked", 0.5, 5) + many("newer", 1.0, 2)

    board = build_leaderboard(results, min_tasks=5)

    assert [a.annotator for a in board.annotators] == ["ranked", "perfect-but-new", "newer"], "most tasks first"
    ranked, *rest = board.annotators
    assert (ranked.rank, ranked.status) == (1, "ranked")
    assert all(a.rank is None and a.status == NOT_ENOUGH_EVIDENCE for a in rest)
    assert board.ranked == [ranked]


def test_exactly_the_minimum_is_enough() -> None:
    board = build_leaderboard(many("x", 0.7, 3), min_tasks=3)
    assert board.annotators[0].rank == 1
    assert build_leaderboard(many("x", 0.7, 3), min_tasks=4).annotators[0].rank is None


def test_unranked_with_equal_tasks_are_listed_by_name() -> None:
    board = build_leaderboard(many("zed", 0.9, 2) + many("amy", 0.1, 2) + many("kim", 0.5, 2), min_tasks=3)
    assert [a.annotator for a in board.annotators] == ["amy", "kim", "zed"]


def test_equal_annotators_share_a_rank_listed_by_name_and_the_next_rank_skips() -> None:
    # The same scores summed in another order differ in the last bits: the tie must survive that.
    scores = [0.1, 0.2, 0.3, 0.7, 0.9, 0.35, 0.15, 0.8]
    assert sum(scores) != sum(reversed(scores)), "precondition: float noise between the two sums"
    results = [result("zoe", s) for s in scores] + [result("adam", s) for s in reversed(scores)]
    results += many("best", 0.9, 8) + many("last", 0.2, 8)

    board = build_leaderboard(results, min_tasks=8)

    assert [(a.annotator, a.rank) for a in board.annotators] == [("best", 1), ("adam", 2), ("zoe", 2), ("last", 4)]


def _row(name: str, low: float, value: float, tasks: int) -> AnnotatorRow:
    """A built row with its score replaced, to reach ties that real data only hits by coincidence."""
    row = build_leaderboard(many(name, value, tasks), min_tasks=1).annotators[0]
    return row.model_copy(update={"rank": None, "score": Stat(value=value, n=tasks, low=low, high=1.0)})


def test_equal_lower_bounds_are_broken_by_the_mean_then_by_the_number_of_tasks() -> None:
    rows = [_row("few", 0.5, 0.8, 10), _row("many", 0.5, 0.8, 30), _row("higher-mean", 0.5, 0.9, 5)]
    rows.append(_row("best-bound", 0.6, 0.7, 3))

    ranked = rank(rows)

    assert [(r.annotator, r.rank) for r in ranked] == [("best-bound", 1), ("higher-mean", 2), ("many", 3), ("few", 4)]


def test_rank_returns_copies_and_leaves_its_input_alone() -> None:
    row = _row("a", 0.5, 0.8, 10)
    assert rank([row])[0].rank == 1
    assert row.rank is None


def test_the_minimum_must_be_positive_and_is_stated_in_the_rule() -> None:
    with pytest.raises(ValueError, match="min_tasks"):
        build_leaderboard([], min_tasks=0)
    board = build_leaderboard(many("a", 0.5, 3), min_tasks=7, generated_at=GENERATED)
    assert "at least 7 scored tasks" in board.ranking_rule
    assert board.min_tasks == 7
    assert board.generated_at == GENERATED.isoformat(timespec="seconds")


def test_an_empty_leaderboard_has_no_rows() -> None:
    board = build_leaderboard([])
    assert (board.annotators, board.tasks, board.periods, board.classes) == ([], 0, [], [])
