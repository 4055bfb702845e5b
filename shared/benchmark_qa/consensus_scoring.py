"""Consensus scoring: every annotator's branch of a benchmark task scored against the ground truth, kept in the
scores store, and the task moved on (docs/consensus-scoring.md).

For a batch of review tasks:

  1. A task whose every branch already has a result (same annotator, same label hash) is not fetched again: a
     run that stopped after scoring but before acting only acts.
  2. The others are fetched in bulk (benchmark_qa.encord.consensus) and each branch is scored by the engine.
     A task is scored as a whole: if the ground truth is missing, a branch is empty or a row does not match the
     ontology, nothing is written for it, the reason is recorded (`record_error`) and the task stays in the
     stage. A later run that scores it clears the error.
  3. Results are written with `put_result`, idempotent on (task, annotator, label hash): a retried message or
     an overlapping run adds nothing twice to the aggregates.
  4. Optional feedback: one comment per annotator with the engine's hints (they never contain ground truth),
     marked in the store once posted so a re-run does not post it again.
  5. The scored tasks are rejected or archived in bundles; a task that already left the stage counts as done.

The schedule lists the stage and either scores it inline (a small stage) or fans it out in SQS messages of
`batch_size` task refs to the worker (`run_schedule`); the worker runs `ConsensusScorer.score_refs`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from benchmark_qa.encord.actions import ActionOutcome, batched
from benchmark_qa.encord.budget import OutOfTime
from benchmark_qa.encord.consensus import ConsensusSetupError, ReviewOption, ReviewTask, TaskLabels, TaskRef
from benchmark_qa.store.scores import AnnotatorResult, AttributeCounts, ClassCounts, Contended, ReplacementTooLarge
from benchmark_qa.task_details import TaskDetails

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

    from benchmark_qa.agreement_report import TaskAgreement
    from benchmark_qa.config import ScoringSettings
    from benchmark_qa.encord.consensus import ConsensusReview
    from benchmark_qa.scoring import Ontology, ScoreReport, ScoringConfig
    from benchmark_qa.scoring.labels import LabelSet
    from benchmark_qa.store.quality import FlagRecord

SQS_BATCH_LIMIT = 10  # entries per SendMessageBatch
ERRORS_IN_SUMMARY = 5


# ---------------------------------------------------------------------------------------------- ports
class ReviewSource(Protocol):
    """The review stage and the ground truth (benchmark_qa.encord.consensus.ConsensusReview in production)."""

    ontology_structure: dict[str, Any]
    ontology_problem: str | None

    def list_tasks(self, refs: Sequence[TaskRef] | None = None) -> list[ReviewTask]: ...

    def fetch(self, tasks: Sequence[ReviewTask]) -> Iterable[TaskLabels]: ...

    def act(self, task_uuids: Sequence[str]) -> tuple[dict[str, tuple[ActionOutcome, str | None]], int]: ...

    def comment(self, task_uuid: str, text: str) -> None: ...


class ScoreStore(Protocol):
    """benchmark_qa.store.scores.ScoresRepository in production."""

    def results_of_task(self, task_uuid: str) -> list[AnnotatorResult]: ...

    def put_result(self, result: AnnotatorResult, *, clear_error: bool = False) -> bool: ...

    def record_error(self, task_uuid: str, *, reason: str, data_hash: str = "", annotator: str = "") -> None: ...

    def clear_error(self, task_uuid: str) -> None: ...

    def complete_pending(self) -> int: ...

    def feedback_given(self, task_uuid: str) -> set[tuple[str, str]]: ...

    def record_feedback(self, task_uuid: str, annotator: str, label_hash: str) -> None: ...

    def replace_result(self, old: AnnotatorResult, new: AnnotatorResult) -> bool: ...


class QualityStore(Protocol):
    """benchmark_qa.store.quality.QualityRepository in production: audit flags, agreement, re-scoring queue."""

    def add_flag(self, record: FlagRecord) -> bool: ...

    def flags_of(self, data_hash: str) -> list[FlagRecord]: ...

    def put_agreement(self, task_uuid: str, agreement: TaskAgreement, scored_at: str) -> None: ...

    def pending_rescores(self) -> list[str]: ...

    def rescored(self, task_uuid: str) -> None: ...


class TaskQueue(Protocol):
    """Where the schedule fans tasks out to the worker (SqsTaskQueue in production)."""

    def backlog(self) -> int: ...

    def send(self, messages: Sequence[ScoreMessage]) -> None: ...


# ---------------------------------------------------------------------------------------------- messages
class TaskRefModel(BaseModel):
    task_uuid: str = Field(min_length=1)
    data_hash: str = Field(min_length=1)


class ScoreMessage(BaseModel):
    """One ScoreQueue message: the tasks one worker invocation scores (events/score_worker.json)."""

    run_id: str = ""
    tasks: list[TaskRefModel] = Field(min_length=1)

    def refs(self) -> list[TaskRef]:
        return [TaskRef(t.task_uuid, t.data_hash) for t in self.tasks]


# ---------------------------------------------------------------------------------------------- outcomes
class TaskStatus(StrEnum):
    SCORED = "scored"
    ALREADY_SCORED = "already_scored"  # every branch had a result: only acted on
    ERROR = "error"  # recorded; the task stays in the stage
    CONTENDED = "contended"  # other writers kept conflicting with its results: not moved, scored again later
    LEFT_STAGE = "left_stage"  # a fanned-out task that is no longer in the stage


@dataclass
class TaskOutcome:
    task_uuid: str
    data_hash: str
    status: TaskStatus
    results_written: int = 0
    results_replaced: int = 0  # scored again with other suspect-ground-truth flags left out
    flags_new: int = 0  # suspect-ground-truth flags seen for the first time
    action: ActionOutcome | None = None
    error: str | None = None


@dataclass
class BatchReport:
    tasks: list[TaskOutcome] = field(default_factory=list)
    action_requests: int = 0
    feedback_posted: int = 0
    feedback_failed: list[str] = field(default_factory=list)

    def extend(self, other: BatchReport) -> None:
        self.tasks += other.tasks
        self.action_requests += other.action_requests
        self.feedback_posted += other.feedback_posted
        self.feedback_failed += other.feedback_failed

    @property
    def failed_actions(self) -> list[TaskOutcome]:
        return [t for t in self.tasks if t.action is ActionOutcome.FAILED]

    @property
    def contended(self) -> list[TaskOutcome]:
        return [t for t in self.tasks if t.status is TaskStatus.CONTENDED]

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {"tasks": len(self.tasks)}
        for task in self.tasks:
            counts[f"status:{task.status.value}"] = counts.get(f"status:{task.status.value}", 0) + 1
            if task.action is not None:
                counts[f"action:{task.action.value}"] = counts.get(f"action:{task.action.value}", 0) + 1
        counts["results_written"] = sum(t.results_written for t in self.tasks)
        for name, value in (
            ("results_replaced", sum(t.results_replaced for t in self.tasks)),
            ("ground_truth_flags", sum(t.flags_new for t in self.tasks)),
        ):
            if value:  # shown when something happened, like the status counts
                counts[name] = value
        counts["feedback_posted"] = self.feedback_posted
        counts["feedback_failed"] = len(self.feedback_failed)
        return counts

    def summary(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "action_requests": self.action_requests,
            "feedback_failures": self.feedback_failed[:ERRORS_IN_SUMMARY],
            "errors_total": sum(1 for t in self.tasks if t.error),
            # A batch failing as a whole repeats one reason per task: the first few are enough for a log line.
            "errors": dict(list({t.task_uuid: t.error for t in self.tasks if t.error}.items())[:ERRORS_IN_SUMMARY]),
        }


# ---------------------------------------------------------------------------------------------- pure parts
# a branch scored: annotator, branch name, label hash, the engine's report and the drill-down's details
Scored = tuple[str, str, str, "ScoreReport", TaskDetails]


def result_of(
    project_hash: str,
    task: ReviewTask,
    annotator: str,
    branch: str,
    label_hash: str,
    report: ScoreReport,
    details: TaskDetails | None = None,
    excluded_flags: Sequence[str] = (),
) -> AnnotatorResult:
    counts = report.counts()
    attributes = {p: AttributeCounts(**c) for p, c in counts["object_attributes"].items()}
    for path, c in counts["classifications"].items():  # classification paths next to object attribute paths
        known = attributes.get(path, AttributeCounts())
        attributes[path] = AttributeCounts(correct=known.correct + c["correct"], total=known.total + c["total"])
    return AnnotatorResult(
        project_hash=project_hash,
        task_uuid=task.uuid,
        data_hash=task.data_hash,
        data_title=task.data_title,
        annotator=annotator,
        branch_name=branch,
        label_hash=label_hash,
        score=report.score,
        interval_low=report.interval.low if report.interval.low is not None else 0.0,
        interval_high=report.interval.high if report.interval.high is not None else 1.0,
        n=report.n,
        components={k: s.value for k, s in report.components.items() if s.value is not None},
        classes={k: ClassCounts(**c) for k, c in counts["classes"].items()},
        attributes=attributes,
        conflict_totals=dict(report.conflict_totals),
        hints=report.hints(),
        details=details or TaskDetails(),
        excluded_flags=list(excluded_flags),
    )


def feedback_text(result: AnnotatorResult) -> str:
    """The annotator's comment: their own score and the engine's hints, which never name ground-truth values,
    positions or hashes (docs/scoring.md, Conflicts)."""
    lines = [f"benchmark-qa feedback for {result.annotator}: score {result.score:.2f} over {result.n} checks."]
    if result.hints:
        lines.append("To improve: " + "; ".join(result.hints) + ".")
    else:
        lines.append("No disagreements found.")
    return "\n".join(lines)


def is_fully_scored(task: ReviewTask, results: Sequence[AnnotatorResult]) -> bool:
    """Every branch has a result for its current label hash (a re-labelled branch is scored again)."""
    have = {(r.annotator, r.label_hash) for r in results}
    return bool(task.options) and all(
        o.label_hash is not None and (o.annotator, o.label_hash) in have for o in task.options
    )


def _where(task: ReviewTask) -> str:
    return f"task {task.uuid} (data hash {task.data_hash}, {task.data_title or 'untitled'})"


# ---------------------------------------------------------------------------------------------- the scorer
class ConsensusScorer:
    def __init__(
        self,
        review: ReviewSource,
        store: ScoreStore,
        *,
        project_hash: str,
        config: ScoringConfig | None = None,
        comment_feedback: bool = False,
        quality: QualityStore | None = None,
        exclude_suspect_truth: bool = False,
    ) -> None:
        self._review = review
        self._store = store
        self._quality = quality  # None: no agreement, no ground-truth audit
        self._exclude_suspect_truth = exclude_suspect_truth
        self._project_hash = project_hash
        self._config = config
        self._comment_feedback = comment_feedback
        self._ontology: Ontology | None = None

    def ontology(self) -> Ontology:
        """The project's ontology for the engine; the scoring config is checked against it on first use."""
        if self._ontology is None:
            from benchmark_qa.scoring import ConfigError, Ontology, OntologyError, ScoringConfig

            try:
                ontology = Ontology.from_dict(self._review.ontology_structure)
            except OntologyError as error:
                raise ConsensusSetupError(
                    f"project {self._project_hash}: its ontology cannot be scored: {error}"
                ) from None
            try:
                self._config = (self._config or ScoringConfig()).validate_against(ontology)
            except ConfigError as error:
                raise ConsensusSetupError(
                    f"SCORING_CONFIG does not fit project {self._project_hash}: {error}"
                ) from None
            self._ontology = ontology
        return self._ontology

    def complete_pending(self) -> int:
        """Finish the tallies a killed run left unfinished (ScoresRepository.complete_pending)."""
        return self._store.complete_pending()

    def pending_rescores(self) -> list[str]:
        return self._quality.pending_rescores() if self._quality is not None else []

    def score_refs(self, refs: Sequence[TaskRef]) -> BatchReport:
        """A fanned-out message: the tasks still in the stage are scored; the others have moved on already."""
        tasks = self._review.list_tasks(refs)
        found = {t.uuid for t in tasks}
        report = self.score(tasks)
        report.tasks += [
            TaskOutcome(r.task_uuid, r.data_hash, TaskStatus.LEFT_STAGE) for r in refs if r.task_uuid not in found
        ]
        return report

    def rescore(self, task_uuids: Sequence[str]) -> BatchReport:
        """Score tasks again from their stored results' label hashes (they may have left the stage): a review of
        a suspect-ground-truth flag changed what they leave out. Results that change are replaced, once."""
        report = BatchReport()
        tasks: list[ReviewTask] = []
        for uuid in task_uuids:
            stored = self._store.results_of_task(uuid)
            if stored:
                first = stored[0]
                options = tuple(ReviewOption(r.annotator, r.branch_name, r.label_hash) for r in stored)
                tasks.append(ReviewTask(uuid, first.data_hash, first.data_title, options))
        if tasks and self._review.ontology_problem is None:
            ontology = self.ontology()
            for labels in self._review.fetch(tasks):
                outcome, _ = self._score_task(ontology, labels)
                report.tasks.append(outcome)
        if self._quality is not None:
            failed = {t.task_uuid for t in report.tasks if t.status is TaskStatus.ERROR}
            for uuid in task_uuids:
                if uuid not in failed:
                    self._quality.rescored(uuid)
        return report

    def score(self, tasks: Sequence[ReviewTask]) -> BatchReport:
        report = BatchReport()
        ready: list[TaskOutcome] = []  # scored (now or before): to act on
        stored: dict[str, list[AnnotatorResult]] = {}
        to_fetch: list[ReviewTask] = []
        for task in tasks:
            results = self._store.results_of_task(task.uuid)
            if is_fully_scored(task, results):
                # Only the branches as they are now: feedback for a label hash since replaced is never posted.
                current = {(o.annotator, o.label_hash) for o in task.options}
                stored[task.uuid] = [r for r in results if (r.annotator, r.label_hash) in current]
                ready.append(TaskOutcome(task.uuid, task.data_hash, TaskStatus.ALREADY_SCORED))
            else:
                to_fetch.append(task)

        problem = self._review.ontology_problem
        if problem is not None:  # nothing can be compared: record it on every task, fetch nothing
            report.tasks += [self._error(task, f"{_where(task)}: {problem}") for task in to_fetch]
        elif to_fetch:
            ontology = self.ontology()
            for labels in self._review.fetch(to_fetch):
                outcome, results = self._score_task(ontology, labels)
                if outcome.status is not TaskStatus.SCORED:
                    report.tasks.append(outcome)
                else:
                    stored[labels.task.uuid] = results
                    ready.append(outcome)

        by_uuid = {t.uuid: t for t in tasks}
        if self._comment_feedback:
            for outcome in ready:
                self._feedback(by_uuid[outcome.task_uuid], stored.get(outcome.task_uuid, []), report)
        self._act(ready, by_uuid, report)
        report.tasks += ready
        return report

    def _act(self, ready: Sequence[TaskOutcome], by_uuid: dict[str, ReviewTask], report: BatchReport) -> None:
        actions, requests = self._review.act([o.task_uuid for o in ready])
        report.action_requests += requests
        for outcome in ready:
            action = actions.get(outcome.task_uuid)
            if action is None:
                continue
            outcome.action, error = action
            if error:
                where = _where(by_uuid[outcome.task_uuid])
                outcome.error = f"{where} was scored but not moved: {error}; the next run moves it"

    def _error(self, task: ReviewTask, reason: str, annotator: str = "") -> TaskOutcome:
        self._store.record_error(task.uuid, reason=reason, data_hash=task.data_hash, annotator=annotator)
        return TaskOutcome(task.uuid, task.data_hash, TaskStatus.ERROR, error=reason)

    def _score_task(self, ontology: Ontology, labels: TaskLabels) -> tuple[TaskOutcome, list[AnnotatorResult]]:
        task = labels.task
        problems: list[str] = []
        annotators: list[str] = []
        if not task.options:
            problems.append("it has no annotator branches; check the consensus stage's annotators")
        if labels.truth_problem:
            problems.append(labels.truth_problem)
        elif labels.truth is None:  # never move a task that was not compared with anything
            problems.append(f"no ground truth was read for data hash {task.data_hash}; the next run retries")
        for option in task.options:
            if option.branch_name in labels.problems:
                problems.append(labels.problems[option.branch_name])
                annotators.append(option.annotator)
        parsed: dict[str, LabelSet] = {}  # the rows as scoring read them, for the quality checks
        reports = [] if problems else self._score_branches(ontology, labels, problems, annotators, parsed)
        if problems:
            reason = f"{_where(task)} was not scored and stays in the stage: " + " | ".join(problems)
            return self._error(task, reason, ", ".join(annotators)), []
        if not self._exclude_suspect_truth:
            # The checks read `parsed`; only scoring again without flagged objects reads the rows. A long video's
            # four rows are ~270 MiB of JSON at 10,000 frames: let them go before the checks' own peak
            # (docs/performance.md).
            labels.truth, labels.branches = None, {}
        reports, excluded, flags_new = self._assess(ontology, labels, reports, parsed)
        results = [
            result_of(self._project_hash, task, annotator, branch, label_hash, scored, details, excluded)
            for annotator, branch, label_hash, scored, details in reports
        ]
        try:
            written, replaced = self._write(task, results)
        except Contended as error:  # this task only: its results so far are kept, the rest come with its retry
            reason = f"{_where(task)} was not finished and stays in the stage: {error}; it is scored again"
            return TaskOutcome(task.uuid, task.data_hash, TaskStatus.CONTENDED, error=reason), []
        except ReplacementTooLarge as error:
            return self._error(task, f"{_where(task)}: {error}", ", ".join(annotators)), []
        if written < len(results):  # each new result's transaction cleared the task's error record; a repeat's not
            self._store.clear_error(task.uuid)
        outcome = TaskOutcome(task.uuid, task.data_hash, TaskStatus.SCORED, written, replaced, flags_new)
        return outcome, results

    def _score_branches(
        self,
        ontology: Ontology,
        labels: TaskLabels,
        problems: list[str],
        annotators: list[str],
        parsed: dict[str, LabelSet],
    ) -> list[Scored]:
        """Every branch scored against the truth, which is read once for all of them (on a long video reading a
        row is most of scoring it). A row the engine cannot read goes to `problems`, its annotator to `annotators`.
        The rows read go to `parsed` (annotator -> LabelSet, the truth under TRUTH), so the quality checks do not
        read them again."""
        from benchmark_qa.annotator_consensus import TRUTH
        from benchmark_qa.scoring import ScoringError
        from benchmark_qa.scoring.labels import read_label_row
        from benchmark_qa.task_details import score_with_details

        task = labels.task
        assert labels.truth is not None
        try:
            truth = read_label_row(ontology, labels.truth)
        except ScoringError as error:
            problems.append(
                f"the ground truth of data hash {task.data_hash} (label hash {labels.truth_label_hash}) "
                f"does not match the ontology: {error}; fix the row or the ontology, the next run retries"
            )
            return []
        parsed[TRUTH] = truth
        reports: list[Scored] = []
        for option in task.options:
            try:
                branch = read_label_row(ontology, labels.branches[option.branch_name])
                scored, details = score_with_details(ontology, truth, branch, self._config)
            except ScoringError as error:
                problems.append(
                    f"annotator {option.annotator}'s branch {option.branch_name!r} (label hash {option.label_hash}) "
                    f"does not match the ontology: {error}; fix the row or the ontology, the next run retries"
                )
                annotators.append(option.annotator)
                continue
            parsed[option.annotator] = branch
            reports.append((option.annotator, option.branch_name, str(option.label_hash), scored, details))
        return reports

    def _write(self, task: ReviewTask, results: Sequence[AnnotatorResult]) -> tuple[int, int]:
        """put_result each result once; a stored one that left out other flags is replaced. (written, replaced)"""
        written = replaced = 0
        stored: dict[tuple[str, str], AnnotatorResult] | None = None
        for result in results:
            if self._store.put_result(result, clear_error=True):
                written += 1
                continue
            if stored is None:
                stored = {(r.annotator, r.label_hash): r for r in self._store.results_of_task(task.uuid)}
            old = stored.get((result.annotator, result.label_hash))
            if old is not None and old.excluded_flags != result.excluded_flags:
                replaced += self._store.replace_result(old, result)
        return written, replaced

    def _assess(
        self, ontology: Ontology, labels: TaskLabels, reports: list[Scored], parsed: dict[str, LabelSet]
    ) -> tuple[list[Scored], list[str], int]:
        """Agreement and the ground-truth audit of a scored task (from the rows scoring read, `parsed`); with
        exclusion on, the branches scored again without the flagged objects that are open or confirmed wrong
        (docs/annotator-quality.md)."""
        from benchmark_qa.annotator_consensus import TRUTH
        from benchmark_qa.store.quality import EXCLUDED_STATUSES, FlagRecord
        from benchmark_qa.store.table import now_iso
        from benchmark_qa.task_quality import assess, score_without

        if self._quality is None or TRUTH not in parsed:
            return reports, [], 0
        task = labels.task
        scored = {a: r for a, _, _, r, _ in reports}
        sets = {o.annotator: parsed[o.annotator] for o in task.options}
        quality = assess(ontology, task.data_hash, parsed[TRUTH], sets, scored, self._config)
        self._quality.put_agreement(task.uuid, quality.agreement, now_iso())
        new = sum(1 for f in quality.flags if self._quality.add_flag(FlagRecord(flag=f, task_uuid=task.uuid)))
        if not self._exclude_suspect_truth or not quality.flags:
            return reports, [], new
        status = {r.flag.flag_id: r.status for r in self._quality.flags_of(task.data_hash)}
        left_out = [f for f in quality.flags if status.get(f.flag_id, "open") in EXCLUDED_STATUSES]
        if not left_out:
            return reports, [], new
        assert labels.truth is not None  # kept for this (exclusion on)
        rows = {o.annotator: labels.branches[o.branch_name] for o in task.options}
        again = score_without(ontology, labels.truth, rows, left_out, self._config)
        # the drill-down's details stay those of the whole comparison
        return [(a, b, h, again[a], d) for a, b, h, _, d in reports], sorted(f.flag_id for f in left_out), new

    def _feedback(self, task: ReviewTask, results: Sequence[AnnotatorResult], report: BatchReport) -> None:
        given = self._store.feedback_given(task.uuid)
        for result in results:
            if (result.annotator, result.label_hash) in given:
                continue
            try:
                self._review.comment(task.uuid, feedback_text(result))
            except Exception as error:  # feedback is advisory: never keeps a task from moving on
                report.feedback_failed.append(
                    f"{_where(task)}, annotator {result.annotator}: {type(error).__name__}: {error}"
                )
                continue
            self._store.record_feedback(task.uuid, result.annotator, result.label_hash)
            report.feedback_posted += 1


def open_scoring(
    settings: ScoringSettings,
    store: ScoreStore,
    remaining_millis: Callable[[], int] | None = None,
    quality: QualityStore | None = None,
) -> tuple[ConsensusReview, ConsensusScorer]:
    """The review stage over the SDK, checked against the settings, and a scorer on it: what ScoreFunction and
    ScoreWorkerFunction open once per invocation (the Encord client itself is kept per process). Every Encord
    wait is bounded by `remaining_millis` (the Lambda context's), benchmark_qa.encord.budget."""
    from benchmark_qa.encord.budget import TimeBudget
    from benchmark_qa.encord.client import encord_client
    from benchmark_qa.encord.consensus import ConsensusReview, ConsensusTarget

    budget = TimeBudget.of(settings, remaining_millis)
    review = ConsensusReview(encord_client(settings), ConsensusTarget.from_settings(settings), budget).open()
    scorer = ConsensusScorer(
        review,
        store,
        project_hash=settings.production_project_hash,
        config=settings.engine_config(),
        comment_feedback=settings.comment_feedback,
        quality=quality if settings.ground_truth_audit else None,
        exclude_suspect_truth=settings.exclude_suspect_truth,
    )
    return review, scorer


# ---------------------------------------------------------------------------------------------- the schedule
@dataclass
class ScheduleReport:
    run_id: str
    stage_tasks: int = 0
    mode: str = "inline"  # inline | fan_out | busy | out_of_time
    messages_sent: int = 0
    scored: BatchReport = field(default_factory=BatchReport)
    deferred: str | None = None  # why the run stopped early, leaving tasks for the next run
    tallies_completed: int = 0  # results whose tallies a killed run left unfinished, completed by this run

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "stage_tasks": self.stage_tasks,
            "mode": self.mode,
            "messages_sent": self.messages_sent,
            "tallies_completed": self.tallies_completed,
            **({"deferred": self.deferred} if self.deferred else {}),
            **self.scored.summary(),
        }


def run_schedule(
    review: ReviewSource,
    scorer: ConsensusScorer,
    queue: TaskQueue | None,
    *,
    run_id: str,
    batch_size: int,
    inline_max_tasks: int,
) -> ScheduleReport:
    """List the stage; score it here when it is small (or there is no queue), otherwise fan it out in messages
    of `batch_size` tasks. While an earlier fan-out is still queued or in flight nothing is sent: the workers
    finish it, and whatever they leave behind is listed again by the next run."""
    report = ScheduleReport(run_id=run_id, tallies_completed=scorer.complete_pending())
    pending = scorer.pending_rescores()[:batch_size]
    if pending:  # reviewed ground-truth flags: a bounded share of each run, the rest in the next
        report.scored.extend(scorer.rescore(pending))
    tasks = review.list_tasks()
    report.stage_tasks = len(tasks)
    if queue is None or len(tasks) <= inline_max_tasks:
        for chunk in batched(tasks, batch_size):
            try:
                report.scored.extend(scorer.score(chunk))
            except OutOfTime as error:  # results so far are kept (idempotent); the next run scores the rest
                report.mode, report.deferred = "out_of_time", str(error)
                break
        return report
    if queue.backlog() > 0:
        report.mode = "busy"
        return report
    messages = [
        ScoreMessage(run_id=run_id, tasks=[TaskRefModel(task_uuid=t.uuid, data_hash=t.data_hash) for t in chunk])
        for chunk in batched(tasks, batch_size)
    ]
    queue.send(messages)
    report.mode, report.messages_sent = "fan_out", len(messages)
    return report


class SqsTaskQueue:
    """ScoreQueue over boto3 (the endpoint in force: the local stack's, or AWS's)."""

    def __init__(self, queue_url: str, region: str) -> None:
        self._url = queue_url
        self._region = region

    @cached_property
    def _sqs(self) -> SQSClient:
        """Made on first use: ScoreFunction builds its queue at import, boto3 is imported with the first event."""
        import boto3

        return boto3.client("sqs", region_name=self._region)

    def backlog(self) -> int:
        names: list[QueueAttributeNameType] = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=names).get("Attributes", {})
        return sum(int(attributes.get(n, "0")) for n in names)

    def send(self, messages: Sequence[ScoreMessage]) -> None:
        for chunk in batched(list(messages), SQS_BATCH_LIMIT):
            entries = [{"Id": str(i), "MessageBody": json.dumps(m.model_dump())} for i, m in enumerate(chunk)]
            answer = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)  # type: ignore[arg-type]
            failed = answer.get("Failed") or []
            if failed:
                raise RuntimeError(f"ScoreQueue refused {len(failed)} of {len(entries)} messages: {failed[:3]}")
