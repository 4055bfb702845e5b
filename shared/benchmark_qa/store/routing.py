"""Routing runs, the decision for every routed task, and the lock that keeps runs from overlapping.

Keys (pk / sk) and the gsi1 access patterns this repository owns:

  ROUTING_LOCK#<project>  LOCK                     the run holding the project's routing lock:
      owner (run id), acquired_at, expires_at (unix seconds; also the table's TTL attribute)
  ROUTING_RUN#<run id>    RUN                      one run: trigger, dry_run, status (running, finished,
      failed, out_of_time, locked_out, interrupted), started_at, finished_at, duration_seconds, counts,
      encord_requests, action_requests, errors
      runs of a project, oldest first                          gsi1: ROUTING_RUNS#<project> / <started_at>#<run id>
  WEBHOOK#<notification uid> DELIVERY            an agent-stage notification the webhook accepted: a repeat of it
      (a captured request replayed within its signature window) is answered without routing; expires_at (TTL)
  ROUTING_TASK#<task uuid> RUN#<started_at>#<run id> one task in one run: decision (the pathway name), outcome
      (intended before acting; then routed, moved_elsewhere, dry_run, failed, deferred, or not_moved when the run
      died first), data_hash, data_title, error (or the reconciling run's note), routed_at
      history of a task: query pk
      tasks of a run                                           gsi1: ROUTING_RUN#<run id> / <task uuid>

The lock is a conditional put: it succeeds when no lock exists or the existing one has expired (TTL deletes
items late, so expiry is checked in the condition, never left to TTL). A run that died keeps the lock until
`expires_at`; the next run then takes it over. Release is conditional on the owner, so a run whose lock was
taken over cannot release its successor's.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmark_qa.store.table import conditional, from_dynamo, now_iso, query, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def lock_pk(project_hash: str) -> str:
    return f"ROUTING_LOCK#{project_hash}"


def run_pk(run_id: str) -> str:
    return f"ROUTING_RUN#{run_id}"


def task_pk(task_uuid: str) -> str:
    return f"ROUTING_TASK#{task_uuid}"


@dataclass(frozen=True)
class TaskRecord:
    task_uuid: str
    decision: str
    outcome: str
    data_hash: str = ""
    data_title: str = ""
    error: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TaskRecord:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in item.items() if k in names})


class RoutingRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    # ------------------------------------------------------------------ lock
    def acquire_lock(self, project_hash: str, owner: str, *, seconds: int, now: float | None = None) -> bool:
        """Take the project's routing lock for `seconds`. False while another run holds an unexpired lock."""
        now = time.time() if now is None else now
        return conditional(
            self._table.put_item,
            Item={
                "pk": lock_pk(project_hash),
                "sk": "LOCK",
                "kind": "routing_lock",
                "owner": owner,
                "acquired_at": now_iso(),
                "expires_at": int(now) + seconds,
            },
            ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
            ExpressionAttributeValues={":now": int(now)},
        )

    def release_lock(self, project_hash: str, owner: str) -> bool:
        return conditional(
            self._table.delete_item,
            Key={"pk": lock_pk(project_hash), "sk": "LOCK"},
            ConditionExpression="#o = :o",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":o": owner},
        )

    def lock_owner(self, project_hash: str) -> str | None:
        item = self._table.get_item(Key={"pk": lock_pk(project_hash), "sk": "LOCK"}, ConsistentRead=True).get("Item")
        return str(item["owner"]) if item else None

    # ------------------------------------------------------------------ webhook deliveries
    def accept_delivery(self, uid: str, *, sent_at: int, keep_seconds: int) -> bool:
        """Note a verified notification once. False when it was accepted before: a replay, or Encord's retry of a
        delivery that was routed. Kept `keep_seconds` past its timestamp, beyond which the signature check refuses
        it anyway."""
        return conditional(
            self._table.put_item,
            Item={
                "pk": f"WEBHOOK#{uid}",
                "sk": "DELIVERY",
                "kind": "webhook_delivery",
                "sent_at": sent_at,
                "received_at": now_iso(),
                "expires_at": sent_at + keep_seconds,
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def forget_delivery(self, uid: str) -> None:
        """A delivery that could not be routed: Encord's retry of it must route."""
        self._table.delete_item(Key={"pk": f"WEBHOOK#{uid}", "sk": "DELIVERY"})

    # ------------------------------------------------------------------ runs
    def start_run(
        self, run_id: str, *, project_hash: str, trigger: str, dry_run: bool, started_at: str, status: str = "running"
    ) -> None:
        self._table.put_item(
            Item={
                "pk": run_pk(run_id),
                "sk": "RUN",
                "kind": "routing_run",
                "run_id": run_id,
                "project_hash": project_hash,
                "trigger": trigger,
                "dry_run": dry_run,
                "status": status,
                "started_at": started_at,
                "gsi1pk": f"ROUTING_RUNS#{project_hash}",
                "gsi1sk": f"{started_at}#{run_id}",
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        duration_seconds: float,
        counts: dict[str, int],
        errors: list[str],
        encord_requests: int | None,
        action_requests: int,
    ) -> None:
        values: dict[str, Any] = {
            ":s": status,
            ":f": now_iso(),
            ":d": round(duration_seconds, 3),
            ":c": counts,
            ":e": errors[:100],  # an item is capped at 400 KB; the first errors say enough
            ":a": action_requests,
        }
        sets = ["#s = :s", "finished_at = :f", "duration_seconds = :d", "counts = :c", "errors = :e"]
        sets.append("action_requests = :a")
        if encord_requests is not None:
            sets.append("encord_requests = :r")
            values[":r"] = encord_requests
        self._table.update_item(
            Key={"pk": run_pk(run_id), "sk": "RUN"},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_dynamo(values),
        )

    def open_runs(self, project_hash: str, since: str) -> list[dict[str, Any]]:
        """The project's runs started after `since` that never finished (status `running`)."""
        items = query(
            self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :g AND gsi1sk > :since",
            FilterExpression="#s = :running",
            ExpressionAttributeNames={"#s": "status"},
            values={":g": f"ROUTING_RUNS#{project_hash}", ":since": since, ":running": "running"},
        )
        return [from_dynamo(i) for i in items]

    def get_run(self, run_id: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"pk": run_pk(run_id), "sk": "RUN"}, ConsistentRead=True).get("Item")
        return from_dynamo(item or {})  # type: ignore[no-any-return]

    def runs(self, project_hash: str) -> list[dict[str, Any]]:
        """The project's runs, oldest first."""
        items = query(
            self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :g",
            values={":g": f"ROUTING_RUNS#{project_hash}"},
        )
        return [from_dynamo(i) for i in items]

    # ------------------------------------------------------------------ tasks
    def record_tasks(self, run_id: str, started_at: str, records: Iterable[TaskRecord]) -> int:
        """Write one audit item per task (batched; items of one run never collide, so no condition)."""
        written = 0
        routed_at = now_iso()
        with self._table.batch_writer() as batch:
            for record in records:
                item: dict[str, Any] = {
                    "pk": task_pk(record.task_uuid),
                    "sk": f"RUN#{started_at}#{run_id}",
                    "kind": "routing_task",
                    "run_id": run_id,
                    "task_uuid": record.task_uuid,
                    "decision": record.decision,
                    "outcome": record.outcome,
                    "data_hash": record.data_hash,
                    "data_title": record.data_title,
                    "routed_at": routed_at,
                    "gsi1pk": run_pk(run_id),
                    "gsi1sk": record.task_uuid,
                }
                if record.error:
                    item["error"] = record.error[:1000]
                batch.put_item(Item=item)
                written += 1
        return written

    def tasks_of_run(self, run_id: str) -> list[TaskRecord]:
        items = query(
            self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": run_pk(run_id)}
        )
        return [TaskRecord.from_item(i) for i in items if i.get("kind") == "routing_task"]

    def task_history(self, task_uuid: str) -> list[TaskRecord]:
        items = query(self._table, KeyConditionExpression="pk = :p", values={":p": task_pk(task_uuid)})
        return [TaskRecord.from_item(i) for i in items]
