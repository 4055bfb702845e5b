"""The annotator leaderboard, folded from each annotator's aggregate and ledger (`AnnotatorAggregate`), plus the
few results the drill-down shows. Pure: no AWS, no I/O (`read_leaderboard` in `benchmark_qa.leaderboard.reading`
does the reading). docs/leaderboard.md explains every number.

* mean task score: Wilson interval with p = the mean, n = tasks. Task scores lie in [0, 1], so their variance is
  at most p(1-p) and this interval is conservative; unlike a t interval it exists for one task.
* precision, recall, F1, localisation, attribute accuracy, sizes: pooled over tasks from the summed counts (micro),
  never averaged per task.
* rank: paired sign tests on the shared benchmark items with Holm's correction (`ranking`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TypedDict, Unpack, cast

from benchmark_qa.leaderboard.links import EditorLinks
from benchmark_qa.leaderboard.model import (
    NOT_ENOUGH_EVIDENCE,
    AnnotatorRow,
    AttributeRow,
    Bucket,
    ChoiceRow,
    ClassRow,
    ConflictLink,
    ConfusionCell,
    Count,
    Leaderboard,
    PairComparison,
    SizeRow,
    WorstTask,
)
from benchmark_qa.leaderboard.ranking import ALPHA, compare_pairs, groups, ranks
from benchmark_qa.leaderboard.timing import time_stats
from benchmark_qa.leaderboard.trend import choose_bucket, parse_time, team_trend, trend
from benchmark_qa.scoring.metrics import DetectionCounts, Stat, stat
from benchmark_qa.store.scores import AnnotatorAggregate, AnnotatorResult, ClassCounts, aggregate_results
from benchmark_qa.task_details import SIZE_BUCKETS

DEFAULT_MIN_TASKS = 20  # the peers survey's suggested minimum of gold items before an annotator is ranked
TOP_ITEMS = 5
WORST_TASKS = 5  # per annotator, in the drill-down

RANKING_RULE = (
    "Annotators with at least {min_tasks} scored tasks are compared two by two on the benchmark items both "
    "labelled: on how many shared items each scored higher (an exact sign test; items where both scored the same "
    "are left out). With this many comparisons some would look different by chance, so the p-values are corrected "
    "with Holm's method: the chance that any difference this page shows is a fluke is below {alpha:.0%}. "
    "An annotator's rank is 1 + the number of annotators shown to be better (directly, or through a chain: A "
    "better than B and B better than C). Annotators who cannot be told apart share a rank; within a rank they are "
    "listed by mean task score, which alone proves nothing. Annotators with fewer than {min_tasks} tasks are "
    "listed after the ranking as 'not enough evidence', most tasks first, and get no rank."
)

METHODS = {
    "score": "mean of the annotator's task scores (each benchmark task counts once); 95% Wilson interval with "
    "n = tasks (conservative for a mean of values in [0, 1])",
    "rank": "1 + annotators shown to be better by the paired sign test on shared items, Holm-corrected at 5%",
    "precision": "TP / (TP + FP), summed over tasks; Wilson 95% interval, n = TP + FP",
    "recall": "TP / (TP + FN), summed over tasks; Wilson 95% interval, n = TP + FN",
    "f1": "2TP / (2TP + FP + FN), summed over tasks; n = TP + FP + FN, the Wilson 95% interval of TP / n carried "
    "through F1 = 2J / (1 + J)",
    "localisation": "mean similarity (IoU, OKS, ...) of true positives: similarity_sum / TP; Wilson bound, n = TP",
    "attributes": "correct / total attribute answers on matched objects, summed over tasks; Wilson 95% interval",
    "trend": "mean task score per {bucket} (UTC; weeks start on Monday), with its Wilson interval and n = tasks; "
    "the team line is the median of the annotators' means",
    "confusion": "objects of each benchmark class (row) by the class the annotator gave them (column); "
    "'unmatched' collects objects missed (column) and objects added with no benchmark object (row)",
    "sizes": "recall and precision by object size, COCO's areas in the frame's pixels: small < 32x32, medium < "
    "96x96, large above; misses and hits by the benchmark object's area, extras by the drawn object's",
    "choices": "radio attributes answered differently from the benchmark, in frames, by benchmark answer -> given",
    "time": "seconds Encord measured on each scored task (Project.list_time_spent), joined by task and user; "
    "minutes per task is the median over timed tasks, cost per correct object = hours x hourly rate / TP",
    "conflicts": "frames in conflict per kind, summed over tasks",
    "hints": "number of tasks in which the hint was given (frame counts stripped so hints group)",
}

DrillDown = Mapping[tuple[str, str], AnnotatorResult]  # (annotator, entry key) -> result


class Options(TypedDict, total=False):
    """What `assemble` and `build_leaderboard` take besides the evidence."""

    min_tasks: int
    bucket: Bucket | None
    open_errors: int
    top: int
    links: EditorLinks | None
    hourly_rate: float | None
    currency: str
    alpha: float
    generated_at: datetime | None


def _top(counter: Mapping[str, int], limit: int) -> list[Count]:
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


def worst_keys(aggregates: Iterable[AnnotatorAggregate], limit: int = WORST_TASKS) -> list[tuple[str, str]]:
    """(annotator, entry key) of each annotator's lowest-scoring tasks: the only results the drill-down reads."""
    keys = []
    for a in aggregates:
        worst = sorted(a.entries, key=lambda e: (e.score, e.scored_at, e.task_uuid))[:limit]
        keys += [(a.annotator, f"{e.task_uuid}#{e.label_hash}") for e in worst]
    return keys


def _worst(aggregate: AnnotatorAggregate, results: DrillDown, links: EditorLinks | None) -> list[WorstTask]:
    out = []
    seconds = {f"{e.task_uuid}#{e.label_hash}": e.seconds for e in aggregate.entries}
    for annotator, key in worst_keys([aggregate]):
        result = results.get((annotator, key))
        if result is None:
            continue
        project, data = result.project_hash, result.data_hash

        def link(frame: int, obj: str | None, project: str = project, data: str = data) -> str | None:
            return links.editor(project, data, frame, obj) if links else None

        minutes = seconds.get(key)
        out.append(
            WorstTask(
                task_uuid=result.task_uuid,
                data_hash=data,
                data_title=result.data_title,
                scored_at=result.scored_at,
                score=result.score,
                minutes=minutes / 60.0 if minutes else None,
                editor_url=link(0, None),
                conflicts=[
                    ConflictLink(
                        kind=c.kind,
                        severity=c.severity,
                        frame=c.frame,
                        frames=c.frames,
                        subject=c.path or c.truth_value or c.labels_value or "",
                        truth=c.truth_value if c.kind in ("wrong_class", "attribute_mismatch") else None,
                        annotated=c.labels_value if c.kind in ("wrong_class", "attribute_mismatch") else None,
                        similarity=c.similarity,
                        editor_url=link(c.frame, c.labels_hash if c.kind != "id_switch" else None),
                        truth_url=links.truth(data, c.frame, c.truth_hash) if links else None,
                    )
                    for c in result.details.worst
                ],
            )
        )
    return out


def _annotator_row(
    a: AnnotatorAggregate,
    bucket: Bucket,
    min_tasks: int,
    top: int,
    results: DrillDown,
    links: EditorLinks | None,
    hourly_rate: float | None,
) -> AnnotatorRow:
    entries = a.entries
    tp, fp, fn = a.tp, a.fp, a.fn
    precision, recall, f1 = _detection(tp, fp, fn)
    stamps = sorted((e.scored_at for e in entries), key=parse_time)
    tasks = a.tasks if a.tasks else len(entries)
    sizes = []
    for size in SIZE_BUCKETS:
        c = a.sizes.get(size)
        if c is not None:
            sizes.append(
                SizeRow(
                    size=size,
                    tp=c.tp,
                    fp=c.fp,
                    fn=c.fn,
                    recall=stat(c.tp, c.tp + c.fn),
                    precision=stat(c.tp, c.tp + c.fp),
                )
            )
    return AnnotatorRow(
        annotator=a.annotator,
        rank=None,
        status="ranked" if tasks >= min_tasks else NOT_ENOUGH_EVIDENCE,
        tasks=tasks,
        score=stat(a.score_sum, tasks),
        precision=precision,
        recall=recall,
        f1=f1,
        localisation=stat(a.similarity_sum, tp),
        attributes=stat(a.attribute_correct, a.attribute_total),
        tp=tp,
        fp=fp,
        fn=fn,
        classes=[_class_row(name, a.classes[name]) for name in sorted(a.classes)],
        attribute_paths=[
            AttributeRow(path=p, correct=c.correct, total=c.total, accuracy=stat(c.correct, c.total))
            for p, c in sorted(a.attributes.items())
        ],
        trend=trend(((e.scored_at, e.score) for e in entries), bucket),
        conflicts=_top(a.conflicts, top),
        hints=_top(a.hints, top),
        confusion=[
            ConfusionCell(truth=t, annotated=given, count=n)
            for t, row in sorted(a.confusion.items())
            for given, n in sorted(row.items())
        ],
        sizes=sizes,
        choices=[
            ChoiceRow(path=path, truth=t, answered=given, frames=n)
            for path, by_truth in sorted(a.choices.items())
            for t, row in sorted(by_truth.items())
            for given, n in sorted(row.items())
        ],
        time=time_stats(entries, hourly_rate),
        worst=_worst(a, results, links),
        first_scored_at=stamps[0] if stamps else a.last_scored_at,
        last_scored_at=stamps[-1] if stamps else a.last_scored_at,
    )


def _rank(
    rows: list[AnnotatorRow], aggregates: Mapping[str, AnnotatorAggregate], alpha: float
) -> tuple[list[AnnotatorRow], list[PairComparison]]:
    """Rank the eligible rows by the paired tests; returns (rows in leaderboard order, comparisons)."""
    eligible = sorted(
        (r for r in rows if r.status == "ranked"), key=lambda r: (-(r.score.value or 0.0), -r.tasks, r.annotator)
    )
    names = [r.annotator for r in eligible]
    items: dict[str, dict[str, float]] = {}
    for name in names:
        per_item: dict[str, list[float]] = defaultdict(list)
        for e in aggregates[name].entries:
            per_item[e.data_hash].append(e.score)
        items[name] = {item: sum(v) / len(v) for item, v in per_item.items()}
    comparisons = compare_pairs(items, names, alpha)
    rank_of = ranks(names, comparisons)
    counts: dict[str, Counter[str]] = {n: Counter() for n in names}
    for c in comparisons:
        for me, other in ((c.first, c.second), (c.second, c.first)):
            counts[me]["better" if c.better == me else "worse" if c.better == other else "same"] += 1
    ranked = [
        r.model_copy(
            update={
                "rank": rank_of[r.annotator],
                "better_than": counts[r.annotator]["better"],
                "worse_than": counts[r.annotator]["worse"],
                "not_distinguishable": counts[r.annotator]["same"],
                "not_compared": len(names) - 1 - sum(counts[r.annotator].values()),
            }
        )
        for r in eligible
    ]
    ranked.sort(key=lambda r: (r.rank, -(r.score.value or 0.0), -r.tasks, r.annotator))
    rest = sorted((r for r in rows if r.status != "ranked"), key=lambda r: (-r.tasks, r.annotator))
    return ranked + rest, comparisons


def ledger_notes(aggregates: Sequence[AnnotatorAggregate]) -> list[str]:
    """Each result is written in one transaction with its additions, so a difference means lost or edited data."""
    return [
        f"{a.annotator}: the running aggregate counts {a.tasks} tasks but its ledger holds {len(a.entries)} results"
        for a in sorted(aggregates, key=lambda a: a.annotator)
        if a.tasks != len(a.entries)
    ]


def assemble(
    aggregates: Sequence[AnnotatorAggregate],
    *,
    results: DrillDown | None = None,
    since: datetime | None = None,
    min_tasks: int = DEFAULT_MIN_TASKS,
    bucket: Bucket | None = None,
    open_errors: int = 0,
    notes: Sequence[str] = (),
    top: int = TOP_ITEMS,
    links: EditorLinks | None = None,
    hourly_rate: float | None = None,
    currency: str = "USD",
    alpha: float = ALPHA,
    generated_at: datetime | None = None,
) -> Leaderboard:
    """The leaderboard of these aggregates (with their ledgers); `results` holds the drill-down's results
    (`worst_keys`). `bucket` None picks days, weeks or months by the span."""
    if min_tasks < 1:
        raise ValueError("min_tasks must be at least 1")
    chosen = bucket or choose_bucket([parse_time(e.scored_at) for a in aggregates for e in a.entries])
    rows = [_annotator_row(a, chosen, min_tasks, top, results or {}, links, hourly_rate) for a in aggregates]
    by_name = {a.annotator: a for a in aggregates}
    ordered, comparisons = _rank(rows, by_name, alpha)
    ranked = [r for r in ordered if r.rank is not None]
    return Leaderboard(
        generated_at=(generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        since=since.isoformat() if since else None,
        min_tasks=min_tasks,
        bucket=chosen,
        ranking_rule=RANKING_RULE.format(min_tasks=min_tasks, alpha=alpha),
        methods={k: v.format(bucket=chosen) for k, v in METHODS.items()},
        tasks=sum(r.tasks for r in ordered),
        open_errors=open_errors,
        notes=list(notes),
        periods=sorted({p.period for row in ordered for p in row.trend}),
        team_trend=team_trend(r.trend for r in ordered),
        classes=sorted({c.name for row in ordered for c in row.classes}),
        annotators=ordered,
        groups=groups([r.annotator for r in ranked], {r.annotator: r.rank or 0 for r in ranked}, comparisons),
        comparisons=comparisons,
        alpha=alpha,
        hourly_rate=hourly_rate,
        currency=currency,
    )


def build_leaderboard(
    results: Iterable[AnnotatorResult],
    *,
    aggregates: Sequence[AnnotatorAggregate] = (),
    since: datetime | None = None,
    **options: Unpack[Options],
) -> Leaderboard:
    """The leaderboard of results read directly (all of them, or those scored at or after `since`). `aggregates`
    (the stored ones, all time) are compared with the results when no `since` is given. Options as `assemble`."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a naive bound is UTC, like the stamps (comparing would raise)
    kept = [r for r in results if since is None or parse_time(r.scored_at) >= since]
    folded = aggregate_results(kept)
    counted = {a.annotator: a.tasks for a in folded}
    notes = [
        f"{a.annotator}: the running aggregate counts {a.tasks} tasks but {counted.get(a.annotator, 0)} results were "
        "found"
        for a in sorted(aggregates, key=lambda a: a.annotator)
        if since is None and a.tasks != counted.get(a.annotator, 0)
    ]
    drill = {(r.annotator, r.key): r for r in kept}
    return assemble(folded, results=drill, since=since, notes=notes, **options)
