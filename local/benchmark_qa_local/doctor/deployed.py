"""What `benchmark-qa doctor` checks: a deployed stack's outputs, its parameters and its schedules, read from
CloudFormation (a stack in AWS) or from the local stack (moto, built from template.yaml), plus the AWS clients
to reach it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmark_qa_local.stack import LocalStack
    from benchmark_qa_local.template import SamTemplate

SCHEDULE_TYPE = "AWS::Scheduler::Schedule"


class StackNotFound(LookupError):
    """The stack cannot be read; the message says which and what to do."""


@dataclass(frozen=True)
class Schedule:
    logical_id: str  # SAM's name: <Function><Event>
    name: str
    group: str = "default"


@dataclass
class Deployed:
    outputs: dict[str, str]
    parameters: dict[str, str]  # every template parameter, defaults included
    schedules: list[Schedule]
    client: Callable[[str], Any]  # boto3 client for a service, reaching the stack's account and region
    table: Callable[[str], Any]  # boto3 DynamoDB Table by name
    where: str = ""  # for the report: the stack's name and where it runs

    def parameter(self, name: str) -> str:
        return self.parameters.get(name, "")


def with_defaults(template: SamTemplate, given: Mapping[str, str]) -> dict[str, str]:
    values = {name: str(spec.get("Default", "")) for name, spec in template.parameters.items()}
    return {**values, **given}


def from_local_stack(stack: LocalStack) -> Deployed:
    import boto3

    from benchmark_qa_local.deployment import DUMMY_CREDENTIALS

    deployment = stack.deployment
    schedules = [
        Schedule(f"{spec.logical_id}{event.name}", deployment.schedule_name(spec.logical_id, event.name))
        for spec in stack.template.functions()
        for event in spec.events
        if event.type == "ScheduleV2"
    ]
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=stack.endpoint_url,
        region_name=stack.region,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
    )
    return Deployed(
        outputs=stack.outputs,
        parameters=dict(deployment.parameters),
        schedules=schedules,
        client=stack.boto3_client,
        table=resource.Table,
        where=f"local stack {deployment.stack_name} at {stack.endpoint_url}",
    )


def from_cloudformation(stack_name: str, region: str | None = None) -> Deployed:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=region)
    cloudformation = session.client("cloudformation")
    try:
        [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        resources = [
            r
            for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
            for r in page["StackResourceSummaries"]
        ]
    except (ClientError, BotoCoreError) as error:
        raise StackNotFound(
            f"cannot read stack {stack_name!r} in {session.region_name or 'the default region'}: {error}; pass "
            "--stack-name and --region of the deployed stack (sam deploy prints them)"
        ) from None
    schedules = [
        Schedule(r["LogicalResourceId"], r["PhysicalResourceId"])
        for r in resources
        if r["ResourceType"] == SCHEDULE_TYPE and r.get("PhysicalResourceId")
    ]
    return Deployed(
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
        schedules=schedules,
        client=session.client,  # type: ignore[arg-type]  # boto3's overloads per service name
        table=session.resource("dynamodb").Table,
        where=f"stack {stack_name} in {session.region_name}",
    )
