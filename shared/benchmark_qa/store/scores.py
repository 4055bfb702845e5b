"""Annotator scores: one result per (task, annotator, label hash) and running aggregates per annotator.

Keys (pk / sk) and access patterns:

  SCORE#<task uuid>             RESULT#<annotator>#<label hash>   one scored branch (AnnotatorResult)
      by annotator, newest last                                   gsi1: ANNOTATOR#<annotator> / <scored_at>#<task>
  AGGREGATE#<annotator>         TOTAL                             summed counts over every scored branch
  AGGREGATE#<annotator>         CLASS#<class name>                tp / fp / fn / similarity_sum for one class
  AGGREGATE#<annotator>         ATTRIBUTE#<attribute path>        correct / total for one attribute path
  AGGREGATE#<annotator>         WEEK#<yyyy-mm-dd, a Monday>       the week's ledger: a string set `ledger` with one
                                                                  compact entry per result, and a string set `time`
                                                                  with the seconds Encord measured per result and day
  AGGREGATE#<annotator>         CONFLICTS                         frames in conflict, one attribute per kind
  AGGREGATE#<annotator>         COUNTERS#<n>                      breakdown counters beyond the TOTAL item's 200
      every annotator's TOTAL                                     gsi1: AGGREGATES / <annotator>
  SCORE_PENDING#<task>#<annotator>#<label hash>  PENDING          a result whose tallies did not fit its transaction:
      `todo` holds the slices of its writes still to add               gsi1: SCORE_PENDING / <scored_at>
  SCORE_ERROR#<task uuid>       ERROR                             why a task could not be scored (it stays put)
      every open error                                            gsi1: SCORE_ERRORS / <time>#<task>
  FEEDBACK#<task uuid>          <annotator>#<label hash>          the annotator's feedback comment was posted

A result and the additions to its annotator's aggregates (conflict counts and ledger included) are written in one
transaction conditioned on the result not existing yet: scoring the same label hash twice (a retried message, an
overlapping run) adds nothing the second time, and a result is one DynamoDB request. Aggregates hold sums, never
averages, so they can be added to and divided later. Nothing is capped: a result with more tallies than one
transaction takes (100 items) writes a PENDING marker in that transaction naming the slices still to add; each
slice is added in a transaction that removes its name from the marker (conditioned on it being there), so a
slice is added once whoever completes it: the writer itself, its retry, or `complete_pending` on the next
scoring run after a kill. A transaction cancelled by a conflict with another writer is retried with backoff;
one that keeps conflicting raises `Contended` for the caller to retry that task later.
The TOTAL item also counts the drill-down's breakdowns (`cm:` truth -> annotated class, `sz:` object sizes,
`ch:` radio answers, `hi:` hints), each as one number under a JSON-encoded name.

The leaderboard reads the aggregates and the ledger (a few items per annotator and week), never every result:
`aggregate_results` folds results in memory by the very same writes, so both give the same `AnnotatorAggregate`.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from benchmark_qa.store.table import conditional, from_dynamo, is_conflict, now_iso, query, scan, to_dynamo
from benchmark_qa.task_details import SizeCounts, TaskDetails, hint_pattern

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

AGGREGATES = "AGGREGATES"
SCORE_ERRORS = "SCORE_ERRORS"
CONFLICTS = "CONFLICTS"  # the sk of an annotator's conflict counts (one attribute per conflict kind)
_PART_KEYS = frozenset({"pk", "sk", "annotator", "kind"})
SCORE_PENDING = "SCORE_PENDING"
# DynamoDB transactions take at most 100 items (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
# ServiceQuotas.html): more writes than fit go in further transactions, tracked by a PENDING marker.
TRANSACTION_LIMIT = 100
# An update expression is at most 4 KB: at most this many breakdown counters per item (about 14 bytes each); the
# rest go to COUNTERS#<n> rows.
MAX_COUNTERS = 100
CONFLICT_ATTEMPTS = 6  # a transaction cancelled by another writer's conflict: tried this often, with backoff
BATCH_GET_LIMIT = 100
# What the drill-down reads of a result (and what AnnotatorResult needs to validate), not its counts.
DRILL_DOWN_FIELDS = (
    "project_hash",
    "task_uuid",
    "data_hash",
    "data_title",
    "annotator",
    "branch_name",
    "label_hash",
    "scored_at",
    "score",
    "interval_low",
    "interval_high",
    "n",
    "details",
)


class ClassCounts(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0
    similarity_sum: float = 0.0


class AttributeCounts(BaseModel):
    correct: int = 0
    total: int = 0


class AnnotatorResult(BaseModel):
    """One annotator's branch of one benchmark task, scored against the ground truth."""

    project_hash: str
    task_uuid: str
    data_hash: str
    data_title: str = ""
    annotator: str
    branch_name: str
    label_hash: str
    scored_at: str = Field(default_factory=now_iso)
    score: float = Field(ge=0.0, le=1.0)
    interval_low: float = Field(ge=0.0, le=1.0)
    interval_high: float = Field(ge=0.0, le=1.0)
    n: int = Field(ge=0)
    components: dict[str, float] = Field(default_factory=dict, description="component name -> value")
    classes: dict[str, ClassCounts] = Field(default_factory=dict)
    attributes: dict[str, AttributeCounts] = Field(default_factory=dict, description="attribute path -> counts")
    conflict_totals: dict[str, int] = Field(default_factory=dict)
    hints: list[str] = Field(default_factory=list, description="never reveal the ground truth")
    report_key: str | None = Field(None, description="S3 key of the full JSON report, when stored")
    details: TaskDetails = Field(default_factory=TaskDetails, description="what the leaderboard's drill-down shows")

    @property
    def key(self) -> str:
        """The result's business key within its annotator: task and label hash."""
        return f"{self.task_uuid}#{self.label_hash}"

    @property
    def correct(self) -> int:
        """Objects labelled right (true positives), for cost per correct object."""
        return sum(c.tp for c in self.classes.values())


class Entry(BaseModel):
    """One result in its annotator's ledger: what rankings, trends and time need, without reading the result."""

    task_uuid: str
    label_hash: str
    data_hash: str
    scored_at: str
    score: float
    correct: int = 0
    days: dict[str, float] = Field(default_factory=dict, description="seconds Encord measured, per day of work")

    @property
    def seconds(self) -> float | None:
        """Time Encord measured on the task, once joined."""
        return sum(self.days.values()) if self.days else None

    def ledger_value(self) -> str:
        """The entry as its element of its week's `ledger` set."""
        values = [self.task_uuid, self.label_hash, self.data_hash, self.scored_at, self.score, self.correct]
        return json.dumps(values, separators=(",", ":"))

    def time_value(self, day: str, seconds: float) -> str:
        return json.dumps([self.task_uuid, self.label_hash, day, seconds], separators=(",", ":"))


class AnnotatorAggregate(BaseModel):
    annotator: str
    tasks: int = 0
    score_sum: float = 0.0
    n: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    similarity_sum: float = 0.0
    attribute_correct: int = 0
    attribute_total: int = 0
    conflicts: dict[str, int] = Field(default_factory=dict)
    classes: dict[str, ClassCounts] = Field(default_factory=dict)
    attributes: dict[str, AttributeCounts] = Field(default_factory=dict)
    last_scored_at: str = ""
    confusion: dict[str, dict[str, int]] = Field(default_factory=dict, description="truth -> annotated -> objects")
    sizes: dict[str, SizeCounts] = Field(default_factory=dict)
    choices: dict[str, dict[str, dict[str, int]]] = Field(
        default_factory=dict, description="radio path -> truth answer -> given answer -> frames"
    )
    hints: dict[str, int] = Field(default_factory=dict, description="hint pattern -> tasks it was given in")
    entries: list[Entry] = Field(default_factory=list, description="the ledger, oldest first")


Write = tuple[str, str, dict[str, Any], dict[str, Any]]  # pk, sk, attributes set, numbers added


@lru_cache(maxsize=4096)  # the same few class, size and hint names over and over
def _counter(prefix: str, *parts: str) -> str:
    return f"{prefix}:" + json.dumps(parts, ensure_ascii=False, separators=(",", ":"))


class Contended(RuntimeError):
    """Other writers kept changing the same aggregate items: nothing of this transaction was written, and the
    task is scored again later (its other results are idempotent)."""


def _counters(result: AnnotatorResult) -> dict[str, int]:
    """The drill-down's breakdowns as named numbers, sorted (the TOTAL item takes MAX_COUNTERS, the rest go to
    COUNTERS rows)."""
    out: dict[str, int] = defaultdict(int)
    details = result.details
    for truth, row in details.confusion.items():
        for annotated, count in row.items():
            out[_counter("cm", truth, annotated)] += count
    for bucket, c in details.sizes.items():
        for kind in ("tp", "fp", "fn"):
            if getattr(c, kind):
                out[_counter("sz", bucket, kind)] += getattr(c, kind)
    for choice in details.choices:
        out[_counter("ch", choice.path, choice.truth, choice.labels)] += choice.frames
    for pattern in {hint_pattern(h) for h in result.hints}:  # once per task: "given in k tasks"
        out[_counter("hi", pattern)] = 1
    return dict(sorted(out.items()))


def day_of(scored_at: str) -> str:
    """The UTC day of a stamp."""
    return _instant(scored_at).astimezone(UTC).date().isoformat()


def ledger_row(scored_at: str) -> str:
    """The ledger row a result is filed in: its UTC week (from Monday). A week keeps a row well under DynamoDB's
    400 KB item limit (about 2,500 results) and the rows few (13 per annotator over 90 days)."""
    day = _instant(scored_at).astimezone(UTC).date()
    return f"WEEK#{(day - timedelta(days=day.weekday())).isoformat()}"


def _entry(result: AnnotatorResult) -> Entry:
    return Entry(
        task_uuid=result.task_uuid,
        label_hash=result.label_hash,
        data_hash=result.data_hash,
        scored_at=result.scored_at,
        score=result.score,
        correct=result.correct,
    )


def result_writes(result: AnnotatorResult) -> list[Write]:
    """Everything a result adds to its annotator's aggregates, as (pk, sk, set, add) writes: put_result sends them
    in its transaction, aggregate_results applies them in memory."""
    annotator = result.annotator
    pk = f"AGGREGATE#{annotator}"
    counters = list(_counters(result).items())
    totals = {
        "tasks": 1,
        "score_sum": result.score,
        "n": result.n,
        "tp": sum(c.tp for c in result.classes.values()),
        "fp": sum(c.fp for c in result.classes.values()),
        "fn": sum(c.fn for c in result.classes.values()),
        "similarity_sum": sum(c.similarity_sum for c in result.classes.values()),
        "attribute_correct": sum(a.correct for a in result.attributes.values()),
        "attribute_total": sum(a.total for a in result.attributes.values()),
        **dict(counters[:MAX_COUNTERS]),
    }
    total_sets = {
        "annotator": annotator,
        "kind": "aggregate",
        "gsi1pk": AGGREGATES,
        "gsi1sk": annotator,
        "last_scored_at": result.scored_at,
    }
    # One string set per week, not one attribute per result: a week's entries read as one value (cheap to read back
    # in bulk, in DynamoDB and in moto alike), and ADD of a set element is as idempotent as the transaction.
    week: Write = (
        pk,
        ledger_row(result.scored_at),
        {"kind": "aggregate_ledger"},
        {"ledger": {_entry(result).ledger_value()}},
    )
    rows = [(f"CLASS#{name}", c.model_dump()) for name, c in sorted(result.classes.items())] + [
        (f"ATTRIBUTE#{path}", a.model_dump()) for path, a in sorted(result.attributes.items())
    ]
    part = {"annotator": annotator, "kind": "aggregate_part"}
    # one attribute per conflict kind in a row of its own: ADD needs no map to exist first
    conflicts: list[Write] = [(pk, CONFLICTS, part, dict(result.conflict_totals))] if result.conflict_totals else []
    more = [
        (pk, f"COUNTERS#{n}", part, dict(counters[start : start + MAX_COUNTERS]))
        for n, start in enumerate(range(MAX_COUNTERS, len(counters), MAX_COUNTERS), 1)
    ]
    parts = [(pk, sk, part, adds) for sk, adds in rows]
    return [(pk, "TOTAL", total_sets, totals), week, *conflicts, *more, *parts]


class ScoresRepository:
    def __init__(self, table: Table, *, conflict_backoff: float = 0.05) -> None:
        self._table = table
        self._backoff = conflict_backoff

    def put_result(self, result: AnnotatorResult, *, clear_error: bool = False) -> bool:
        """Record a scored branch and add it to the annotator's aggregates (conflict counts and ledger included),
        once. False on a repeat (whose unfinished tallies, if a kill left any, are completed). With `clear_error`
        the task's SCORE_ERROR record goes in the same transaction (so it stays when this is a repeat: the caller
        clears it then). Raises Contended when other writers kept conflicting."""
        item = result_item(result)
        updates = [self._add(*write) for write in result_writes(result)]
        first: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": to_dynamo(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if clear_error:
            first.append({"Delete": {"TableName": self._table.name, "Key": _error_key(result.task_uuid)}})
        room = TRANSACTION_LIMIT - len(first)
        slices: list[str] = []
        if len(updates) > room:  # the marker takes one place in the first transaction and in each later one
            room -= 1
            step = TRANSACTION_LIMIT - 1
            slices = [f"{start}:{min(start + step, len(updates))}" for start in range(room, len(updates), step)]
            first.append({"Put": {"TableName": self._table.name, "Item": _marker(result, slices)}})
        written = self._transact([*first, *updates[:room]])
        if slices or not written:
            self._complete(_marker_key(result), result if written else None)
        return written

    def complete_pending(self) -> int:
        """Add the tallies that results left unfinished (a kill between their transactions). Returns how many."""
        markers = query(
            self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": SCORE_PENDING}
        )
        return sum(1 for marker in markers if self._complete({"pk": marker["pk"], "sk": marker["sk"]}))

    def _complete(self, key: dict[str, str], result: AnnotatorResult | None = None) -> bool:
        """Add each slice still named by the marker at `key`, once (the slice's transaction removes its name on
        the condition that it is there), then remove the marker. False when there is no marker."""
        marker: dict[str, Any] | None = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        if marker is None:
            return False
        if result is None:
            found = self._table.get_item(Key=marker["result_key"], ConsistentRead=True).get("Item")
            if found is None:  # the marker is only ever written with its result
                raise LookupError(f"pending tallies {key} name a result that is not stored")
            result = _result(found)
        updates = [self._add(*write) for write in result_writes(result)]
        for name in sorted(marker.get("todo", ()), key=lambda n: int(n.split(":")[0])):
            start, end = map(int, name.split(":"))
            claim = {
                "Update": {
                    "TableName": self._table.name,
                    "Key": key,
                    "UpdateExpression": "DELETE todo :s",
                    "ConditionExpression": "contains(todo, :n)",
                    "ExpressionAttributeValues": {":s": {name}, ":n": name},
                }
            }
            self._transact([claim, *updates[start:end]])  # False: another run added this slice
        self._table.delete_item(Key=key)
        return True

    def _transact(self, writes: list[dict[str, Any]]) -> bool:
        """One transaction: False when a condition did not hold; retried with jittered backoff while another
        writer conflicts (it wrote nothing then), Contended after CONFLICT_ATTEMPTS."""
        client: Any = self._table.meta.client  # the resource client takes plain Python values
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                return conditional(client.transact_write_items, TransactItems=writes)
            except Exception as error:
                if not is_conflict(error):
                    raise
                time.sleep(random.uniform(0, self._backoff * 2**attempt))
        raise Contended(f"{len(writes)} writes conflicted with other writers {CONFLICT_ATTEMPTS} times")

    def _add(self, pk: str, sk: str, sets: dict[str, Any], adds: dict[str, Any]) -> dict[str, Any]:
        """A transaction Update that sets `sets` and adds `adds` (every name aliased: many are reserved words)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        set_parts, add_parts = [], []
        for i, (name, value) in enumerate(sets.items()):
            names[f"#s{i}"], values[f":s{i}"] = name, value
            set_parts.append(f"#s{i} = :s{i}")
        for i, (name, value) in enumerate(adds.items()):
            names[f"#a{i}"], values[f":a{i}"] = name, value
            add_parts.append(f"#a{i} :a{i}")
        expression = f"SET {', '.join(set_parts)}" + (f" ADD {', '.join(add_parts)}" if add_parts else "")
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"pk": pk, "sk": sk},
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_dynamo(values),
            }
        }

    def results_of_task(self, task_uuid: str) -> list[AnnotatorResult]:
        items = query(self._table, KeyConditionExpression="pk = :p", values={":p": f"SCORE#{task_uuid}"})
        return [_result(i) for i in items]

    def results(self, annotator: str | None = None) -> Iterator[AnnotatorResult]:
        """Every result (of one annotator, oldest first); without an annotator, a scan (reports only)."""
        if annotator is not None:
            for item in query(
                self._table,
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :g",
                values={":g": f"ANNOTATOR#{annotator}"},
            ):
                yield _result(item)
            return
        for item in scan(self._table, FilterExpression="kind = :k", values={":k": "score"}):
            yield _result(item)

    def results_since(self, annotator: str, since: datetime) -> list[AnnotatorResult]:
        """The annotator's results scored at or after `since`: a key range on the index, then an exact filter
        (stamps with other UTC offsets do not sort as text, so the range starts a day early)."""
        bound = (since.astimezone(UTC) - timedelta(days=1)).isoformat(timespec="milliseconds")
        items = query(
            self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :g AND gsi1sk >= :s",
            values={":g": f"ANNOTATOR#{annotator}", ":s": bound},
        )
        return [r for r in map(_result, items) if _instant(r.scored_at) >= since]

    def results_of(self, keys: Iterable[tuple[str, str]]) -> list[AnnotatorResult]:
        """The results of (annotator, entry key) pairs, as the drill-down asks for them (BatchGetItem)."""
        wanted = [
            {"pk": f"SCORE#{key.split('#', 1)[0]}", "sk": f"RESULT#{annotator}#{key.split('#', 1)[1]}"}
            for annotator, key in dict.fromkeys(keys)
        ]
        client: Any = self._table.meta.client
        found: list[AnnotatorResult] = []
        names = {f"#a{i}": name for i, name in enumerate(DRILL_DOWN_FIELDS)}
        projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            batch = wanted[start : start + BATCH_GET_LIMIT]
            request: dict[str, Any] = {self._table.name: {"Keys": batch, **projection}}
            while request:
                answer = client.batch_get_item(RequestItems=request)
                found += [_result(i) for i in answer.get("Responses", {}).get(self._table.name, [])]
                request = answer.get("UnprocessedKeys") or {}
        return found

    def aggregates(self) -> list[AnnotatorAggregate]:
        """Every annotator's aggregate with its ledger: one query for the totals, one per annotator."""
        totals = [
            from_dynamo(i)
            for i in query(
                self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": AGGREGATES}
            )
        ]
        return [self._aggregate(total) for total in totals]

    def _aggregate(self, total: dict[str, Any]) -> AnnotatorAggregate:
        annotator = str(total["annotator"])
        parts = query(self._table, KeyConditionExpression="pk = :p", values={":p": f"AGGREGATE#{annotator}"})
        return read_aggregate(total, [from_dynamo(p) for p in parts if p["sk"] != "TOTAL"])

    def record_seconds(self, annotator: str, entry: Entry, work_day: str, seconds: float) -> bool:
        """Record the seconds Encord measured on `entry`'s task on `work_day`: a new element of the day row's `time`
        set (only if the entry is in its week's ledger), then the element it replaces is removed. Readers take the
        largest value per (result, day), which a day's total only ever grows to, so a crash between the two
        writes or a repeated run changes nothing. False when the entry is not in the ledger."""
        old = entry.days.get(work_day)
        if old == seconds:
            return True
        key = {"pk": f"AGGREGATE#{annotator}", "sk": ledger_row(entry.scored_at)}
        added = conditional(
            self._table.update_item,
            Key=key,
            UpdateExpression="ADD #t :new",
            ConditionExpression="contains(#l, :entry)",
            ExpressionAttributeNames={"#t": "time", "#l": "ledger"},
            ExpressionAttributeValues={":new": {entry.time_value(work_day, seconds)}, ":entry": entry.ledger_value()},
        )
        if added and old is not None:
            self._table.update_item(
                Key=key,
                UpdateExpression="DELETE #t :old",
                ExpressionAttributeNames={"#t": "time"},
                ExpressionAttributeValues={":old": {entry.time_value(work_day, old)}},
            )
        return added

    def rebuild_aggregates(self, results: Iterable[AnnotatorResult]) -> int:
        """Write the aggregates and ledgers of `results` (all of an annotator's results: the items are replaced,
        not added to), for tables scored before the ledger existed (`benchmark-qa report --rebuild`); not while
        workers score, whose additions it would overwrite. Returns the items written."""
        items = list(aggregate_items(results).values())
        with self._table.batch_writer() as batch:
            for item in items:
                batch.put_item(Item=to_dynamo(item))
        return len(items)

    # ------------------------------------------------------------------ errors
    def record_error(self, task_uuid: str, *, reason: str, data_hash: str = "", annotator: str = "") -> None:
        now = now_iso()
        self._table.put_item(
            Item={
                **_error_key(task_uuid),
                "kind": "score_error",
                "task_uuid": task_uuid,
                "data_hash": data_hash,
                "annotator": annotator,
                "reason": reason[:2000],
                "recorded_at": now,
                "gsi1pk": SCORE_ERRORS,
                "gsi1sk": f"{now}#{task_uuid}",
            }
        )

    def clear_error(self, task_uuid: str) -> None:
        self._table.delete_item(Key=_error_key(task_uuid))

    def errors(self) -> list[dict[str, Any]]:
        return [
            from_dynamo(i)
            for i in query(
                self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": SCORE_ERRORS}
            )
        ]

    # ------------------------------------------------------------------ feedback comments
    def feedback_given(self, task_uuid: str) -> set[tuple[str, str]]:
        """(annotator, label hash) pairs of the task whose feedback comment was already posted."""
        items = query(self._table, KeyConditionExpression="pk = :p", values={":p": f"FEEDBACK#{task_uuid}"})
        return {(str(i["annotator"]), str(i["label_hash"])) for i in items}

    def record_feedback(self, task_uuid: str, annotator: str, label_hash: str) -> None:
        self._table.put_item(
            Item={
                "pk": f"FEEDBACK#{task_uuid}",
                "sk": f"{annotator}#{label_hash}",
                "kind": "feedback",
                "task_uuid": task_uuid,
                "annotator": annotator,
                "label_hash": label_hash,
                "posted_at": now_iso(),
            }
        )


def _instant(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_aggregate(total: dict[str, Any], parts: Sequence[dict[str, Any]]) -> AnnotatorAggregate:
    """An annotator's TOTAL item and its other items (class, attribute, conflict and week rows) as one
    AnnotatorAggregate."""
    fields: dict[str, Any] = {k: v for k, v in total.items() if k in AnnotatorAggregate.model_fields}
    fields["classes"] = {
        p["sk"].removeprefix("CLASS#"): ClassCounts.model_validate(p) for p in parts if p["sk"].startswith("CLASS#")
    }
    fields["attributes"] = {
        p["sk"].removeprefix("ATTRIBUTE#"): AttributeCounts.model_validate(p)
        for p in parts
        if p["sk"].startswith("ATTRIBUTE#")
    }
    # conflict counts: their own row (aggregates written before it kept them in a map on the total)
    conflicts = Counter(total.get("conflicts") or {})
    for p in parts:
        if p["sk"] == CONFLICTS:
            conflicts.update({k: int(v) for k, v in p.items() if k not in _PART_KEYS})
    fields["conflicts"] = dict(conflicts)
    aggregate = AnnotatorAggregate.model_validate(fields)
    counters: Counter[str] = Counter()
    for row in [total, *(p for p in parts if p["sk"].startswith("COUNTERS#"))]:
        counters.update({name: int(value) for name, value in row.items() if name.partition(":")[2].startswith("[")})
    for name, count in counters.items():
        prefix, _, encoded = name.partition(":")
        keys = json.loads(encoded)
        if prefix == "cm":
            aggregate.confusion.setdefault(keys[0], {})[keys[1]] = count
        elif prefix == "sz":
            setattr(aggregate.sizes.setdefault(keys[0], SizeCounts()), keys[1], count)
        elif prefix == "ch":
            aggregate.choices.setdefault(keys[0], {}).setdefault(keys[1], {})[keys[2]] = count
        elif prefix == "hi":
            aggregate.hints[keys[0]] = count
    aggregate.entries = _ledger([p for p in parts if p["sk"].startswith("WEEK#")])
    return aggregate


def _ledger(days: Sequence[dict[str, Any]]) -> list[Entry]:
    entries: dict[tuple[str, str], Entry] = {}
    for day in days:
        for value in day.get("ledger", ()):
            task, label, data_hash, scored_at, score, correct = json.loads(value)
            entries[(task, label)] = Entry(
                task_uuid=task, label_hash=label, data_hash=data_hash, scored_at=scored_at, score=score, correct=correct
            )
    for day in days:
        for value in day.get("time", ()):
            task, label, work_day, seconds = json.loads(value)
            entry = entries.get((task, label))
            if entry is not None:
                entry.days[work_day] = max(entry.days.get(work_day, 0.0), float(seconds))
    return sorted(entries.values(), key=lambda e: (_instant(e.scored_at), e.task_uuid, e.label_hash))


def aggregate_items(results: Iterable[AnnotatorResult]) -> dict[tuple[str, str], dict[str, Any]]:
    """The aggregate items (TOTAL, class, attribute and day rows) `put_result` would leave for these results,
    each business key once: the same writes, applied in memory."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    for result in results:
        if (result.annotator, result.key) in seen:
            continue
        seen.add((result.annotator, result.key))
        for pk, sk, sets, adds in result_writes(result):
            item = items.setdefault((pk, sk), {"pk": pk, "sk": sk})
            item.update(sets)
            for name, value in adds.items():
                item[name] = item.get(name, set()) | value if isinstance(value, set) else item.get(name, 0) + value
    return items


def aggregate_results(results: Iterable[AnnotatorResult]) -> list[AnnotatorAggregate]:
    """The aggregates `put_result` would leave for these results: for a leaderboard over results read directly
    (`--since`, tests)."""
    items = aggregate_items(results)
    by_annotator: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (pk, sk), item in items.items():
        if sk != "TOTAL":
            by_annotator[pk].append(item)
    return [read_aggregate(item, by_annotator[pk]) for (pk, sk), item in sorted(items.items()) if sk == "TOTAL"]


def result_item(result: AnnotatorResult) -> dict[str, Any]:
    """The result's own item (its keys, and the index keys that list an annotator's results by time). The
    drill-down's details are one JSON text: read back whole, never queried inside."""
    return {
        "pk": f"SCORE#{result.task_uuid}",
        "sk": f"RESULT#{result.annotator}#{result.label_hash}",
        "kind": "score",
        "gsi1pk": f"ANNOTATOR#{result.annotator}",
        "gsi1sk": f"{result.scored_at}#{result.task_uuid}",
        **result.model_dump(mode="json", exclude={"details"}),
        "details": result.details.model_dump_json(),
    }


def _result(item: dict[str, Any]) -> AnnotatorResult:
    plain = {k: v for k, v in from_dynamo(item).items() if k in AnnotatorResult.model_fields}
    if isinstance(plain.get("details"), str):
        plain["details"] = TaskDetails.model_validate_json(plain["details"])
    return AnnotatorResult.model_validate(plain)


def _marker_key(result: AnnotatorResult) -> dict[str, str]:
    return {"pk": f"SCORE_PENDING#{result.task_uuid}#{result.annotator}#{result.label_hash}", "sk": "PENDING"}


def _marker(result: AnnotatorResult, slices: Sequence[str]) -> dict[str, Any]:
    """The PENDING marker written with a result whose tallies need more transactions: the slices (start:end of
    result_writes) still to add."""
    item = result_item(result)
    return {
        **_marker_key(result),
        "kind": "score_pending",
        "result_key": {"pk": item["pk"], "sk": item["sk"]},
        "todo": set(slices),
        "gsi1pk": SCORE_PENDING,
        "gsi1sk": f"{result.scored_at}#{result.task_uuid}",
    }


def _error_key(task_uuid: str) -> dict[str, str]:
    return {"pk": f"SCORE_ERROR#{task_uuid}", "sk": "ERROR"}
