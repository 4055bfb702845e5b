"""Honest ranking: paired sign tests on the items two annotators share, Holm's correction over every pair, and
rank = 1 + the annotators shown to be better (through chains), so annotators who cannot be told apart share one."""

from __future__ import annotations

import random

import pytest
from benchmark_qa.leaderboard import NOT_ENOUGH_EVIDENCE, build_leaderboard
from benchmark_qa.leaderboard.ranking import compare_pairs, holm, ranks, sign_test
from scipy.stats import binomtest

from tests.unit.leaderboard.conftest import GENERATED, many, result, shared


@pytest.mark.parametrize(("higher", "lower"), [(0, 0), (1, 0), (5, 5), (9, 1), (15, 5), (18, 2), (70, 30), (600, 520)])
def test_the_sign_test_is_the_exact_binomial_test(higher: int, lower: int) -> None:
    expected = 1.0 if higher + lower == 0 else binomtest(higher, higher + lower, 0.5).pvalue
    assert sign_test(higher, lower) == pytest.approx(expected, rel=1e-9)
    assert sign_test(lower, higher) == pytest.approx(sign_test(higher, lower))


def test_the_sign_test_survives_thousands_of_items() -> None:
    assert 0.0 <= sign_test(5200, 4800) < 1e-4
    assert sign_test(5000, 5000) == pytest.approx(1.0)


def test_holm_adjusts_step_down_and_stays_monotone() -> None:
    # m = 4: sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, then 0.04*1 = 0.04 is raised to 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0]), "a later p never drops below an earlier adjusted one"
    assert holm([]) == []


def test_one_annotator_better_on_every_shared_item_ranks_above() -> None:
    board = build_leaderboard(shared({"steady": [0.9] * 12, "sloppy": [0.6] * 12}), min_tasks=10)

    assert [(a.annotator, a.rank) for a in board.annotators] == [("steady", 1), ("sloppy", 2)]
    [pair] = board.comparisons
    assert (pair.shared_items, pair.ties, pair.better) == (12, 0, "steady")
    assert {pair.first_higher, pair.second_higher} == {12, 0}
    assert pair.p_adjusted == pytest.approx(binomtest(12, 12, 0.5).pvalue)
    assert (board.annotators[0].better_than, board.annotators[1].worse_than) == (1, 1)


def test_a_higher_mean_on_too_few_shared_items_is_not_a_difference() -> None:
    # 5 of 5 items higher: p = 0.0625, not below 5%. Both share rank 1 although the means differ a lot.
    board = build_leaderboard(shared({"a": [0.95] * 5, "b": [0.5] * 5}), min_tasks=5)

    assert [(a.annotator, a.rank) for a in board.annotators] == [("a", 1), ("b", 1)], "listed by mean"
    assert board.comparisons[0].better is None
    assert board.annotators[0].not_distinguishable == 1
    assert "cannot be told apart" in board.groups[0].words


def test_holm_correction_can_take_a_difference_away() -> None:
    # a beats b on 9 of 10 items (p = 0.021 alone); with two more pairs tested it no longer clears 5%.
    scores = {"a": [0.9] * 9 + [0.1], "b": [0.5] * 10, "c": [0.5] * 10, "d": [0.5] * 10}
    items = {n: {f"item-{k}": score for k, score in enumerate(v)} for n, v in scores.items() if n in "ab"}
    alone = compare_pairs(items, ["a", "b"])
    assert alone[0].p_value < 0.05
    assert alone[0].better == "a"

    board = build_leaderboard(shared(scores), min_tasks=10)

    ab = next(c for c in board.comparisons if {c.first, c.second} == {"a", "b"})
    assert ab.p_value == pytest.approx(alone[0].p_value)
    assert ab.p_adjusted > 0.05
    assert ab.better is None
    assert {a.rank for a in board.annotators} == {1}


def test_ties_and_float_noise_are_left_out() -> None:
    noise = [0.1 + 0.2, 0.3, 0.3]  # 0.1 + 0.2 != 0.3 in floating point
    board = build_leaderboard(shared({"a": [0.7, *noise], "b": [0.6, 0.3, 0.3, 0.3]}), min_tasks=1)
    [pair] = board.comparisons
    assert (pair.ties, pair.first_higher + pair.second_higher) == (3, 1)


def test_rank_is_one_plus_those_shown_better_through_chains() -> None:
    # w > x and x > y are shown; w and y share no item. y is still below w: a chain of shown differences.
    from benchmark_qa.leaderboard.model import PairComparison

    def pair(first: str, second: str, better: str | None) -> PairComparison:
        return PairComparison(
            first=first,
            second=second,
            shared_items=20,
            first_higher=20,
            second_higher=0,
            ties=0,
            p_value=0.0,
            p_adjusted=0.0,
            better=better,
        )

    comparisons = [pair("w", "x", "w"), pair("x", "y", "x"), pair("z", "y", None)]
    assert ranks(["w", "x", "y", "z"], comparisons) == {"w": 1, "x": 2, "y": 3, "z": 1}


def test_annotators_with_the_same_rank_are_never_shown_to_differ() -> None:
    rng = random.Random(3)
    skills = {f"a{k}": 0.5 + 0.04 * k for k in range(8)}
    scores = {n: [min(1.0, max(0.0, s + rng.gauss(0, 0.08))) for _ in range(40)] for n, s in skills.items()}

    board = build_leaderboard(shared(scores), min_tasks=20)

    rank = {a.annotator: a.rank or 0 for a in board.annotators}
    assert len(set(rank.values())) > 2, "the data separates some of them"
    for c in board.comparisons:
        if c.better is not None:
            worse = c.second if c.better == c.first else c.first
            assert rank[c.better] < rank[worse], c
    for group in board.groups:
        members = set(group.annotators)
        assert all(c.better is None for c in board.comparisons if {c.first, c.second} <= members)


def test_annotators_who_share_no_item_are_not_compared() -> None:
    board = build_leaderboard(many("a", 0.9, 20) + many("b", 0.3, 20), min_tasks=20)
    assert board.comparisons == []
    assert [a.rank for a in board.annotators] == [1, 1]
    assert [a.not_compared for a in board.annotators] == [1, 1]
    assert "share no item" in board.groups[0].words


def test_fewer_tasks_than_the_minimum_get_no_rank_and_come_after_the_ranking() -> None:
    results = shared({"ranked": [0.5] * 5, "perfect-but-new": [1.0] * 4}) + many("newer", 1.0, 2)

    board = build_leaderboard(results, min_tasks=5)

    assert [a.annotator for a in board.annotators] == ["ranked", "perfect-but-new", "newer"], "most tasks first"
    ranked, *rest = board.annotators
    assert (ranked.rank, ranked.status) == (1, "ranked")
    assert all(a.rank is None and a.status == NOT_ENOUGH_EVIDENCE for a in rest)
    assert board.ranked == [ranked]
    assert board.comparisons == [], "only ranked annotators are tested"


def test_exactly_the_minimum_is_enough() -> None:
    board = build_leaderboard(many("x", 0.7, 3), min_tasks=3)
    assert board.annotators[0].rank == 1
    assert build_leaderboard(many("x", 0.7, 3), min_tasks=4).annotators[0].rank is None


def test_unranked_with_equal_tasks_are_listed_by_name() -> None:
    board = build_leaderboard(many("zed", 0.9, 2) + many("amy", 0.1, 2) + many("kim", 0.5, 2), min_tasks=3)
    assert [a.annotator for a in board.annotators] == ["amy", "kim", "zed"]


def test_repeated_labelling_of_an_item_is_averaged_before_the_test() -> None:
    # b labelled item-0 twice (0.2 and 1.0: mean 0.6 < a's 0.7); on the other items b is higher.
    results = [*shared({"a": [0.7, 0.2, 0.2], "b": [0.2, 0.9, 0.9]}), result("b", 1.0, item="item-0")]
    [pair] = build_leaderboard(results, min_tasks=1).comparisons
    higher = {pair.first: pair.first_higher, pair.second: pair.second_higher}
    assert higher == {"a": 1, "b": 2}


def test_the_rule_is_stated_with_the_minimum_and_the_level() -> None:
    with pytest.raises(ValueError, match="min_tasks"):
        build_leaderboard([], min_tasks=0)
    board = build_leaderboard(many("a", 0.5, 3), min_tasks=7, generated_at=GENERATED)
    assert "at least 7 scored tasks" in board.ranking_rule
    assert "5%" in board.ranking_rule
    assert board.min_tasks == 7
    assert board.generated_at == GENERATED.isoformat(timespec="seconds")


def test_an_empty_leaderboard_has_no_rows() -> None:
    board = build_leaderboard([])
    assert (board.annotators, board.tasks, board.periods, board.classes, board.groups) == ([], 0, [], [], [])
