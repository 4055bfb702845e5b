"""Time from Encord joined to the ledger: by task, else by data unit (Encord's sources do not say whether a
consensus annotator's row names the task, the subtask or nothing), summed per day; and the time statistics."""

from __future__ import annotations

import pytest
from benchmark_qa.leaderboard.timing import TimeRow, join_time, time_stats
from benchmark_qa.store.scores import AnnotatorAggregate, Entry


def entry(task: str, data: str, at: str, score: float = 0.5, correct: int = 4, seconds: float | None = None) -> Entry:
    return Entry(
        task_uuid=task,
        label_hash=f"L-{task}",
        data_hash=data,
        scored_at=at,
        score=score,
        correct=correct,
        days={at[:10]: seconds} if seconds is not None else {},
    )


LEDGER = [
    AnnotatorAggregate(
        annotator="ann@x",
        tasks=3,
        entries=[
            entry("t1", "d1", "2025-03-03T10:00:00+00:00"),
            entry("t2", "d2", "2025-03-04T10:00:00+00:00"),
            entry("t3", "d2", "2025-03-10T10:00:00+00:00"),  # the same data unit again, a week later
        ],
    )
]


def row(task: str | None, data: str, day: str, seconds: float, user: str = "ann@x") -> TimeRow:
    return TimeRow(user_email=user, task_uuid=task, data_hash=data, day=day, seconds=seconds)


@pytest.mark.parametrize("task_of_row", ["t1", "subtask-of-t1", None], ids=["task", "subtask", "no task"])
def test_a_row_reaches_its_result_whatever_it_names_as_the_task(task_of_row: str | None) -> None:
    [timed] = join_time([row(task_of_row, "d1", "2025-03-03", 120)], LEDGER)
    assert (timed.annotator, timed.entry.task_uuid, timed.day, timed.seconds) == ("ann@x", "t1", "2025-03-03", 120)


def test_rows_of_one_task_and_day_are_summed_and_days_stay_apart() -> None:
    rows = [row("t1", "d1", "2025-03-02", 30), row("t1", "d1", "2025-03-03", 60), row("t1", "d1", "2025-03-03", 15)]
    assert [(t.day, t.seconds) for t in join_time(rows, LEDGER)] == [("2025-03-02", 30), ("2025-03-03", 75)]


def test_a_data_unit_labelled_twice_goes_to_the_task_scored_on_or_after_the_work() -> None:
    rows = [row(None, "d2", "2025-03-04", 40), row(None, "d2", "2025-03-09", 50), row(None, "d2", "2025-03-20", 7)]
    assert [(t.entry.task_uuid, t.seconds) for t in join_time(rows, LEDGER)] == [("t2", 40), ("t3", 50), ("t3", 7)]


def test_other_users_and_unscored_work_are_ignored() -> None:
    rows = [row("t1", "d1", "2025-03-03", 10, user="someone@else"), row("t9", "d9", "2025-03-03", 10)]
    assert join_time(rows, LEDGER) == []


def test_time_statistics_and_cost_per_correct_object() -> None:
    entries = [
        entry("a", "d", "2025-03-03T10:00:00+00:00", score=0.9, correct=10, seconds=120),
        entry("b", "d", "2025-03-03T10:00:00+00:00", score=0.5, correct=2, seconds=360),
        entry("c", "d", "2025-03-03T10:00:00+00:00", score=0.1, correct=0, seconds=None),  # not timed: left out
    ]

    stats = time_stats(entries, hourly_rate=36.0)

    assert stats.tasks_timed == 2
    assert stats.hours == pytest.approx(480 / 3600)
    assert stats.minutes_per_task == pytest.approx(4.0), "median of 2 and 6 minutes"
    assert stats.tasks_per_hour == pytest.approx(2 / (480 / 3600))
    assert stats.correct_objects == 12
    assert stats.cost_per_correct == pytest.approx((480 / 3600) * 36.0 / 12)
    assert stats.score_timed is not None
    assert stats.score_timed.value == pytest.approx(0.7)
    assert time_stats(entries, hourly_rate=None).cost_per_correct is None
    assert time_stats([entries[2]], hourly_rate=10.0).tasks_timed == 0
