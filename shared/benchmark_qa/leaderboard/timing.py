"""Time and cost: the seconds Encord measured on each scored task (`Project.list_time_spent`, one row per user,
task and day) joined to the annotator's ledger, and the statistics the leaderboard shows from them.

Joining a row to a scored result, first match wins:
  1. same user, and the row's `workflow_task_uuid` is the result's task (the parent consensus task);
  2. same user and data unit (the row names a subtask, or no task: Encord's sources do not say which it is,
     so both are handled). When the user scored that data unit in several tasks, the row goes to the first
     task scored on or after the row's day, else to the last one.
Rows are summed per (result, day) and stored as absolute numbers, so running the join twice changes nothing.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from benchmark_qa.leaderboard.model import TimeStats
from benchmark_qa.leaderboard.trend import parse_time
from benchmark_qa.scoring.metrics import stat
from benchmark_qa.store.scores import AnnotatorAggregate, Entry, day_of


@dataclass(frozen=True)
class TimeRow:
    """One `encord.orm.analytics.TimeSpent` row, as the join needs it."""

    user_email: str
    task_uuid: str | None
    data_hash: str
    day: str  # the row's period, YYYY-MM-DD (UTC)
    seconds: float


@dataclass(frozen=True)
class TimedEntry:
    annotator: str
    entry: Entry
    day: str
    seconds: float


def join_time(rows: Iterable[TimeRow], aggregates: Sequence[AnnotatorAggregate]) -> list[TimedEntry]:
    ledgers = {a.annotator: a.entries for a in aggregates}
    by_task: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    by_data: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for annotator, entries in ledgers.items():
        for e in entries:
            by_task[(annotator, e.task_uuid)].append(e)
            by_data[(annotator, e.data_hash)].append(e)
    sums: dict[tuple[str, str, str, str], float] = defaultdict(float)
    found: dict[tuple[str, str, str], Entry] = {}
    for row in rows:
        entry = _match(row, by_task, by_data)
        if entry is None:
            continue
        key = (row.user_email, entry.task_uuid, entry.label_hash)
        found[key] = entry
        sums[(*key, row.day)] += row.seconds
    return [
        TimedEntry(annotator, found[(annotator, task, label)], day, seconds)
        for (annotator, task, label, day), seconds in sorted(sums.items())
    ]


def _match(
    row: TimeRow, by_task: dict[tuple[str, str], list[Entry]], by_data: dict[tuple[str, str], list[Entry]]
) -> Entry | None:
    if row.task_uuid is not None and (candidates := by_task.get((row.user_email, row.task_uuid))):
        return max(candidates, key=lambda e: parse_time(e.scored_at))  # a relabelled branch: its latest result
    candidates = sorted(by_data.get((row.user_email, row.data_hash), []), key=lambda e: parse_time(e.scored_at))
    if not candidates:
        return None
    return next((e for e in candidates if day_of(e.scored_at) >= row.day), candidates[-1])


def time_stats(entries: Sequence[Entry], hourly_rate: float | None) -> TimeStats:
    timed = [e for e in entries if e.seconds is not None and e.seconds > 0]
    if not timed:
        return TimeStats()
    seconds = [e.seconds or 0.0 for e in timed]
    hours = sum(seconds) / 3600.0
    correct = sum(e.correct for e in timed)
    return TimeStats(
        tasks_timed=len(timed),
        hours=hours,
        minutes_per_task=statistics.median(seconds) / 60.0,
        tasks_per_hour=len(timed) / hours if hours > 0 else None,
        score_timed=stat(sum(e.score for e in timed), len(timed)),
        correct_objects=correct,
        cost_per_correct=hours * hourly_rate / correct if hourly_rate is not None and correct > 0 else None,
    )
