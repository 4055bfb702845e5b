"""Time spent per task from Encord: `Project.list_time_spent(start, end, workflow_stage_uuid=...)` (encord
0.1.211 `project.py` list_time_spent -> `GET v2/public/analytics/time-spent`, paged; one
`encord.orm.analytics.TimeSpent` row per user, task and day: "If a task spans multiple days, the time spent on
each day will be returned separately"), restricted to the Production Project's consensus annotate stages, where
the benchmark tasks are labelled. The rows are joined to the scored results (`leaderboard.timing.join_time`) and
stored in the ledger, so the report reads them with the scores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from benchmark_qa.leaderboard.timing import TimeRow, join_time

if TYPE_CHECKING:
    from encord.project import Project

    from benchmark_qa.store.scores import AnnotatorAggregate, ScoresRepository


def consensus_annotate_stages(project: Project) -> list[str]:
    from encord.workflow import ConsensusAnnotationStage

    return [str(stage.uuid) for stage in project.workflow.stages if isinstance(stage, ConsensusAnnotationStage)]


def time_rows(project: Project, start: datetime, end: datetime) -> list[TimeRow]:
    """The project's time-spent rows of its consensus annotate stages (all stages if it has none)."""
    stages = consensus_annotate_stages(project) or None
    return [
        TimeRow(
            user_email=row.user_email,
            task_uuid=str(row.workflow_task_uuid) if row.workflow_task_uuid else None,
            data_hash=str(row.data_uuid),
            day=row.period_start_time.astimezone(UTC).date().isoformat(),
            seconds=float(row.time_spent_seconds),
        )
        for row in project.list_time_spent(start=start, end=end, workflow_stage_uuid=stages)
    ]


def sync_time_spent(
    project: Project,
    repository: ScoresRepository,
    aggregates: Sequence[AnnotatorAggregate],
    *,
    lookback_days: int,
    now: datetime | None = None,
) -> int:
    """Read the last `lookback_days` of time spent and store it on the matching ledger entries (absolute values,
    so a repeated run changes nothing). Returns the entries written."""
    end = now or datetime.now(UTC)
    rows = time_rows(project, end - timedelta(days=lookback_days), end)
    written = 0
    for timed in join_time(rows, aggregates):
        written += repository.record_seconds(timed.annotator, timed.entry, timed.day, timed.seconds)
    return written
