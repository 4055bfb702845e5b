"""The annotator leaderboard: scored benchmark tasks folded into one row per annotator, with intervals, an
honest ranking (paired tests, rank groups), breakdowns, trends, time and cost, and a drill-down to the tasks in
Encord. Built from aggregates (`read_leaderboard`) or from results (`build_leaderboard`), rendered by the
modules `html`, `csv`, `json` and `text`, and published by the ReportFunction (`publish`).
docs/leaderboard.md explains every number."""

from benchmark_qa.leaderboard.build import (
    DEFAULT_MIN_TASKS,
    METHODS,
    RANKING_RULE,
    Options,
    assemble,
    build_leaderboard,
    ledger_notes,
    worst_keys,
)
from benchmark_qa.leaderboard.links import EditorLinks, app_url
from benchmark_qa.leaderboard.model import (
    NOT_ENOUGH_EVIDENCE,
    AnnotatorRow,
    AttributeRow,
    Bucket,
    ClassRow,
    Count,
    Leaderboard,
    PairComparison,
    RankGroup,
    TrendPoint,
)
from benchmark_qa.leaderboard.reading import read_leaderboard
from benchmark_qa.leaderboard.trend import bucket_start, choose_bucket, parse_time
from benchmark_qa.task_details import hint_pattern

__all__ = [
    "DEFAULT_MIN_TASKS",
    "METHODS",
    "NOT_ENOUGH_EVIDENCE",
    "RANKING_RULE",
    "AnnotatorRow",
    "AttributeRow",
    "Bucket",
    "ClassRow",
    "Count",
    "EditorLinks",
    "Leaderboard",
    "Options",
    "PairComparison",
    "RankGroup",
    "TrendPoint",
    "app_url",
    "assemble",
    "bucket_start",
    "build_leaderboard",
    "choose_bucket",
    "hint_pattern",
    "ledger_notes",
    "parse_time",
    "read_leaderboard",
    "worst_keys",
]
