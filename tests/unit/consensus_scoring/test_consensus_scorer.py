"""ConsensusScorer (benchmark_qa.consensus_scoring) over in-memory fakes of its ports: the review stage with the
ground truth (ReviewSource) and the scores store (ScoreStore). The engine is real: label-row dicts of the local
stack's standard ontology (a "Box" bounding box and a "Quality" radio classification)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from benchmark_qa.consensus_scoring import (
    ERRORS_IN_SUMMARY,
    BatchReport,
    ConsensusScorer,
    ScoreMessage,
    TaskOutcome,
    TaskStatus,
    feedback_text,
    is_fully_scored,
    run_schedule,
)
from benchmark_qa.encord.actions import ActionOutcome
from benchmark_qa.encord.consensus import ConsensusSetupError, ReviewOption, ReviewTask, TaskLabels, TaskRef
from benchmark_qa.scoring import Ontology, ScoringConfig
from benchmark_qa.store.scores import AnnotatorResult
from benchmark_qa_local.encord_double.box_rows import TRUTH_BOXES, Box, precise_boxes, sloppy_boxes
from benchmark_qa_local.encord_double.box_rows import label_row as box_label_row
from benchmark_qa_local.encord_double.seed import standard_ontology
from pydantic import ValidationError

STRUCTURE = standard_ontology()
PROJECT = "production-project-hash"
PRECISE = "precise@benchmark-qa.local"
SLOPPY = "sloppy@benchmark-qa.local"


def label_row(
    data_hash: str, label_hash: str, boxes: Sequence[Box], quality: str | None, **kwargs: Any
) -> dict[str, Any]:
    """As `to_encord_dict()` gives it: the labels plus the row's own identity."""
    row = box_label_row(STRUCTURE, data_hash, boxes, quality, **kwargs)
    identity = {"label_hash": label_hash, "branch_name": "main", "data_hash": data_hash}
    return {**identity, "data_title": "x.jpg", "data_type": "image", **row}


def truth_row(data_hash: str) -> dict[str, Any]:
    return label_row(data_hash, f"truth-{data_hash}", TRUTH_BOXES, "good")


def precise_row(data_hash: str, label_hash: str) -> dict[str, Any]:
    return label_row(data_hash, label_hash, precise_boxes(), "good", author=PRECISE)


def sloppy_row(data_hash: str, label_hash: str) -> dict[str, Any]:
    return label_row(data_hash, label_hash, sloppy_boxes(), "bad", author=SLOPPY)


# ---------------------------------------------------------------------------------------------- fakes
class FakeReview:
    """The review stage: tasks in it, label rows by (data hash, label hash), the ground truth by data hash. Acting
    on a task takes it out of the stage (`moves=False`: AFTER_SCORING none, nothing happens)."""

    def __init__(self, *, moves: bool = True) -> None:
        self.ontology_structure: dict[str, Any] = STRUCTURE
        self.ontology_problem: str | None = None
        self.moves = moves
        self.stage: dict[str, ReviewTask] = {}
        self.truth: dict[str, dict[str, Any]] = {}
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.fetched: list[list[str]] = []
        self.acted: list[list[str]] = []
        self.comments: list[tuple[str, str]] = []
        self.failing_moves: set[str] = set()  # task uuids whose move fails
        self.failing_comments: set[str] = set()  # annotators whose comment fails
        self.as_json = False  # hand rows over as JSON bytes, as the real stage does (encord.consensus.Row)
        self.handed: list[TaskLabels] = []  # every TaskLabels fetch() handed over, as the scorer left it

    def put(self, task: ReviewTask, *, truth: bool = True, sloppy: bool = True) -> ReviewTask:
        """The task in the stage with the ground truth and a row on every branch that has a label hash."""
        self.stage[task.uuid] = task
        if truth:
            self.truth[task.data_hash] = truth_row(task.data_hash)
        for option in task.options:
            if option.label_hash is not None:
                make = sloppy_row if option.annotator == SLOPPY and sloppy else precise_row
                self.rows[(task.data_hash, option.label_hash)] = make(task.data_hash, option.label_hash)
        return task

    def relabel(self, task: ReviewTask, annotator: str, label_hash: str, row: dict[str, Any]) -> ReviewTask:
        options = tuple(
            ReviewOption(o.annotator, o.branch_name, label_hash) if o.annotator == annotator else o
            for o in task.options
        )
        relabelled = ReviewTask(task.uuid, task.data_hash, task.data_title, options)
        self.stage[task.uuid] = relabelled
        self.rows[(task.data_hash, label_hash)] = row
        return relabelled

    def list_tasks(self, refs: Sequence[TaskRef] | None = None) -> list[ReviewTask]:
        if refs is None:
            return list(self.stage.values())
        wanted = {r.task_uuid for r in refs}
        return [t for t in self.stage.values() if t.uuid in wanted]

    def fetch(self, tasks: Sequence[ReviewTask]) -> list[TaskLabels]:
        self.fetched.append([t.uuid for t in tasks])
        out = []
        for task in tasks:
            labels = TaskLabels(task=task)
            truth = self.truth.get(task.data_hash)
            if truth is None:
                labels.truth_problem = (
                    f"data hash {task.data_hash} has no ground-truth label row in the Benchmark Project; "
                    "label and review it there"
                )
            else:
                labels.truth = orjson.dumps(truth) if self.as_json else copy.deepcopy(truth)
                labels.truth_label_hash = truth.get("label_hash")
            for option in task.options:
                row = self.rows.get((task.data_hash, option.label_hash or ""))
                if row is None:
                    labels.problems[option.branch_name] = (
                        f"annotator {option.annotator}'s branch {option.branch_name!r} of data hash "
                        f"{task.data_hash} has no label row (nothing was saved); send the task back to the annotator"
                    )
                else:
                    labels.branches[option.branch_name] = orjson.dumps(row) if self.as_json else copy.deepcopy(row)
            out.append(labels)
        self.handed += out
        return out

    def act(self, task_uuids: Sequence[str]) -> tuple[dict[str, tuple[ActionOutcome, str | None]], int]:
        self.acted.append(list(task_uuids))
        if not self.moves or not task_uuids:
            return {}, 0
        outcomes: dict[str, tuple[ActionOutcome, str | None]] = {}
        for uuid in task_uuids:
            if uuid in self.failing_moves:
                outcomes[uuid] = (ActionOutcome.FAILED, "batch failed: ConnectionError: 503")
            elif uuid not in self.stage:
                outcomes[uuid] = (ActionOutcome.LEFT_STAGE, None)
            else:
                del self.stage[uuid]
                outcomes[uuid] = (ActionOutcome.DONE, None)
        return outcomes, 1

    def comment(self, task_uuid: str, text: str) -> None:
        if any(annotator in text for annotator in self.failing_comments):
            raise ConnectionError("503 Service Unavailable")
        self.comments.append((task_uuid, text))

    @property
    def acted_on(self) -> list[str]:
        return [uuid for call in self.acted for uuid in call]


class FakeStore:
    """ScoresRepository in memory: put_result is idempotent on (task, annotator, label hash); an error is one
    record per task (put again: replaced)."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, str, str], AnnotatorResult] = {}
        self.errors: dict[str, dict[str, str]] = {}
        self.feedback: set[tuple[str, str, str]] = set()
        self.cleared: list[str] = []

    def results_of_task(self, task_uuid: str) -> list[AnnotatorResult]:
        return [r for (task, _, _), r in sorted(self.results.items()) if task == task_uuid]

    def put_result(self, result: AnnotatorResult, *, clear_error: bool = False) -> bool:
        key = (result.task_uuid, result.annotator, result.label_hash)
        if key in self.results:
            return False
        self.results[key] = result
        if clear_error:
            self.clear_error(result.task_uuid)
        return True

    def record_error(self, task_uuid: str, *, reason: str, data_hash: str = "", annotator: str = "") -> None:
        self.errors[task_uuid] = {"reason": reason, "data_hash": data_hash, "annotator": annotator}

    def clear_error(self, task_uuid: str) -> None:
        self.cleared.append(task_uuid)
        self.errors.pop(task_uuid, None)

    def feedback_given(self, task_uuid: str) -> set[tuple[str, str]]:
        return {(annotator, label_hash) for task, annotator, label_hash in self.feedback if task == task_uuid}

    def record_feedback(self, task_uuid: str, annotator: str, label_hash: str) -> None:
        self.feedback.add((task_uuid, annotator, label_hash))

    def complete_pending(self) -> int:
        return 0

    def replace_result(self, old: AnnotatorResult, new: AnnotatorResult) -> bool:
        raise AssertionError("these tests never leave ground-truth flags out, so nothing is replaced")


class LaggingStore(FakeStore):
    """An overlapping run: it read the task's results before the other run wrote them."""

    def results_of_task(self, task_uuid: str) -> list[AnnotatorResult]:
        return []


class FakeQueue:
    def __init__(self, backlog: int = 0) -> None:
        self.waiting = backlog
        self.sent: list[ScoreMessage] = []

    def backlog(self) -> int:
        return self.waiting

    def send(self, messages: Sequence[ScoreMessage]) -> None:
        self.sent += messages


def make_task(n: int, *, annotators: Sequence[str] = (PRECISE, SLOPPY)) -> ReviewTask:
    return ReviewTask(
        uuid=f"task-{n:04d}",
        data_hash=f"data-{n:04d}",
        data_title=f"benchmark-{n:04d}.jpg",
        options=tuple(
            ReviewOption(annotator, f"consensus-{n}-{i}", f"lh-{n:04d}-{annotator[:3]}")
            for i, annotator in enumerate(annotators)
        ),
    )


def scorer_of(review: FakeReview, store: FakeStore, **kwargs: Any) -> ConsensusScorer:
    return ConsensusScorer(review, store, project_hash=PROJECT, **kwargs)


def outcome_of(report: BatchReport, task: ReviewTask) -> TaskOutcome:
    (outcome,) = [t for t in report.tasks if t.task_uuid == task.uuid]
    return outcome


# ---------------------------------------------------------------------------------------------- scoring
def test_a_task_is_scored_once_per_branch_and_moved_on() -> None:
    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(1))

    report = scorer_of(review, store).score([task])

    outcome = outcome_of(report, task)
    assert (outcome.status, outcome.results_written, outcome.action) == (TaskStatus.SCORED, 2, ActionOutcome.DONE)
    assert outcome.error is None
    assert review.fetched == [[task.uuid]]
    assert review.acted_on == [task.uuid]
    assert task.uuid not in review.stage
    results = {r.annotator: r for r in store.results_of_task(task.uuid)}
    assert set(results) == {PRECISE, SLOPPY}
    for option in task.options:
        result = results[option.annotator]
        assert (result.label_hash, result.branch_name) == (option.label_hash, option.branch_name)
        assert (result.project_hash, result.data_hash, result.data_title) == (PROJECT, task.data_hash, task.data_title)
    assert results[PRECISE].score > 0.9
    assert results[SLOPPY].score < 0.6
    assert results[SLOPPY].classes["Box"].fn >= 1
    assert results[SLOPPY].conflict_totals.get("missing", 0) >= 1
    assert results[SLOPPY].attributes["Quality"].correct == 0  # the classification answer is counted per path
    assert results[SLOPPY].hints
    assert task.uuid in store.cleared
    assert report.counts["results_written"] == 2
    assert report.action_requests == 1


def test_a_scored_task_is_not_fetched_again_but_is_acted_on() -> None:
    """A run that stopped after scoring but before acting: the next one only acts."""
    review, store = FakeReview(moves=False), FakeStore()
    task = review.put(make_task(1))
    scorer_of(review, store).score([task])
    assert task.uuid in review.stage
    before = dict(store.results)
    review.moves = True

    report = scorer_of(review, store).score(review.list_tasks())

    outcome = outcome_of(report, task)
    assert (outcome.status, outcome.results_written, outcome.action) == (
        TaskStatus.ALREADY_SCORED,
        0,
        ActionOutcome.DONE,
    )
    assert review.fetched == [[task.uuid]], "fetched by the first run only"
    assert review.acted[-1] == [task.uuid]
    assert task.uuid not in review.stage
    assert store.results == before


def test_scoring_the_same_label_hash_again_writes_nothing() -> None:
    """An overlapping run (or a retried message) that fetched and scored the task again adds nothing."""
    review, store = FakeReview(moves=False), LaggingStore()
    task = review.put(make_task(1))
    first = scorer_of(review, store).score([task])
    written = dict(store.results)

    again = scorer_of(review, store).score([task])

    assert outcome_of(first, task).results_written == 2
    assert len(review.fetched) == 2, "the lagging store made the second run score the task again"
    assert outcome_of(again, task).status is TaskStatus.SCORED
    assert outcome_of(again, task).results_written == 0
    assert again.counts["results_written"] == 0
    assert store.results == written


def test_a_half_written_task_gets_only_its_missing_result() -> None:
    review, store = FakeReview(moves=False), FakeStore()
    task = review.put(make_task(1))
    scorer_of(review, store).score([task])
    sloppy_key = next(k for k in store.results if k[1] == SLOPPY)
    precise_result = next(r for k, r in store.results.items() if k[1] == PRECISE)
    del store.results[sloppy_key]  # the run stopped between the two branches' writes

    report = scorer_of(review, store).score([task])

    assert outcome_of(report, task).status is TaskStatus.SCORED
    assert outcome_of(report, task).results_written == 1
    assert sloppy_key in store.results
    assert next(r for k, r in store.results.items() if k[1] == PRECISE) is precise_result


def test_a_relabelled_branch_is_scored_again() -> None:
    review, store = FakeReview(moves=False), FakeStore()
    task = review.put(make_task(1))
    scorer_of(review, store).score([task])
    relabelled = review.relabel(task, SLOPPY, "lh-new", precise_row(task.data_hash, "lh-new"))
    assert not is_fully_scored(relabelled, store.results_of_task(task.uuid))

    report = scorer_of(review, store).score([relabelled])

    outcome = outcome_of(report, relabelled)
    assert (outcome.status, outcome.results_written) == (TaskStatus.SCORED, 1)
    assert len(review.fetched) == 2
    sloppy = {r.label_hash: r for r in store.results_of_task(task.uuid) if r.annotator == SLOPPY}
    assert set(sloppy) == {f"lh-0001-{SLOPPY[:3]}", "lh-new"}
    assert sloppy["lh-new"].score > 0.9 > sloppy[f"lh-0001-{SLOPPY[:3]}"].score
    assert len(store.results) == 3


def test_a_failed_move_is_reported_and_the_next_run_only_moves() -> None:
    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(1))
    review.failing_moves.add(task.uuid)

    first = scorer_of(review, store).score([task])

    outcome = outcome_of(first, task)
    assert (outcome.status, outcome.action) == (TaskStatus.SCORED, ActionOutcome.FAILED)
    assert first.failed_actions == [outcome]
    assert outcome.error is not None
    assert task.uuid in outcome.error
    assert task.data_hash in outcome.error
    assert "scored but not moved" in outcome.error
    assert "next run moves it" in outcome.error
    assert len(store.results) == 2
    assert store.errors == {}, "a failed move is retried by the message, not recorded as a scoring error"

    review.failing_moves.clear()
    second = scorer_of(review, store).score(review.list_tasks())

    assert outcome_of(second, task).status is TaskStatus.ALREADY_SCORED
    assert outcome_of(second, task).action is ActionOutcome.DONE
    assert second.failed_actions == []
    assert len(review.fetched) == 1


def test_a_task_that_already_left_the_stage_counts_as_done() -> None:
    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(1))
    scored = scorer_of(review, store).score([task])
    assert outcome_of(scored, task).action is ActionOutcome.DONE

    again = scorer_of(review, store).score([task])  # a retried message naming the task it already moved

    assert outcome_of(again, task).action is ActionOutcome.LEFT_STAGE
    assert outcome_of(again, task).error is None
    assert again.failed_actions == []


# ---------------------------------------------------------------------------------------------- errors
def missing_truth(review: FakeReview) -> ReviewTask:
    return review.put(make_task(7), truth=False)


def empty_branch(review: FakeReview) -> ReviewTask:
    task = make_task(7)
    options = (task.options[0], ReviewOption(SLOPPY, task.options[1].branch_name, None))
    return review.put(ReviewTask(task.uuid, task.data_hash, task.data_title, options))


def unknown_class(review: FakeReview) -> ReviewTask:
    task = review.put(make_task(7))
    label_hash = str(task.options[1].label_hash)
    review.rows[(task.data_hash, label_hash)] = label_row(
        task.data_hash, label_hash, TRUTH_BOXES, "good", author=SLOPPY, feature_hash="f00"
    )
    return task


def truth_of_unknown_class(review: FakeReview) -> ReviewTask:
    task = review.put(make_task(7))
    review.truth[task.data_hash] = label_row(task.data_hash, "truth-f00", TRUTH_BOXES, "good", feature_hash="f00")
    return task


@pytest.mark.parametrize(
    ("make", "annotator", "what", "to_do"),
    [
        (missing_truth, "", "no ground-truth label row", "label and review it there"),
        (empty_branch, SLOPPY, "has no label row", "send the task back to the annotator"),
        (unknown_class, SLOPPY, "does not match the ontology", "the next run retries"),
        (truth_of_unknown_class, "", "the ground truth of data hash", "does not match the ontology"),
    ],
    ids=["missing truth", "empty branch", "scoring error", "truth the engine cannot read"],
)
def test_a_task_that_cannot_be_scored_is_recorded_and_stays(make: Any, annotator: str, what: str, to_do: str) -> None:
    review, store = FakeReview(), FakeStore()
    good = review.put(make_task(1))
    bad: ReviewTask = make(review)

    report = scorer_of(review, store).score([good, bad])

    outcome = outcome_of(report, bad)
    assert (outcome.status, outcome.results_written, outcome.action) == (TaskStatus.ERROR, 0, None)
    assert outcome.error is not None
    for part in (bad.uuid, bad.data_hash, bad.data_title, "stays in the stage", what, to_do):
        assert part in outcome.error, (part, outcome.error)
    assert store.errors[bad.uuid] == {"reason": outcome.error, "data_hash": bad.data_hash, "annotator": annotator}
    assert store.results_of_task(bad.uuid) == [], "a task is scored as a whole or not at all"
    assert bad.uuid not in review.acted_on
    assert bad.uuid in review.stage
    assert bad.uuid not in store.cleared
    # the other task of the batch is not held back
    assert outcome_of(report, good).status is TaskStatus.SCORED
    assert review.acted_on == [good.uuid]
    assert report.counts["status:error"] == 1
    assert report.summary()["errors"] == {bad.uuid: outcome.error}


def test_a_scoring_error_names_the_branch_and_the_engine_problem() -> None:
    review, store = FakeReview(), FakeStore()
    bad = unknown_class(review)

    outcome = outcome_of(scorer_of(review, store).score([bad]), bad)

    assert outcome.error is not None
    assert f"annotator {SLOPPY}'s branch {bad.options[1].branch_name!r}" in outcome.error
    assert str(bad.options[1].label_hash) in outcome.error
    assert "'f00'" in outcome.error
    assert "fix the row or the ontology" in outcome.error


def test_a_truth_the_engine_cannot_read_is_named_as_the_truth_not_as_a_branch() -> None:
    review, store = FakeReview(), FakeStore()
    bad = truth_of_unknown_class(review)

    outcome = outcome_of(scorer_of(review, store).score([bad]), bad)

    assert outcome.error is not None
    assert "label hash truth-f00" in outcome.error
    assert "'f00'" in outcome.error
    assert "'s branch" not in outcome.error  # no annotator is blamed for the ground truth
    assert store.errors[bad.uuid]["annotator"] == ""


def test_the_truth_is_read_once_a_task_and_every_branch_scores_as_if_read_on_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from benchmark_qa.scoring import labels
    from benchmark_qa.scoring.engine import score_label_rows

    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(3, annotators=(PRECISE, SLOPPY, "third@example.com")))
    truth = review.truth[task.data_hash]
    read = labels.read_label_row
    truth_reads = []

    def counting(ontology: Any, row: Any) -> Any:
        if row["label_hash"] == truth["label_hash"]:
            truth_reads.append(row)
        return read(ontology, row)

    monkeypatch.setattr(labels, "read_label_row", counting)
    report = scorer_of(review, store).score([task])

    assert outcome_of(report, task).status is TaskStatus.SCORED
    assert len(truth_reads) == 1
    results = {r.annotator: r for r in store.results_of_task(task.uuid)}
    assert len(results) == 3
    ontology = Ontology.from_dict(STRUCTURE)
    for option in task.options:  # the same score as the engine gives the two rows read afresh
        alone = score_label_rows(ontology, copy.deepcopy(truth), review.rows[(task.data_hash, str(option.label_hash))])
        assert results[option.annotator].score == pytest.approx(alone.score, abs=0, rel=0)


def test_a_task_without_branches_is_recorded() -> None:
    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(3, annotators=()))

    outcome = outcome_of(scorer_of(review, store).score([task]), task)

    assert outcome.status is TaskStatus.ERROR
    assert outcome.error is not None
    assert "no annotator branches" in outcome.error
    assert task.uuid in store.errors
    assert review.acted_on == []


def test_a_later_successful_score_clears_the_error() -> None:
    review, store = FakeReview(), FakeStore()
    task = missing_truth(review)
    scorer_of(review, store).score([task])
    assert task.uuid in store.errors

    review.truth[task.data_hash] = truth_row(task.data_hash)  # the ground truth is labelled in Encord
    report = scorer_of(review, store).score(review.list_tasks())

    assert outcome_of(report, task).status is TaskStatus.SCORED
    assert outcome_of(report, task).action is ActionOutcome.DONE
    assert store.errors == {}
    assert len(store.results_of_task(task.uuid)) == 2


def test_an_ontology_problem_is_recorded_per_task_without_fetching() -> None:
    review, store = FakeReview(moves=False), FakeStore()
    scored = review.put(make_task(1))
    scorer_of(review, store).score([scored])
    review.moves = True
    first, second = review.put(make_task(2)), review.put(make_task(3))
    review.ontology_problem = "the projects use different ontologies; give both projects the same ontology"
    review.ontology_structure = {"objects": "not an ontology"}  # never parsed: nothing is compared

    report = scorer_of(review, store).score([scored, first, second])

    assert review.fetched == [[scored.uuid]], "only the run before the problem fetched"
    for task in (first, second):
        outcome = outcome_of(report, task)
        assert outcome.status is TaskStatus.ERROR
        assert outcome.error == f"task {task.uuid} (data hash {task.data_hash}, {task.data_title}): " + str(
            review.ontology_problem
        )
        assert store.errors[task.uuid]["reason"] == outcome.error
    assert review.acted[-1] == [scored.uuid], "a task scored before the problem still moves on"
    assert scored.uuid not in review.stage
    assert {first.uuid, second.uuid} <= set(review.stage)
    assert outcome_of(report, scored).status is TaskStatus.ALREADY_SCORED


def test_an_ontology_the_engine_cannot_read_stops_the_run_naming_the_project() -> None:
    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(1))
    review.ontology_structure = {"objects": [{"name": "Box", "shape": "no-such-shape"}], "classifications": []}

    with pytest.raises(ConsensusSetupError, match=f"project {PROJECT}: its ontology cannot be scored"):
        scorer_of(review, store).score([task])
    assert store.results == {}
    assert review.acted == []


def test_a_scoring_config_that_does_not_fit_the_ontology_stops_the_run() -> None:
    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(1))
    config = ScoringConfig.model_validate({"classes": {"NoSuchClass": {"match": 0.5}}})

    with pytest.raises(ConsensusSetupError, match=f"SCORING_CONFIG does not fit project {PROJECT}"):
        scorer_of(review, store, config=config).score([task])
    assert store.results == {}


# ---------------------------------------------------------------------------------------------- feedback
def test_feedback_is_one_comment_per_annotator_and_never_repeated_for_a_label_hash() -> None:
    review, store = FakeReview(moves=False), FakeStore()
    task = review.put(make_task(1))

    first = scorer_of(review, store, comment_feedback=True).score([task])
    second = scorer_of(review, store, comment_feedback=True).score(review.list_tasks())

    assert first.feedback_posted == 2
    assert second.feedback_posted == 0
    assert [uuid for uuid, _ in review.comments] == [task.uuid, task.uuid]
    texts = [text for _, text in review.comments]
    assert sum(1 for t in texts if PRECISE in t) == sum(1 for t in texts if SLOPPY in t) == 1
    assert store.feedback == {(task.uuid, o.annotator, str(o.label_hash)) for o in task.options}

    relabelled = review.relabel(task, SLOPPY, "lh-new", precise_row(task.data_hash, "lh-new"))
    third = scorer_of(review, store, comment_feedback=True).score([relabelled])

    assert third.feedback_posted == 1
    assert SLOPPY in review.comments[-1][1]
    assert (task.uuid, SLOPPY, "lh-new") in store.feedback


def test_no_feedback_without_comment_feedback() -> None:
    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(1))

    report = scorer_of(review, store).score([task])

    assert review.comments == []
    assert store.feedback == set()
    assert report.feedback_posted == 0


def test_a_failing_comment_does_not_stop_the_move_and_is_retried_later() -> None:
    review, store = FakeReview(moves=False), FakeStore()
    task = review.put(make_task(1))
    review.failing_comments.add(SLOPPY)

    first = scorer_of(review, store, comment_feedback=True).score([task])

    assert first.feedback_posted == 1
    assert len(first.feedback_failed) == 1
    assert task.uuid in first.feedback_failed[0]
    assert SLOPPY in first.feedback_failed[0]
    assert "ConnectionError" in first.feedback_failed[0]
    assert first.counts["feedback_failed"] == 1
    assert review.acted_on == [task.uuid], "acted on despite the failed comment"
    assert (task.uuid, SLOPPY, f"lh-0001-{SLOPPY[:3]}") not in store.feedback

    review.failing_comments.clear()
    review.moves = True
    second = scorer_of(review, store, comment_feedback=True).score(review.list_tasks())

    assert second.feedback_posted == 1
    assert [SLOPPY in text for _, text in review.comments] == [False, True]
    assert outcome_of(second, task).action is ActionOutcome.DONE


def test_a_failing_comment_does_not_keep_the_task_in_the_stage() -> None:
    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(1))
    review.failing_comments.update({PRECISE, SLOPPY})

    report = scorer_of(review, store, comment_feedback=True).score([task])

    assert outcome_of(report, task).action is ActionOutcome.DONE
    assert task.uuid not in review.stage
    assert len(report.feedback_failed) == 2
    assert store.feedback == set()


def test_an_already_scored_task_gets_no_feedback_for_a_replaced_label_hash() -> None:
    """Feedback for the branch as it was (its comment failed, then it was re-labelled) is never posted late."""
    review, store = FakeReview(moves=False), FakeStore()
    task = review.put(make_task(1))
    review.failing_comments.add(SLOPPY)
    scorer_of(review, store, comment_feedback=True).score([task])
    review.failing_comments.clear()
    relabelled = review.relabel(task, SLOPPY, "lh-new", precise_row(task.data_hash, "lh-new"))
    scorer_of(review, store, comment_feedback=True).score([relabelled])
    posted = len(review.comments)

    report = scorer_of(review, store, comment_feedback=True).score([relabelled])

    assert outcome_of(report, relabelled).status is TaskStatus.ALREADY_SCORED
    assert report.feedback_posted == 0
    assert len(review.comments) == posted == 2
    assert (task.uuid, SLOPPY, f"lh-0001-{SLOPPY[:3]}") not in store.feedback


def truth_values(row: dict[str, Any]) -> list[str]:
    """Everything of a truth row an annotator must not learn: hashes, coordinates (0-1 and in pixels), answers."""
    values = [row["label_hash"]]
    for unit in row["data_units"].values():
        for obj in unit["labels"]["objects"]:
            values.append(obj["objectHash"])
            box = obj["boundingBox"]
            for key, size in (("x", unit["width"]), ("y", unit["height"]), ("w", unit["width"]), ("h", unit["height"])):
                value = box[key]
                values += [repr(value), f"{value:.3f}", f"{value:.2f}", f"{value * size:.0f}px", f"{value * size:.1f}"]
    for answer in row["classification_answers"].values():
        values.append(answer["classificationHash"])
        values += [f"'{a['name']}'" for c in answer["classifications"] for a in c["answers"]]
    return values


def test_feedback_never_contains_the_ground_truth() -> None:
    review, store = FakeReview(), FakeStore()
    task = review.put(make_task(1))
    truth = review.truth[task.data_hash]

    scorer_of(review, store, comment_feedback=True).score([task])

    texts = {text.split(":", 1)[0]: text for _, text in review.comments}
    sloppy = texts[f"benchmark-qa feedback for {SLOPPY}"]
    assert "To improve:" in sloppy, "the sloppy branch has hints, so the check below reads them"
    for result in store.results.values():
        text = feedback_text(result)
        assert text in texts.values()
        body = text.replace(f"score {result.score:.2f}", "score")  # the annotator's own score is theirs
        leaked = [value for value in truth_values(truth) if value in body]
        assert leaked == [], (leaked, text)
        assert task.data_hash not in text
        assert truth["label_hash"] not in text


def test_feedback_text_names_the_score_and_the_hints() -> None:
    result = AnnotatorResult(
        project_hash=PROJECT,
        task_uuid="t",
        data_hash="d",
        annotator=SLOPPY,
        branch_name="b",
        label_hash="l",
        score=0.4567,
        interval_low=0.1,
        interval_high=0.8,
        n=6,
        hints=["missed Box on 1 frame", "re-check 'Quality' (1 frame)"],
    )

    assert feedback_text(result) == (
        f"benchmark-qa feedback for {SLOPPY}: score 0.46 over 6 checks.\n"
        "To improve: missed Box on 1 frame; re-check 'Quality' (1 frame)."
    )
    assert feedback_text(result.model_copy(update={"hints": []})).endswith("\nNo disagreements found.")


# ---------------------------------------------------------------------------------------------- fan-out
def test_score_refs_scores_the_tasks_still_in_the_stage() -> None:
    review, store = FakeReview(), FakeStore()
    first, second, other = (review.put(make_task(n)) for n in (1, 2, 3))
    refs = [TaskRef(first.uuid, first.data_hash), TaskRef(second.uuid, second.data_hash), TaskRef("gone", "dh-gone")]

    report = scorer_of(review, store).score_refs(refs)

    statuses = {t.task_uuid: t.status for t in report.tasks}
    assert statuses == {first.uuid: TaskStatus.SCORED, second.uuid: TaskStatus.SCORED, "gone": TaskStatus.LEFT_STAGE}
    gone = outcome_of(report, ReviewTask("gone", "dh-gone", "", ()))
    assert (gone.data_hash, gone.results_written, gone.action) == ("dh-gone", 0, None)
    assert review.fetched == [[first.uuid, second.uuid]]
    assert list(review.stage) == [other.uuid]
    assert store.results_of_task(other.uuid) == []


def stage_of(review: FakeReview, tasks: int) -> list[ReviewTask]:
    return [review.put(make_task(n)) for n in range(tasks)]


def test_run_schedule_scores_a_small_stage_inline_in_batches() -> None:
    review, store, queue = FakeReview(), FakeStore(), FakeQueue()
    tasks = stage_of(review, 5)

    report = run_schedule(review, scorer_of(review, store), queue, run_id="run-1", batch_size=2, inline_max_tasks=5)

    assert (report.mode, report.stage_tasks, report.messages_sent) == ("inline", 5, 0)
    assert queue.sent == []
    assert review.fetched == [[t.uuid for t in tasks[:2]], [t.uuid for t in tasks[2:4]], [tasks[4].uuid]]
    assert report.scored.counts["status:scored"] == 5
    assert report.scored.counts["results_written"] == 10
    assert report.scored.action_requests == 3
    assert review.stage == {}
    summary = report.summary()
    assert (summary["run_id"], summary["mode"], summary["stage_tasks"]) == ("run-1", "inline", 5)
    assert summary["counts"]["action:done"] == 5


def test_run_schedule_without_a_queue_scores_inline_whatever_the_size() -> None:
    review, store = FakeReview(), FakeStore()
    stage_of(review, 4)

    report = run_schedule(review, scorer_of(review, store), None, run_id="r", batch_size=3, inline_max_tasks=0)

    assert report.mode == "inline"
    assert [len(f) for f in review.fetched] == [3, 1]
    assert len(store.results) == 8


def test_run_schedule_fans_a_large_stage_out() -> None:
    review, store, queue = FakeReview(), FakeStore(), FakeQueue()
    tasks = stage_of(review, 5)

    report = run_schedule(review, scorer_of(review, store), queue, run_id="run-2", batch_size=2, inline_max_tasks=4)

    assert (report.mode, report.stage_tasks, report.messages_sent) == ("fan_out", 5, 3)
    assert [m.run_id for m in queue.sent] == ["run-2"] * 3
    assert [m.refs() for m in queue.sent] == [
        [TaskRef(t.uuid, t.data_hash) for t in tasks[i : i + 2]] for i in range(0, 5, 2)
    ]
    assert review.fetched == []
    assert review.acted == []
    assert store.results == {}
    assert report.scored.tasks == []


def test_run_schedule_sends_nothing_while_an_earlier_fan_out_is_in_flight() -> None:
    review, store, queue = FakeReview(), FakeStore(), FakeQueue(backlog=1)
    stage_of(review, 5)

    report = run_schedule(review, scorer_of(review, store), queue, run_id="r", batch_size=2, inline_max_tasks=4)

    assert (report.mode, report.stage_tasks, report.messages_sent) == ("busy", 5, 0)
    assert queue.sent == []
    assert review.fetched == []
    assert review.acted == []


def test_a_fanned_out_message_round_trips_through_json() -> None:
    review, store, queue = FakeReview(), FakeStore(), FakeQueue()
    tasks = stage_of(review, 3)
    run_schedule(review, scorer_of(review, store), queue, run_id="r", batch_size=3, inline_max_tasks=0)
    (message,) = queue.sent

    body = message.model_dump_json()
    report = scorer_of(review, store).score_refs(ScoreMessage.model_validate_json(body).refs())

    assert [t.task_uuid for t in report.tasks] == [t.uuid for t in tasks]
    assert report.counts["status:scored"] == 3


@pytest.mark.parametrize(
    "body",
    [
        {"run_id": "r", "tasks": []},
        {"run_id": "r"},
        {"tasks": [{"task_uuid": "", "data_hash": "d"}]},
        {"tasks": [{"task_uuid": "t"}]},
        {"tasks": "t"},
    ],
    ids=["no tasks", "tasks missing", "empty task uuid", "no data hash", "not a list"],
)
def test_a_score_message_needs_tasks_with_uuid_and_data_hash(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ScoreMessage.model_validate(body)


def test_a_score_message_without_run_id_is_read() -> None:
    message = ScoreMessage.model_validate({"tasks": [{"task_uuid": "t", "data_hash": "d"}]})

    assert message.run_id == ""
    assert message.refs() == [TaskRef("t", "d")]


# ---------------------------------------------------------------------------------------------- reports
def test_batch_report_summary_counts_and_caps_the_errors() -> None:
    errors = [TaskOutcome(f"e{i}", f"d{i}", TaskStatus.ERROR, error=f"reason {i}") for i in range(7)]
    moved = [
        TaskOutcome(f"s{i}", f"d{i}", TaskStatus.SCORED, results_written=2, action=ActionOutcome.DONE) for i in range(3)
    ]
    failed = TaskOutcome("f", "df", TaskStatus.ALREADY_SCORED, action=ActionOutcome.FAILED, error="not moved")
    report = BatchReport(tasks=[*errors, *moved], action_requests=2, feedback_posted=4)
    report.extend(BatchReport(tasks=[failed], action_requests=1, feedback_failed=["x"]))

    summary = report.summary()

    assert summary["counts"] == {
        "tasks": 11,
        "status:error": 7,
        "status:scored": 3,
        "status:already_scored": 1,
        "action:done": 3,
        "action:failed": 1,
        "results_written": 6,
        "feedback_posted": 4,
        "feedback_failed": 1,
    }
    assert summary["action_requests"] == 3
    assert summary["errors_total"] == 8
    assert len(summary["errors"]) == ERRORS_IN_SUMMARY < 8
    assert summary["errors"] == {f"e{i}": f"reason {i}" for i in range(ERRORS_IN_SUMMARY)}
    assert report.failed_actions == [failed]


def test_batch_report_summary_of_a_clean_batch() -> None:
    summary = BatchReport().summary()

    assert summary["errors_total"] == 0
    assert summary["errors"] == {}
    assert summary["counts"] == {"tasks": 0, "results_written": 0, "feedback_posted": 0, "feedback_failed": 0}


# ---------------------------------------------------------------------------------------------- is_fully_scored
def result(task: ReviewTask, annotator: str, label_hash: str) -> AnnotatorResult:
    return AnnotatorResult(
        project_hash=PROJECT,
        task_uuid=task.uuid,
        data_hash=task.data_hash,
        annotator=annotator,
        branch_name="b",
        label_hash=label_hash,
        score=1.0,
        interval_low=0.5,
        interval_high=1.0,
        n=1,
    )


def test_is_fully_scored() -> None:
    task = make_task(1)
    precise, sloppy = (str(o.label_hash) for o in task.options)
    both = [result(task, PRECISE, precise), result(task, SLOPPY, sloppy)]

    assert is_fully_scored(task, both)
    assert is_fully_scored(task, [*both, result(task, SLOPPY, "an-older-hash")])
    assert not is_fully_scored(task, both[:1]), "one branch has no result"
    assert not is_fully_scored(task, [both[0], result(task, SLOPPY, "an-older-hash")]), "re-labelled"
    assert not is_fully_scored(task, [both[0], result(task, "someone-else", sloppy)]), "another annotator's result"
    assert not is_fully_scored(task, [])
    no_branches = ReviewTask(task.uuid, task.data_hash, task.data_title, ())
    assert not is_fully_scored(no_branches, both), "a task without branches is never done"
    empty = ReviewTask(task.uuid, task.data_hash, task.data_title, (task.options[0], ReviewOption(SLOPPY, "b", None)))
    assert not is_fully_scored(empty, [both[0], result(task, SLOPPY, "None")]), "an empty branch is never done"
