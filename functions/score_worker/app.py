"""ScoreWorkerFunction: one ScoreQueue message = up to 100 tasks of the consensus review stage, scored against
the ground truth and moved on. A message whose tasks could not all be moved is reported as a batch item
failure and comes back (results are idempotent, so nothing is counted twice). Thin handler over
benchmark_qa.consensus_scoring."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from benchmark_qa.config import ScoringSettings, load
from benchmark_qa.consensus_scoring import ScoreMessage, open_scoring
from benchmark_qa.observability import logger, metrics, tracer
from benchmark_qa.store.scores import ScoresRepository
from benchmark_qa.store.table import state_table
from pydantic import ValidationError

settings = load(ScoringSettings)
repository = ScoresRepository(state_table(settings.state_table, settings.aws_region))
processor = BatchProcessor(event_type=EventType.SQS, logger=logger)  # type: ignore[arg-type]  # a failed record is logged (WARNING)


class BadScoreMessage(ValueError):
    """A ScoreQueue message this worker cannot read (events/score_worker.json shows the shape)."""


class TasksNotMoved(RuntimeError):
    """Tasks that could not be moved (or finished, when other writers kept conflicting): the message is retried,
    and only those tasks have work left."""


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _, scorer = open_scoring(settings, repository, context.get_remaining_time_in_millis)

    def record_handler(record: SQSRecord) -> None:
        try:
            message = ScoreMessage.model_validate_json(record.body)
        except ValidationError as error:
            # Kept, not dropped: it fails until ScoreDeadLetterQueue (and its alarm) holds it for a person.
            raise BadScoreMessage(f"message {record.message_id} is not a ScoreMessage: {error}") from None
        report = scorer.score_refs(message.refs())
        counts = report.counts
        metrics.add_metric(name="ResultsWritten", unit=MetricUnit.Count, value=counts["results_written"])
        metrics.add_metric(name="ScoreErrors", unit=MetricUnit.Count, value=counts.get("status:error", 0))
        logger.info(
            "scored message", extra={"message_id": record.message_id, "run_id": message.run_id, **report.summary()}
        )
        failed = report.failed_actions + report.contended
        if failed:  # only these tasks are redone: the others are scored (idempotent) and moved
            raise TasksNotMoved(f"{len(failed)} of {len(message.tasks)} tasks not moved: {failed[0].error}")

    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
