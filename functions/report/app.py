"""ReportFunction: on its EventBridge schedule, joins the time Encord measured to the scored tasks, renders the
annotator leaderboard (HTML, CSV, JSON) and writes it to the private reports bucket (`latest/` and a dated
copy). Thin handler over benchmark_qa.leaderboard.publish."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from benchmark_qa.config import ReportSettings, load
from benchmark_qa.leaderboard.publish import run_report
from benchmark_qa.observability import logger, metrics, tracer
from benchmark_qa.readiness import skipped
from benchmark_qa.store.scores import ScoresRepository
from benchmark_qa.store.table import state_table

settings = load(ReportSettings)
table = state_table(settings.state_table, settings.aws_region)
repository = ScoresRepository(table)
s3 = boto3.client("s3", region_name=settings.aws_region)


def open_project(project_hash: str) -> Any:
    from benchmark_qa.encord.client import encord_client

    return encord_client(settings).get_project(project_hash)


def act_on_policy(board: Any, quality: Any) -> list[Any]:
    """The annotator policy on this report (docs/annotator-quality.md): each decision recorded once, then acted on."""
    from benchmark_qa.annotator_policy import load_policy
    from benchmark_qa.policy_executor import enforce, sns_publisher

    policy = load_policy(settings.annotator_policy)
    policy.dry_run = policy.dry_run or settings.policy_dry_run  # both must say no to dry run
    sns = boto3.client("sns", region_name=settings.aws_region)
    publish = sns_publisher(sns, settings.alarm_topic_arn) if settings.alarm_topic_arn else None
    project_hash = settings.production_project_hash

    def remove_users(emails: list[str]) -> None:
        open_project(str(project_hash)).remove_users(emails)

    return enforce(policy, board, quality, publish=publish, remove_users=remove_users if project_hash else None)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from benchmark_qa.store.quality import QualityRepository

    quality = QualityRepository(table)
    drift_summary: dict[str, object] = {}
    if settings.drift_monitor:  # before the report, so it shows this run's drift marks
        from benchmark_qa.drift import DriftSettings
        from benchmark_qa.drift_monitor import monitor_drift

        drift = DriftSettings(warmup=settings.drift_warmup, threshold=settings.drift_threshold)
        found = monitor_drift(repository, quality, drift, per_class=settings.drift_per_class)
        metrics.add_metric(name="AnnotatorDrift", unit=MetricUnit.Count, value=found.events_new)
        drift_summary = found.summary()
        logger.info("drift monitor", extra=drift_summary)
    run = run_report(settings, repository, s3, open_project=open_project, quality=quality)
    decided = act_on_policy(run.board, quality)
    if run.time_waiting:  # a first deploy: the report is published, the time sync waits for the key
        skipped("time spent sync", run.time_waiting)
    metrics.add_metric(name="ReportsPublished", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="TimeSyncFailures", unit=MetricUnit.Count, value=1 if run.time_error else 0)
    summary = {
        "bucket": run.published.bucket,
        "latest": run.published.latest,
        "keys": run.published.keys,
        "annotators": run.annotators,
        "tasks": run.tasks,
        "time_entries": run.time_entries,
        "time_error": run.time_error,
        "time_waiting": run.time_waiting,
        "drift": drift_summary,
        "policy_decisions": [{"decision": r.decision.model_dump(), "outcomes": r.outcomes} for r in decided],
    }
    logger.info("report published", extra=summary)
    return summary
