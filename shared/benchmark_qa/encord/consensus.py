"""The consensus review stage ("Consensus 1") on the SDK side: its tasks, every annotator's branch, the ground
truth of the same data unit from the Benchmark Project, and the action that moves a scored task on.

Requests for a batch of B tasks with A annotators each (B <= 100, every call bulk):

  1. `get_project` for both projects (2 requests each); the review stage and, for `archive`, the Archive stage
     are checked against the workflow; the ontology comes with the project.
  2. `stage.get_tasks(...)`: N / page for the whole stage (the schedule), or one filtered by the batch's data
     hashes (a worker given task uuids); a page that fails is asked again on its own (benchmark_qa.encord.stage_pages).
  3. `list_label_rows_v2(data_hashes=batch, include_all_label_branches=True)` on the Production Project and
     `list_label_rows_v2(data_hashes=batch)` on the Benchmark Project: metadata only, one request each.
  4. Per task, its rows as the label-row dicts Encord sends (`Project.get_label_rows`, the v1 read a bundle of
     `initialise_labels` makes, without building LabelRowV2 objects from them): one read for the branch rows and
     one for the truth row, or one read a row where rows together label more than FRAMES_PER_READ frames (a long
     video's rows are large: 276 MiB of dicts for a 10,000-frame row with 20 boxes a frame). A row whose label hash
     is None is never read: initialising it would create it.
  5. One bundle per <= 500 moves (Archive) or <= 1000 rejects. A batch Encord refuses (400: some task already
     left the stage, or our own retried request had already been applied) costs one listing and one more
     bundle for the tasks still there (benchmark_qa.encord.actions).

The plain records (`ReviewTask`, `TaskLabels`, ...) carry no SDK objects, so the scoring logic
(benchmark_qa.consensus_scoring) is testable without the SDK.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson

from benchmark_qa.collector import paused_gc
from benchmark_qa.encord.actions import (
    ACTION_BATCH_LIMIT,
    MAX_HASHES_PER_CALL,
    MOVE_BATCH_LIMIT,
    ActionOutcome,
    AmbiguousStage,
    StageView,
    apply_in_batches,
    batched,
    find_stage,
    stage_views,
)
from benchmark_qa.encord.budget import TimeBudget
from benchmark_qa.encord.projects import UnreadableWorkflow, open_project
from benchmark_qa.encord.stage_pages import list_stage_tasks

if TYPE_CHECKING:
    from encord.http.bundle import Bundle
    from encord.objects.ontology_labels_impl import LabelRowV2
    from encord.project import Project
    from encord.user_client import EncordUserClient
    from encord.workflow.stages.consensus_review import ConsensusReviewStage, ConsensusReviewTask

    from benchmark_qa.config import ScoringSettings

LABEL_BUNDLE_SIZE = 100  # Encord answers MULTI_LABEL_LIMIT_ERROR above 100 rows per read
# Frames of frame-keyed rows one read asks for at most (a longer row is read alone): the SDK hands a read's rows
# over as dicts all at once, 276 MiB for a 10,000-frame row with 20 boxes a frame (docs/performance.md, "Memory of
# a long video"). A task of short rows is still one read per project.
FRAMES_PER_READ = 5_000
# Data types whose rows label frame by frame, so their size grows with number_of_frames (an audio row's
# number_of_frames counts samples, and its labels are ranges)
_FRAME_KEYED = frozenset({"video", "img_group", "dicom", "nifti", "pdf"})
REVIEW_KIND = "CONSENSUS_REVIEW"
FINAL_KIND = "DONE"


class AfterScoring(StrEnum):
    REJECT = "reject"  # follow the review stage's reject edge (Archive in Encord's Benchmark QA workflow)
    ARCHIVE = "archive"  # move straight to the Archive stage
    NONE = "none"  # leave the task where it is (scores only)


class ConsensusSetupError(ValueError):
    """The settings do not match the projects' workflows or ontologies. The message says what exists."""


@dataclass(frozen=True)
class ConsensusTarget:
    production_project_hash: str
    benchmark_project_hash: str
    review_stage: str = "Consensus 1"
    archive_stage: str = "Archive"
    after_scoring: AfterScoring = AfterScoring.ARCHIVE

    @classmethod
    def from_settings(cls, settings: ScoringSettings) -> ConsensusTarget:
        return cls(
            production_project_hash=settings.production_project_hash,
            benchmark_project_hash=settings.benchmark_project_hash,
            review_stage=settings.review_stage,
            archive_stage=settings.archive_stage,
            after_scoring=AfterScoring(settings.after_scoring),
        )


# ---------------------------------------------------------------------------------------------- plain records
@dataclass(frozen=True)
class ReviewOption:
    """One annotator's branch of a consensus task."""

    annotator: str
    branch_name: str
    label_hash: str | None  # None: the annotator saved nothing on the branch


@dataclass(frozen=True)
class ReviewTask:
    uuid: str
    data_hash: str
    data_title: str
    options: tuple[ReviewOption, ...]


@dataclass(frozen=True)
class TaskRef:
    """What a fan-out message carries per task: enough to find it again with one filtered listing."""

    task_uuid: str
    data_hash: str


# A label row as the engine reads it: the JSON Encord sent (re-encoded from the SDK's dicts, a quarter of their
# memory), or the dict itself where it cannot be encoded
Row = bytes | Mapping[str, Any]


@dataclass
class TaskLabels:
    """The label rows of one task, as the engine reads them, or why one is missing."""

    task: ReviewTask
    truth: Row | None = None
    truth_label_hash: str | None = None
    truth_problem: str | None = None
    branches: dict[str, Row] = field(default_factory=dict)  # branch name -> label row
    problems: dict[str, str] = field(default_factory=dict)  # branch name -> why it cannot be scored


def _find(
    stages: Sequence[StageView], wanted: str, kind: str, target: ConsensusTarget, variable: str
) -> StageView | None:
    try:
        return find_stage(stages, wanted, kind)
    except AmbiguousStage as error:
        raise ConsensusSetupError(f"project {target.production_project_hash}: {error} ({variable})") from None


def resolve_stages(stages: Sequence[StageView], target: ConsensusTarget) -> tuple[StageView, StageView | None]:
    """The review stage and (for `archive`) the Archive stage named in the settings; otherwise say what exists."""
    names = [s.title for s in stages]
    review = _find(stages, target.review_stage, REVIEW_KIND, target, "REVIEW_STAGE")
    if review is None:
        reviews = [s.title for s in stages if s.kind == REVIEW_KIND]
        raise ConsensusSetupError(
            f"project {target.production_project_hash} has no workflow stage {target.review_stage!r}; its consensus "
            f"review stages are {reviews or 'none'} (all stages: {names}). Set REVIEW_STAGE to one of them."
        )
    if review.kind != REVIEW_KIND:
        raise ConsensusSetupError(
            f"stage {review.title!r} of project {target.production_project_hash} is a {review.kind} stage, not a "
            "consensus review stage; set REVIEW_STAGE to the stage where the annotators' branches meet"
        )
    if target.after_scoring is not AfterScoring.ARCHIVE:
        return review, None
    archive = _find(stages, target.archive_stage, FINAL_KIND, target, "ARCHIVE_STAGE")
    if archive is None:
        finals = [s.title for s in stages if s.kind == FINAL_KIND]
        raise ConsensusSetupError(
            f"project {target.production_project_hash} has no workflow stage {target.archive_stage!r} to move scored "
            f"tasks to; its final stages are {finals or 'none'} (all stages: {names}). Set ARCHIVE_STAGE to one of "
            "them, or AFTER_SCORING to reject or none."
        )
    if archive.uuid == review.uuid:
        raise ConsensusSetupError(f"ARCHIVE_STAGE and REVIEW_STAGE are both {review.title!r}; they must differ")
    return review, archive


# ---------------------------------------------------------------------------------------------- SDK side
def _review_task(task: ConsensusReviewTask) -> ReviewTask:
    return ReviewTask(
        uuid=str(task.uuid),
        data_hash=str(task.data_hash),
        data_title=task.data_title,
        options=tuple(
            ReviewOption(o.annotator, o.label_branch_name, str(o.label_hash) if o.label_hash else None)
            for o in task.options
        ),
    )


class ConsensusReview:
    """The review stage of the Production Project and the ground truth in the Benchmark Project, over the SDK.

    `open()` checks the settings against both projects; every other method is bulk (see the module doc)."""

    def __init__(self, client: EncordUserClient, target: ConsensusTarget, budget: TimeBudget | None = None) -> None:
        self._client = client
        self.target = target
        self.budget = budget or TimeBudget.unbounded()
        self._tasks: dict[str, ConsensusReviewTask] = {}  # SDK task objects by uuid, to act on them later
        self._production: Project | None = None
        self._benchmark: Project | None = None
        self._stage: ConsensusReviewStage | None = None
        self._archive_uuid: str | None = None
        self.ontology_structure: dict[str, Any] = {}
        self.ontology_problem: str | None = None

    # ------------------------------------------------------------------ setup
    def _project(self, project_hash: str, variable: str) -> Project:
        from encord.exceptions import AuthorisationError, ResourceNotFoundError

        try:
            return self.budget.call(f"open project {project_hash}", lambda: open_project(self._client, project_hash))
        except (ResourceNotFoundError, AuthorisationError) as error:
            raise ConsensusSetupError(
                f"project {project_hash} cannot be opened ({type(error).__name__}); check {variable} and that the "
                "key's user is an admin of the project"
            ) from None
        except UnreadableWorkflow as error:
            raise ConsensusSetupError(f"{error} ({variable})") from None

    def open(self) -> ConsensusReview:
        from encord.workflow.stages.consensus_review import ConsensusReviewStage

        target = self.target
        production = self._project(target.production_project_hash, "PRODUCTION_PROJECT_HASH")
        benchmark = self._project(target.benchmark_project_hash, "BENCHMARK_PROJECT_HASH")
        stages = production.workflow.stages
        review, archive = resolve_stages(stage_views(stages), target)
        stage = next(s for s in stages if str(s.uuid) == review.uuid)
        assert isinstance(stage, ConsensusReviewStage)  # resolve_stages checked the kind
        self._production, self._benchmark, self._stage = production, benchmark, stage
        self._archive_uuid = archive.uuid if archive else None
        self.ontology_structure = production.ontology_structure.to_dict()
        truth_structure = benchmark.ontology_structure.to_dict()
        if production.ontology_hash != benchmark.ontology_hash and truth_structure != self.ontology_structure:
            # Scored per task (recorded on each), not raised: the tasks must stay visible as unscored.
            self.ontology_problem = (
                f"the Benchmark Project {target.benchmark_project_hash} uses ontology {benchmark.ontology_hash} but "
                f"the Production Project {target.production_project_hash} uses {production.ontology_hash}, and "
                "they differ; give both projects the same ontology so ground truth and branches can be compared"
            )
        return self

    @property
    def stage(self) -> ConsensusReviewStage:
        if self._stage is None:
            raise RuntimeError("call open() first")
        return self._stage

    @property
    def production(self) -> Project:
        if self._production is None:
            raise RuntimeError("call open() first")
        return self._production

    @property
    def benchmark(self) -> Project:
        if self._benchmark is None:
            raise RuntimeError("call open() first")
        return self._benchmark

    # ------------------------------------------------------------------ reading
    def list_tasks(self, refs: Sequence[TaskRef] | None = None) -> list[ReviewTask]:
        """Every task of the stage, or those of `refs` still in it (one listing per <= 100 data hashes). The
        listing is complete before anything moves: pages are not a snapshot."""
        if refs is None:
            found = list_stage_tasks(self.stage, self.budget, "list the review stage")
        else:
            wanted = {r.task_uuid for r in refs}
            found = []
            for chunk in batched(list(dict.fromkeys(r.data_hash for r in refs)), MAX_HASHES_PER_CALL):
                tasks = list_stage_tasks(self.stage, self.budget, "list review tasks", data_hash=chunk)
                found += [t for t in tasks if str(t.uuid) in wanted]
        for task in found:
            self._tasks[str(task.uuid)] = task
        return [_review_task(t) for t in found]

    def fetch(self, tasks: Sequence[ReviewTask]) -> Iterator[TaskLabels]:
        """Every option's branch row and the truth row of each task. Rows are listed in bulk (100 data hashes a
        call) but read and handed over one task at a time, so a worker holds one task's label rows at once
        (docs/performance.md, Memory). Never creates a label row."""
        for chunk in batched(list(tasks), MAX_HASHES_PER_CALL):
            yield from self._fetch_chunk(chunk)

    def _fetch_chunk(self, tasks: Sequence[ReviewTask]) -> Iterator[TaskLabels]:
        hashes = list(dict.fromkeys(t.data_hash for t in tasks))
        call = self.budget.call
        by_branch = {
            (r.data_hash, r.branch_name): r
            for r in call(
                "list branch rows",
                partial(self.production.list_label_rows_v2, data_hashes=hashes, include_all_label_branches=True),
            )
        }
        truth_rows = {
            r.data_hash: r
            for r in call("list truth rows", partial(self.benchmark.list_label_rows_v2, data_hashes=hashes))
        }
        left = Counter(t.data_hash for t in tasks)
        for task in tasks:
            yield self._read_task(task, by_branch, truth_rows)
            left[task.data_hash] -= 1
            if not left[task.data_hash]:  # its rows are read: let them go before the next task's
                truth_rows.pop(task.data_hash, None)
                for key in [k for k in by_branch if k[0] == task.data_hash]:
                    del by_branch[key]

    def _read_task(
        self,
        task: ReviewTask,
        by_branch: dict[tuple[str, str], LabelRowV2],
        truth_rows: dict[str, LabelRowV2],
    ) -> TaskLabels:
        """One task's truth and branch rows (one read per project, or per long row); each problem on its own
        branch."""
        entry = TaskLabels(task=task)
        wanted: list[tuple[ReviewOption | None, str]] = []  # (option, or None: the truth; its label hash)
        frames: dict[str, int] = {}  # label hash -> the frames its row labels (from the listing)
        truth = truth_rows.get(task.data_hash)
        if truth is None or not truth.label_hash:
            entry.truth_problem = (
                f"data hash {task.data_hash} ({task.data_title}) has no ground-truth label row in the "
                f"Benchmark Project {self.target.benchmark_project_hash}; label and review it there"
            )
        else:
            entry.truth_label_hash = str(truth.label_hash)
            wanted.append((None, entry.truth_label_hash))
            frames[entry.truth_label_hash] = _frames_of(truth)
        for option in task.options:
            row = by_branch.get((task.data_hash, option.branch_name))
            problem = _branch_problem(task, option, row)
            if problem is None and row is not None:
                wanted.append((option, str(row.label_hash)))
                frames[str(row.label_hash)] = _frames_of(row)
            elif problem is not None:
                entry.problems[option.branch_name] = problem
        reads = [
            (self.benchmark, [h for owner, h in wanted if owner is None]),
            (self.production, [h for owner, h in wanted if owner is not None]),
        ]
        read: dict[str, Row] = {}
        # Retried as a whole; rows a failed attempt did read are not read again.
        self.budget.call("read label rows", partial(_read_rows, reads, frames, read))
        for owner, label_hash in wanted:
            row_json = read.get(label_hash)
            if row_json is None:
                who = "the ground truth" if owner is None else f"annotator {owner.annotator}'s branch"
                problem = (
                    f"{who} of data hash {task.data_hash} (label hash {label_hash}) was not returned by Encord; "
                    "the next run retries"
                )
                if owner is None:
                    entry.truth_problem = problem
                else:
                    entry.problems[owner.branch_name] = problem
            elif owner is None:
                entry.truth = row_json
            else:
                entry.branches[owner.branch_name] = row_json
        return entry

    # ------------------------------------------------------------------ acting
    def act(self, task_uuids: Sequence[str]) -> tuple[dict[str, tuple[ActionOutcome, str | None]], int]:
        """Reject or archive each task (AFTER_SCORING), bundled; returns each task's outcome and the request count."""
        after = self.target.after_scoring
        tasks = [self._tasks[u] for u in task_uuids]
        if after is AfterScoring.NONE or not tasks:
            return {}, 0
        production = self.production
        if after is AfterScoring.ARCHIVE:
            assert self._archive_uuid is not None  # resolved by open()
            destination = UUID(self._archive_uuid)
            size = MOVE_BATCH_LIMIT

            def act_one(task: ConsensusReviewTask, bundle: Bundle | None = None) -> None:
                task.move(destination_stage_uuid=destination, bundle=bundle)

        else:
            size = ACTION_BATCH_LIMIT

            def act_one(task: ConsensusReviewTask, bundle: Bundle | None = None) -> None:
                task.reject(bundle=bundle)

        def act_batch(batch: Sequence[ConsensusReviewTask]) -> None:
            # One bundle, one stage: every action here is of the review stage.
            with production.create_bundle(bundle_size=size) as bundle:
                for task in batch:
                    act_one(task, bundle)

        def still_in_stage(batch: Sequence[ConsensusReviewTask]) -> list[ConsensusReviewTask]:
            refs = [TaskRef(str(t.uuid), str(t.data_hash)) for t in batch]
            there = {t.uuid for t in self.list_tasks(refs)}
            return [t for t in batch if str(t.uuid) in there]

        call = self.budget.call
        results, requests = apply_in_batches(
            tasks,
            batch_size=size,
            act_batch=lambda batch: call(f"{after.value} {len(batch)} tasks", lambda: act_batch(batch)),
            act_one=lambda task: call(f"{after.value} a task", lambda: act_one(task)),
            still_in_stage=still_in_stage,
        )
        return {str(r.item.uuid): (r.outcome, r.error) for r in results}, requests

    def comment(self, task_uuid: str, text: str) -> None:
        """A file-level comment ("issue") on the task, seen by whoever opens it in Encord."""
        task = self._tasks[task_uuid]
        self.budget.call("comment", lambda: task.issues.add_file_issue(text, issue_tags=[]))


def _branch_problem(task: ReviewTask, option: ReviewOption, row: LabelRowV2 | None) -> str | None:
    """Why a branch cannot be read, or None. A branch without a label hash is never initialised: that creates it."""
    branch = f"annotator {option.annotator}'s branch {option.branch_name!r} of data hash {task.data_hash}"
    if option.label_hash is None or row is None or not row.label_hash:
        return f"{branch} has no label row (nothing was saved); send the task back to the annotator or score it by hand"
    if row.label_hash != option.label_hash:
        return (
            f"{branch} has label hash {row.label_hash}, but the task names {option.label_hash}; it changed while "
            "scoring, the next run retries"
        )
    return None


def _frames_of(row: LabelRowV2) -> int:
    """The frames a listed row labels (`number_of_frames` of its metadata, encord `orm/label_row.py:300`,
    `objects/ontology_labels_impl.py:856`); 1 for a row that is not labelled frame by frame, or whose count is
    missing (it is then read with others, as any short row)."""
    data_type = str(getattr(row.data_type, "value", row.data_type) or "").lower()
    try:
        count = int(row.number_of_frames or 1) if data_type in _FRAME_KEYED else 1
    except (TypeError, ValueError):
        count = 1
    return max(count, 1)


def _reads(label_hashes: Sequence[str], frames: Mapping[str, int]) -> Iterator[list[str]]:
    """The label hashes in reads of at most LABEL_BUNDLE_SIZE rows and FRAMES_PER_READ frames (a row of more frames
    alone), in order."""
    read: list[str] = []
    total = 0
    for label_hash in label_hashes:
        count = frames.get(label_hash, 1)
        if read and (len(read) == LABEL_BUNDLE_SIZE or total + count > FRAMES_PER_READ):
            yield read
            read, total = [], 0
        read.append(label_hash)
        total += count
    if read:
        yield read


def _row_json(row: Mapping[str, Any]) -> Row:
    """A row the SDK decoded, encoded again (67 MiB against 276 MiB of dicts for a 10,000-frame row with 20 boxes a
    frame); the engine reads the bytes by typed decoding. A row orjson cannot encode (an integer beyond 64 bits)
    stays a dict: the engine reads that too."""
    try:
        return orjson.dumps(row)
    except orjson.JSONEncodeError:
        return dict(row)


def _read_rows(reads: Sequence[tuple[Project, Sequence[str]]], frames: Mapping[str, int], read: dict[str, Row]) -> None:
    """The label rows of each project's label hashes into `read` (label hash -> the row as Encord sent it, see
    `Row`), in reads of up to LABEL_BUNDLE_SIZE rows and FRAMES_PER_READ frames (`frames`: label hash -> its row's
    frames), leaving out rows already read. A read's dicts are encoded and let go before the next read, so a
    worker holds one read's dicts at most, not a long video task's four rows of them.

    `Project.get_label_rows` sends the same v1 `labelrow` GET (`multi_request`) that a bundle of
    `initialise_labels` sends (encord `client.py:1041-1063`, `objects/ontology_labels_impl.py:1189-1206`), but
    hands over the rows as Encord sent them. `initialise_labels` builds a LabelRowV2 object model from each, and the
    engine needs `to_encord_dict()` back from it: 6.5 of the 8.5 s of reading one row of a 10,000-frame video with 20
    boxes a frame (docs/performance.md, "Reading label rows in the worker"). The SDK marks `get_label_rows`
    deprecated (since 0.1.123, in favour of those objects); its warning is silenced here. A row the engine cannot
    read is refused by the engine, with the object and field named (benchmark_qa.scoring.labels).
    """
    for project, label_hashes in reads:
        missing = [h for h in dict.fromkeys(label_hashes) if h not in read]
        for chunk in _reads(missing, frames):
            # The collector paused: the SDK decodes a long video's row into millions of dicts and lists, and
            # collections while they are built took 0.87 s of a 10,000-frame row's 1.25 s (0.27 s paused).
            with warnings.catch_warnings(), paused_gc():
                warnings.simplefilter("ignore", DeprecationWarning)
                rows = project.get_label_rows(chunk, get_signed_url=False)
                while rows:  # in any order (the SDK's docstring): matched on label hash, as bundles are
                    row = rows.pop()  # each row's dicts go as soon as it is encoded
                    read[str(row["label_hash"])] = _row_json(row)
                    del row
