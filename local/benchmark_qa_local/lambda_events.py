"""The event documents AWS services hand to Lambda, built locally: SQS batches, EventBridge scheduled
events, EventBridge Scheduler payloads, S3 notifications, Function URL requests (payload v2.0).

Shapes follow the AWS docs and `sam local generate-event`; moto's own S3 records lack fields (userIdentity,
requestParameters, responseElements, ownerIdentity, sequencer) that strict parsers require, so
`complete_s3_record` fills them in."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote_plus

# --------------------------------------------------------------------------- SQS


def _sqs_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API spelling (StringValue, DataType) -> Lambda event spelling (stringValue, dataType)."""
    converted: dict[str, Any] = {}
    for name, value in attributes.items():
        entry: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            raw = value["BinaryValue"]
            entry["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw
        converted[name] = entry
    return converted


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event from a ReceiveMessage result (AttributeNames/MessageAttributeNames All)."""
    body = str(message["Body"])
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": _sqs_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sqs_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


# --------------------------------------------------------------------------- schedules


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def scheduled_event(rule_arn: str, *, account_id: str, region: str, at: datetime | None = None) -> dict[str, Any]:
    """What an EventBridge rule with a schedule expression (SAM `Schedule`) sends when it has no Input."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": (at or _now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def scheduler_payload(
    schedule_arn: str, input_text: str | None, *, at: datetime | None = None, attempt: int = 1
) -> Any:
    """What EventBridge Scheduler (SAM `ScheduleV2`) passes: the target Input with its context attributes
    (<aws.scheduler.schedule-arn>, ...) replaced; `{}` when the schedule has no Input."""
    if input_text is None:
        return {}
    replacements = {
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.scheduled-time>": (at or _now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.execution-id>": uuid.uuid4().hex[:16],
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    for keyword, value in replacements.items():
        input_text = input_text.replace(keyword, value)
    return json.loads(input_text)


# --------------------------------------------------------------------------- S3


def s3_record(
    bucket: str,
    key: str,
    *,
    event_name: str = "ObjectCreated:Put",
    size: int = 0,
    etag: str = "0123456789abcdef0123456789abcdef",
    version_id: str | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    partition: str = "aws",
    at: datetime | None = None,
) -> dict[str, Any]:
    """One S3 event notification record as AWS sends it (keys URL-encoded with '+' for spaces, '/' kept)."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": f"{time.time_ns():016X}"}
    if event_name.startswith("ObjectCreated"):
        obj.update(size=size, eTag=etag)
    if version_id is not None:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": f"AWS:{account_id}"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "local",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": account_id},
                "arn": f"arn:{partition}:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def s3_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


def complete_s3_record(record: Mapping[str, Any], *, account_id: str = "123456789012") -> dict[str, Any]:
    """A moto S3 notification record with the fields moto leaves out, so strict parsers accept it."""
    completed = json.loads(json.dumps(record))
    completed.setdefault("userIdentity", {"principalId": f"AWS:{account_id}"})
    completed.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
    completed.setdefault("responseElements", {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"})
    completed["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": account_id})
    completed["s3"]["object"].setdefault("sequencer", f"{time.time_ns():016X}")
    return dict(completed)


# --------------------------------------------------------------------------- Function URLs


def function_url_event(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: str | bytes | None = None,
    query: str = "",
    url_id: str = "local",
    region: str = "us-east-1",
    source_ip: str = "127.0.0.1",
    at: datetime | None = None,
) -> dict[str, Any]:
    """A Lambda Function URL request (payload format 2.0). Header names are lower-cased and repeated query
    parameters joined with commas, as Lambda does; a bytes body is base64-encoded."""
    moment = at or datetime.now(UTC)
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    lowered.setdefault("host", f"{url_id}.lambda-url.{region}.on.aws")
    cookies = [c.strip() for c in lowered.pop("cookie", "").split(";") if c.strip()]
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    encoded = isinstance(body, bytes)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": lowered["host"],
            "domainPrefix": url_id,
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(moment.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        event["cookies"] = cookies
    if parameters:
        event["queryStringParameters"] = parameters
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if isinstance(body, bytes) else body
    return event


def function_url_response(payload: Any) -> dict[str, Any]:
    """How Lambda turns a handler's return value into the HTTP response of a Function URL: a dict with
    statusCode is taken as the response; anything else is a 200 with the value as a JSON body."""
    if isinstance(payload, Mapping) and "statusCode" in payload:
        return {"headers": {}, "body": "", "isBase64Encoded": False, **payload}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": payload if isinstance(payload, str) else json.dumps(payload),
        "isBase64Encoded": False,
    }
