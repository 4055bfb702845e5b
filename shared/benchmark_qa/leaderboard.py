"""The annotator leaderboard: scored benchmark tasks (`AnnotatorResult`) folded into one row per annotator, with
intervals, breakdowns, a trend and a ranking rule that does not reward luck on a handful of tasks.

Pure: no AWS, no I/O. The CLI (`benchmark-qa report`) reads the results from DynamoDB and renders this model
as HTML, CSV, JSON or text. docs/leaderboard.md explains every number.

Statistics reuse the scoring engine's `Stat` (value, n, Wilson 95% interval), so a task's report and the
leaderboard speak the same language:

* mean task score: Wilson interval with p = the mean, n = tasks. Task scores lie in [0, 1], so their variance is
  at most p(1-p) and this interval is conservative (never narrower than the truth for a bounded mean); unlike a
  t interval it exists for one task and does not collapse when the first few scores happen to agree.
* precision, recall, F1, localisation, attribute accuracy: pooled over tasks from the summed counts (micro),
  never averaged per task.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Literal, cast

from pydantic import BaseModel, Field

from benchmark_qa.scoring.metrics import DetectionCounts, Stat, stat
from benchmark_qa.store.scores import AnnotatorAggregate, AnnotatorResult, AttributeCounts, ClassCounts

DEFAULT_MIN_TASKS = 20  # the peers survey's suggested minimum of gold items before an annotator is ranked
TOP_ITEMS = 5
Bucket = Literal["day", "week"]
Status = Literal["ranked", "not enough evidence"]
NOT_ENOUGH_EVIDENCE: Status = "not enough evidence"
# Float noise must not split a tie: keys are compared at this precision.
TIE_DIGITS = 9

RANKING_RULE = (
    "Annotators with at least {min_tasks} scored tasks are ranked by the lower bound of the 95% interval of "
    "their mean task score (highest first): a high score on few tasks has a wide interval and a low bound, so it "
    "cannot outrank a slightly lower score that is backed by many tasks. Equal lower bounds are broken by the "
    "mean task score, then by the number of tasks; annotators equal on all three share a rank (listed by name). "
    "Annotators with fewer than {min_tasks} tasks are listed after the ranking as 'not enough evidence', "
    "most tasks first, and get no rank."
)

METHODS = {
    "score": "mean of the annotator's task scores (each benchmark task counts once); 95% Wilson interval with "
    "n = tasks (conservative for a mean of values in [0, 1])",
    "precision": "TP / (TP + FP), summed over tasks; Wilson 95% interval, n = TP + FP",
    "recall": "TP / (TP + FN), summed over tasks; Wilson 95% interval, n = TP + FN",
    "f1": "2TP / (2TP + FP + FN), summed over tasks; n = TP + FP + FN, the Wilson 95% interval of TP / n carried "
    "through F1 = 2J / (1 + J)",
    "localisation": "mean similarity (IoU, OKS, ...) of true positives: similarity_sum / TP; Wilson bound, n = TP",
    "attributes": "correct / total attribute answers on matched objects, summed over tasks; Wilson 95% interval",
    "trend": "mean task score per {bucket} (UTC; weeks start on Monday), with its Wilson interval and n = tasks",
    "conflicts": "frames in conflict per kind, summed over tasks",
    "hints": "number of tasks in which the hint was given (frame counts stripped so hints group)",
}


class ClassRow(BaseModel):
    name: str
    tp: int
    fp: int
    fn: int
    precision: Stat
    recall: Stat
    f1: Stat
    localisation: Stat


class AttributeRow(BaseModel):
    path: str
    correct: int
    total: int
    accuracy: Stat


class TrendPoint(BaseModel):
    period: str = Field(description="first day of the bucket, YYYY-MM-DD (UTC)")
    score: Stat


class Count(BaseModel):
    name: str
    count: int


class AnnotatorRow(BaseModel):
    annotator: str
    rank: int | None = Field(description="None when there is not enough evidence to rank")
    status: Status
    tasks: int
    score: Stat
    precision: Stat
    recall: Stat
    f1: Stat
    localisation: Stat
    attributes: Stat
    tp: int
    fp: int
    fn: int
    classes: list[ClassRow]
    attribute_paths: list[AttributeRow]
    trend: list[TrendPoint]
    conflicts: list[Count] = Field(description="most frequent conflict kinds, with frames summed over tasks")
    hints: list[Count] = Field(description="hints most often given, with the number of tasks")
    first_scored_at: str
    last_scored_at: str


class Leaderboard(BaseModel):
    generated_at: str
    since: str | None
    min_tasks: int
    bucket: Bucket
    ranking_rule: str
    methods: dict[str, str]
    tasks: int = Field(description="scored (task, annotator) results behind the leaderboard")
    open_errors: int = Field(0, description="tasks that could not be scored and are waiting")
    notes: list[str] = Field(default_factory=list, description="inconsistencies between results and aggregates")
    periods: list[str] = Field(description="every trend bucket present, oldest first")
    classes: list[str]
    annotators: list[AnnotatorRow]

    @property
    def ranked(self) -> list[AnnotatorRow]:
        return [a for a in self.annotators if a.rank is not None]


def parse_time(value: str) -> datetime:
    """ISO date or datetime; a naive value is UTC (scores are stamped in UTC)."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def bucket_start(moment: datetime, bucket: Bucket) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def choose_bucket(times: Sequence[datetime]) -> Bucket:
    """Days while they fit a readable chart (about two months), weeks beyond."""
    if not times:
        return "day"
    return "day" if (max(times) - min(times)).days <= 62 else "week"


def mean_score(scores: Sequence[float]) -> Stat:
    if not scores:
        return stat(0.0, 0)
    return stat(sum(scores), len(scores))


HINT_COUNT = re.compile(r"\s*(?:\bon\s+)?\(?\b\d+\s+(?:frame|time)s?\b\)?")


def hint_pattern(hint: str) -> str:
    """The hint without its frame count ("missed Car on 3 frames" -> "missed Car"), so tasks group."""
    return HINT_COUNT.sub("", hint).strip()


def _top(counter: Counter[str], limit: int) -> list[Count]:
    ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return [Count(name=name, count=n) for name, n in ordered[:limit] if n > 0]


def _detection(tp: int, fp: int, fn: int) -> tuple[Stat, Stat, Stat]:
    """Precision, recall and F1 of pooled counts, by the engine's own formulas."""
    counts = DetectionCounts(tp=tp, fp=fp, fn=fn).finish()
    return cast(tuple[Stat, Stat, Stat], (counts.precision, counts.recall, counts.f1))  # finish() sets all three


def _class_row(name: str, counts: ClassCounts) -> ClassRow:
    precision, recall, f1 = _detection(counts.tp, counts.fp, counts.fn)
    return ClassRow(
        name=name,
        tp=counts.tp,
        fp=counts.fp,
        fn=counts.fn,
        precision=precision,
        recall=recall,
        f1=f1,
        localisation=stat(counts.similarity_sum, counts.tp),
    )


def _annotator_row(
    annotator: str, results: list[AnnotatorResult], bucket: Bucket, min_tasks: int, top: int
) -> AnnotatorRow:
    classes: dict[str, ClassCounts] = defaultdict(ClassCounts)
    attributes: dict[str, AttributeCounts] = defaultdict(AttributeCounts)
    conflicts: Counter[str] = Counter()
    hints: Counter[str] = Counter()
    periods: dict[date, list[float]] = defaultdict(list)
    for result in results:
        for name, c in result.classes.items():
            total = classes[name]
            total.tp, total.fp, total.fn = total.tp + c.tp, total.fp + c.fp, total.fn + c.fn
            total.similarity_sum += c.similarity_sum
        for path, a in result.attributes.items():
            attributes[path].correct += a.correct
            attributes[path].total += a.total
        conflicts.update(result.conflict_totals)
        hints.update({hint_pattern(h) for h in result.hints})  # once per task: "given in k tasks"
        periods[bucket_start(parse_time(result.scored_at), bucket)].append(result.score)
    tp = sum(c.tp for c in classes.values())
    fp = sum(c.fp for c in classes.values())
    fn = sum(c.fn for c in classes.values())
    precision, recall, f1 = _detection(tp, fp, fn)
    # By instant, not by string: stamps written with different UTC offsets do not sort as text.
    stamps = sorted((r.scored_at for r in results), key=parse_time)
    return AnnotatorRow(
        annotator=annotator,
        rank=None,
        status="ranked" if len(results) >= min_tasks else NOT_ENOUGH_EVIDENCE,
        tasks=len(results),
        score=mean_score([r.score for r in results]),
        precision=precision,
        recall=recall,
        f1=f1,
        localisation=stat(sum(c.similarity_sum for c in classes.values()), tp),
        attributes=stat(sum(a.correct for a in attributes.values()), sum(a.total for a in attributes.values())),
        tp=tp,
        fp=fp,
        fn=fn,
        classes=[_class_row(name, classes[name]) for name in sorted(classes)],
        attribute_paths=[
            AttributeRow(path=p, correct=a.correct, total=a.total, accuracy=stat(a.correct, a.total))
            for p, a in sorted(attributes.items())
        ],
        trend=[TrendPoint(period=day.isoformat(), score=mean_score(periods[day])) for day in sorted(periods)],
        conflicts=_top(conflicts, top),
        hints=_top(hints, top),
        first_scored_at=stamps[0],
        last_scored_at=stamps[-1],
    )


def _rank_key(row: AnnotatorRow) -> tuple[float, float, int]:
    return (round(row.score.low or 0.0, TIE_DIGITS), round(row.score.value or 0.0, TIE_DIGITS), row.tasks)


def rank(rows: Iterable[AnnotatorRow]) -> list[AnnotatorRow]:
    """Ranked rows first (standard competition ranking: 1, 1, 3), then the rest; names break every tie."""
    by_name = sorted(rows, key=lambda r: r.annotator)
    eligible = sorted((r for r in by_name if r.status == "ranked"), key=_rank_key, reverse=True)
    previous: tuple[float, float, int] | None = None
    ranked: list[AnnotatorRow] = []
    for position, row in enumerate(eligible, start=1):
        key = _rank_key(row)
        shared = ranked[-1].rank if key == previous and ranked else position
        ranked.append(row.model_copy(update={"rank": shared}))
        previous = key
    # sorted() is stable, so equal keys keep the name order taken above.
    rest = sorted((r for r in by_name if r.status != "ranked"), key=lambda r: -r.tasks)
    return ranked + rest


def _notes(results: Sequence[AnnotatorResult], aggregates: Sequence[AnnotatorAggregate]) -> list[str]:
    """Aggregates are written in the same transaction as each result, so a difference means lost or edited data."""
    counted = Counter(r.annotator for r in results)
    notes = []
    for aggregate in sorted(aggregates, key=lambda a: a.annotator):
        if aggregate.tasks != counted.get(aggregate.annotator, 0):
            notes.append(
                f"{aggregate.annotator}: the running aggregate counts {aggregate.tasks} tasks but "
                f"{counted.get(aggregate.annotator, 0)} results were found"
            )
    return notes


def build_leaderboard(
    results: Iterable[AnnotatorResult],
    *,
    aggregates: Sequence[AnnotatorAggregate] = (),
    since: datetime | None = None,
    min_tasks: int = DEFAULT_MIN_TASKS,
    bucket: Bucket | None = None,
    open_errors: int = 0,
    top: int = TOP_ITEMS,
    generated_at: datetime | None = None,
) -> Leaderboard:
    """Fold scored results into the leaderboard. `since` keeps results scored at or after it; aggregates (all
    time) are only compared with the results when no `since` is given. `bucket` None picks days or weeks."""
    if min_tasks < 1:
        raise ValueError("min_tasks must be at least 1")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a naive bound is UTC, like the stamps (comparing would raise)
    kept = [r for r in results if since is None or parse_time(r.scored_at) >= since]
    chosen = bucket or choose_bucket([parse_time(r.scored_at) for r in kept])
    grouped: dict[str, list[AnnotatorResult]] = defaultdict(list)
    for result in kept:
        grouped[result.annotator].append(result)
    rows = rank(_annotator_row(name, rs, chosen, min_tasks, top) for name, rs in grouped.items())
    return Leaderboard(
        generated_at=(generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        since=since.isoformat() if since else None,
        min_tasks=min_tasks,
        bucket=chosen,
        ranking_rule=RANKING_RULE.format(min_tasks=min_tasks),
        methods={k: v.format(bucket=chosen) for k, v in METHODS.items()},
        tasks=len(kept),
        open_errors=open_errors,
        notes=_notes(kept, aggregates) if since is None else [],
        periods=sorted({p.period for row in rows for p in row.trend}),
        classes=sorted({c.name for row in rows for c in row.classes}),
        annotators=rows,
    )


__all__ = [
    "DEFAULT_MIN_TASKS",
    "METHODS",
    "NOT_ENOUGH_EVIDENCE",
    "RANKING_RULE",
    "AnnotatorRow",
    "AttributeRow",
    "ClassRow",
    "Count",
    "Leaderboard",
    "TrendPoint",
    "build_leaderboard",
    "hint_pattern",
    "rank",
]
