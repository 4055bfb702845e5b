"""Contention costs a retry of one task, not a run (issue 11: one TransactionConflict aborted a whole scoring run
or SQS message; 3 concurrent runs all failed). The real ScoresRepository over in-process moto, with DynamoDB's
TransactionConflict cancellations injected where two workers adding to one annotator's aggregates would get them."""

from __future__ import annotations

from benchmark_qa.consensus_scoring import ConsensusScorer, TaskStatus
from benchmark_qa.encord.actions import ActionOutcome
from benchmark_qa.store.scores import CONFLICT_ATTEMPTS, ScoresRepository

from tests.unit.consensus_scoring.test_consensus_scorer import PROJECT, FakeReview, make_task, outcome_of
from tests.unit.store.test_ledger import conflicting, repository  # noqa: F401 (the fixture)


def test_transient_conflicts_are_retried_and_every_task_is_scored(
    repository: ScoresRepository,  # noqa: F811
) -> None:
    store = ScoresRepository(repository._table, conflict_backoff=0)
    conflicting(store, range(1, 4))  # three runs' worth of collisions on the first results
    review = FakeReview()
    tasks = [review.put(make_task(n)) for n in range(3)]

    report = ConsensusScorer(review, store, project_hash=PROJECT).score(tasks)

    assert {outcome_of(report, t).status for t in tasks} == {TaskStatus.SCORED}
    assert report.counts["results_written"] == 6
    assert sorted(a.tasks for a in store.aggregates()) == [3, 3], "each result counted once"


def test_a_task_that_keeps_conflicting_is_left_for_a_retry_and_the_others_finish(
    repository: ScoresRepository,  # noqa: F811
) -> None:
    store = ScoresRepository(repository._table, conflict_backoff=0)
    # task 0's two results take calls 1 and 2; task 1's first result conflicts on every attempt
    conflicting(store, range(3, 3 + CONFLICT_ATTEMPTS))
    review = FakeReview()
    tasks = [review.put(make_task(n)) for n in range(3)]

    report = ConsensusScorer(review, store, project_hash=PROJECT).score(tasks)

    contended = outcome_of(report, tasks[1])
    assert contended.status is TaskStatus.CONTENDED
    assert contended.action is None
    assert tasks[1].uuid in review.stage, "not moved: it is scored again"
    assert "conflicted with other writers" in (contended.error or "")
    assert report.contended == [contended]
    for task in (tasks[0], tasks[2]):
        assert (outcome_of(report, task).status, outcome_of(report, task).action) == (
            TaskStatus.SCORED,
            ActionOutcome.DONE,
        )

    again = ConsensusScorer(review, store, project_hash=PROJECT).score([tasks[1]])

    assert outcome_of(again, tasks[1]).status is TaskStatus.SCORED
    assert {a.tasks for a in store.aggregates()} == {3}, "each result counted once"
    assert store.errors() == []
