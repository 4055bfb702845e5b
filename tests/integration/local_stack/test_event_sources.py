"""The SQS event-source mapping, schedules, S3 and Function URL events, as the Lambda service runs them."""

from __future__ import annotations

import pytest
from benchmark_qa_local import lambda_events
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.stack import LocalStack


def _send(stack: LocalStack, *bodies: str) -> None:
    for body in bodies:
        stack.boto3_client("sqs").send_message(QueueUrl=stack.physical_id("Work"), MessageBody=body)


def _depth(stack: LocalStack, queue: str) -> int:
    attributes = stack.boto3_client("sqs").get_queue_attributes(
        QueueUrl=stack.physical_id(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_sources_are_read_from_the_template(tiny_pump: EventSourcePump) -> None:
    (source,) = tiny_pump.sqs_sources()
    assert (source.function, source.queue_logical_id, source.batch_size) == ("Worker", "Work", 2)
    assert source.report_batch_item_failures
    assert {(s.function, s.event_name, s.type) for s in tiny_pump.schedules()} == {
        ("Worker", "Tick", "ScheduleV2"),
        ("Worker", "Legacy", "Schedule"),
    }


def test_drain_batches_by_batch_size_and_builds_lambda_records(
    tiny_stack: LocalStack, tiny_pump: EventSourcePump
) -> None:
    _send(tiny_stack, "a", "b", "c", "d", "e")
    report = tiny_pump.drain()
    assert (report.invocations, report.successes, report.failures, report.errors) == (3, 5, 0, 0)
    assert sorted(r.payload["size"] for r in report.results) == [1, 2, 2]
    assert _depth(tiny_stack, "Work") == 0
    assert report.dlq_depth == {"DeadLetters": 0}


def test_record_shape_matches_lambda(tiny_stack: LocalStack) -> None:
    sqs = tiny_stack.boto3_client("sqs")
    sqs.send_message(
        QueueUrl=tiny_stack.physical_id("Work"),
        MessageBody="hi",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}},
    )
    (message,) = sqs.receive_message(
        QueueUrl=tiny_stack.physical_id("Work"), AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    record = lambda_events.sqs_record(message, tiny_stack.resource("Work").attributes["Arn"], "us-east-1")
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":" + tiny_stack.resource("Work").name)
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "x",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["md5OfBody"] == "49f68a5c8493ec2c0bf489821c21fc3b"


def test_partial_batch_failures_redrive_to_the_dlq(tiny_stack: LocalStack, tiny_pump: EventSourcePump) -> None:
    _send(tiny_stack, "ok-1", "poison", "ok-2")
    report = tiny_pump.drain()
    # maxReceiveCount 2: the poison message is received twice, then moved to the DLQ; the others are deleted.
    assert report.successes == 2
    assert report.failures == 2
    assert report.dlq_depth == {"DeadLetters": 1}
    assert _depth(tiny_stack, "Work") == 0
    (dead,) = tiny_stack.boto3_client("sqs").receive_message(QueueUrl=tiny_stack.physical_id("DeadLetters"))["Messages"]
    assert dead["Body"] == "poison"


def test_a_handler_exception_deletes_no_message(tiny_stack: LocalStack, tiny_pump: EventSourcePump) -> None:
    _send(tiny_stack, "explode")
    report = tiny_pump.drain(until_empty=False)
    assert (report.invocations, report.errors, report.successes, report.failures) == (1, 1, 0, 1)
    assert _depth(tiny_stack, "Work") == 1
    assert tiny_pump.drain().dlq_depth == {"DeadLetters": 1}


def test_fire_schedule_v2_passes_the_input_with_context_attributes(tiny_pump: EventSourcePump) -> None:
    result = tiny_pump.fire_schedule("Worker", "Tick")
    assert result.payload == {
        "scheduled": {
            "schedule": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/WorkerTick",
            "attempt": "1",
        }
    }


def test_fire_schedule_rule_passes_a_scheduled_event(tiny_pump: EventSourcePump) -> None:
    event = tiny_pump.fire_schedule("Worker", "Legacy").payload["scheduled"]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/WorkerLegacy"]
    assert event["account"] == "123456789012"
    assert event["detail"] == {}


def test_fire_schedule_needs_a_name_when_there_are_several(tiny_pump: EventSourcePump) -> None:
    with pytest.raises(ValueError, match="Tick"):
        tiny_pump.fire_schedule("Worker")


def test_direct_s3_events_reach_only_matching_functions(tiny_pump: EventSourcePump) -> None:
    (result,) = tiny_pump.deliver_s3("Bucket", "direct/red flower.jpg", size=3)
    record = result.payload["event"]["Records"][0]
    assert result.function == "OnUpload"
    assert record["s3"]["object"]["key"] == "direct/red+flower.jpg"  # AWS encoding: '/' kept, '+' for spaces
    assert {"userIdentity", "requestParameters", "responseElements"} <= set(record)
    assert tiny_pump.deliver_s3("Bucket", "elsewhere/a.jpg") == []


def test_function_url_request_event_v2(tiny_pump: EventSourcePump) -> None:
    response, result = tiny_pump.call_function_url(
        "Echo",
        "post",
        "/hooks",
        headers={"Content-Type": "application/json", "Cookie": "a=1; b=2"},
        body='{"x": 1}',
        query="p=1&p=2&q=",
    )
    event = result.payload["event"]
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/hooks"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["headers"]["content-type"] == "application/json"
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["queryStringParameters"] == {"p": "1,2", "q": ""}
    assert event["body"] == '{"x": 1}'
    assert event["isBase64Encoded"] is False
    assert response["statusCode"] == 200  # a plain dict result becomes a 200 JSON response
    assert lambda_events.function_url_event("GET", "/", body=b"\x00")["isBase64Encoded"] is True
