"""RouteFunction: the "Benchmark Task?" agent stage -> YES / NO. Runs on its EventBridge schedule and, through
its Function URL, when Encord posts an agent-stage webhook (verified here: the URL itself has no AWS auth).
Thin handler over benchmark_qa.encord.routing."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from benchmark_qa.config import RoutingSettings, load
from benchmark_qa.encord.budget import TimeBudget
from benchmark_qa.encord.client import EncordKeyMissing, encord_client
from benchmark_qa.encord.routing import Outcome, Router, RoutingReport, RoutingTarget, run_routing
from benchmark_qa.encord.webhook import OtherEvent, WebhookRejected, verify_notification
from benchmark_qa.observability import logger, metrics, tracer
from benchmark_qa.readiness import skipped
from benchmark_qa.secrets import SecretNotStored, secret_string
from benchmark_qa.store.routing import RoutingRepository
from benchmark_qa.store.table import state_table

settings = load(RoutingSettings)
repository = RoutingRepository(state_table(settings.state_table, settings.aws_region))
target = RoutingTarget.from_settings(settings)


class RoutingFailed(RuntimeError):
    """A scheduled run that could not route every task: failing the invocation lets the scheduler retry it."""


def _route(trigger: str, context: LambdaContext) -> RoutingReport:
    budget = TimeBudget.of(settings, context.get_remaining_time_in_millis)
    router = Router(encord_client(settings), target, batch_size=settings.action_batch_size, budget=budget)
    report = run_routing(
        router, trigger=trigger, dry_run=settings.dry_run, repository=repository, lock_seconds=settings.lock_seconds
    )
    counts = report.counts
    metrics.add_metric(name="TasksRouted", unit=MetricUnit.Count, value=counts.get(f"outcome:{Outcome.ROUTED}", 0))
    metrics.add_metric(
        name="TasksMovedElsewhere", unit=MetricUnit.Count, value=counts.get(f"outcome:{Outcome.MOVED_ELSEWHERE}", 0)
    )
    metrics.add_metric(name="RoutingErrors", unit=MetricUnit.Count, value=len(report.errors))
    logger.info("routing run", extra=report.summary())
    return report


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _webhook_secret() -> str:
    return secret_string(settings.webhook_secret) if settings.webhook_secret else ""


_MESSAGES = {401: "unauthorized", 501: "unsupported notification version"}


def _webhook(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    try:
        secret = _webhook_secret()
    except SecretNotStored:
        skipped("webhook", "the webhook secret Encord generated is not stored yet (docs/routing.md#webhook)")
        return _response(503, {"message": "not ready"})
    try:
        delivery = verify_notification(
            body,
            event.get("headers") or {},
            secret,
            now=time.time(),
            max_skew=settings.webhook_max_skew_seconds,
        )
        if isinstance(delivery, OtherEvent):
            # Genuine, for another stage or purpose: acknowledged, so Encord does not treat it as failed.
            logger.info("webhook acknowledged", extra={"event_type": delivery.event_type})
            return _response(200, {"message": "acknowledged"})
        if str(delivery.payload.project_hash) != settings.production_project_hash:
            raise WebhookRejected(400, "notification for another project")
    except WebhookRejected as rejected:
        # The reason goes to the log only: the caller learns the status, not which check failed.
        logger.warning("webhook rejected", extra={"status": rejected.status, "reason": rejected.reason})
        return _response(rejected.status, {"message": _MESSAGES.get(rejected.status, "bad request")})
    try:
        report = _route("webhook", context)
    except EncordKeyMissing as missing:
        skipped("webhook routing", str(missing))
        return _response(503, {"message": "not ready"})
    return _response(200 if report.status != "failed" else 500, {"run_id": report.run_id, "status": report.status})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "http" in (event.get("requestContext") or {}):  # Function URL (payload format 2.0)
        return _webhook(event, context)
    try:
        report = _route("schedule", context)
    except EncordKeyMissing as missing:
        return skipped("routing", str(missing))
    if report.status == "failed":
        raise RoutingFailed(f"routing run {report.run_id} failed: {report.errors[:3]}")
    return report.summary()
