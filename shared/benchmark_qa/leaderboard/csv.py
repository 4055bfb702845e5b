"""CSV: one row per annotator (in leaderboard order) and, on request, the breakdowns after them: one row per
(annotator, class), (annotator, attribute path), (annotator, object size), (annotator, benchmark class ->
annotated class) and (annotator, radio attribute, benchmark answer -> given answer).

One fixed set of columns for every kind of row (`row_type` tells them apart), so spreadsheets filter rather than
parse several layouts; an attribute row keeps its accuracy in the `attributes*` columns, a size row its recall
and precision in theirs, a confusion or choice row its frames or objects in `count`. Numbers are written
unrounded; an empty cell means no evidence (n = 0)."""

from __future__ import annotations

import csv
import io

from benchmark_qa.leaderboard.model import AnnotatorRow, AttributeRow, ClassRow, Leaderboard, SizeRow
from benchmark_qa.leaderboard.quality import QualitySection
from benchmark_qa.scoring.metrics import Stat

STATS = ("score", "precision", "recall", "f1", "localisation", "attributes")
COLUMNS = [
    "row_type",
    "rank",
    "annotator",
    "class",
    "attribute",
    "status",
    "tasks",
    *(f"{name}{part}" for name in STATS for part in ("", "_low", "_high", "_n")),
    "tp",
    "fp",
    "fn",
    "better_than",
    "worse_than",
    "not_distinguishable",
    "not_compared",
    "hours",
    "tasks_timed",
    "minutes_per_task",
    "tasks_per_hour",
    "cost_per_correct",
    "truth",
    "annotated",
    "count",
    "top_conflict",
    "top_conflict_count",
    "first_scored_at",
    "last_scored_at",
    # the quality rows (docs/annotator-quality.md)
    "flag_id",
    "alpha",
    "ac1",
    "stream",
    "changed_at",
]


def _cells(name: str, s: Stat) -> dict[str, object]:
    return {name: s.value, f"{name}_low": s.low, f"{name}_high": s.high, f"{name}_n": s.n}


def _identity(row_type: str, row: AnnotatorRow) -> dict[str, object]:
    """The cells every kind of row starts with (the column order comes from COLUMNS)."""
    return {"row_type": row_type, "rank": row.rank, "annotator": row.annotator, "status": row.status}


def _annotator(row: AnnotatorRow) -> dict[str, object]:
    cells = _identity("annotator", row) | {
        "tasks": row.tasks,
        "tp": row.tp,
        "fp": row.fp,
        "fn": row.fn,
        "better_than": row.better_than if row.rank is not None else None,
        "worse_than": row.worse_than if row.rank is not None else None,
        "not_distinguishable": row.not_distinguishable if row.rank is not None else None,
        "not_compared": row.not_compared if row.rank is not None else None,
        "hours": row.time.hours,
        "tasks_timed": row.time.tasks_timed,
        "minutes_per_task": row.time.minutes_per_task,
        "tasks_per_hour": row.time.tasks_per_hour,
        "cost_per_correct": row.time.cost_per_correct,
        "top_conflict": row.conflicts[0].name if row.conflicts else None,
        "top_conflict_count": row.conflicts[0].count if row.conflicts else None,
        "first_scored_at": row.first_scored_at,
        "last_scored_at": row.last_scored_at,
    }
    for name in STATS:
        cells |= _cells(name, getattr(row, name))
    return cells


def _class(row: AnnotatorRow, c: ClassRow) -> dict[str, object]:
    cells = _identity("class", row) | {
        "class": c.name,
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
    }
    for name in ("precision", "recall", "f1", "localisation"):
        cells |= _cells(name, getattr(c, name))
    return cells


def _attribute(row: AnnotatorRow, a: AttributeRow) -> dict[str, object]:
    return _identity("attribute", row) | {"attribute": a.path} | _cells("attributes", a.accuracy)


def _size(row: AnnotatorRow, size: SizeRow) -> dict[str, object]:
    cells = _identity("size", row) | {"class": size.size, "tp": size.tp, "fp": size.fp, "fn": size.fn}
    return cells | _cells("recall", size.recall) | _cells("precision", size.precision)


def _breakdown(row: AnnotatorRow) -> list[dict[str, object]]:
    return [
        *(_class(row, c) for c in row.classes),
        *(_attribute(row, a) for a in row.attribute_paths),
        *(_size(row, s) for s in row.sizes),
        *(
            _identity("confusion", row) | {"truth": c.truth, "annotated": c.annotated, "count": c.count}
            for c in row.confusion
        ),
        *(
            _identity("choice", row)
            | {"attribute": c.path, "truth": c.truth, "annotated": c.answered, "count": c.frames}
            for c in row.choices
        ),
    ]


def render_csv(leaderboard: Leaderboard, *, breakdown: bool = False) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in leaderboard.annotators:
        writer.writerow(_annotator(row))
    if breakdown:
        for row in leaderboard.annotators:
            writer.writerows(_breakdown(row))
        if leaderboard.quality is not None:
            writer.writerows(_quality(leaderboard.quality))
    return out.getvalue()


def _quality(q: QualitySection) -> list[dict[str, object]]:
    """After the breakdowns: one row per suspect-ground-truth flag (`count` annotators against the truth), per
    agreement measure (`count` units) and per drift mark (`count` tasks from the change to the alarm, `score` the
    mean since the change)."""
    rows: list[dict[str, object]] = [
        {
            "row_type": "ground_truth_flag",
            "flag_id": f.flag_id,
            "status": f.status,
            "class": f.subject,
            "attribute": f.kind,
            "tasks": f.annotators,
            "truth": f.truth_value,
            "annotated": f.consensus_value,
            "count": len(f.against_truth),
        }
        for f in q.flags
    ]
    rows += [
        {"row_type": "agreement", "class": a.measure, "count": a.units, "alpha": a.alpha, "ac1": a.ac1}
        for a in q.agreement
    ]
    rows += [
        {
            "row_type": "drift",
            "annotator": d.annotator,
            "stream": d.stream,
            "changed_at": d.changed_at,
            "count": d.tasks_to_alarm,
            "score": d.recent_mean,
        }
        for d in q.drift
    ]
    return rows
