"""template.yaml's observability (docs/observability.md): every dead-letter queue and every function has an alarm
that notifies the alarm topic, every function runs with tracing, Powertools' environment and a decorated handler,
and the dashboard shows every function, queue, alarm and custom metric.

A function or a dead-letter queue added without its alarm fails here; the last tests prove the checks would see it."""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa import observability
from benchmark_qa_local.intrinsics import SUB_VARIABLE, references
from benchmark_qa_local.template import FUNCTION_TYPE, SamTemplate

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"

QUEUE_TYPE = "AWS::SQS::Queue"
ALARM_TYPE = "AWS::CloudWatch::Alarm"
DASHBOARD_TYPE = "AWS::CloudWatch::Dashboard"
ALARM_TOPIC = "AlarmTopic"
FUNCTION_ALARM_METRICS = ("Errors", "Throttles")
HANDLER_DECORATORS = {"logger.inject_lambda_context", "metrics.log_metrics", "tracer.capture_lambda_handler"}
# Keys under which a resource (or a SAM event) names where its failed messages go.
DEAD_LETTER_KEYS = {"DeadLetterConfig", "DeadLetterQueue", "OnFailure"}


@pytest.fixture(scope="module")
def template() -> SamTemplate:
    return SamTemplate.load(TEMPLATE)


# ---------------------------------------------------------------------- reading the template


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere below value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def dead_letter_queues(template: SamTemplate) -> dict[str, str]:
    """Every dead-letter queue -> why it is one: a queue's RedrivePolicy target, the target of any
    DeadLetterConfig / DeadLetterQueue / OnFailure (schedules, functions, event sources), or its name."""
    found: dict[str, str] = {}
    for logical_id, resource in template.resources.items():
        properties = resource.get("Properties", {})
        redrive = properties.get("RedrivePolicy") if resource.get("Type") == QUEUE_TYPE else None
        if isinstance(redrive, dict):
            for target in references(redrive.get("deadLetterTargetArn")):
                found.setdefault(target, f"RedrivePolicy of {logical_id}")
        for key, value in _walk(properties):
            if key not in DEAD_LETTER_KEYS:
                continue
            targets = references(value)
            # SAM creates a queue itself for `DeadLetterConfig: {Type: SQS}`; a queue nobody declared has no alarm.
            assert targets, f"{logical_id}: {key} names no queue of the template ({value}); declare the queue"
            for target in targets:
                found.setdefault(target, f"{key} of {logical_id}")
    for logical_id in template.of_type(QUEUE_TYPE):
        if re.search(r"dead.?letter|dlq", logical_id, re.IGNORECASE):
            found.setdefault(logical_id, "its name")
    return found


def alarms(template: SamTemplate) -> dict[str, Mapping[str, Any]]:
    return {logical_id: template.properties(logical_id) for logical_id in template.of_type(ALARM_TYPE)}


def _watches(alarm: Mapping[str, Any], namespace: str, metric: str, dimension: str, logical_id: str) -> bool:
    return (
        alarm.get("Namespace") == namespace
        and alarm.get("MetricName") == metric
        and any(
            d.get("Name") == dimension and logical_id in references(d.get("Value")) for d in alarm.get("Dimensions", [])
        )
    )


def queues_without_alarm(template: SamTemplate) -> list[str]:
    return sorted(
        queue
        for queue in dead_letter_queues(template)
        if not any(
            _watches(alarm, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue)
            for alarm in alarms(template).values()
        )
    )


def functions_without_alarm(template: SamTemplate, metric: str) -> list[str]:
    return sorted(
        function
        for function in template.of_type(FUNCTION_TYPE)
        if not any(
            _watches(alarm, "AWS/Lambda", metric, "FunctionName", function) for alarm in alarms(template).values()
        )
    )


# ---------------------------------------------------------------------- the dashboard


def dashboard_body(template: SamTemplate) -> dict[str, Any]:
    """The one dashboard's body with every ${X} / ${X.Attr} replaced by the placeholder "X" / "X.Attr"."""
    dashboards = list(template.of_type(DASHBOARD_TYPE))
    assert len(dashboards) == 1, f"expected one {DASHBOARD_TYPE}, found {dashboards}"
    body = template.properties(dashboards[0])["DashboardBody"]
    assert isinstance(body, dict), "DashboardBody must be built with Fn::Sub"
    assert set(body) == {"Fn::Sub"}, "DashboardBody must be built with Fn::Sub"
    text = body["Fn::Sub"] if isinstance(body["Fn::Sub"], str) else body["Fn::Sub"][0]
    known = set(template.resources) | set(template.parameters)
    unknown = {
        name for name in SUB_VARIABLE.findall(text) if not name.startswith("AWS::") and name.split(".")[0] not in known
    }
    assert not unknown, f"the dashboard substitutes names the template does not declare: {sorted(unknown)}"
    text = SUB_VARIABLE.sub(lambda m: m.group(1), text).replace("${!", "${")
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def dashboard_metrics(body: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, dimensions) of every metric of every widget; "." repeats the row above."""
    found: list[tuple[str, str, dict[str, str]]] = []
    for widget in body["widgets"]:
        previous: list[Any] = []
        for row in widget.get("properties", {}).get("metrics", []):
            fields = [f for f in row if not isinstance(f, dict)]
            fields = [previous[i] if f == "." and i < len(previous) else f for i, f in enumerate(fields)]
            previous = fields
            if len(fields) >= 2:
                dimensions = dict(zip(fields[2::2], fields[3::2], strict=False))
                found.append((fields[0], fields[1], dimensions))
    return found


def custom_metric_names() -> set[str]:
    """Every metric name passed to add_metric(...) in functions/ and shared/."""
    names: set[str] = set()
    for source in [*(REPO / "functions").rglob("*.py"), *(REPO / "shared").rglob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "add_metric":
                continue
            name = next((k.value for k in node.keywords if k.arg == "name"), node.args[0] if node.args else None)
            assert isinstance(name, ast.Constant), f"{source}:{node.lineno}: metric name must be a literal"
            names.add(str(name.value))
    return names


# ---------------------------------------------------------------------- alarms and the topic


def test_every_dead_letter_queue_is_found(template: SamTemplate) -> None:
    found = dead_letter_queues(template)
    # Guards the discovery itself: were it to find nothing, the alarm checks below would pass vacuously.
    assert {"IngestDeadLetterQueue", "RegisterDeadLetterQueue", "ScheduleDeadLetterQueue", "ScoreDeadLetterQueue"} <= (
        set(found)
    )
    not_queues = {q: template.resource_type(q) for q in found if template.resource_type(q) != QUEUE_TYPE}
    assert not not_queues, f"dead-letter targets that are not SQS queues cannot be alarmed on depth: {not_queues}"


def test_every_dead_letter_queue_has_an_alarm(template: SamTemplate) -> None:
    assert queues_without_alarm(template) == [], "add an ApproximateNumberOfMessagesVisible alarm for these queues"


@pytest.mark.parametrize("metric", FUNCTION_ALARM_METRICS)
def test_every_function_has_an_alarm(template: SamTemplate, metric: str) -> None:
    assert list(template.of_type(FUNCTION_TYPE)), "no functions found"
    assert functions_without_alarm(template, metric) == [], f"add an AWS/Lambda {metric} alarm for these functions"


def test_every_alarm_notifies_the_topic_and_ignores_missing_data(template: SamTemplate) -> None:
    assert alarms(template)
    for logical_id, alarm in alarms(template).items():
        assert {"Ref": ALARM_TOPIC} in alarm.get("AlarmActions", []), f"{logical_id}: AlarmActions lacks the topic"
        assert alarm.get("TreatMissingData") == "notBreaching", logical_id
        assert "Condition" not in template.resources[logical_id], f"{logical_id}: alarms are always deployed"


def test_alarms_fire_on_the_first_message_or_error(template: SamTemplate) -> None:
    dead_letters = set(dead_letter_queues(template))
    watched = {
        logical_id: alarm
        for logical_id, alarm in alarms(template).items()
        if any(_watches(alarm, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q) for q in dead_letters)
        or (alarm.get("Namespace") == "AWS/Lambda" and alarm.get("MetricName") in FUNCTION_ALARM_METRICS)
    }
    assert watched
    for logical_id, alarm in watched.items():
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold", logical_id
        assert float(alarm["Threshold"]) == 0, logical_id
        assert int(alarm["EvaluationPeriods"]) == 1, logical_id


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(template: SamTemplate) -> None:
    topic = template.properties(ALARM_TOPIC)
    assert template.resource_type(ALARM_TOPIC) == "AWS::SNS::Topic"
    # Not alias/aws/sns: CloudWatch cannot publish to a topic encrypted with the AWS managed key.
    (key,) = references(topic["KmsMasterKeyId"])
    assert template.resource_type(key) == "AWS::KMS::Key"
    properties = template.properties(key)
    assert properties["EnableKeyRotation"] is True
    principals = [s.get("Principal", {}).get("Service") for s in properties["KeyPolicy"]["Statement"]]
    assert "cloudwatch.amazonaws.com" in principals


def test_alarm_email_subscription_is_optional(template: SamTemplate) -> None:
    assert template.parameters["AlarmEmail"]["Default"] == ""
    subscriptions = [
        s for s in template.of_type("AWS::SNS::Subscription") if ALARM_TOPIC in references(template.properties(s))
    ]
    assert len(subscriptions) == 1
    subscription = template.resources[subscriptions[0]]
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert template.conditions[subscription["Condition"]] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


# ---------------------------------------------------------------------- tracing and Powertools in every function


def test_every_function_has_tracing_and_the_powertools_environment(template: SamTemplate) -> None:
    for spec in template.functions():
        assert spec.properties.get("Tracing") == "Active", f"{spec.logical_id}: Tracing must be Active"
        assert spec.environment.get("POWERTOOLS_SERVICE_NAME") == observability.SERVICE, spec.logical_id
        assert spec.environment.get("POWERTOOLS_METRICS_NAMESPACE") == observability.NAMESPACE, spec.logical_id


def test_every_handler_uses_the_shared_logger_metrics_and_tracer(template: SamTemplate) -> None:
    for spec in template.functions():
        module_name, function_name = spec.handler.rsplit(".", 1)
        source = spec.code_dir / f"{module_name.replace('.', '/')}.py"
        tree = ast.parse(source.read_text(), str(source))
        imported = {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module == "benchmark_qa.observability"
            for alias in node.names
        }
        assert {"logger", "metrics", "tracer"} <= imported, f"{source}: import them from benchmark_qa.observability"
        (handler,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function_name]
        decorators = {ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in handler.decorator_list}
        assert decorators >= HANDLER_DECORATORS, f"{source}: {function_name} lacks {HANDLER_DECORATORS - decorators}"


# ---------------------------------------------------------------------- the dashboard


def test_dashboard_body_is_json_and_shows_every_function(template: SamTemplate) -> None:
    metrics = dashboard_metrics(dashboard_body(template))
    for function in template.of_type(FUNCTION_TYPE):
        shown = {name for ns, name, dims in metrics if ns == "AWS/Lambda" and dims.get("FunctionName") == function}
        assert shown >= {"Invocations", "Errors", "Duration"}, f"the dashboard lacks {function}'s metrics"


def test_dashboard_shows_every_queue_and_dead_letter_queue(template: SamTemplate) -> None:
    metrics = dashboard_metrics(dashboard_body(template))
    shown = {
        dims.get("QueueName")
        for ns, name, dims in metrics
        if ns == "AWS/SQS" and name == "ApproximateNumberOfMessagesVisible"
    }
    for queue in template.of_type(QUEUE_TYPE):
        assert f"{queue}.QueueName" in shown, f"the dashboard lacks {queue}'s depth"


def test_dashboard_shows_every_custom_metric(template: SamTemplate) -> None:
    names = custom_metric_names()
    assert names, "no add_metric calls found"
    dimensions = {"service": observability.SERVICE}
    metrics = dashboard_metrics(dashboard_body(template))
    shown = {name for ns, name, dims in metrics if ns == observability.NAMESPACE and dims == dimensions}
    assert names <= shown, f"the dashboard lacks custom metrics {sorted(names - shown)}"


def test_dashboard_shows_every_alarm(template: SamTemplate) -> None:
    body = dashboard_body(template)
    shown = {arn for w in body["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]}
    missing = {f"{alarm}.Arn" for alarm in alarms(template)} - shown
    assert not missing, f"the dashboard's alarm widget lacks {sorted(missing)}"


# ---------------------------------------------------------------------- the checks see what is missing


def _with(template: SamTemplate, **resources: Mapping[str, Any]) -> SamTemplate:
    body = copy.deepcopy(dict(template.body))
    body["Resources"] = {**body["Resources"], **resources}
    return SamTemplate(template.path, body)


def test_a_new_function_without_alarms_is_reported(template: SamTemplate) -> None:
    changed = _with(template, NewFunction={"Type": FUNCTION_TYPE, "Properties": {"CodeUri": "x/", "Handler": "a.b"}})
    for metric in FUNCTION_ALARM_METRICS:
        assert functions_without_alarm(changed, metric) == ["NewFunction"]


def test_a_new_dead_letter_queue_without_an_alarm_is_reported(template: SamTemplate) -> None:
    redrive = {"deadLetterTargetArn": {"Fn::GetAtt": ["Parked", "Arn"]}, "maxReceiveCount": 3}
    schedule = {"Type": "ScheduleV2", "Properties": {"DeadLetterConfig": {"Arn": {"Fn::GetAtt": "Missed.Arn"}}}}
    changed = _with(
        template,
        Parked={"Type": QUEUE_TYPE, "Properties": {}},
        Work={"Type": QUEUE_TYPE, "Properties": {"RedrivePolicy": redrive}},
        Missed={"Type": QUEUE_TYPE, "Properties": {}},
        Timer={"Type": FUNCTION_TYPE, "Properties": {"Events": {"Tick": schedule}}},
    )
    assert queues_without_alarm(changed) == ["Missed", "Parked"]


# ---------------------------------------------------------------------- the app's own error metrics (issue 11)

# Metrics that count work done, not failures: no alarm. Every other metric the code emits needs one, so a new
# metric fails test_every_error_metric_has_an_alarm until it is alarmed on or added here with its reason.
THROUGHPUT_METRICS = {
    "ObjectsRecorded": "uploads recorded",
    "ObjectsSkipped": "uploads skipped with their reason (a duplicate, a dot segment): status lists them",
    "ManifestsWritten": "manifests written",
    "JobsFinished": "Encord upload jobs finished",
    "TasksRouted": "tasks routed",
    "TasksMovedElsewhere": "tasks someone moved before routing did: audited, not a fault",
    "StageTasks": "tasks found in the review stage",
    "MessagesSent": "score messages fanned out",
    "ResultsWritten": "score results written",
    "ReportsPublished": "leaderboards published",
    "GroundTruthFlags": "suspect ground-truth objects found: listed in the report for review, not a fault of the stack",
}
# A name that says failure can never be declared throughput.
ERROR_NAME = re.compile(r"error|fail|bad|reject|replay|notready", re.IGNORECASE)


def metrics_without_alarm(template: SamTemplate, names: set[str]) -> list[str]:
    """Emitted metric names with no alarm on (BenchmarkQA, name, service=benchmark-qa) that notifies the topic."""
    watched = {
        alarm.get("MetricName")
        for alarm in alarms(template).values()
        if alarm.get("Namespace") == observability.NAMESPACE
        and alarm.get("Dimensions") == [{"Name": "service", "Value": observability.SERVICE}]
        and {"Ref": ALARM_TOPIC} in alarm.get("AlarmActions", [])
    }
    return sorted(name for name in names if name not in watched and name not in THROUGHPUT_METRICS)


def test_every_error_metric_has_an_alarm(template: SamTemplate) -> None:
    names = custom_metric_names()
    # The metrics the issue names, so a change in how the code is read cannot make this pass vacuously.
    assert {"PollErrors", "FlushFailures", "SweepErrors", "WebhookRejected", "BadMessages", "ScoreErrors"} <= names
    assert metrics_without_alarm(template, names) == [], "add a BenchmarkQA alarm (or declare a throughput metric)"


def test_throughput_metrics_are_emitted_and_do_not_name_failures() -> None:
    assert set(THROUGHPUT_METRICS) <= custom_metric_names(), "a declared throughput metric is no longer emitted"
    assert not [name for name in THROUGHPUT_METRICS if ERROR_NAME.search(name)]


def test_a_new_error_metric_without_an_alarm_is_reported(template: SamTemplate) -> None:
    assert metrics_without_alarm(template, {"QueueErrors", "TasksRouted", "PollErrors"}) == ["QueueErrors"]


def test_webhook_function_has_a_reserved_concurrency_parameter(template: SamTemplate) -> None:
    parameter = template.parameters["WebhookReservedConcurrency"]
    assert int(parameter["Default"]) > 0, "the public function must be capped by default"
    (route,) = [spec for spec in template.functions() if spec.properties.get("FunctionUrlConfig")]
    condition, capped, uncapped = route.properties["ReservedConcurrentExecutions"]["Fn::If"]
    assert capped == {"Ref": "WebhookReservedConcurrency"}
    assert uncapped == {"Ref": "AWS::NoValue"}
    # 0 means no reservation (new accounts cannot reserve any), never a function that can run nothing.
    assert template.conditions[condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebhookReservedConcurrency"}, 0]}]}
