"""ConsensusScorer with the quality checks on (benchmark_qa.consensus_scoring): the ground-truth audit's flags, and
with EXCLUDE_SUSPECT_TRUTH the branches scored again without the flagged objects, from rows handed over as JSON
(the real stage's form) or as dicts. Without exclusion the scorer lets a task's rows go before the checks run."""

from __future__ import annotations

from typing import Any

import pytest
from benchmark_qa.agreement_report import TaskAgreement
from benchmark_qa.annotator_consensus import build_consensus
from benchmark_qa.encord.consensus import ReviewOption, ReviewTask
from benchmark_qa.ground_truth_audit import audit
from benchmark_qa.scoring import Ontology
from benchmark_qa.store.quality import FlagRecord, Verdict
from benchmark_qa.store.scores import AnnotatorResult
from benchmark_qa.task_quality import score_without
from benchmark_qa_local.simulation import demo_ontology
from benchmark_qa_local.simulation.planted_errors import planted_task

from .test_consensus_scorer import FakeReview, FakeStore, scorer_of

STRUCTURE = demo_ontology()
ONTOLOGY = Ontology.from_dict(STRUCTURE)
DATA_HASH = "dh"


class FakeQuality:
    """QualityRepository in memory: each new flag gets the verdict `status` (as if a person had recorded it)."""

    def __init__(self, status: Verdict = "open") -> None:
        self.status = status
        self.flags: dict[str, FlagRecord] = {}
        self.agreements: dict[str, TaskAgreement] = {}

    def add_flag(self, record: FlagRecord) -> bool:
        if record.flag.flag_id in self.flags:
            return False
        self.flags[record.flag.flag_id] = record.model_copy(update={"status": self.status})
        return True

    def flags_of(self, data_hash: str) -> list[FlagRecord]:
        return [r for r in self.flags.values() if r.flag.data_hash == data_hash]

    def put_agreement(self, task_uuid: str, agreement: TaskAgreement, scored_at: str) -> None:
        self.agreements[task_uuid] = agreement

    def pending_rescores(self) -> list[str]:
        return []

    def rescored(self, task_uuid: str) -> None:
        pass


def disputed_truth() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A truth with a planted wrong class (the audit flags it) and every demo annotator's branch of the scene."""
    task = planted_task(DATA_HASH, "excluded", "wrong_class", 11)
    assert task is not None
    return task[0], task[1]


def review_of(
    truth: dict[str, Any], branches: dict[str, dict[str, Any]], *, as_json: bool
) -> tuple[FakeReview, ReviewTask]:
    review = FakeReview()
    review.ontology_structure = STRUCTURE
    review.as_json = as_json
    options = tuple(ReviewOption(a, f"consensus-{i}", f"lh-{i}") for i, a in enumerate(branches))
    task = ReviewTask("task-0001", DATA_HASH, "scene.jpg", options)
    review.stage[task.uuid] = task
    review.truth[DATA_HASH] = truth
    for option, row in zip(options, branches.values(), strict=True):
        review.rows[(DATA_HASH, str(option.label_hash))] = row
    return review, task


def scored(*, exclude: bool, as_json: bool, status: Verdict = "open") -> tuple[dict[str, AnnotatorResult], FakeReview]:
    truth, branches = disputed_truth()
    review, task = review_of(truth, branches, as_json=as_json)
    store = FakeStore()
    scorer_of(review, store, quality=FakeQuality(status), exclude_suspect_truth=exclude).score([task])
    return {r.annotator: r for r in store.results_of_task(task.uuid)}, review


@pytest.mark.parametrize("as_json", [True, False], ids=["rows as JSON", "rows as dicts"])
def test_flagged_truth_objects_are_left_out_of_every_branch_score(as_json: bool) -> None:
    truth, branches = disputed_truth()
    flags = audit(build_consensus(ONTOLOGY, branches, truth), DATA_HASH)
    assert [f.kind for f in flags] == ["class_disputed"]
    expected = score_without(ONTOLOGY, truth, branches, flags)

    results, _ = scored(exclude=True, as_json=as_json)
    whole, _ = scored(exclude=False, as_json=as_json)

    assert set(results) == set(branches)
    for annotator, result in results.items():
        assert result.excluded_flags == [flags[0].flag_id]
        assert result.score == expected[annotator].score
        assert whole[annotator].excluded_flags == []
    precise = "precise@benchmark-qa.local"
    assert results[precise].score > whole[precise].score  # the planted class no longer counts against them


def test_a_verdict_that_the_truth_is_right_keeps_its_objects_in() -> None:
    results, _ = scored(exclude=True, as_json=True, status="truth_right")
    whole, _ = scored(exclude=False, as_json=True)
    assert {a: (r.score, r.excluded_flags) for a, r in results.items()} == {a: (r.score, []) for a, r in whole.items()}


@pytest.mark.parametrize("exclude", [False, True], ids=["exclusion off", "exclusion on"])
def test_rows_are_let_go_before_the_checks_unless_exclusion_scores_them_again(exclude: bool) -> None:
    """A long video's four rows are ~270 MiB of JSON at 10,000 frames; the checks read the parsed rows. Only
    exclusion needs the rows again, so only then are they kept."""
    results, review = scored(exclude=exclude, as_json=True)
    [labels] = review.handed
    assert results, "the task was scored"
    if exclude:
        assert isinstance(labels.truth, bytes)
        assert labels.branches
    else:
        assert labels.truth is None
        assert labels.branches == {}
