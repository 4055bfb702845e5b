"""Workflow actions in bundles (benchmark_qa.encord.actions): batches, refusals, lost answers, other failures."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from benchmark_qa.encord.actions import ActionOutcome, Applied, apply_in_batches, batched


class Refused(Exception):
    """Encord's 400 for an action naming a task that is not in the stage."""


class Stage:
    """An Encord stage: a set of task ids. A request naming a task that left is refused whole; `lose_answers`
    applies the next N batch requests and then loses their answers, so the SDK's retry is refused."""

    def __init__(self, items: Sequence[int], *, gone: set[int] = frozenset(), failing: bool = False) -> None:  # type: ignore[assignment]
        self.inside = set(items) - set(gone)
        self.failing = failing
        self.lose_answers = 0
        self.batches: list[list[int]] = []
        self.singles: list[int] = []
        self.listings = 0
        self.leave_during_listing: set[int] = set()

    def act_batch(self, batch: Sequence[int]) -> None:
        self.batches.append(list(batch))
        if self.failing:
            raise ConnectionError("503 after retries")
        if not set(batch) <= self.inside:
            raise Refused
        self.inside -= set(batch)
        if self.lose_answers:
            self.lose_answers -= 1
            self.batches.append(list(batch))  # the SDK retries the request it never heard back from
            raise Refused

    def act_one(self, item: int) -> None:
        self.singles.append(item)
        if item not in self.inside:
            raise Refused
        self.inside.discard(item)

    def still_in_stage(self, batch: Sequence[int]) -> list[int]:
        self.listings += 1
        there = [i for i in batch if i in self.inside]
        self.inside -= self.leave_during_listing  # someone moves tasks between our listing and our request
        return there


def run(
    stage: Stage,
    items: Sequence[int],
    size: int,
    still_in_stage: Callable[[Sequence[int]], Sequence[int]] | None = None,
    arrived: Callable[[Sequence[int]], Sequence[int]] | None = None,
) -> tuple[list[Applied[int]], int]:
    return apply_in_batches(
        items,
        batch_size=size,
        act_batch=stage.act_batch,
        act_one=stage.act_one,
        still_in_stage=still_in_stage or stage.still_in_stage,
        is_refused=lambda e: isinstance(e, Refused),
        arrived=arrived,
    )


def apply(stage: Stage, items: Sequence[int], size: int) -> tuple[dict[int, ActionOutcome], int]:
    results, requests = run(stage, items, size)
    assert len(results) == len(items)
    return {r.item: r.outcome for r in results}, requests


def test_batched() -> None:
    assert batched(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert batched([], 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        batched([1], 0)


def test_batches_without_trouble() -> None:
    stage = Stage(range(25))
    outcomes, requests = apply(stage, list(range(25)), 10)
    assert set(outcomes.values()) == {ActionOutcome.DONE}
    assert [len(b) for b in stage.batches] == [10, 10, 5]
    assert requests == 3
    assert stage.listings == 0


def test_a_refused_batch_costs_one_listing_and_one_request_for_the_rest() -> None:
    stage = Stage(range(25), gone={13})
    outcomes, requests = apply(stage, list(range(25)), 10)
    assert outcomes[13] is ActionOutcome.LEFT_STAGE
    assert [i for i, o in outcomes.items() if o is not ActionOutcome.DONE] == [13]
    assert stage.singles == []
    assert stage.listings == 1
    assert stage.batches[2] == [10, 11, 12, 14, 15, 16, 17, 18, 19]
    assert requests == 3 + 1
    assert stage.inside == set()


def test_a_lost_answer_needs_no_further_action() -> None:
    stage = Stage(range(20))
    stage.lose_answers = 1
    outcomes, requests = apply(stage, list(range(20)), 10)
    assert [outcomes[i] for i in range(10)] == [ActionOutcome.LEFT_STAGE] * 10  # our own first attempt moved them
    assert [outcomes[i] for i in range(10, 20)] == [ActionOutcome.DONE] * 10
    assert requests == 2
    assert stage.listings == 1
    assert stage.inside == set()


def test_a_stage_that_changes_again_falls_back_to_one_request_per_task() -> None:
    stage = Stage(range(10), gone={3})
    stage.leave_during_listing = {5}
    outcomes, requests = apply(stage, list(range(10)), 10)
    assert outcomes[3] is ActionOutcome.LEFT_STAGE
    assert outcomes[5] is ActionOutcome.LEFT_STAGE
    assert {i for i, o in outcomes.items() if o is ActionOutcome.DONE} == set(range(10)) - {3, 5}
    assert stage.singles == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert requests == 1 + 1 + 9
    assert stage.inside == set()


def test_a_failed_listing_falls_back_to_one_request_per_task() -> None:
    stage = Stage(range(5), gone={2})

    def broken(batch: Sequence[int]) -> list[int]:
        raise ConnectionError("listing failed")

    results, requests = run(stage, list(range(5)), 5, still_in_stage=broken)
    outcomes = {r.item: r.outcome for r in results}
    assert outcomes[2] is ActionOutcome.LEFT_STAGE
    assert sum(o is ActionOutcome.DONE for o in outcomes.values()) == 4
    assert requests == 1 + 1 + 5  # the whole batch again, refused, then each task


def test_other_failures_stop_and_leave_the_rest() -> None:
    stage = Stage(range(25), failing=True)
    results, requests = run(stage, list(range(25)), 10)
    assert requests == 1
    assert {r.outcome for r in results} == {ActionOutcome.FAILED}
    assert len(results) == 25
    assert "ConnectionError" in (results[0].error or "")
    assert results[-1].error == "not attempted: an earlier batch failed"


class LostAnswerStage(Stage):
    """Encord applies the first batch, then the SDK gives up on its answer (a 502 after its retries): the
    request failed without a refusal, yet the tasks moved (the 10,000-event soak audited 10 such as failed)."""

    def act_batch(self, batch: Sequence[int]) -> None:
        self.batches.append(list(batch))
        moved = set(batch) & self.inside if len(self.batches) == 1 else set()
        self.inside -= moved
        raise ConnectionError("502 after retries")


@pytest.mark.parametrize("ours_arrived", [True, False])
def test_a_failed_batch_encord_applied_is_recorded_by_where_its_tasks_are(ours_arrived: bool) -> None:
    stage = LostAnswerStage(range(25))
    results, requests = run(stage, list(range(25)), 10, arrived=list if ours_arrived else None)
    outcomes = {r.item: r.outcome for r in results}
    moved = ActionOutcome.DONE if ours_arrived else ActionOutcome.LEFT_STAGE
    assert {outcomes[i] for i in range(10)} == {moved}, "gone from the stage: not FAILED"
    assert {outcomes[i] for i in range(10, 25)} == {ActionOutcome.FAILED}, "not attempted, still in the stage"
    assert requests == 1
    assert stage.listings == 1


def test_a_failed_batch_whose_tasks_stay_is_failed_and_a_failed_listing_keeps_it_failed() -> None:
    stage = Stage(range(5), failing=True)

    def unlisted(batch: Sequence[int]) -> list[int]:
        raise ConnectionError("listing failed too")

    results, _ = run(stage, list(range(5)), 5, still_in_stage=unlisted, arrived=list)
    assert {r.outcome for r in results} == {ActionOutcome.FAILED}
    assert all("502" not in (r.error or "") and "503" in (r.error or "") for r in results)
