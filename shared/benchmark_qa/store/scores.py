"""Annotator scores: one result per (task, annotator, label hash) and running aggregates per annotator.

Keys (pk / sk) and access patterns:

  SCORE#<task uuid>             RESULT#<annotator>#<label hash>   one scored branch (AnnotatorResult)
      by annotator, newest last                                   gsi1: ANNOTATOR#<annotator> / <scored_at>#<task>
  AGGREGATE#<annotator>         TOTAL                             summed counts over every scored branch
  AGGREGATE#<annotator>         CLASS#<class name>                tp / fp / fn / similarity_sum for one class
  AGGREGATE#<annotator>         ATTRIBUTE#<attribute path>        correct / total for one attribute path
      every annotator's TOTAL                                     gsi1: AGGREGATES / <annotator>
  SCORE_ERROR#<task uuid>       ERROR                             why a task could not be scored (it stays put)
      every open error                                            gsi1: SCORE_ERRORS / <time>#<task>
  FEEDBACK#<task uuid>          <annotator>#<label hash>          the annotator's feedback comment was posted

A result and the additions to its annotator's aggregates are written in one transaction conditioned on the
result not existing yet: scoring the same label hash twice (a retried message, an overlapping run) adds
nothing the second time. Aggregates hold sums, never averages, so they can be added to and divided later.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from benchmark_qa.store.table import conditional, from_dynamo, now_iso, query, scan, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

AGGREGATES = "AGGREGATES"
SCORE_ERRORS = "SCORE_ERRORS"
# DynamoDB transactions take at most 100 items: the result, the total, and up to 98 class/attribute rows.
MAX_BREAKDOWN_ROWS = 98


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
    excluded_flags: list[str] = Field(
        default_factory=list,
        description="suspect-ground-truth flags left out of this score (docs/ground-truth-audit.md)",
    )


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


class ScoresRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def put_result(self, result: AnnotatorResult) -> bool:
        """Record a scored branch and add it to the annotator's aggregates, once. False on a repeat."""
        annotator = result.annotator
        aggregate_pk = f"AGGREGATE#{annotator}"
        item = _item(result)
        conflict_names = {f"#c{i}": name for i, name in enumerate(sorted(result.conflict_totals))}
        conflict_adds = ", ".join(f"conflicts.#c{i} :c{i}" for i in range(len(conflict_names)))
        totals = {"tasks": 1, **_totals(result)}
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": to_dynamo(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._add(
                aggregate_pk,
                "TOTAL",
                {
                    "annotator": annotator,
                    "kind": "aggregate",
                    "gsi1pk": AGGREGATES,
                    "gsi1sk": annotator,
                    "last_scored_at": result.scored_at,
                },
                totals,
            ),
        ]
        rows = [(f"CLASS#{name}", c.model_dump()) for name, c in sorted(result.classes.items())] + [
            (f"ATTRIBUTE#{path}", a.model_dump()) for path, a in sorted(result.attributes.items())
        ]
        writes += [
            self._add(aggregate_pk, sk, {"annotator": annotator, "kind": "aggregate_part"}, adds)
            for sk, adds in rows[:MAX_BREAKDOWN_ROWS]
        ]
        client: Any = self._table.meta.client  # the resource client takes plain Python values
        if not conditional(client.transact_write_items, TransactItems=writes):
            return False
        if conflict_names:
            # Conflict counts are advisory (shown on the leaderboard), added after the counted transaction.
            client.update_item(
                TableName=self._table.name,
                Key={"pk": aggregate_pk, "sk": "TOTAL"},
                UpdateExpression="SET conflicts = if_not_exists(conflicts, :empty)",
                ExpressionAttributeValues={":empty": {}},
            )
            client.update_item(
                TableName=self._table.name,
                Key={"pk": aggregate_pk, "sk": "TOTAL"},
                UpdateExpression=f"ADD {conflict_adds}",
                ExpressionAttributeNames=conflict_names,
                ExpressionAttributeValues={
                    f":c{i}": result.conflict_totals[conflict_names[f"#c{i}"]] for i in range(len(conflict_names))
                },
            )
        return True

    def replace_result(self, old: AnnotatorResult, new: AnnotatorResult) -> bool:
        """Swap a stored result for one scored again with other flags left out (same task, annotator and label
        hash), moving the aggregates by the difference. Conditioned on the stored result still leaving out what
        `old` does, so a repeat (or a race with another re-scoring) changes nothing and returns False. The
        result keeps its place in the annotator's history (scored_at)."""
        if (old.task_uuid, old.annotator, old.label_hash) != (new.task_uuid, new.annotator, new.label_hash):
            raise ValueError("replace_result replaces a result of the same task, annotator and label hash")
        new = new.model_copy(update={"scored_at": old.scored_at})
        annotator, aggregate_pk = new.annotator, f"AGGREGATE#{new.annotator}"
        old_key = ",".join(old.excluded_flags)
        condition = "excluded_key = :old" if old_key else "attribute_not_exists(excluded_key) OR excluded_key = :old"
        old_totals, new_totals = _totals(old), _totals(new)
        deltas = {k: new_totals[k] - old_totals[k] for k in new_totals}
        deltas["score_sum"] = new.score - old.score
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": to_dynamo(_item(new)),
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": {":old": old_key},
                }
            },
            self._add(aggregate_pk, "TOTAL", {"annotator": annotator}, deltas),
        ]
        rows: list[tuple[str, dict[str, Any]]] = []
        for name in sorted(set(old.classes) | set(new.classes)):
            a, b = old.classes.get(name, ClassCounts()), new.classes.get(name, ClassCounts())
            rows.append((f"CLASS#{name}", {k: getattr(b, k) - getattr(a, k) for k in ClassCounts.model_fields}))
        for path in sorted(set(old.attributes) | set(new.attributes)):
            c, d = old.attributes.get(path, AttributeCounts()), new.attributes.get(path, AttributeCounts())
            rows.append((f"ATTRIBUTE#{path}", {k: getattr(d, k) - getattr(c, k) for k in AttributeCounts.model_fields}))
        writes += [
            self._add(aggregate_pk, sk, {"annotator": annotator, "kind": "aggregate_part"}, adds)
            for sk, adds in rows[:MAX_BREAKDOWN_ROWS]
        ]
        client: Any = self._table.meta.client
        return conditional(client.transact_write_items, TransactItems=writes)

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
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"pk": pk, "sk": sk},
                "UpdateExpression": f"SET {', '.join(set_parts)} ADD {', '.join(add_parts)}",
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

    def aggregates(self) -> list[AnnotatorAggregate]:
        totals = [
            from_dynamo(i)
            for i in query(
                self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": AGGREGATES}
            )
        ]
        return [self._aggregate(total) for total in totals]

    def _aggregate(self, total: dict[str, Any]) -> AnnotatorAggregate:
        annotator = str(total["annotator"])
        parts = [
            from_dynamo(i)
            for i in query(self._table, KeyConditionExpression="pk = :p", values={":p": f"AGGREGATE#{annotator}"})
        ]
        classes = {
            p["sk"].removeprefix("CLASS#"): ClassCounts.model_validate(p) for p in parts if p["sk"].startswith("CLASS#")
        }
        attributes = {
            p["sk"].removeprefix("ATTRIBUTE#"): AttributeCounts.model_validate(p)
            for p in parts
            if p["sk"].startswith("ATTRIBUTE#")
        }
        fields = {k: v for k, v in total.items() if k in AnnotatorAggregate.model_fields}
        return AnnotatorAggregate.model_validate({**fields, "classes": classes, "attributes": attributes})

    # ------------------------------------------------------------------ errors
    def record_error(self, task_uuid: str, *, reason: str, data_hash: str = "", annotator: str = "") -> None:
        now = now_iso()
        self._table.put_item(
            Item={
                "pk": f"SCORE_ERROR#{task_uuid}",
                "sk": "ERROR",
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
        self._table.delete_item(Key={"pk": f"SCORE_ERROR#{task_uuid}", "sk": "ERROR"})

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


def _item(result: AnnotatorResult) -> dict[str, Any]:
    return {
        "pk": f"SCORE#{result.task_uuid}",
        "sk": f"RESULT#{result.annotator}#{result.label_hash}",
        "kind": "score",
        "gsi1pk": f"ANNOTATOR#{result.annotator}",
        "gsi1sk": f"{result.scored_at}#{result.task_uuid}",
        "excluded_key": ",".join(result.excluded_flags),
        **result.model_dump(mode="json"),
    }


def _totals(result: AnnotatorResult) -> dict[str, Any]:
    """What one result adds to its annotator's TOTAL (besides the task itself)."""
    return {
        "score_sum": result.score,
        "n": result.n,
        "tp": sum(c.tp for c in result.classes.values()),
        "fp": sum(c.fp for c in result.classes.values()),
        "fn": sum(c.fn for c in result.classes.values()),
        "similarity_sum": sum(c.similarity_sum for c in result.classes.values()),
        "attribute_correct": sum(a.correct for a in result.attributes.values()),
        "attribute_total": sum(a.total for a in result.attributes.values()),
    }


def _result(item: dict[str, Any]) -> AnnotatorResult:
    plain = from_dynamo(item)
    return AnnotatorResult.model_validate({k: v for k, v in plain.items() if k in AnnotatorResult.model_fields})
