"""Routing the "Benchmark Task?" agent stage: benchmark data units go along YES, every other task along NO.

Instead of listing the whole benchmark dataset and acting once per task (Encord's docs), the server filters the
stage by dataset and the pathway actions travel in bundles:

  1. `get_project` (2 requests); the stage and both pathways are checked against the workflow.
  2. `project.list_datasets()`: the benchmark dataset must be attached; every other attached dataset is NO.
  3. `stage.get_tasks(dataset_hash=benchmark)` -> YES; `stage.get_tasks(dataset_hash=<others, <= 100 a call>)`
     -> NO. The two filters are an exact complement, so no task is guessed.
     A page that fails is asked again on its own, not the whole listing (benchmark_qa.encord.stage_pages).
  4. One bundle (`project.create_bundle()`) per batch of <= 1000 actions of one stage. A batch that Encord
     rejects (400: some task already left the stage, or our own retried request had been applied before its
     answer was lost) costs one listing and one more bundle for the tasks still there
     (benchmark_qa.encord.actions); a task that left without us is recorded as `moved_elsewhere`, not as an
     error. A batch that fails otherwise (5xx or 429 after the SDK's retries) may still have been applied: one
     listing tells, and only the tasks still in the stage are recorded `failed` (the next run routes them).

Cost: 3 + ceil(N_yes / page) + ceil(N_no / page) (+1 per further 100 non-benchmark datasets) GETs and
ceil(N / 1000) action POSTs, against N + N / page + 3 for the docs' script.

`run_routing` adds the lock, the dry run and the audit records (store/routing.py) around the `Router`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any

from benchmark_qa.encord.actions import (
    ACTION_BATCH_LIMIT,
    MAX_HASHES_PER_CALL,
    ActionOutcome,
    AmbiguousStage,
    Applied,
    StageView,
    apply_in_batches,
    batched,
    find_stage,
    stage_views,
)
from benchmark_qa.encord.budget import OutOfTime, TimeBudget
from benchmark_qa.encord.projects import UnreadableWorkflow, open_project
from benchmark_qa.encord.stage_pages import list_stage_tasks

if TYPE_CHECKING:
    from encord.http.bundle import Bundle
    from encord.project import Project
    from encord.user_client import EncordUserClient
    from encord.workflow.stages.agent import AgentStage, AgentTask

    from benchmark_qa.config import RoutingSettings
    from benchmark_qa.store.routing import RoutingRepository, TaskRecord


class RoutingSetupError(ValueError):
    """The settings do not match the project's workflow or datasets. The message says what exists."""


class Outcome(StrEnum):
    ROUTED = "routed"
    MOVED_ELSEWHERE = "moved_elsewhere"
    DRY_RUN = "dry_run"
    FAILED = "failed"
    DEFERRED = "deferred"  # the invocation ran out of time before acting on it: the next run routes it
    INTENDED = "intended"  # recorded before acting; replaced by the outcome, or by the next run's reconciliation
    NOT_MOVED = "not_moved"  # its run died before moving it (reconciled): a later run routes it


RECONCILE_WINDOW = timedelta(days=7)  # runs that died this long ago or less are reconciled by the next run


ROUTING_OUTCOME = {
    ActionOutcome.DONE: Outcome.ROUTED,
    ActionOutcome.LEFT_STAGE: Outcome.MOVED_ELSEWHERE,
    ActionOutcome.FAILED: Outcome.FAILED,
    ActionOutcome.DEFERRED: Outcome.DEFERRED,
}


@dataclass(frozen=True)
class RoutingTarget:
    project_hash: str
    benchmark_dataset_hash: str
    stage: str = "Benchmark Task?"
    yes_pathway: str = "YES"
    no_pathway: str = "NO"

    @classmethod
    def from_settings(cls, settings: RoutingSettings) -> RoutingTarget:
        return cls(
            project_hash=settings.production_project_hash,
            benchmark_dataset_hash=settings.benchmark_dataset_hash,
            stage=settings.agent_stage,
            yes_pathway=settings.yes_pathway,
            no_pathway=settings.no_pathway,
        )


# ---------------------------------------------------------------------------------------------- pure parts
@dataclass(frozen=True)
class Listing:
    """One server-side filtered listing of the stage and the pathway its tasks take."""

    pathway: str
    dataset_hashes: tuple[str, ...]


def decide(dataset_hash: str, target: RoutingTarget) -> str:
    """The routing rule: a data unit of the benchmark dataset goes YES, anything else NO."""
    return target.yes_pathway if dataset_hash == target.benchmark_dataset_hash else target.no_pathway


def resolve_stage(stages: Sequence[StageView], target: RoutingTarget) -> StageView:
    """The agent stage named in the settings, with both pathways present; otherwise say what exists."""
    try:
        stage = find_stage(stages, target.stage, "AGENT")
    except AmbiguousStage as error:
        raise RoutingSetupError(f"project {target.project_hash}: {error} (AGENT_STAGE)") from None
    if stage is None:
        agent_stages = [s.title for s in stages if s.kind == "AGENT"]
        raise RoutingSetupError(
            f"project {target.project_hash} has no workflow stage {target.stage!r}; its agent stages are "
            f"{agent_stages or 'none'} (all stages: {[s.title for s in stages]}). Set AGENT_STAGE to one of them."
        )
    if stage.kind != "AGENT":
        raise RoutingSetupError(
            f"stage {stage.title!r} of project {target.project_hash} is a {stage.kind} stage, not an agent stage; "
            "set AGENT_STAGE to the agent stage that decides benchmark tasks"
        )
    missing = [p for p in (target.yes_pathway, target.no_pathway) if p not in stage.pathways]
    if missing:
        raise RoutingSetupError(
            f"agent stage {stage.title!r} has no pathway {', '.join(repr(m) for m in missing)}; its pathways are "
            f"{sorted(stage.pathways)}. Set YES_PATHWAY / NO_PATHWAY to those names."
        )
    if target.yes_pathway == target.no_pathway:
        raise RoutingSetupError(f"YES_PATHWAY and NO_PATHWAY are both {target.yes_pathway!r}; they must differ")
    return stage


def listing_plan(
    target: RoutingTarget, attached: Iterable[str], *, max_hashes: int = MAX_HASHES_PER_CALL
) -> list[Listing]:
    """YES for the benchmark dataset, NO for every other attached dataset, <= `max_hashes` hashes a listing."""
    attached = list(dict.fromkeys(attached))
    if target.benchmark_dataset_hash not in attached:
        raise RoutingSetupError(
            f"benchmark dataset {target.benchmark_dataset_hash} is not attached to project {target.project_hash}; "
            f"attached datasets: {attached or 'none'}. Attach it in Encord or fix BENCHMARK_DATASET_HASH."
        )
    others = [h for h in attached if h != target.benchmark_dataset_hash]
    plan = [Listing(target.yes_pathway, (target.benchmark_dataset_hash,))]
    plan += [Listing(target.no_pathway, tuple(chunk)) for chunk in batched(others, max_hashes)]
    return plan


# ---------------------------------------------------------------------------------------------- SDK side
@dataclass(frozen=True)
class PlannedTask:
    task: AgentTask
    decision: str

    @property
    def task_uuid(self) -> str:
        return str(self.task.uuid)


@dataclass(frozen=True)
class RoutedTask:
    task_uuid: str
    data_hash: str
    data_title: str
    decision: str
    outcome: Outcome
    error: str | None = None


@dataclass
class PreparedStage:
    project: Project
    stage: AgentStage
    view: StageView
    plan: list[Listing]


class Router:
    """Pure orchestration over the SDK: prepare (check settings), list (server-filtered), act (bundled)."""

    def __init__(
        self,
        client: EncordUserClient,
        target: RoutingTarget,
        *,
        batch_size: int = ACTION_BATCH_LIMIT,
        max_hashes: int = MAX_HASHES_PER_CALL,
        budget: TimeBudget | None = None,
    ) -> None:
        if not 1 <= batch_size <= ACTION_BATCH_LIMIT:
            raise ValueError(f"batch size must be 1..{ACTION_BATCH_LIMIT}, got {batch_size}")
        self._client = client
        self.target = target
        self._batch_size = batch_size
        self._max_hashes = max_hashes
        self.budget = budget or TimeBudget.unbounded()

    def prepare(self) -> PreparedStage:
        from encord.exceptions import AuthorisationError, ResourceNotFoundError
        from encord.workflow.stages.agent import AgentStage

        call = self.budget.call
        try:
            project = call("open the project", lambda: open_project(self._client, self.target.project_hash))
        except (ResourceNotFoundError, AuthorisationError) as error:
            raise RoutingSetupError(
                f"project {self.target.project_hash} cannot be opened ({type(error).__name__}); check "
                "PRODUCTION_PROJECT_HASH and that the key's user is a project admin"
            ) from None
        except UnreadableWorkflow as error:
            raise RoutingSetupError(str(error)) from None
        stages = project.workflow.stages
        view = resolve_stage(stage_views(stages), self.target)
        stage = next(s for s in stages if str(s.uuid) == view.uuid)
        assert isinstance(stage, AgentStage)  # resolve_stage checked the kind
        attached = call("list the datasets", lambda: [str(d.dataset_hash) for d in project.list_datasets()])
        plan = listing_plan(self.target, attached, max_hashes=self._max_hashes)
        return PreparedStage(project=project, stage=stage, view=view, plan=plan)

    def list_tasks(self, prepared: PreparedStage) -> list[PlannedTask]:
        """Every task of the stage with its decision, listed completely before anything moves (pages are not a
        snapshot; acting while paging would skip tasks)."""
        planned: list[PlannedTask] = []
        for listing in prepared.plan:
            hashes = list(listing.dataset_hashes)
            tasks = list_stage_tasks(
                prepared.stage,
                self.budget,
                f"list the {listing.pathway} tasks",
                dataset_hash=hashes[0] if len(hashes) == 1 else hashes,
            )
            planned += [PlannedTask(task, listing.pathway) for task in tasks]
        return planned

    def _still_in_stage(self, prepared: PreparedStage, batch: Sequence[PlannedTask]) -> list[PlannedTask]:
        there = {str(t.uuid) for t in self._listed(prepared.stage, batch, "list what is still in the stage")}
        return [p for p in batch if p.task_uuid in there]

    def _listed(self, stage: Any, batch: Sequence[PlannedTask], what: str) -> list[Any]:
        """The tasks of `stage` with the data hashes of `batch` (filtered listings of MAX_HASHES_PER_CALL each)."""
        hashes = list(dict.fromkeys(str(p.task.data_hash) for p in batch))
        return [
            t
            for chunk in batched(hashes, self._max_hashes)
            for t in list_stage_tasks(stage, self.budget, what, data_hash=chunk)
        ]

    def act(self, prepared: PreparedStage, planned: Sequence[PlannedTask]) -> tuple[list[RoutedTask], int]:
        """Proceed every task along its pathway; one bundle per batch, all actions of the same stage."""
        routed: list[RoutedTask] = []
        requests = 0
        for pathway in (self.target.yes_pathway, self.target.no_pathway):
            tasks = [p for p in planned if p.decision == pathway]
            results, made = self._proceed(prepared, prepared.view.pathways[pathway], tasks)
            requests += made
            routed += [_routed(r.item, ROUTING_OUTCOME[r.outcome], r.error) for r in results]
        return routed, requests

    def _proceed(
        self, prepared: PreparedStage, pathway_uuid: str, tasks: Sequence[PlannedTask]
    ) -> tuple[list[Applied[PlannedTask]], int]:
        def proceed(p: PlannedTask, bundle: Bundle | None = None) -> None:
            p.task.proceed(pathway_uuid=pathway_uuid, bundle=bundle)

        def bundled(batch: Sequence[PlannedTask]) -> None:
            with prepared.project.create_bundle(bundle_size=self._batch_size) as bundle:
                for p in batch:
                    proceed(p, bundle)

        return apply_in_batches(
            tasks,
            batch_size=self._batch_size,
            act_batch=lambda batch: self.budget.call(f"proceed {len(batch)} tasks", lambda: bundled(batch)),
            act_one=lambda p: self.budget.call("proceed a task", lambda: proceed(p)),
            still_in_stage=partial(self._still_in_stage, prepared),
            arrived=partial(self._arrived, prepared, pathway_uuid),
        )

    def _arrived(self, prepared: PreparedStage, pathway_uuid: str, left: Sequence[PlannedTask]) -> list[PlannedTask]:
        """Of tasks that left the stage after our bundle was refused, those now in the pathway's destination: our
        own bundle moved them and its answer was lost (a retry is refused), so they are routed, not moved by
        someone else. One listing of the destination, filtered by their data hashes."""
        destination = next(str(p.destination_uuid) for p in prepared.stage.pathways if str(p.uuid) == pathway_uuid)
        stage = next(s for s in prepared.project.workflow.stages if str(s.uuid) == destination)
        there = {str(t.data_hash) for t in self._listed(stage, left, "list the pathway's destination")}
        return [p for p in left if str(p.task.data_hash) in there]


def _routed(planned: PlannedTask, outcome: Outcome, error: str | None = None) -> RoutedTask:
    task = planned.task
    return RoutedTask(
        task_uuid=str(task.uuid),
        data_hash=str(task.data_hash),
        data_title=task.data_title,
        decision=planned.decision,
        outcome=outcome,
        error=error,
    )


# ---------------------------------------------------------------------------------------------- a run
@dataclass
class RoutingReport:
    run_id: str
    trigger: str
    dry_run: bool
    started_at: str
    status: str = "running"  # finished | failed | out_of_time (the rest is for the next run) | locked_out
    duration_seconds: float = 0.0
    tasks: list[RoutedTask] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    encord_requests: int | None = None
    action_requests: int = 0

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task in self.tasks:
            for key in (f"decision:{task.decision}", f"outcome:{task.outcome.value}"):
                counts[key] = counts.get(key, 0) + 1
        counts["tasks"] = len(self.tasks)
        return counts

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "trigger": self.trigger,
            "status": self.status,
            "dry_run": self.dry_run,
            "duration_seconds": round(self.duration_seconds, 3),
            "counts": self.counts,
            "encord_requests": self.encord_requests,
            "action_requests": self.action_requests,
            "errors": self.errors,
        }


def run_routing(
    router: Router,
    *,
    trigger: str,
    dry_run: bool = False,
    repository: RoutingRepository | None = None,
    lock_seconds: int = 900,
    request_count: Callable[[], int] | None = None,
    run_id: str | None = None,
) -> RoutingReport:
    """One routing run: lock (unless dry run), prepare, list, act, record. A setup error is recorded on the run
    and raised; Encord failures while acting are recorded per task and in `errors` (the tasks stay in the
    stage for the next run)."""
    report = RoutingReport(
        run_id=run_id or uuid.uuid4().hex,
        trigger=trigger,
        dry_run=dry_run,
        started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
    )
    project_hash = router.target.project_hash
    clock = time.perf_counter()
    requests_before = request_count() if request_count else 0
    # A dry run changes nothing in Encord, so it neither needs nor blocks the lock.
    locked = repository is not None and not dry_run
    if repository is not None:
        repository.start_run(
            report.run_id, project_hash=project_hash, trigger=trigger, dry_run=dry_run, started_at=report.started_at
        )
    if (
        locked
        and repository is not None
        and not repository.acquire_lock(project_hash, report.run_id, seconds=lock_seconds)
    ):
        report.status = "locked_out"
        report.errors.append(f"another routing run holds the lock of project {project_hash}")
        _finish(report, repository, clock, request_count, requests_before)
        return report
    try:
        prepared = router.prepare()
        planned = router.list_tasks(prepared)
        if dry_run:
            report.tasks = [_routed(p, Outcome.DRY_RUN) for p in planned]
        else:
            if repository is not None:
                # Holding the lock: any other run still `running` died (its lock expired). Its intents are settled
                # by where the tasks are now; then this run's own intents are written, before anything moves.
                reconcile(repository, project_hash, {p.task_uuid for p in planned}, by=report.run_id)
                intents = (_record(_routed(p, Outcome.INTENDED)) for p in planned)
                repository.record_tasks(report.run_id, report.started_at, intents)
            report.tasks, report.action_requests = router.act(prepared, planned)
        report.errors += sorted({t.error for t in report.tasks if t.outcome is Outcome.FAILED and t.error})
        deferred = sorted({t.error for t in report.tasks if t.outcome is Outcome.DEFERRED and t.error})
        report.status = "failed" if report.errors else "out_of_time" if deferred else "finished"
        report.errors += deferred
    except OutOfTime as error:  # before anything moved: recorded, and the next run starts over
        report.status = "out_of_time"
        report.errors.append(str(error))
    except Exception as error:
        report.status = "failed"
        report.errors.append(f"{type(error).__name__}: {error}")
        raise
    finally:
        if repository is not None:
            repository.record_tasks(report.run_id, report.started_at, map(_record, report.tasks))
        _finish(report, repository, clock, request_count, requests_before)
        if locked and repository is not None:
            repository.release_lock(project_hash, report.run_id)
    return report


def _record(task: RoutedTask) -> TaskRecord:
    from benchmark_qa.store.routing import TaskRecord

    return TaskRecord(task.task_uuid, task.decision, task.outcome.value, task.data_hash, task.data_title, task.error)


def reconcile(repository: RoutingRepository, project_hash: str, in_stage: set[str], *, by: str) -> list[str]:
    """Settle the runs of the project that died after recording their intents (a kill between the bundles and
    the audit write): an intended task still in the stage was not moved (`not_moved`: this run routes it); one
    that has left it was moved by that run (`routed`, confirmed here). The dead run is marked `interrupted`.
    Called by a run that holds the lock, so no live run of the project is among them. Returns their ids."""
    from benchmark_qa.store.routing import TaskRecord

    now = datetime.now(UTC)
    since = (now - RECONCILE_WINDOW).isoformat(timespec="milliseconds")
    recent = (now - timedelta(hours=1)).isoformat(timespec="milliseconds")
    settled = []
    for run in repository.open_runs(project_hash, since):
        run_id = str(run["run_id"])
        # A dry run holds no lock: one that started recently may be running still.
        if run_id == by or (run.get("dry_run") and str(run.get("started_at", "")) > recent):
            continue
        tasks = repository.tasks_of_run(run_id)
        fixed = [
            TaskRecord(
                t.task_uuid,
                t.decision,
                (Outcome.NOT_MOVED if t.task_uuid in in_stage else Outcome.ROUTED).value,
                t.data_hash,
                t.data_title,
                f"run {run_id} stopped before recording the outcome; run {by} found it "
                + ("still in the stage (it routes it)" if t.task_uuid in in_stage else "gone from the stage"),
            )
            for t in tasks
            if t.outcome == Outcome.INTENDED.value
        ]
        repository.record_tasks(run_id, str(run["started_at"]), fixed)
        final = {t.task_uuid: t.outcome for t in tasks} | {t.task_uuid: t.outcome for t in fixed}
        counts: dict[str, int] = {"tasks": len(final)}
        for outcome in final.values():
            counts[f"outcome:{outcome}"] = counts.get(f"outcome:{outcome}", 0) + 1
        repository.finish_run(
            run_id,
            status="interrupted",
            duration_seconds=float(run.get("duration_seconds") or 0),
            counts=counts,
            errors=[f"interrupted before it finished; reconciled by run {by}"],
            encord_requests=None,
            action_requests=0,
        )
        settled.append(run_id)
    return settled


def _finish(
    report: RoutingReport,
    repository: RoutingRepository | None,
    clock: float,
    request_count: Callable[[], int] | None,
    requests_before: int,
) -> None:
    report.duration_seconds = time.perf_counter() - clock
    if request_count is not None:
        report.encord_requests = request_count() - requests_before
    if repository is not None:
        repository.finish_run(
            report.run_id,
            status=report.status,
            duration_seconds=report.duration_seconds,
            counts=report.counts,
            errors=report.errors,
            encord_requests=report.encord_requests,
            action_requests=report.action_requests,
        )
