"""BackfillBatchFunction: the worker of BackfillStateMachine (docs/backfill.md, "On Step Functions").

Two events, both from the state machine:
- a Distributed Map batch (ItemBatcher): {"Items": [ListObjectsV2 entries or S3 Inventory rows],
  "BatchInput": {"prefix": ..., "inventory": true|false}} -> the objects ingested as a backfill listing page is;
- {"close": true, "prefix": ...} after the map -> the groups still open under the prefix closed, as many as fit in
  the invocation; {"remaining": n} tells the state machine to call again.

Thin handler: parse, call benchmark_qa.ingest.backfill_batch, map the result."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from benchmark_qa.config import IngestSettings, load
from benchmark_qa.deadline import Deadline
from benchmark_qa.ingest.backfill import Backfill
from benchmark_qa.ingest.backfill_batch import batch_objects, close_groups, ingest_batch
from benchmark_qa.observability import logger, metrics, tracer
from benchmark_qa.store.backfills import BackfillRepository
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository

settings = load(IngestSettings)  # a missing or malformed variable fails the cold start, naming it
table = state_table(settings.state_table, settings.aws_region)
CLOSE_WORKERS = 4  # groups closed at once (each its own listing, claim and manifest)


@cache
def _backfill(prefix: str) -> Backfill:
    from benchmark_qa.bucket import S3Bucket

    return Backfill(
        UploadsRepository(table),
        BackfillRepository(table),
        S3Bucket(settings.upload_bucket, settings.aws_region),
        settings.layout(),
        settings.aws_region,
        prefix=prefix,
        workers=CLOSE_WORKERS,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("close"):
        backfill = _backfill(str(event.get("prefix", "")))
        closed = close_groups(backfill, Deadline.of(context.get_remaining_time_in_millis))
        logger.info("backfill groups closed", extra=closed.as_dict())
        metrics.add_metric(name="ManifestsWritten", unit=MetricUnit.Count, value=closed.manifests)
        return closed.as_dict()
    batch_input = event.get("BatchInput") or {}
    backfill = _backfill(str(batch_input.get("prefix", "")))
    items = event["Items"]
    objects = batch_objects(
        items, backfill.bucket, inventory=bool(batch_input.get("inventory")), prefix=backfill.prefix
    )
    report = ingest_batch(backfill, objects, items=len(items))
    logger.info("backfill batch ingested", extra=report.as_dict())
    metrics.add_metric(name="ObjectsRecorded", unit=MetricUnit.Count, value=report.recorded)
    metrics.add_metric(name="ObjectsSkipped", unit=MetricUnit.Count, value=report.skipped)
    metrics.add_metric(name="ObjectsFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="ManifestsWritten", unit=MetricUnit.Count, value=report.manifests)
    return report.as_dict()
