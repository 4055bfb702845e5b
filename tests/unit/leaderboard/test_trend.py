"""Trend buckets (UTC days, or weeks starting on Monday) and the `since` filter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from benchmark_qa.leaderboard import bucket_start, build_leaderboard, choose_bucket

from tests.unit.leaderboard.conftest import result, wilson


def test_days_are_utc_days() -> None:
    # 01:30 at +02:00 is still the previous day in UTC; 23:30 at -05:00 is already the next one.
    results = [
        result("a", 0.2, at="2025-03-04T01:30:00+02:00"),
        result("a", 0.4, at="2025-03-03T12:00:00+00:00"),
        result("a", 1.0, at="2025-03-03T23:30:00-05:00"),
    ]

    board = build_leaderboard(results, min_tasks=1, bucket="day")

    trend = board.annotators[0].trend
    assert [p.period for p in trend] == ["2025-03-03", "2025-03-04"]
    assert trend[0].score.n == 2
    assert trend[0].score.value == pytest.approx(0.3)
    assert (trend[0].score.low, trend[0].score.high) == pytest.approx(wilson(0.3, 2))
    assert trend[1].score.n == 1
    assert trend[1].score.value == pytest.approx(1.0)


def test_weeks_start_on_monday() -> None:
    results = [
        result("a", 0.1, at="2025-03-02T12:00:00+00:00"),  # Sunday: the week of Monday 24 February
        result("a", 0.5, at="2025-03-03T00:00:00+00:00"),  # Monday
        result("a", 0.7, at="2025-03-09T23:59:59+00:00"),  # the Sunday after: same week
        result("a", 0.9, at="2025-03-10T00:00:00+00:00"),  # next Monday
    ]

    board = build_leaderboard(results, min_tasks=1, bucket="week")

    trend = board.annotators[0].trend
    assert [p.period for p in trend] == ["2025-02-24", "2025-03-03", "2025-03-10"]
    assert all(date.fromisoformat(p.period).weekday() == 0 for p in trend)
    assert [p.score.n for p in trend] == [1, 2, 1]
    assert trend[1].score.value == pytest.approx(0.6)
    assert board.bucket == "week"
    assert "week" in board.methods["trend"]


@pytest.mark.parametrize("offset_days", range(7))
def test_bucket_start_of_every_weekday_is_the_monday_before(offset_days: int) -> None:
    moment = datetime(2025, 3, 3, 18, tzinfo=UTC) + timedelta(days=offset_days)
    assert bucket_start(moment, "week") == date(2025, 3, 3)
    assert bucket_start(moment, "day") == moment.date()


def test_the_bucket_is_days_up_to_a_month_then_weeks_up_to_half_a_year_then_months() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert choose_bucket([]) == "day"
    assert choose_bucket([start, start + timedelta(days=31)]) == "day"
    assert choose_bucket([start, start + timedelta(days=32)]) == "week"
    assert choose_bucket([start, start + timedelta(days=182)]) == "week"
    assert choose_bucket([start, start + timedelta(days=183)]) == "month"
    ninety = [result("a", 0.5, at="2025-01-01T00:00:00+00:00"), result("a", 0.5, at="2025-04-01T00:00:00+00:00")]
    assert build_leaderboard(ninety, min_tasks=1).bucket == "week"


def test_months_start_on_the_first() -> None:
    results = [
        result("a", 0.2, at="2025-01-31T23:59:59+00:00"),
        result("a", 0.6, at="2025-02-01T00:00:00+00:00"),
        result("a", 1.0, at="2025-02-28T12:00:00+00:00"),
    ]
    trend = build_leaderboard(results, min_tasks=1, bucket="month").annotators[0].trend
    assert [(p.period, p.score.n) for p in trend] == [("2025-01-01", 1), ("2025-02-01", 2)]
    assert bucket_start(datetime(2025, 2, 14, 3, tzinfo=UTC), "month") == date(2025, 2, 1)


def test_the_team_line_is_the_median_of_the_annotators_means() -> None:
    results = [
        result("a", 0.2, at="2025-03-03T10:00:00+00:00"),
        result("a", 0.4, at="2025-03-03T11:00:00+00:00"),  # a's mean that day: 0.3
        result("b", 0.9, at="2025-03-03T10:00:00+00:00"),
        result("c", 0.5, at="2025-03-03T10:00:00+00:00"),
        result("c", 0.8, at="2025-03-04T10:00:00+00:00"),
    ]
    board = build_leaderboard(results, min_tasks=1, bucket="day")
    assert [(p.period, p.score.n) for p in board.team_trend] == [("2025-03-03", 3), ("2025-03-04", 1)]
    assert [p.score.value for p in board.team_trend] == pytest.approx([0.5, 0.8])


def test_board_periods_cover_every_annotators_buckets_oldest_first() -> None:
    results = [
        result("a", 0.5, at="2025-03-05T10:00:00+00:00"),
        result("b", 0.5, at="2025-03-01T10:00:00+00:00"),
        result("b", 0.5, at="2025-03-05T11:00:00+00:00"),
    ]
    board = build_leaderboard(results, min_tasks=1, bucket="day")
    assert board.periods == ["2025-03-01", "2025-03-05"]
    trends = {row.annotator: [p.period for p in row.trend] for row in board.annotators}
    assert trends == {"a": ["2025-03-05"], "b": ["2025-03-01", "2025-03-05"]}


def test_since_keeps_results_scored_at_or_after_it() -> None:
    results = [
        result("a", 0.1, at="2025-03-01T09:59:59+00:00"),
        result("a", 0.5, at="2025-03-01T10:00:00+00:00"),
        result("a", 0.9, at="2025-03-02T10:00:00+00:00"),
        result("b", 0.9, at="2025-02-01T10:00:00+00:00"),
    ]

    board = build_leaderboard(results, since=datetime(2025, 3, 1, 10, tzinfo=UTC), min_tasks=1)

    assert board.tasks == 2
    assert [a.annotator for a in board.annotators] == ["a"]
    assert board.annotators[0].score.value == pytest.approx(0.7)
    assert board.since == "2025-03-01T10:00:00+00:00"


def test_a_naive_since_is_utc() -> None:
    results = [result("a", 0.1, at="2025-03-01T09:00:00+00:00"), result("a", 0.9, at="2025-03-01T11:00:00+00:00")]
    board = build_leaderboard(results, since=datetime(2025, 3, 1, 10), min_tasks=1)
    assert board.tasks == 1
    assert board.annotators[0].score.value == pytest.approx(0.9)
