"""RegisterFunction: a new manifest in S3 (via SQS) -> an Encord upload job; on its schedule, the poller
that finishes jobs and links the new items to the dataset. Thin handler over benchmark_qa.encord.registration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from benchmark_qa.bucket import S3Bucket
from benchmark_qa.config import RegistrationSettings, load
from benchmark_qa.encord.budget import TimeBudget
from benchmark_qa.encord.client import EncordKeyMissing, encord_client
from benchmark_qa.encord.registration import Destination, Registrar
from benchmark_qa.ingest.items import Dataset
from benchmark_qa.ingest.pipeline import BadMessage, parse_notification
from benchmark_qa.observability import logger, metrics, tracer
from benchmark_qa.readiness import skipped
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository

settings = load(RegistrationSettings)
repository = UploadsRepository(state_table(settings.state_table, settings.aws_region))
bucket = S3Bucket(settings.upload_bucket, settings.aws_region)
processor = BatchProcessor(event_type=EventType.SQS, logger=logger)  # type: ignore[arg-type]  # a failed record is logged (WARNING)
destinations = {
    Dataset.BENCHMARK: Destination(settings.benchmark_folder_uuid, settings.benchmark_dataset_hash),
    Dataset.PRODUCTION: Destination(settings.production_folder_uuid, settings.production_dataset_hash),
}


def _registrar(context: LambdaContext) -> Registrar:
    return Registrar(
        encord_client(settings),
        repository,
        bucket,
        integration_id=settings.integration_id,
        destinations=destinations,
        manifest_prefix=settings.manifest_prefix,
        restart_after=timedelta(seconds=settings.restart_after_seconds),
        budget=TimeBudget.of(settings, context.get_remaining_time_in_millis),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Not ready yet: the manifests stay `written` and the poller starts them once it is (registration.py).
    messages_done: dict[str, Any] = {"batchItemFailures": []} if "Records" in event else {}
    if not settings.integration_id:
        reason = "INTEGRATION_ID is empty: create the cloud integration in Encord, run benchmark-qa setup, deploy"
        return {**skipped("registration", reason), **messages_done}
    try:
        registrar = _registrar(context)
    except EncordKeyMissing as missing:
        return {**skipped("registration", str(missing)), **messages_done}
    if "Records" not in event:  # EventBridge Scheduler: the poller
        report = registrar.poll()
        metrics.add_metric(name="JobsFinished", unit=MetricUnit.Count, value=len(report.finished))
        metrics.add_metric(name="PollErrors", unit=MetricUnit.Count, value=len(report.errors))
        for manifest_id, error in report.errors.items():
            logger.error("poll failed", extra={"manifest_id": manifest_id, "error": error})
        return {
            "finished": report.finished,
            "pending": report.pending,
            "restarted": report.restarted,
            "errors": report.errors,
            **({"deferred": report.deferred} if report.deferred else {}),
        }

    bad_messages = 0

    def record_handler(record: SQSRecord) -> None:
        nonlocal bad_messages
        try:
            uploads = parse_notification(record.body)
        except BadMessage as error:
            logger.error("bad register message", extra={"message_id": record.message_id, "reason": str(error)})
            repository.record_bad_message(record.message_id, str(error), record.body)
            bad_messages += 1
            return
        for upload in uploads:
            if upload.created and upload.obj.key.startswith(settings.manifest_prefix + "/"):
                outcome = registrar.start(upload.obj.key)
                logger.info("registration", extra={"key": upload.obj.key, "outcome": outcome})

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    metrics.add_metric(name="BadMessages", unit=MetricUnit.Count, value=bad_messages)
    return dict(response)
