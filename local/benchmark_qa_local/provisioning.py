"""Creates the template's resources in moto, in dependency order, and removes them again.

Every resource type is either built (a builder below), deliberately skipped (with the reason, in SKIPPED),
or reported as unsupported, so a resource the stack cannot emulate is visible instead of silently absent."""

from __future__ import annotations

import json
import logging
import secrets
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from benchmark_qa_local import provisioning_events, provisioning_schedules, provisioning_state_machines
from benchmark_qa_local.deployment import LocalDeployment, PhysicalResource
from benchmark_qa_local.intrinsics import references
from benchmark_qa_local.template import FUNCTION_TYPE, TemplateError

logger = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]

SKIPPED: Mapping[str, str] = {
    FUNCTION_TYPE: "run in-process by the invoker (moto's Lambda needs Docker)",
    "AWS::Serverless::LayerVersion": "the invoker puts the layer's ContentUri on sys.path, as Lambda's /opt/python",
    "AWS::Lambda::LayerVersion": "the invoker puts the layer's ContentUri on sys.path, as Lambda's /opt/python",
    "AWS::Logs::LogGroup": "function logs go to the invoker's stderr / InvocationResult.logs",
    "AWS::S3::BucketPolicy": "moto does not enforce resource policies",
    "AWS::SQS::QueuePolicy": "moto does not enforce resource policies",
    "AWS::SNS::TopicPolicy": "moto does not enforce resource policies",
    "AWS::IAM::Role": "moto does not enforce IAM; functions run with dummy credentials",
    "AWS::IAM::Policy": "moto does not enforce IAM",
    "AWS::IAM::ManagedPolicy": "moto does not enforce IAM",
    "AWS::Lambda::Permission": "nothing invokes functions but the invoker and the event-source pump",
    "AWS::KMS::Key": "moto's SNS does not encrypt; topics are built without their key",
    "AWS::SNS::Subscription": "nothing is delivered from a local topic",
    "AWS::CloudWatch::Alarm": "nothing watches metrics locally",
    "AWS::CloudWatch::Dashboard": "nothing watches metrics locally",
}


@dataclass
class ProvisioningReport:
    created: dict[str, PhysicalResource] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)
    schedules: dict[str, PhysicalResource] = field(default_factory=dict)  # the functions' ScheduleV2 events


class Provisioner:
    def __init__(
        self,
        deployment: LocalDeployment,
        client: ClientFactory,
        *,
        secret_values: Mapping[str, str] | None = None,
        keep_test_events: bool = False,
    ) -> None:
        self.deployment = deployment
        self.template = deployment.template
        self.client = client
        self.secret_values = dict(secret_values or {})
        self.keep_test_events = keep_test_events
        self.report = ProvisioningReport()

    def order(self) -> list[str]:
        resources = self.template.resources
        graph: dict[str, set[str]] = {}
        for logical_id, resource in resources.items():
            depends_on = resource.get("DependsOn", [])
            depends = {depends_on} if isinstance(depends_on, str) else set(depends_on)
            graph[logical_id] = (depends | references(resource.get("Properties", {}))) & set(resources)
        return list(TopologicalSorter(graph).static_order())

    def create_all(self) -> ProvisioningReport:
        for logical_id in self.order():
            resource_type = self.template.resource_type(logical_id)
            condition = self.template.resources[logical_id].get("Condition")
            if condition and not self.deployment.intrinsics.condition(str(condition)):
                self.report.skipped[logical_id] = f"condition {condition} is false"
            elif resource_type in _BUILDERS:
                physical = _BUILDERS[resource_type](self, logical_id, self.template.properties(logical_id))
                self.deployment.record(physical)
                self.report.created[logical_id] = physical
            elif resource_type in SKIPPED:
                self.report.skipped[logical_id] = SKIPPED[resource_type]
            else:
                self.report.unsupported[logical_id] = resource_type
                logger.warning("%s (%s) is not emulated by the local stack", logical_id, resource_type)
        for schedule in provisioning_schedules.create_schedules(self):
            self.report.schedules[schedule.logical_id] = schedule
        return self.report

    def delete_all(self) -> None:
        """Best effort, reverse order: moto's backends are process-wide, so a stopped stack must not leave
        names behind for the next one in the same process."""
        built = {**self.report.created, **self.report.schedules}
        for logical_id in reversed(list(built)):
            physical = built[logical_id]
            try:
                _DELETERS[physical.type](self, physical)
            except Exception:  # a failed cleanup must not hide the test's own result
                logger.warning("could not delete %s (%s)", logical_id, physical.name, exc_info=True)

    # ------------------------------------------------------------------ helpers for builders

    def resolve(self, value: Any) -> Any:
        return self.deployment.resolve(value)

    def resolve_str(self, value: Any) -> str:
        return self.deployment.intrinsics.resolve_str(value)


# ---------------------------------------------------------------------- S3


def _s3_filter(spec: Mapping[str, Any]) -> dict[str, Any]:
    rules = spec.get("S3Key", {}).get("Rules", [])
    return {"Key": {"FilterRules": [{"Name": str(r["Name"]), "Value": str(r["Value"])} for r in rules]}}


def _notification(spec: Mapping[str, Any], target_key: str, api_key: str) -> dict[str, Any]:
    notification: dict[str, Any] = {api_key: spec[target_key], "Events": [spec["Event"]]}
    if "Filter" in spec:
        notification["Filter"] = _s3_filter(spec["Filter"])
    return notification


def _build_bucket(p: Provisioner, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    physical = p.deployment.resource(logical_id)
    props = p.resolve(properties)
    s3 = p.client("s3")
    region = p.deployment.region
    create: dict[str, Any] = {"Bucket": physical.name}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(
            Bucket=physical.name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
        )
    if "BucketEncryption" in props:
        # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
        rules = [
            {
                ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                for k, v in r.items()
            }
            for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=physical.name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=physical.name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=physical.name, OwnershipControls=props["OwnershipControls"])
    if "CorsConfiguration" in props:
        rules = [{_CORS_KEYS.get(k, k): v for k, v in r.items()} for r in props["CorsConfiguration"]["CorsRules"]]
        s3.put_bucket_cors(Bucket=physical.name, CORSConfiguration={"CORSRules": rules})
    if "Tags" in props:
        s3.put_bucket_tagging(Bucket=physical.name, Tagging={"TagSet": props["Tags"]})
    notifications = props.get("NotificationConfiguration")
    if notifications:
        _configure_notifications(p, physical.name, notifications)
    return physical


# CloudFormation's CorsRule keys that the S3 API spells differently.
_CORS_KEYS = {"Id": "ID", "MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders"}


def _configure_notifications(p: Provisioner, bucket: str, spec: Mapping[str, Any]) -> None:
    configuration: dict[str, Any] = {}
    queues = [_notification(q, "Queue", "QueueArn") for q in spec.get("QueueConfigurations", [])]
    topics = [_notification(t, "Topic", "TopicArn") for t in spec.get("TopicConfigurations", [])]
    if queues:
        configuration["QueueConfigurations"] = queues
    if topics:
        configuration["TopicConfigurations"] = topics
    if "EventBridgeConfiguration" in spec:
        configuration["EventBridgeConfiguration"] = {}
    if spec.get("LambdaConfigurations"):
        # moto would need Docker to run the target; lambda_events.s3_event + the invoker replace it.
        logger.warning("%s: LambdaConfigurations are not delivered locally", bucket)
    p.client("s3").put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    if p.keep_test_events:
        return
    # S3 sends an s3:TestEvent to each queue when notifications are configured; tests start from empty queues.
    sqs = p.client("sqs")
    for arn in {q["QueueArn"] for q in queues}:
        sqs.purge_queue(QueueUrl=_queue_url_from_arn(p, arn))


def _queue_url_from_arn(p: Provisioner, arn: str) -> str:
    name = arn.rsplit(":", 1)[-1]
    url: str = p.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    return url


def _delete_bucket(p: Provisioner, physical: PhysicalResource) -> None:
    """Every version and delete marker, then the bucket. Each round lists from the start again: moto's listing does
    not go on past a page whose keys were deleted in the meantime (a bucket of more than 1,000 versions stayed
    non-empty, BucketNotEmpty)."""
    s3 = p.client("s3")
    while True:
        page = s3.list_object_versions(Bucket=physical.name)
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", [])]
        doomed += [{"Key": m["Key"], "VersionId": m["VersionId"]} for m in page.get("DeleteMarkers", [])]
        if not doomed:
            break
        done = s3.delete_objects(Bucket=physical.name, Delete={"Objects": doomed[:1000], "Quiet": True})
        if done.get("Errors"):  # would be listed again for ever
            raise RuntimeError(f"could not delete {done['Errors'][0]}")
    s3.delete_bucket(Bucket=physical.name)


# ---------------------------------------------------------------------- SQS

_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
)


def _build_queue(p: Provisioner, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    physical = p.deployment.resource(logical_id)
    props = p.resolve(properties)
    attributes = {key: _attribute_text(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            attributes[key] = props[key] if isinstance(props[key], str) else json.dumps(props[key])
    tags = {t["Key"]: t["Value"] for t in props.get("Tags", [])}
    response = p.client("sqs").create_queue(
        QueueName=physical.name, Attributes=attributes, **({"tags": tags} if tags else {})
    )
    # The URL moto hands out is the one clients must use (it names moto's host and port).
    url = str(response["QueueUrl"])
    return PhysicalResource(logical_id, physical.type, physical.name, url, {**physical.attributes, "QueueUrl": url})


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _delete_queue(p: Provisioner, physical: PhysicalResource) -> None:
    p.client("sqs").delete_queue(QueueUrl=physical.ref)


# ---------------------------------------------------------------------- DynamoDB


def _build_table(p: Provisioner, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    physical = p.deployment.resource(logical_id)
    props = p.resolve(properties)
    billing = props.get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": physical.name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in props:
            indexes = [dict(index) for index in props[key]]
            if key == "GlobalSecondaryIndexes" and billing == "PROVISIONED":
                for index in indexes:
                    index["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
            request[key] = indexes
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        request["SSESpecification"] = {"Enabled": bool(props["SSESpecification"].get("SSEEnabled", False))}
    if props.get("Tags"):
        request["Tags"] = props["Tags"]
    dynamodb = p.client("dynamodb")
    dynamodb.create_table(**request)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(
            TableName=physical.name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
        )
    pitr = props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=physical.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return physical


def _throughput(spec: Mapping[str, Any] | None) -> dict[str, int]:
    spec = spec or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    return {"ReadCapacityUnits": int(spec["ReadCapacityUnits"]), "WriteCapacityUnits": int(spec["WriteCapacityUnits"])}


def _build_simple_table(p: Provisioner, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    props = p.resolve(properties)
    key = props.get("PrimaryKey", {"Name": "id", "Type": "String"})
    kind = {"String": "S", "Number": "N", "Binary": "B"}[key["Type"]]
    table = {
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "BillingMode": "PROVISIONED" if "ProvisionedThroughput" in props else "PAY_PER_REQUEST",
        **({"TableName": props["TableName"]} if "TableName" in props else {}),
        **({"ProvisionedThroughput": props["ProvisionedThroughput"]} if "ProvisionedThroughput" in props else {}),
    }
    return _build_table(p, logical_id, table)


def _delete_table(p: Provisioner, physical: PhysicalResource) -> None:
    p.client("dynamodb").delete_table(TableName=physical.name)


# ---------------------------------------------------------------------- Secrets Manager, SNS, SSM


def generated_secret(spec: Mapping[str, Any]) -> str:
    """GenerateSecretString, locally: a random password honouring length and exclusions; merged into
    SecretStringTemplate under GenerateStringKey when both are given, as CloudFormation does."""
    alphabet = ""
    if not spec.get("ExcludeLowercase"):
        alphabet += string.ascii_lowercase
    if not spec.get("ExcludeUppercase"):
        alphabet += string.ascii_uppercase
    if not spec.get("ExcludeNumbers"):
        alphabet += string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-./:;<=>?@[]^_`{|}~"
    if spec.get("IncludeSpace"):
        alphabet += " "
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    alphabet = "".join(c for c in alphabet if c not in excluded)
    if not alphabet:
        raise TemplateError(f"GenerateSecretString excludes every character: {dict(spec)}")
    password = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "SecretStringTemplate" in spec and "GenerateStringKey" in spec:
        document = json.loads(str(spec["SecretStringTemplate"]))
        document[str(spec["GenerateStringKey"])] = password
        return json.dumps(document)
    return password


def _build_secret(p: Provisioner, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    physical = p.deployment.resource(logical_id)
    props = p.resolve(properties)
    request: dict[str, Any] = {"Name": physical.name}
    if "Description" in props:
        request["Description"] = props["Description"]
    if logical_id in p.secret_values:
        request["SecretString"] = p.secret_values[logical_id]
    elif "SecretString" in props:
        request["SecretString"] = props["SecretString"]
    elif "GenerateSecretString" in props:
        request["SecretString"] = generated_secret(props["GenerateSecretString"])
    # Neither: CloudFormation creates the secret with no value, so GetSecretValue fails until someone puts one.
    response = p.client("secretsmanager").create_secret(**request)
    arn = str(response["ARN"])
    return PhysicalResource(logical_id, physical.type, physical.name, arn, {"Id": arn})


def _delete_secret(p: Provisioner, physical: PhysicalResource) -> None:
    p.client("secretsmanager").delete_secret(SecretId=physical.ref, ForceDeleteWithoutRecovery=True)


def _build_topic(p: Provisioner, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    physical = p.deployment.resource(logical_id)
    # KmsMasterKeyId is left unresolved: the key is not built locally (see SKIPPED).
    props = p.resolve({k: v for k, v in properties.items() if k != "KmsMasterKeyId"})
    attributes = {k: _attribute_text(props[k]) for k in ("FifoTopic", "ContentBasedDeduplication") if k in props}
    arn = str(p.client("sns").create_topic(Name=physical.name, Attributes=attributes)["TopicArn"])
    for subscription in props.get("Subscription", []):
        p.client("sns").subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    return physical


def _delete_topic(p: Provisioner, physical: PhysicalResource) -> None:
    p.client("sns").delete_topic(TopicArn=physical.ref)


def _build_parameter(p: Provisioner, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    physical = p.deployment.resource(logical_id)
    props = p.resolve(properties)
    p.client("ssm").put_parameter(Name=physical.name, Value=str(props["Value"]), Type=str(props.get("Type", "String")))
    return physical


def _delete_parameter(p: Provisioner, physical: PhysicalResource) -> None:
    p.client("ssm").delete_parameter(Name=physical.name)


Builder = Callable[[Provisioner, str, Mapping[str, Any]], PhysicalResource]
Deleter = Callable[[Provisioner, PhysicalResource], None]

_BUILDERS: Mapping[str, Builder] = {
    "AWS::S3::Bucket": _build_bucket,
    "AWS::SQS::Queue": _build_queue,
    "AWS::DynamoDB::Table": _build_table,
    "AWS::Serverless::SimpleTable": _build_simple_table,
    "AWS::SecretsManager::Secret": _build_secret,
    "AWS::SNS::Topic": _build_topic,
    "AWS::SSM::Parameter": _build_parameter,
    "AWS::Events::Rule": provisioning_events.build_rule,
    provisioning_state_machines.STATE_MACHINE_TYPE: provisioning_state_machines.build_state_machine,
}
_DELETERS: Mapping[str, Deleter] = {
    "AWS::S3::Bucket": _delete_bucket,
    "AWS::SQS::Queue": _delete_queue,
    "AWS::DynamoDB::Table": _delete_table,
    "AWS::Serverless::SimpleTable": _delete_table,
    "AWS::SecretsManager::Secret": _delete_secret,
    "AWS::SNS::Topic": _delete_topic,
    "AWS::SSM::Parameter": _delete_parameter,
    "AWS::Events::Rule": provisioning_events.delete_rule,
    provisioning_state_machines.STATE_MACHINE_TYPE: provisioning_state_machines.delete_state_machine,
    provisioning_schedules.SCHEDULE_TYPE: provisioning_schedules.delete_schedule,
}

BUILT_TYPES: frozenset[str] = frozenset(_BUILDERS)


def discover_secrets(deployment: LocalDeployment, client: ClientFactory, logical_ids: Iterable[str]) -> None:
    """Attached to a stack someone else created: learn the secret ARNs (their suffix is random)."""
    secretsmanager = client("secretsmanager")
    for logical_id in logical_ids:
        physical = deployment.resource(logical_id)
        try:
            arn = str(secretsmanager.describe_secret(SecretId=physical.name)["ARN"])
        except secretsmanager.exceptions.ResourceNotFoundException:
            continue
        deployment.record(PhysicalResource(logical_id, physical.type, physical.name, arn, {"Id": arn}))
