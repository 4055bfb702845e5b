"""What the Lambda service does around the functions, since moto never invokes one: the SQS event-source
mapping (poll, batch, invoke, delete, partial batch failures, redrive to the DLQ), schedules (fired on
demand: moto stores schedules but never fires them), direct S3 notifications and Function URL requests.

    pump = EventSourcePump(stack, Invoker(stack=stack))
    report = pump.drain()            # until every SQS-triggered queue is empty
    pump.fire_schedule("ManifestFunction", "Sweep")
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmark_qa_local import lambda_events
from benchmark_qa_local.invoker import InvocationResult, Invoker
from benchmark_qa_local.stack import LocalStack
from benchmark_qa_local.template import TemplateError

logger = logging.getLogger(__name__)

SQS_RECEIVE_LIMIT = 10  # ReceiveMessage returns at most 10; Lambda assembles bigger batches from several calls
SCHEDULE_TYPES = ("Schedule", "ScheduleV2")


@dataclass(frozen=True)
class SqsSource:
    function: str
    event_name: str
    queue_logical_id: str | None
    queue_arn: str
    queue_url: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool


@dataclass(frozen=True)
class ScheduleSource:
    function: str
    event_name: str
    type: str
    expression: str
    input_text: str | None
    arn: str
    enabled: bool


@dataclass
class DrainReport:
    """invocations: handler calls; successes / failures: messages deleted / left for retry;
    errors: invocations that raised; dlq_depth: messages in each source queue's DLQ afterwards."""

    rounds: int = 0
    invocations: int = 0
    successes: int = 0
    failures: int = 0
    errors: int = 0
    dlq_depth: dict[str, int] = field(default_factory=dict)
    results: list[InvocationResult] = field(default_factory=list)

    @property
    def dead_letters(self) -> int:
        return sum(self.dlq_depth.values())


def _enabled(properties: Mapping[str, Any]) -> bool:
    state = str(properties.get("State", "ENABLED")).upper()
    return str(properties.get("Enabled", True)).lower() != "false" and state != "DISABLED"


class EventSourcePump:
    def __init__(self, stack: LocalStack, invoker: Invoker) -> None:
        self.stack = stack
        self.invoker = invoker
        self.deployment = stack.deployment
        self.template = stack.template

    # ------------------------------------------------------------------ discovery (from the template)

    def _queue_logical_id(self, arn: str) -> str | None:
        for logical_id in self.template.of_type("AWS::SQS::Queue"):
            if self.deployment.resource(logical_id).attributes.get("Arn") == arn:
                return logical_id
        return None

    def sqs_sources(self) -> list[SqsSource]:
        sources = []
        for spec in self.template.functions():
            for event in spec.events:
                if event.type != "SQS":
                    continue
                arn = self.deployment.intrinsics.resolve_str(event.properties["Queue"])
                logical_id = self._queue_logical_id(arn)
                url = (
                    self.stack.physical_id(logical_id)
                    if logical_id
                    else self.stack.boto3_client("sqs").get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
                )
                sources.append(
                    SqsSource(
                        function=spec.logical_id,
                        event_name=event.name,
                        queue_logical_id=logical_id,
                        queue_arn=arn,
                        queue_url=str(url),
                        batch_size=int(self.deployment.resolve(event.properties.get("BatchSize", 10))),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in self.deployment.resolve(event.properties.get("FunctionResponseTypes", [])),
                        enabled=_enabled(event.properties),
                    )
                )
        return sources

    def schedules(self) -> list[ScheduleSource]:
        found = []
        for spec in self.template.functions():
            for event in spec.events:
                if event.type not in SCHEDULE_TYPES:
                    continue
                properties = self.deployment.resolve(event.properties)
                name = str(properties.get("Name", f"{spec.logical_id}{event.name}"))
                if event.type == "Schedule":
                    expression = str(properties.get("Schedule", ""))
                    arn = self.deployment.arn("events", f"rule/{name}")
                else:
                    expression = str(properties.get("ScheduleExpression", ""))
                    group = str(properties.get("GroupName", "default"))
                    arn = self.deployment.arn("scheduler", f"schedule/{group}/{name}")
                input_text = properties.get("Input")
                found.append(
                    ScheduleSource(
                        function=spec.logical_id,
                        event_name=event.name,
                        type=event.type,
                        expression=expression,
                        input_text=None if input_text is None else str(input_text),
                        arn=arn,
                        enabled=_enabled(properties),
                    )
                )
        return found

    # ------------------------------------------------------------------ SQS event-source mapping

    def drain(self, until_empty: bool = True, max_rounds: int = 50, function: str | None = None) -> DrainReport:
        """Poll every enabled SQS source (or one function's), invoke, delete what succeeded. A round that
        finds no message in any queue ends the drain; `max_rounds` bounds poison-message loops (a message
        reaches the DLQ on the receive after its maxReceiveCount-th)."""
        report = DrainReport()
        sources = [s for s in self.sqs_sources() if s.enabled and function in (None, s.function)]
        while report.rounds < max_rounds:
            report.rounds += 1
            delivered = sum(self._poll(source, report) for source in sources)
            if not delivered or not until_empty:
                break
        report.dlq_depth = self._dlq_depths(sources)
        return report

    def _receive(self, source: SqsSource) -> list[dict[str, Any]]:
        sqs = self.stack.boto3_client("sqs")
        messages: list[dict[str, Any]] = []
        while len(messages) < source.batch_size:
            response = sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_LIMIT, source.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            received = response.get("Messages", [])
            if not received:
                break
            messages.extend(received)
        return messages

    def _poll(self, source: SqsSource, report: DrainReport) -> int:
        messages = self._receive(source)
        if not messages:
            return 0
        region = self.deployment.region
        event = lambda_events.sqs_event([lambda_events.sqs_record(m, source.queue_arn, region) for m in messages])
        result = self.invoker.invoke(source.function, event)
        report.invocations += 1
        report.results.append(result)
        failed = self._failed_ids(source, result, [m["MessageId"] for m in messages])
        if not result.ok:
            report.errors += 1
        sqs = self.stack.boto3_client("sqs")
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_RECEIVE_LIMIT):
            chunk = done[start : start + SQS_RECEIVE_LIMIT]
            sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        # Lambda would leave failed messages invisible for the queue's VisibilityTimeout (minutes); locally
        # they come back at once so that retries and the redrive to the DLQ happen within a test.
        for message in messages:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        report.successes += len(done)
        report.failures += len(failed)
        return len(messages)

    @staticmethod
    def _failed_ids(source: SqsSource, result: InvocationResult, message_ids: list[str]) -> set[str]:
        """Lambda's rules: an error fails the whole batch; with ReportBatchItemFailures the listed ids fail,
        and a malformed response (unknown or missing itemIdentifier) fails the whole batch."""
        everything = set(message_ids)
        if not result.ok:
            return everything
        if not source.report_batch_item_failures or not isinstance(result.payload, Mapping):
            return set()
        failures = result.payload.get("batchItemFailures") or []
        identifiers = [f.get("itemIdentifier") if isinstance(f, Mapping) else None for f in failures]
        if any(not i or i not in everything for i in identifiers):
            logger.warning("%s: malformed batchItemFailures %s; the whole batch fails", source.function, failures)
            return everything
        return {str(i) for i in identifiers}

    def _dlq_depths(self, sources: Iterable[SqsSource]) -> dict[str, int]:
        sqs = self.stack.boto3_client("sqs")
        depths: dict[str, int] = {}
        for source in sources:
            attributes = sqs.get_queue_attributes(QueueUrl=source.queue_url, AttributeNames=["RedrivePolicy"])
            policy = attributes.get("Attributes", {}).get("RedrivePolicy")
            if not policy:
                continue
            dlq_arn = str(json.loads(policy)["deadLetterTargetArn"])
            dlq_id = self._queue_logical_id(dlq_arn) or dlq_arn
            dlq_url = sqs.get_queue_url(QueueName=dlq_arn.rsplit(":", 1)[-1])["QueueUrl"]
            counts = sqs.get_queue_attributes(
                QueueUrl=dlq_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[dlq_id] = int(counts["ApproximateNumberOfMessages"]) + int(
                counts["ApproximateNumberOfMessagesNotVisible"]
            )
        return depths

    # ------------------------------------------------------------------ schedules

    def schedule_event(self, source: ScheduleSource) -> Any:
        if source.type == "ScheduleV2":
            return lambda_events.scheduler_payload(source.arn, source.input_text)
        if source.input_text is not None:
            return json.loads(source.input_text)
        return lambda_events.scheduled_event(
            source.arn, account_id=self.deployment.account_id, region=self.deployment.region
        )

    def fire_schedule(self, logical_id: str, event_name: str | None = None, *, cold: bool = False) -> InvocationResult:
        """Invoke a function as its schedule would. `event_name` may be omitted when it has one schedule."""
        candidates = [s for s in self.schedules() if s.function == logical_id and event_name in (None, s.event_name)]
        if len(candidates) != 1:
            known = [s.event_name for s in self.schedules() if s.function == logical_id]
            raise TemplateError(f"{logical_id}: name one schedule event of {known} (asked for {event_name!r})")
        source = candidates[0]
        if not source.enabled:
            raise TemplateError(f"{logical_id}.{source.event_name} is disabled in the template; it never fires")
        return self.invoker.invoke(logical_id, self.schedule_event(source), cold=cold)

    # ------------------------------------------------------------------ direct S3 notifications

    def s3_targets(self, bucket_logical_id: str, key: str, event_name: str) -> list[str]:
        """Functions whose `S3` events match a bucket, an event name (e.g. ObjectCreated:Put) and a key."""
        matches = []
        for spec in self.template.functions():
            for event in spec.events:
                if event.type != "S3" or event.properties.get("Bucket", {}).get("Ref") != bucket_logical_id:
                    continue
                properties = self.deployment.resolve(event.properties)
                patterns = properties.get("Events", [])
                patterns = [patterns] if isinstance(patterns, str) else patterns
                rules = properties.get("Filter", {}).get("S3Key", {}).get("Rules", [])
                if any(fnmatch.fnmatchcase(f"s3:{event_name}", p) for p in patterns) and all(
                    key.startswith(r["Value"]) if r["Name"].lower() == "prefix" else key.endswith(r["Value"])
                    for r in rules
                ):
                    matches.append(spec.logical_id)
        return matches

    def deliver_s3(
        self, bucket_logical_id: str, key: str, *, event_name: str = "ObjectCreated:Put", **record: Any
    ) -> list[InvocationResult]:
        """Invoke every function subscribed (SAM `S3` event) to this bucket/event/key, as S3 would."""
        bucket = self.stack.physical_id(bucket_logical_id)
        event = lambda_events.s3_event(
            [
                lambda_events.s3_record(
                    bucket,
                    key,
                    event_name=event_name,
                    region=self.deployment.region,
                    account_id=self.deployment.account_id,
                    **record,
                )
            ]
        )
        return [self.invoker.invoke(f, event) for f in self.s3_targets(bucket_logical_id, key, event_name)]

    # ------------------------------------------------------------------ Function URLs

    def call_function_url(
        self,
        logical_id: str,
        method: str,
        path: str = "/",
        *,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
        query: str = "",
    ) -> tuple[dict[str, Any], InvocationResult]:
        """A request to the function's URL: (HTTP response as Lambda would build it, the invocation)."""
        if "FunctionUrlConfig" not in self.template.function(logical_id).properties:
            raise TemplateError(f"{logical_id} has no FunctionUrlConfig")
        event = lambda_events.function_url_event(
            method, path, headers=headers, body=body, query=query, region=self.deployment.region
        )
        result = self.invoker.invoke(logical_id, event)
        if not result.ok:
            return {"statusCode": 502, "headers": {}, "body": "Internal Server Error", "isBase64Encoded": False}, result
        return lambda_events.function_url_response(result.payload), result
