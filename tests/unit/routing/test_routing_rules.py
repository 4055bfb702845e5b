"""The pure parts of routing: the decision, the listing plan, workflow checks and batch application."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from benchmark_qa.encord.routing import (
    Listing,
    Outcome,
    RoutedTask,
    RoutingReport,
    RoutingSetupError,
    RoutingTarget,
    StageView,
    apply_in_batches,
    batched,
    decide,
    listing_plan,
    resolve_stage,
)

TARGET = RoutingTarget(project_hash="p", benchmark_dataset_hash="bench")
STAGES = [
    StageView("Benchmark Task?", "s1", "AGENT", {"YES": "y", "NO": "n"}),
    StageView("Annotate 1", "s2", "ANNOTATION"),
    StageView("Other agent", "s3", "AGENT", {"GO": "g"}),
]


def test_decide_benchmark_yes_everything_else_no() -> None:
    assert decide("bench", TARGET) == "YES"
    assert decide("prod", TARGET) == "NO"
    assert decide("", TARGET) == "NO"


def test_batched() -> None:
    assert batched(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert batched([], 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        batched([1], 0)


def test_listing_plan_is_benchmark_then_bounded_complement() -> None:
    others = [f"d{i}" for i in range(205)]
    plan = listing_plan(TARGET, ["bench", *others, "d0"], max_hashes=100)
    assert plan[0] == Listing("YES", ("bench",))
    assert [len(p.dataset_hashes) for p in plan[1:]] == [100, 100, 5]
    assert {p.pathway for p in plan[1:]} == {"NO"}
    assert [h for p in plan[1:] for h in p.dataset_hashes] == others  # each once, none missed


def test_listing_plan_with_only_the_benchmark_dataset() -> None:
    assert listing_plan(TARGET, ["bench"]) == [Listing("YES", ("bench",))]


def test_listing_plan_refuses_an_unattached_benchmark_dataset() -> None:
    with pytest.raises(RoutingSetupError, match=r"benchmark dataset bench is not attached.*\['a', 'b'\]"):
        listing_plan(TARGET, ["a", "b"])


def test_resolve_stage_by_name_or_uuid() -> None:
    assert resolve_stage(STAGES, TARGET).uuid == "s1"
    assert resolve_stage(STAGES, RoutingTarget("p", "bench", stage="s1")).title == "Benchmark Task?"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (RoutingTarget("p", "b", stage="Nope"), r"no workflow stage 'Nope'.*\['Benchmark Task\?', 'Other agent'\]"),
        (RoutingTarget("p", "b", stage="Annotate 1"), "ANNOTATION stage, not an agent stage"),
        (RoutingTarget("p", "b", no_pathway="MAYBE"), r"no pathway 'MAYBE'; its pathways are \['NO', 'YES'\]"),
        (RoutingTarget("p", "b", yes_pathway="NO"), "both 'NO'"),
    ],
)
def test_resolve_stage_errors_name_what_exists(target: RoutingTarget, message: str) -> None:
    with pytest.raises(RoutingSetupError, match=message):
        resolve_stage(STAGES, target)


class Rejected(Exception):
    """Stands in for the SDK's InvalidArgumentsError."""


class Fake:
    """An Encord stage: a set of task ids; a request naming a task that left is rejected whole."""

    def __init__(self, items: Sequence[int], gone: set[int], failing: bool = False) -> None:
        self.inside = set(items) - gone
        self.failing = failing
        self.batches: list[list[int]] = []
        self.singles: list[int] = []

    def act_batch(self, batch: Sequence[int]) -> None:
        self.batches.append(list(batch))
        if self.failing:
            raise ConnectionError("503 after retries")
        if not set(batch) <= self.inside:
            raise Rejected
        self.inside -= set(batch)

    def act_one(self, item: int) -> None:
        self.singles.append(item)
        if item not in self.inside:
            raise Rejected
        self.inside.discard(item)


def _apply(fake: Fake, items: Sequence[int], size: int) -> tuple[dict[int, Outcome], int]:
    results, requests = apply_in_batches(
        items,
        batch_size=size,
        act_batch=fake.act_batch,
        act_one=fake.act_one,
        is_rejection=lambda e: isinstance(e, Rejected),
    )
    return {r.item: r.outcome for r in results}, requests


def test_batches_without_trouble() -> None:
    fake = Fake(range(25), gone=set())
    outcomes, requests = _apply(fake, list(range(25)), 10)
    assert set(outcomes.values()) == {Outcome.ROUTED}
    assert [len(b) for b in fake.batches] == [10, 10, 5]
    assert requests == 3
    assert fake.singles == []


def test_rejected_batch_is_replayed_per_task() -> None:
    fake = Fake(range(25), gone={13})
    outcomes, requests = _apply(fake, list(range(25)), 10)
    assert outcomes[13] is Outcome.MOVED_ELSEWHERE
    assert [i for i, o in outcomes.items() if o is not Outcome.ROUTED] == [13]
    assert fake.singles == list(range(10, 20))  # only the rejected batch
    assert requests == 3 + 10
    assert fake.inside == set()


def test_other_failures_stop_and_leave_the_rest() -> None:
    fake = Fake(range(25), gone=set(), failing=True)
    results, requests = apply_in_batches(
        list(range(25)),
        batch_size=10,
        act_batch=fake.act_batch,
        act_one=fake.act_one,
        is_rejection=lambda e: isinstance(e, Rejected),
    )
    assert requests == 1
    assert {r.outcome for r in results} == {Outcome.FAILED}
    assert len(results) == 25
    assert "ConnectionError" in (results[0].error or "")
    assert results[-1].error == "not attempted: an earlier batch failed"


def test_report_counts() -> None:
    report = RoutingReport(run_id="r", trigger="t", dry_run=False, started_at="now")
    report.tasks = [
        RoutedTask("a", "d1", "x", "YES", Outcome.ROUTED),
        RoutedTask("b", "d2", "y", "NO", Outcome.MOVED_ELSEWHERE),
        RoutedTask("c", "d3", "z", "NO", Outcome.ROUTED),
    ]
    assert report.counts == {
        "decision:YES": 1,
        "decision:NO": 2,
        "outcome:routed": 2,
        "outcome:moved_elsewhere": 1,
        "tasks": 3,
    }
