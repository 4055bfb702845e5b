"""A fresh deploy cannot talk to Encord until a person stores the Encord key (and, for registration, the stack
names the cloud integration): docs/setup.md orders those steps after the first deploy. Until then the Encord-facing
runs skip, each with one log line that says what to do and the SkippedNotReady metric, and return normally, so no
run lands in a dead-letter queue and no alarm fires while the stack waits."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from benchmark_qa.observability import logger, metrics


def skipped(what: str, reason: str) -> dict[str, str]:
    """Record a run that waits for the deployment to be ready; the handler returns this."""
    logger.warning(f"{what} skipped: {reason}", extra={"skipped": what})
    metrics.add_metric(name="SkippedNotReady", unit=MetricUnit.Count, value=1)
    return {"skipped": what, "reason": reason}
