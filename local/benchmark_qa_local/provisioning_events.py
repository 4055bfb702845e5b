"""EventBridge rules of the template in moto (AWS::Events::Rule): the pattern and the targets, so an existing
bucket's S3 events reach the stack's queues locally as they do in AWS (moto's S3 sends EventBridge events to
every matching rule of the region when the bucket has EventBridge notifications turned on)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from benchmark_qa_local.deployment import PhysicalResource

if TYPE_CHECKING:
    from benchmark_qa_local.provisioning import Provisioner

# CloudFormation's target keys that PutTargets takes as they are.
_TARGET_KEYS = ("Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "DeadLetterConfig", "RetryPolicy")


def build_rule(p: Provisioner, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    physical = p.deployment.resource(logical_id)
    props = p.resolve(properties)
    request: dict[str, Any] = {"Name": physical.name, "State": str(props.get("State", "ENABLED"))}
    if "EventPattern" in props:
        pattern = props["EventPattern"]
        request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    for key in ("ScheduleExpression", "Description", "EventBusName"):
        if key in props:
            request[key] = props[key]
    events = p.client("events")
    arn = str(events.put_rule(**request)["RuleArn"])
    targets = [{k: t[k] for k in _TARGET_KEYS if k in t} for t in props.get("Targets", [])]
    if targets:
        events.put_targets(Rule=physical.name, Targets=targets)
    return PhysicalResource(logical_id, physical.type, physical.name, physical.ref, {"Arn": arn})


def delete_rule(p: Provisioner, physical: PhysicalResource) -> None:
    events = p.client("events")
    targets = events.list_targets_by_rule(Rule=physical.name).get("Targets", [])
    if targets:
        events.remove_targets(Rule=physical.name, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=physical.name)
