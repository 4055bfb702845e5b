"""The pure parts of routing: the decision, the listing plan, and workflow checks."""

from __future__ import annotations

import pytest
from benchmark_qa.encord.actions import StageView
from benchmark_qa.encord.routing import (
    Listing,
    Outcome,
    RoutedTask,
    RoutingReport,
    RoutingSetupError,
    RoutingTarget,
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


@pytest.mark.parametrize("agent_first", [True, False])
def test_resolve_stage_prefers_the_agent_stage_among_stages_sharing_its_title(agent_first: bool) -> None:
    agent = StageView("Benchmark Task?", "a", "AGENT", {"YES": "y", "NO": "n"})
    review = StageView("Benchmark Task?", "r", "REVIEW")
    stages = [agent, review] if agent_first else [review, agent]
    assert resolve_stage(stages, TARGET) == agent
    with pytest.raises(RoutingSetupError, match="REVIEW stage, not an agent stage"):
        resolve_stage(stages, RoutingTarget("p", "bench", stage="r"))


def test_two_agent_stages_sharing_the_title_ask_for_the_uuid() -> None:
    stages = [*STAGES, StageView("Benchmark Task?", "s9", "AGENT", {"YES": "y", "NO": "n"})]
    with pytest.raises(RoutingSetupError, match=r"2 AGENT stages are titled 'Benchmark Task\?'.*uuid.*AGENT_STAGE"):
        resolve_stage(stages, TARGET)
    assert resolve_stage(stages, RoutingTarget("p", "bench", stage="s9")).uuid == "s9"
