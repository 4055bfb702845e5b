"""Trend buckets: UTC days, ISO weeks (starting on Monday) or calendar months, chosen by the span of the data so a
chart never has more than about thirty points; and the team's line every annotator is drawn against."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from benchmark_qa.leaderboard.model import Bucket, TrendPoint
from benchmark_qa.scoring.metrics import Stat, stat

DAYS_UP_TO = 31  # a month of days
WEEKS_UP_TO = 26 * 7  # half a year of weeks, months beyond


def parse_time(value: str) -> datetime:
    """ISO date or datetime; a naive value is UTC (scores are stamped in UTC)."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def bucket_start(moment: datetime, bucket: Bucket) -> date:
    day = moment.astimezone(UTC).date()
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def choose_bucket(times: Sequence[datetime]) -> Bucket:
    """Days up to a month of data, weeks up to half a year, months beyond."""
    if not times:
        return "day"
    span = (max(times) - min(times)).days
    if span <= DAYS_UP_TO:
        return "day"
    return "week" if span <= WEEKS_UP_TO else "month"


def mean_score(scores: Sequence[float]) -> Stat:
    if not scores:
        return stat(0.0, 0)
    return stat(sum(scores), len(scores))


def trend(scored: Iterable[tuple[str, float]], bucket: Bucket) -> list[TrendPoint]:
    """(scored_at, score) pairs -> the mean task score per bucket, oldest first."""
    periods: dict[date, list[float]] = defaultdict(list)
    for at, score in scored:
        periods[bucket_start(parse_time(at), bucket)].append(score)
    return [TrendPoint(period=day.isoformat(), score=mean_score(periods[day])) for day in sorted(periods)]


def team_trend(trends: Iterable[list[TrendPoint]]) -> list[TrendPoint]:
    """Per period, the median of the annotators' means (each annotator one vote, whatever their volume), with n =
    the annotators who worked in it and no interval (it is a reference line, not an estimate)."""
    by_period: dict[str, list[float]] = defaultdict(list)
    for points in trends:
        for p in points:
            if p.score.value is not None:
                by_period[p.period].append(p.score.value)
    return [
        TrendPoint(period=period, score=Stat(value=statistics.median(v), n=len(v), low=None, high=None))
        for period, v in sorted(by_period.items())
    ]
