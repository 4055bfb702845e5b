"""The functions' EventBridge Scheduler schedules (SAM `ScheduleV2` events) in moto, as CloudFormation creates
them in AWS (one AWS::Scheduler::Schedule per event, its state and expression from the template), so
`benchmark-qa doctor` reads a schedule's state the same way for both. moto never fires them: the event-source
pump does (`fire_schedule`). Local names carry the stack name, so stacks in one process never collide."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark_qa_local.deployment import PhysicalResource

if TYPE_CHECKING:
    from benchmark_qa_local.provisioning import Provisioner

SCHEDULE_TYPE = "AWS::Scheduler::Schedule"
DEFAULT_GROUP = "default"


def create_schedules(p: Provisioner) -> list[PhysicalResource]:
    scheduler = p.client("scheduler")
    created = []
    for spec in p.template.functions():
        function_arn = p.deployment.arn("lambda", f"function:{p.deployment.resource(spec.logical_id).name}")
        for event in spec.events:
            if event.type != "ScheduleV2":
                continue
            props = p.resolve(event.properties)
            logical_id = f"{spec.logical_id}{event.name}"  # SAM's name for the schedule
            name = p.deployment.schedule_name(spec.logical_id, event.name)
            group = str(props.get("GroupName", DEFAULT_GROUP))
            target = {"Arn": function_arn, "RoleArn": p.deployment.arn("iam", f"role/{name}", region=False)}
            if "Input" in props:
                target["Input"] = str(props["Input"])
            response = scheduler.create_schedule(
                Name=name,
                GroupName=group,
                ScheduleExpression=str(props["ScheduleExpression"]),
                State=str(props.get("State", "ENABLED")),
                FlexibleTimeWindow={"Mode": "OFF"},
                Target=target,
            )
            created.append(
                PhysicalResource(
                    logical_id, SCHEDULE_TYPE, name, name, {"Arn": response["ScheduleArn"], "Group": group}
                )
            )
    return created


def delete_schedule(p: Provisioner, physical: PhysicalResource) -> None:
    p.client("scheduler").delete_schedule(Name=physical.name, GroupName=physical.attributes.get("Group", DEFAULT_GROUP))
