"""The template "deployed" locally: the physical name, Ref value and attributes each resource would have,
and every function's environment resolved against them. Pure naming, no AWS calls, so the invoker can
resolve a function's environment with or without a running stack.

Names follow CloudFormation's rules where the template names nothing (``<stack>-<LogicalId>``, without
CloudFormation's random suffix so that names are predictable in tests)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmark_qa_local.intrinsics import Intrinsics
from benchmark_qa_local.template import FUNCTION_TYPE, FunctionSpec, SamTemplate, TemplateError

DEFAULT_STACK_NAME = "benchmark-qa-local"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_PARTITION = "aws"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class PhysicalResource:
    """What CloudFormation would report for one resource: the Ref value and the Fn::GetAtt attributes."""

    logical_id: str
    type: str
    name: str
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def _suffix(text: str) -> str:
    """A stable stand-in for the random suffix AWS appends (secret ARNs)."""
    return hashlib.sha256(text.encode()).hexdigest()[:6]


class LocalDeployment:
    def __init__(
        self,
        template: SamTemplate,
        *,
        endpoint_url: str | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        partition: str = DEFAULT_PARTITION,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.endpoint_url = endpoint_url
        self.stack_name = stack_name
        self.account_id = account_id
        self.region = region
        self.partition = partition
        self.parameters = self._parameters(parameters or {})
        self._recorded: dict[str, PhysicalResource] = {}
        self.intrinsics = Intrinsics(
            pseudo={
                "AWS::StackName": stack_name,
                "AWS::AccountId": account_id,
                "AWS::Region": region,
                "AWS::Partition": partition,
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackId": f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            },
            parameters=self.parameters,
            ref=lambda logical_id: self.resource(logical_id).ref,
            get_att=self._attribute,
            conditions=template.conditions,
            mappings=template.mappings,
        )

    def _parameters(self, overrides: Mapping[str, str]) -> dict[str, str]:
        unknown = set(overrides) - set(self.template.parameters)
        if unknown:
            raise TemplateError(
                f"unknown parameters {sorted(unknown)}; the template has {sorted(self.template.parameters)}"
            )
        values: dict[str, str] = {}
        for name, spec in self.template.parameters.items():
            if name in overrides:
                values[name] = str(overrides[name])
            elif "Default" in spec:
                default = spec["Default"]
                values[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
            else:
                raise TemplateError(f"parameter {name} has no Default: pass a value for it")
        return values

    # ------------------------------------------------------------------ resolution

    def resolve(self, value: Any) -> Any:
        return self.intrinsics.resolve(value)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )

    def record(self, resource: PhysicalResource) -> None:
        """Provisioning reports what AWS (moto) actually assigned, e.g. a secret ARN's random suffix."""
        self._recorded[resource.logical_id] = resource

    def resource(self, logical_id: str) -> PhysicalResource:
        if logical_id in self._recorded:
            return self._recorded[logical_id]
        implicit = self._implicit(logical_id)
        if implicit is not None:
            return implicit
        resource_type = self.template.resource_type(logical_id)
        properties = self.template.properties(logical_id)
        namer = _NAMERS.get(resource_type)
        if namer is None:
            raise TemplateError(f"{logical_id}: {resource_type} has no local physical id; teach deployment.py about it")
        return namer(self, logical_id, properties)

    def _attribute(self, logical_id: str, attribute: str) -> str:
        resource = self.resource(logical_id)
        try:
            return resource.attributes[attribute]
        except KeyError:
            raise TemplateError(
                f"{logical_id}.{attribute}: not available locally (known: {sorted(resource.attributes)})"
            ) from None

    def _implicit(self, logical_id: str) -> PhysicalResource | None:
        """Resources SAM generates from a function: <Function>Role and <Function>Url."""
        for suffix, build in (("Role", _function_role), ("Url", _function_url)):
            owner = logical_id.removesuffix(suffix)
            if (
                owner != logical_id
                and owner in self.template.resources
                and logical_id not in self.template.resources
                and self.template.resource_type(owner) == FUNCTION_TYPE
            ):
                return build(self, owner)
        return None

    def physical_name(self, logical_id: str, *, lowercase: bool = False, limit: int = 64) -> str:
        name = f"{self.stack_name}-{logical_id}"
        if lowercase:
            name = re.sub(r"[^a-z0-9.-]", "-", name.lower())
        return name[:limit]

    def schedule_name(self, function_id: str, event_name: str) -> str:
        """A function's ScheduleV2 event in moto's scheduler (SAM names it `<Function><Event>`; locally the stack
        name is prefixed so that stacks in one process never collide)."""
        return self.physical_name(f"{function_id}{event_name}")

    def queue_url(self, name: str) -> str:
        base = self.endpoint_url or f"https://sqs.{self.region}.amazonaws.com"
        return f"{base.rstrip('/')}/{self.account_id}/{name}"

    # ------------------------------------------------------------------ what a client or function sees

    def function_environment(self, logical_id: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        """The function's variables (Globals merged with its own), resolved, plus what Lambda and the local
        stack add. `overrides` replace declared variables only, as `sam local invoke --env-vars` does."""
        spec = self.template.function(logical_id)
        declared = {name: self.intrinsics.resolve_str(value) for name, value in spec.environment.items()}
        for name, value in (overrides or {}).items():
            if name in declared:
                declared[name] = str(value)
        return {**self.client_environment(), "POWERTOOLS_TRACE_DISABLED": "1", **declared}

    def client_environment(self) -> dict[str, str]:
        environment = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, **DUMMY_CREDENTIALS}
        if self.endpoint_url:
            environment["AWS_ENDPOINT_URL"] = self.endpoint_url
        return environment

    def runtime_environment(self, spec: FunctionSpec, request_log_stream: str) -> dict[str, str]:
        """The reserved variables the Lambda runtime sets for every function."""
        name = self.resource(spec.logical_id).name
        runtime = str(spec.properties.get("Runtime", "python3.12"))
        return {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": request_log_stream,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
        }

    def outputs(self) -> dict[str, str]:
        return {
            name: self.intrinsics.resolve_str(output["Value"])
            for name, output in self.template.outputs.items()
            if "Condition" not in output or self.intrinsics.condition(str(output["Condition"]))
        }


# ---------------------------------------------------------------------- per-type naming rules


def _named(deployment: LocalDeployment, properties: Mapping[str, Any], key: str) -> str | None:
    return deployment.intrinsics.resolve_str(properties[key]) if key in properties else None


def _bucket(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "BucketName") or d.physical_name(logical_id, lowercase=True, limit=63)
    arn = f"arn:{d.partition}:s3:::{name}"
    return PhysicalResource(
        logical_id,
        "AWS::S3::Bucket",
        name,
        name,
        {
            "Arn": arn,
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{d.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{d.region}.amazonaws.com",
        },
    )


def _queue(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    fifo = str(d.resolve(p.get("FifoQueue", False))).lower() == "true"
    name = _named(d, p, "QueueName") or d.physical_name(logical_id, limit=75 if fifo else 80) + (
        ".fifo" if fifo else ""
    )
    url = d.queue_url(name)
    return PhysicalResource(
        logical_id, "AWS::SQS::Queue", name, url, {"Arn": d.arn("sqs", name), "QueueName": name, "QueueUrl": url}
    )


def _table(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "TableName") or d.physical_name(logical_id, limit=255)
    arn = d.arn("dynamodb", f"table/{name}")
    return PhysicalResource(
        logical_id, "AWS::DynamoDB::Table", name, name, {"Arn": arn, "StreamArn": f"{arn}/stream/local"}
    )


def _simple_table(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    table = _table(d, logical_id, p)
    return PhysicalResource(logical_id, "AWS::Serverless::SimpleTable", table.name, table.ref, table.attributes)


def _secret(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "Name") or f"{logical_id}-{_suffix(d.stack_name + logical_id)}"
    arn = d.arn("secretsmanager", f"secret:{name}-{_suffix(name)}")
    return PhysicalResource(logical_id, "AWS::SecretsManager::Secret", name, arn, {"Id": arn})


def _topic(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "TopicName") or d.physical_name(logical_id, limit=256)
    arn = d.arn("sns", name)
    return PhysicalResource(logical_id, "AWS::SNS::Topic", name, arn, {"TopicArn": arn, "TopicName": name})


def _parameter(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "Name") or f"CFN-{logical_id}-{_suffix(logical_id)}"
    return PhysicalResource(logical_id, "AWS::SSM::Parameter", name, name, {"Type": str(p.get("Type", "String"))})


def _log_group(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "LogGroupName") or d.physical_name(logical_id, limit=512)
    return PhysicalResource(
        logical_id, "AWS::Logs::LogGroup", name, name, {"Arn": d.arn("logs", f"log-group:{name}:*")}
    )


def _function(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "FunctionName") or d.physical_name(logical_id)
    return PhysicalResource(logical_id, FUNCTION_TYPE, name, name, {"Arn": d.arn("lambda", f"function:{name}")})


def _function_role(d: LocalDeployment, function_id: str) -> PhysicalResource:
    name = d.physical_name(f"{function_id}Role")
    arn = d.arn("iam", f"role/{name}", region=False)
    return PhysicalResource(f"{function_id}Role", "AWS::IAM::Role", name, name, {"Arn": arn, "RoleId": _suffix(arn)})


def _function_url(d: LocalDeployment, function_id: str) -> PhysicalResource:
    # Not served: the stack has no HTTP front for functions. Use lambda_events.function_url_event + the invoker.
    url = f"https://{_suffix(function_id)}.lambda-url.{d.region}.on.aws/"
    return PhysicalResource(f"{function_id}Url", "AWS::Lambda::Url", url, url, {"FunctionUrl": url})


def _layer(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "LayerName") or d.physical_name(logical_id, limit=140)
    arn = d.arn("lambda", f"layer:{name}:1")
    return PhysicalResource(logical_id, "AWS::Serverless::LayerVersion", name, arn, {"Arn": arn})


def _role(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "RoleName") or d.physical_name(logical_id)
    arn = d.arn("iam", f"role/{name}", region=False)
    return PhysicalResource(logical_id, "AWS::IAM::Role", name, name, {"Arn": arn, "RoleId": _suffix(arn)})


def _event_rule(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "Name") or d.physical_name(logical_id)
    return PhysicalResource(logical_id, "AWS::Events::Rule", name, name, {"Arn": d.arn("events", f"rule/{name}")})


def _state_machine(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    name = _named(d, p, "Name") or d.physical_name(logical_id, limit=80)
    arn = d.arn("states", f"stateMachine:{name}")
    return PhysicalResource(logical_id, "AWS::Serverless::StateMachine", name, arn, {"Arn": arn, "Name": name})


def _policy(d: LocalDeployment, logical_id: str, p: Mapping[str, Any]) -> PhysicalResource:
    # Policies have no useful Ref; CloudFormation returns a generated id.
    return PhysicalResource(logical_id, "policy", logical_id, d.physical_name(logical_id))


_NAMERS = {
    "AWS::S3::Bucket": _bucket,
    "AWS::SQS::Queue": _queue,
    "AWS::DynamoDB::Table": _table,
    "AWS::Serverless::SimpleTable": _simple_table,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SNS::Topic": _topic,
    "AWS::SSM::Parameter": _parameter,
    "AWS::Logs::LogGroup": _log_group,
    FUNCTION_TYPE: _function,
    "AWS::Serverless::LayerVersion": _layer,
    "AWS::Lambda::LayerVersion": _layer,
    "AWS::IAM::Role": _role,
    "AWS::Events::Rule": _event_rule,
    "AWS::Serverless::StateMachine": _state_machine,
    "AWS::S3::BucketPolicy": _policy,
    "AWS::SQS::QueuePolicy": _policy,
    "AWS::SNS::TopicPolicy": _policy,
    "AWS::IAM::Policy": _policy,
    "AWS::IAM::ManagedPolicy": _policy,
}
