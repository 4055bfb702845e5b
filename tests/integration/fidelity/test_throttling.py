"""Throttling as Encord answers it (a 429 with Retry-After, the v1 RATE_LIMIT_ERROR envelope at HTTP 200), with
every wait bounded by the time the invocation has left: what does not fit is recorded and left for the next run.

The clients are built as the Lambdas build theirs (SDK status and read retries off, benchmark_qa.encord.client);
the budget's clock is a fixed amount of time left, so nothing here depends on the machine's speed."""

from __future__ import annotations

import pytest
from benchmark_qa.encord.consensus import ConsensusReview, ConsensusTarget
from benchmark_qa.encord.routing import Outcome, Router, RoutingTarget, run_routing
from benchmark_qa.store.routing import RoutingRepository
from benchmark_qa_local.encord_double import EncordDouble, FaultKind, FaultRule
from benchmark_qa_local.encord_double.box_rows import TRUTH_BOXES, label_row
from benchmark_qa_local.encord_double.labels import put_label_row
from benchmark_qa_local.encord_double.seed import StandardSetup

from tests.integration.encord_double.conftest import Invocation, make_client
from tests.integration.routing.conftest import seed, stage_of

pytestmark = pytest.mark.integration

ACTIONS = "v2 POST */actions"


def lambda_router(double: EncordDouble, setup: StandardSetup, invocation: Invocation) -> Router:
    target = RoutingTarget(setup.production_project_hash, setup.benchmark_dataset_hash)
    return Router(make_client(double, max_retries=0), target, budget=invocation.budget())


def test_a_retry_after_that_outlasts_the_run_is_recorded_and_left_for_the_next_run(
    double: EncordDouble, repository: RoutingRepository
) -> None:
    setup = seed(double, benchmark=3, production=4)
    # A limiter asking for a minute, in a 120 s Lambda that has 40 s left.
    double.add_fault(FaultRule(endpoint=ACTIONS, status=429, retry_after=60, times=1))
    invocation = Invocation(left=40)

    report = run_routing(lambda_router(double, setup, invocation), trigger="schedule", repository=repository)

    assert invocation.slept == []
    assert report.status == "out_of_time"
    # The YES bundle was throttled and left whole; the NO bundle, a request that still fit, went through.
    outcomes = {t.data_hash: t.outcome for t in report.tasks}
    assert {outcomes[h] for h in setup.benchmark_data_hashes} == {Outcome.DEFERRED}
    assert {outcomes[h] for h in setup.production_data_hashes} == {Outcome.ROUTED}
    assert any("asked to wait 60 s" in e and "left for the next run" in e for e in report.errors)
    run = repository.get_run(report.run_id)
    assert run["status"] == "out_of_time"
    assert run["counts"]["outcome:deferred"] == 3
    where = stage_of(double, setup)
    assert {where[h] for h in setup.benchmark_data_hashes} == {"Benchmark Task?"}, "each task moved or left whole"

    later = run_routing(lambda_router(double, setup, Invocation(left=300)), trigger="schedule", repository=repository)
    assert later.status == "finished"
    assert set(stage_of(double, setup).values()) == {"Consensus 1 Annotate", "Annotate 1"}


def test_a_retry_after_that_fits_is_waited_for_once(double: EncordDouble) -> None:
    setup = seed(double, benchmark=2, production=2)
    double.add_fault(FaultRule(endpoint="v2 GET */tasks", status=429, retry_after=7, times=1))
    invocation = Invocation(left=300)
    report = run_routing(lambda_router(double, setup, invocation), trigger="test")
    assert report.status == "finished"
    assert invocation.slept == [7]


def test_no_request_starts_without_the_time_to_finish_it(double: EncordDouble) -> None:
    setup = seed(double, benchmark=1, production=1)
    double.counts.reset()
    report = run_routing(lambda_router(double, setup, Invocation(left=12)), trigger="test")
    assert report.status == "out_of_time"
    assert double.counts.total() == 0


def test_the_v1_rate_limit_envelope_is_retried_within_the_budget(double: EncordDouble) -> None:
    """HTTP 200 with RATE_LIMIT_ERROR: the SDK raises it without retrying (encord/http/error_utils.py) and with
    no delay; the budget backs off and reads again."""
    setup = seed(double, benchmark=1, production=0)
    with double.locked() as state:
        structure = state.ontologies[setup.ontology_hash].structure

        data_hash = setup.benchmark_data_hashes[0]
        put_label_row(
            state, setup.benchmark_project_hash, data_hash, labels=label_row(structure, data_hash, TRUTH_BOXES, "good")
        )
    double.add_fault(FaultRule(endpoint="v1 labelrowmetadata GET", kind=FaultKind.RATE_LIMIT_ENVELOPE, times=1))
    invocation = Invocation(left=300)
    review = ConsensusReview(
        make_client(double, max_retries=0),
        ConsensusTarget(setup.production_project_hash, setup.benchmark_project_hash),
        invocation.budget(),
    ).open()
    rows = review.budget.call("read truth", lambda: review.benchmark.list_label_rows_v2(data_hashes=[data_hash]))
    assert [r.data_hash for r in rows] == [data_hash]
    assert invocation.slept == [1.0]
    assert double.faults.fired["rate_limit_envelope"] == 1
