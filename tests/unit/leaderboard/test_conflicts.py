"""Most frequent conflicts (frames summed over tasks) and hints (tasks in which they were given), and the notes
that flag results disagreeing with the running aggregates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from benchmark_qa.leaderboard import build_leaderboard, hint_pattern
from benchmark_qa.scoring.conflicts import Conflict, aggregate_hints
from benchmark_qa.store.scores import AnnotatorAggregate

from tests.unit.leaderboard.conftest import result


def test_conflicts_are_summed_over_tasks_most_frequent_first() -> None:
    results = [
        result("a", 0.5, conflicts={"missing": 3, "extra": 1}),
        result("a", 0.5, conflicts={"extra": 1, "wrong_class": 4}),
        result("a", 0.5, conflicts={"missing": 2, "low_overlap": 2}),
    ]

    row = build_leaderboard(results, min_tasks=1).annotators[0]

    # missing 5, wrong_class 4, then extra and low_overlap tie on 2 and are listed by name.
    assert [(c.name, c.count) for c in row.conflicts] == [
        ("missing", 5),
        ("wrong_class", 4),
        ("extra", 2),
        ("low_overlap", 2),
    ]


def test_only_the_top_conflicts_and_hints_are_kept() -> None:
    kinds = {f"kind{i}": i + 1 for i in range(8)}
    hints = [f"re-check 'attr{i}' ({i + 1} frames)" for i in range(8)]
    row = build_leaderboard([result("a", 0.5, conflicts=kinds, hints=hints)], min_tasks=1, top=3).annotators[0]
    assert [c.name for c in row.conflicts] == ["kind7", "kind6", "kind5"]
    assert len(row.hints) == 3


def test_zero_counts_are_not_listed() -> None:
    row = build_leaderboard([result("a", 0.5, conflicts={"missing": 0, "extra": 2})], min_tasks=1).annotators[0]
    assert [c.name for c in row.conflicts] == ["extra"]


def _conflict(kind: str, value: str, frames: int) -> Conflict:
    return Conflict(
        kind=kind,
        severity="error",
        data_unit="d",
        frame=0,
        frame_last=frames - 1,
        frames=frames,
        truth_hash="t" if kind == "missing" else None,
        labels_hash="l" if kind == "extra" else None,
        truth_value=value if kind == "missing" else None,
        labels_value=value if kind == "extra" else None,
        hint="",
    )


def test_engine_hints_group_across_tasks_whatever_their_frame_counts() -> None:
    # The same pattern on 3 frames in one task and 1 frame in another is one hint given in two tasks.
    first = aggregate_hints([_conflict("missing", "Car", 3), _conflict("extra", "Bus", 1)])
    second = aggregate_hints([_conflict("missing", "Car", 1)])
    third = aggregate_hints([_conflict("extra", "Bus", 7)])
    assert first != second, "precondition: the engine's hints carry frame counts"

    board = build_leaderboard([result("a", 0.5, hints=h) for h in (first, second, third)], min_tasks=1)

    hints = [(h.name, h.count) for h in board.annotators[0].hints]
    assert len(hints) == 2
    assert {count for _, count in hints} == {2}
    assert {hint_pattern(h) for h in first} == {name for name, _ in hints}
    assert all(not any(ch.isdigit() for ch in name) for name, _ in hints)


def test_a_hint_counts_once_per_task() -> None:
    row = build_leaderboard(
        [result("a", 0.5, hints=["missed Car on 2 frames", "missed Car on 5 frames"]), result("a", 0.5)], min_tasks=1
    ).annotators[0]
    assert [(h.name, h.count) for h in row.hints] == [("missed Car", 1)]


@pytest.mark.parametrize(
    ("hint", "pattern"),
    [
        ("missed Car on 3 frames", "missed Car"),
        ("missed Car", "missed Car"),
        ("re-check 'colour' (1 frame)", "re-check 'colour'"),
        ("object identity changed mid-track 2 times", "object identity changed mid-track"),
        ("missed Person 2 on 5 frames", "missed Person 2"),
    ],
)
def test_hint_pattern_strips_only_the_count(hint: str, pattern: str) -> None:
    assert hint_pattern(hint) == pattern


def test_a_result_missing_from_the_aggregates_is_noted() -> None:
    results = [result("a", 0.5), result("a", 0.5), result("b", 0.5)]
    aggregates = [AnnotatorAggregate(annotator="a", tasks=3), AnnotatorAggregate(annotator="b", tasks=1)]

    board = build_leaderboard(results, aggregates=aggregates, min_tasks=1)

    assert len(board.notes) == 1
    assert board.notes[0].startswith("a:")
    assert "3 tasks" in board.notes[0]
    assert "2 results" in board.notes[0]


def test_aggregates_are_not_compared_with_a_since_window() -> None:
    results = [result("a", 0.5, at="2025-03-05T00:00:00+00:00")]
    aggregates = [AnnotatorAggregate(annotator="a", tasks=9)]
    since = datetime(2025, 3, 1, tzinfo=UTC)
    assert build_leaderboard(results, aggregates=aggregates, since=since, min_tasks=1).notes == []
    assert build_leaderboard(results, aggregates=aggregates, min_tasks=1).notes != []


def test_open_errors_are_carried() -> None:
    assert build_leaderboard([result("a", 0.5)], open_errors=3).open_errors == 3
