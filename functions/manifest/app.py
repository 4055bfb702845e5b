"""ManifestFunction: S3 upload notifications (via SQS) -> Encord import manifests; on its schedule, the sweep.

Thin handler: parse, call the ingest pipeline, map the result. See benchmark_qa.ingest.pipeline."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from benchmark_qa.config import IngestSettings, load
from benchmark_qa.deadline import Deadline
from benchmark_qa.observability import logger, metrics, tracer
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from benchmark_qa.bucket import S3Bucket
    from benchmark_qa.ingest.pipeline import Ingest

settings = load(IngestSettings)  # a missing or malformed variable fails the cold start, naming it
repository = UploadsRepository(state_table(settings.state_table, settings.aws_region))


@cache
def _processor() -> BatchProcessor:
    """Made with the first batch of records: Powertools' batch utilities (asyncio and every event class) are the
    largest import this function would otherwise make at cold start, and the sweep never needs them."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.SQS, logger=logger)  # type: ignore[arg-type]  # a failed record is logged (WARNING)


def _ingest() -> Ingest:
    """The ingest pipeline (its models and manifest builders are imported with the first event, not at import)."""
    from datetime import timedelta

    from benchmark_qa.ingest.pipeline import Ingest

    recover_after = timedelta(seconds=settings.recover_after_seconds)
    return Ingest(repository, _bucket(), settings.layout(), settings.aws_region, recover_after=recover_after)


@cache
def _bucket() -> S3Bucket:
    from benchmark_qa.bucket import S3Bucket

    return S3Bucket(settings.upload_bucket, settings.aws_region)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ingest = _ingest()
    if "Records" not in event:  # EventBridge Scheduler: the sweep
        outcome = ingest.sweep(deadline=Deadline.of(context.get_remaining_time_in_millis))
        _report(outcome.manifests)
        for error in outcome.errors:
            logger.error("sweep unit failed; the others went on", extra={"error": error})
        metrics.add_metric(name="SweepErrors", unit=MetricUnit.Count, value=len(outcome.errors))
        return {
            "sweep": True,
            "manifests": [m.key for m in outcome.manifests],
            "errors": outcome.errors,
            **({"deferred": outcome.deferred} if outcome.deferred else {}),
        }

    from benchmark_qa.ingest.pipeline import BadMessage, parse_notification

    def record_handler(record: SQSRecord) -> None:
        try:
            events = parse_notification(record.body, bucket=settings.upload_bucket)
        except BadMessage as error:
            # Not an S3 notification: retrying cannot help. Recorded as MESSAGE#<id> (gsi1 ATTENTION) with its body.
            logger.error("bad ingest message", extra={"message_id": record.message_id, "reason": str(error)})
            repository.record_bad_message(record.message_id, str(error), record.body)
            metrics.add_metric(name="BadMessages", unit=MetricUnit.Count, value=1)
            return
        for upload in events:
            ingest.accept(upload)

    from aws_lambda_powertools.utilities.batch import process_partial_response

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=_processor(), context=context
    )
    try:
        # A big group's close stops in time, its place recorded; the sweep goes on with it.
        outcome = ingest.flush(Deadline.of(context.get_remaining_time_in_millis))
    except Exception:
        # Every object is recorded as pending; the sweep writes its manifest. The messages need no retry.
        logger.exception("manifest flush failed; the sweep will finish it")
        metrics.add_metric(name="FlushFailures", unit=MetricUnit.Count, value=1)
    else:
        _report(outcome.manifests)
        metrics.add_metric(name="ObjectsRecorded", unit=MetricUnit.Count, value=outcome.recorded)
        metrics.add_metric(name="ObjectsSkipped", unit=MetricUnit.Count, value=outcome.skipped)
        metrics.add_metric(name="ObjectsFailed", unit=MetricUnit.Count, value=outcome.failed)
    return dict(response)


def _report(manifests: list[Any]) -> None:
    for manifest in manifests:
        logger.info("manifest written", extra={"key": manifest.key, "entries": manifest.entries})
    metrics.add_metric(name="ManifestsWritten", unit=MetricUnit.Count, value=len(manifests))
