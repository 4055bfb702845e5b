"""ScoreFunction: on its EventBridge schedule, lists the consensus review stage ("Consensus 1") and scores it
inline when it is small, or fans it out through ScoreQueue to ScoreWorkerFunction. Thin handler over
benchmark_qa.consensus_scoring."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from benchmark_qa.config import ScoringSettings, load
from benchmark_qa.consensus_scoring import SqsTaskQueue, open_scoring, run_schedule
from benchmark_qa.encord.client import EncordKeyMissing
from benchmark_qa.observability import logger, metrics, tracer
from benchmark_qa.readiness import skipped
from benchmark_qa.store.scores import ScoresRepository
from benchmark_qa.store.table import state_table

if TYPE_CHECKING:
    from benchmark_qa.store.quality import QualityRepository

settings = load(ScoringSettings)
repository_table = state_table(settings.state_table, settings.aws_region)
repository = ScoresRepository(repository_table)
queue = SqsTaskQueue(settings.score_queue_url, settings.aws_region) if settings.score_queue_url else None


class ScoringFailed(RuntimeError):
    """Some scored task could not be moved: failing the invocation lets the scheduler retry it."""


def _quality() -> QualityRepository:
    """The audit's records (their models import the scoring core: made with the first event, not at import)."""
    from benchmark_qa.store.quality import QualityRepository

    return QualityRepository(repository_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        review, scorer = open_scoring(settings, repository, context.get_remaining_time_in_millis, _quality())
    except EncordKeyMissing as missing:
        return skipped("scoring", str(missing))
    report = run_schedule(
        review,
        scorer,
        queue,
        run_id=uuid.uuid4().hex,
        batch_size=settings.score_batch_size,
        inline_max_tasks=settings.score_inline_max_tasks,
    )
    counts = report.scored.counts
    metrics.add_metric(name="StageTasks", unit=MetricUnit.Count, value=report.stage_tasks)
    metrics.add_metric(name="MessagesSent", unit=MetricUnit.Count, value=report.messages_sent)
    metrics.add_metric(name="ResultsWritten", unit=MetricUnit.Count, value=counts["results_written"])
    metrics.add_metric(name="ScoreErrors", unit=MetricUnit.Count, value=counts.get("status:error", 0))
    metrics.add_metric(name="GroundTruthFlags", unit=MetricUnit.Count, value=counts.get("ground_truth_flags", 0))
    logger.info("scoring run", extra=report.summary())
    failed = report.scored.failed_actions
    if failed:
        raise ScoringFailed(f"scoring run {report.run_id}: {len(failed)} tasks not moved: {failed[0].error}")
    return report.summary()
