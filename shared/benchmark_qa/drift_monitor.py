"""The drift monitor in production: ReportFunction, on its schedule, runs the CUSUM chart (benchmark_qa.drift) on
every annotator's stream of task scores, in the order they were scored, and, when asked, on each class's F1 per
task; every alarm is written once as a DRIFT# event (its business key: annotator, stream and the task that
raised it), so a re-run or an overlapping run adds nothing and only new alarms count in the AnnotatorDrift
metric (docs/annotator-quality.md).

The score stream comes from each annotator's ledger (a few items per week, what the leaderboard reads anyway);
class streams need every result of the annotator (one index query each), so they are opt-in (DRIFT_PER_CLASS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from benchmark_qa.drift import DriftSettings, DriftStatus, Point, cusum

if TYPE_CHECKING:
    from collections.abc import Iterable

    from benchmark_qa.store.quality import QualityRepository
    from benchmark_qa.store.scores import AnnotatorAggregate, AnnotatorResult, ScoresRepository

SCORE_STREAM = "score"


@dataclass
class DriftRun:
    annotators: int = 0
    streams: int = 0
    events_new: int = 0
    drifting: list[str] = field(default_factory=list)  # "annotator / stream" whose last alarm is still open

    def summary(self) -> dict[str, object]:
        return {
            "annotators": self.annotators,
            "streams": self.streams,
            "drift_events_new": self.events_new,
            "drifting": self.drifting,
        }


def class_streams(results: Iterable[AnnotatorResult]) -> dict[str, list[Point]]:
    """Per class, the F1 of each task where the class occurred (in the truth or in the labels), in scoring order."""
    streams: dict[str, list[Point]] = {}
    for r in sorted(results, key=lambda r: (r.scored_at, r.task_uuid)):
        for name, c in sorted(r.classes.items()):
            if c.tp + c.fp + c.fn:
                key = f"{r.scored_at}#{r.task_uuid}"
                streams.setdefault(name, []).append(Point(key=key, value=2 * c.tp / (2 * c.tp + c.fp + c.fn)))
    return streams


def score_stream(aggregate: AnnotatorAggregate) -> list[Point]:
    return [Point(key=f"{e.scored_at}#{e.task_uuid}", value=e.score) for e in aggregate.entries]


def monitor_drift(
    scores: ScoresRepository,
    quality: QualityRepository,
    settings: DriftSettings | None = None,
    *,
    per_class: bool = False,
) -> DriftRun:
    run = DriftRun()
    for aggregate in scores.aggregates():
        run.annotators += 1
        statuses: list[DriftStatus] = [cusum(SCORE_STREAM, score_stream(aggregate), settings)]
        if per_class:
            streams = class_streams(scores.annotator_results(aggregate.annotator))
            statuses += [cusum(f"class:{name}", points, settings) for name, points in sorted(streams.items())]
        for status in statuses:
            run.streams += 1
            run.events_new += sum(1 for e in status.events if quality.add_drift_event(aggregate.annotator, e))
            if status.drifting:
                run.drifting.append(f"{aggregate.annotator} / {status.stream}")
    return run
