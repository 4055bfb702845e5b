"""Hand-made scored results: every number the leaderboard shows can be worked out from these on paper."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

from benchmark_qa.store.scores import AnnotatorResult, AttributeCounts, ClassCounts
from benchmark_qa.task_details import TaskDetails

Z = 1.959963984540054
GENERATED = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)
_task = itertools.count()


def wilson(p: float, n: float) -> tuple[float, float]:
    """The Wilson score interval, written out from its textbook formula (not the engine's code)."""
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return max(0.0, centre - half), min(1.0, centre + half)


def result(
    annotator: str,
    score: float,
    *,
    at: str = "2025-03-03T10:00:00.000+00:00",
    classes: dict[str, tuple[int, int, int, float]] | None = None,
    attributes: dict[str, tuple[int, int]] | None = None,
    conflicts: dict[str, int] | None = None,
    hints: list[str] | None = None,
    item: str | None = None,
    details: TaskDetails | None = None,
) -> AnnotatorResult:
    """One scored result; `item` (the benchmark data unit) is shared between annotators who labelled the same one,
    otherwise each result has an item of its own."""
    task = f"task-{next(_task)}"
    return AnnotatorResult(
        project_hash="project",
        task_uuid=task,
        data_hash=item or f"data-{task}",
        annotator=annotator,
        branch_name="main",
        label_hash=f"label-{task}",
        scored_at=at,
        score=score,
        interval_low=0.0,
        interval_high=1.0,
        n=10,
        classes={k: ClassCounts(tp=v[0], fp=v[1], fn=v[2], similarity_sum=v[3]) for k, v in (classes or {}).items()},
        attributes={k: AttributeCounts(correct=v[0], total=v[1]) for k, v in (attributes or {}).items()},
        conflict_totals=conflicts or {},
        hints=hints or [],
        details=details or TaskDetails(),
    )


def many(annotator: str, score: float, count: int) -> list[AnnotatorResult]:
    return [result(annotator, score) for _ in range(count)]


def shared(scores: dict[str, list[float]]) -> list[AnnotatorResult]:
    """Annotators who labelled the same items: scores[name][k] is their score on item k."""
    return [result(name, s, item=f"item-{k}") for name, row in scores.items() for k, s in enumerate(row)]
