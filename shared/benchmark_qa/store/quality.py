"""Records of the ground-truth audit, agreement, drift and policy (docs/annotator-quality.md). Keys (pk / sk):

  GT_FLAG#<data hash>          <flag id>                 a suspect-ground-truth flag, its evidence and review
      every flag                                         gsi1: GT_FLAGS / <first seen>#<flag id>
  RESCORE#<task uuid>          PENDING                   a review changed what a scored task leaves out
      every pending task                                 gsi1: RESCORES / <time>#<task>
  AGREEMENT#<task uuid>        TASK                      the task's agreement sums (TaskAgreement)
      every task                                         gsi1: AGREEMENTS / <time>#<task>
  DRIFT#<annotator>            <stream>#<alarm key>      one drift alarm (DriftEvent)
      every alarm                                        gsi1: DRIFT_EVENTS / <alarm key>#<annotator>
  POLICY#<annotator>           <rule>#<episode>          one policy decision and what was done (the audit record)
      every decision                                     gsi1: POLICY_DECISIONS / <time>#<annotator>
  POLICY_ACTIVE#<annotator>    <rule>                    a low_score episode is going on (deleted when it ends)

Flags, drift alarms and decisions are written once (conditional put): a re-run finds them and does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field

from benchmark_qa.agreement_report import TaskAgreement
from benchmark_qa.annotator_policy import Decision
from benchmark_qa.drift import DriftEvent
from benchmark_qa.ground_truth_audit import Flag
from benchmark_qa.store.table import conditional, from_dynamo, now_iso, query, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

M = TypeVar("M", bound=BaseModel)
Verdict = Literal["open", "truth_wrong", "truth_right"]
# Flags whose objects are left out of scores (when exclusion is on): not yet reviewed, or confirmed wrong.
EXCLUDED_STATUSES = frozenset({"open", "truth_wrong"})


class FlagRecord(BaseModel):
    flag: Flag
    task_uuid: str
    status: Verdict = "open"
    first_seen: str = Field(default_factory=now_iso)
    reviewed_by: str = ""
    reviewed_at: str = ""
    issue_posted: bool = False


class PolicyRecord(BaseModel):
    decision: Decision
    recorded_at: str = Field(default_factory=now_iso)
    outcomes: dict[str, str] = Field(default_factory=dict, description="notify/action -> done | dry_run | error")


class QualityRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    # ------------------------------------------------------------------ ground-truth flags
    def add_flag(self, record: FlagRecord) -> bool:
        """Record a flag once; False when it was already there (its status is kept)."""
        item = {
            "pk": f"GT_FLAG#{record.flag.data_hash}",
            "sk": record.flag.flag_id,
            "kind": "gt_flag",
            "gsi1pk": "GT_FLAGS",
            "gsi1sk": f"{record.first_seen}#{record.flag.flag_id}",
            **record.model_dump(mode="json"),
        }
        return conditional(self._table.put_item, Item=to_dynamo(item), ConditionExpression="attribute_not_exists(pk)")

    def flags_of(self, data_hash: str) -> list[FlagRecord]:
        items = query(self._table, KeyConditionExpression="pk = :p", values={":p": f"GT_FLAG#{data_hash}"})
        return [_model(FlagRecord, i) for i in items]

    def flags(self) -> list[FlagRecord]:
        items = query(self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": "GT_FLAGS"})
        return [_model(FlagRecord, i) for i in items]

    def mark_issue_posted(self, flag: Flag) -> None:
        self._table.update_item(
            Key={"pk": f"GT_FLAG#{flag.data_hash}", "sk": flag.flag_id},
            UpdateExpression="SET issue_posted = :t",
            ExpressionAttributeValues={":t": True},
        )

    def review(self, flag_id: str, verdict: Verdict, reviewer: str) -> FlagRecord:
        """Record a person's verdict; the tasks that flag touched are queued for re-scoring."""
        found = [r for r in self.flags() if r.flag.flag_id == flag_id]
        if not found:
            raise KeyError(f"no ground-truth flag {flag_id!r}; `benchmark-qa audit list` shows them")
        record = found[0]
        self._table.update_item(
            Key={"pk": f"GT_FLAG#{record.flag.data_hash}", "sk": flag_id},
            UpdateExpression="SET #s = :s, reviewed_by = :r, reviewed_at = :t",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": verdict, ":r": reviewer, ":t": now_iso()},
        )
        self.request_rescore(record.task_uuid)
        return record.model_copy(update={"status": verdict, "reviewed_by": reviewer})

    def request_rescore(self, task_uuid: str) -> None:
        now = now_iso()
        self._table.put_item(
            Item={
                "pk": f"RESCORE#{task_uuid}",
                "sk": "PENDING",
                "kind": "rescore",
                "task_uuid": task_uuid,
                "gsi1pk": "RESCORES",
                "gsi1sk": f"{now}#{task_uuid}",
            }
        )

    def pending_rescores(self) -> list[str]:
        items = query(self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": "RESCORES"})
        return [str(i["task_uuid"]) for i in items]

    def rescored(self, task_uuid: str) -> None:
        self._table.delete_item(Key={"pk": f"RESCORE#{task_uuid}", "sk": "PENDING"})

    # ------------------------------------------------------------------ agreement
    def put_agreement(self, task_uuid: str, agreement: TaskAgreement, scored_at: str) -> None:
        """One record per task, overwritten when the task is scored again (a relabelled branch)."""
        self._table.put_item(
            Item=to_dynamo(
                {
                    "pk": f"AGREEMENT#{task_uuid}",
                    "sk": "TASK",
                    "kind": "agreement",
                    "task_uuid": task_uuid,
                    "scored_at": scored_at,
                    "gsi1pk": "AGREEMENTS",
                    "gsi1sk": f"{scored_at}#{task_uuid}",
                    "agreement": agreement.model_dump(mode="json"),
                }
            )
        )

    def agreements(self) -> list[TaskAgreement]:
        items = query(self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": "AGREEMENTS"})
        return [TaskAgreement.model_validate(from_dynamo(i)["agreement"]) for i in items]

    # ------------------------------------------------------------------ drift
    def add_drift_event(self, annotator: str, event: DriftEvent) -> bool:
        item = {
            "pk": f"DRIFT#{annotator}",
            "sk": f"{event.stream}#{event.alarm_key}",
            "kind": "drift",
            "annotator": annotator,
            "gsi1pk": "DRIFT_EVENTS",
            "gsi1sk": f"{event.alarm_key}#{annotator}",
            "event": event.model_dump(mode="json"),
        }
        return conditional(self._table.put_item, Item=to_dynamo(item), ConditionExpression="attribute_not_exists(pk)")

    def drift_events(self) -> list[tuple[str, DriftEvent]]:
        items = query(
            self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": "DRIFT_EVENTS"}
        )
        return [(str(i["annotator"]), DriftEvent.model_validate(from_dynamo(i)["event"])) for i in items]

    # ------------------------------------------------------------------ policy
    def add_decision(self, record: PolicyRecord) -> bool:
        d = record.decision
        item = {
            "pk": f"POLICY#{d.annotator}",
            "sk": f"{d.rule}#{d.episode}",
            "kind": "policy",
            "gsi1pk": "POLICY_DECISIONS",
            "gsi1sk": f"{record.recorded_at}#{d.annotator}",
            **record.model_dump(mode="json"),
        }
        return conditional(self._table.put_item, Item=to_dynamo(item), ConditionExpression="attribute_not_exists(pk)")

    def set_outcomes(self, decision: Decision, outcomes: dict[str, str]) -> None:
        self._table.update_item(
            Key={"pk": f"POLICY#{decision.annotator}", "sk": f"{decision.rule}#{decision.episode}"},
            UpdateExpression="SET outcomes = :o",
            ExpressionAttributeValues={":o": outcomes},
        )

    def start_episode(self, annotator: str, rule: str) -> str | None:
        """A new episode id while none is active for (annotator, rule); None while one is."""
        started = now_iso()
        item = {"pk": f"POLICY_ACTIVE#{annotator}", "sk": rule, "kind": "policy_active", "episode": started}
        new = conditional(self._table.put_item, Item=item, ConditionExpression="attribute_not_exists(pk)")
        return started if new else None

    def end_episode(self, annotator: str, rule: str) -> None:
        """The condition no longer holds: the next time it does is a new episode (the records stay)."""
        self._table.delete_item(Key={"pk": f"POLICY_ACTIVE#{annotator}", "sk": rule})

    def decisions(self) -> list[PolicyRecord]:
        items = query(
            self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": "POLICY_DECISIONS"}
        )
        return [_model(PolicyRecord, i) for i in items]


def _model(model: type[M], item: dict[str, Any]) -> M:
    plain = from_dynamo(item)
    return model.model_validate({k: v for k, v in plain.items() if k in model.model_fields})
