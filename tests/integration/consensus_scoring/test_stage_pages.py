"""Listing a review stage of many pages while Encord throttles, answers 5xx and drops connections: each page is
retried on its own (benchmark_qa.encord.stage_pages), so the listing completes with a bounded number of attempts,
holds every task once, and no wait outlasts the invocation.

The client is built as the Lambdas build theirs (SDK status and read retries off); the budget's clock is a fixed
amount of time left and its sleeps are recorded, not slept, so nothing here depends on the machine's speed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from benchmark_qa.encord.budget import OutOfTime
from benchmark_qa.encord.consensus import ConsensusReview, ConsensusTarget
from benchmark_qa_local.encord_double import DoubleState, EncordDouble, FaultConfig, FaultRule
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup

from tests.integration.encord_double.conftest import Invocation, faulted_task_pages, make_client

from .conftest import put_in_review

pytestmark = pytest.mark.integration

TASKS = 600
PAGE = 100  # the double's default page size (DoubleSettings.page_size), as Encord's
LISTING = "v2 GET */tasks"


@pytest.fixture(scope="module")
def stage() -> Iterator[tuple[EncordDouble, StandardSetup, set[str]]]:
    with EncordDouble(DoubleState()) as double:
        with double.locked() as state:
            state.settings.page_size = PAGE
            setup = seed_standard_setup(state, benchmark_items=TASKS, production_items=0)
            seeded = put_in_review(state, setup, setup.benchmark_data_hashes, truth=False)
        assert len(seeded.tasks) == TASKS
        yield double, setup, set(seeded.tasks)


def opened(
    stage: tuple[EncordDouble, StandardSetup, set[str]], invocation: Invocation, faults: FaultConfig
) -> ConsensusReview:
    """The review opened by a Lambda's client (SDK retries off) on `invocation`'s budget, then `faults` on and the
    double's request counts reset: what the test counts is the listing's own requests."""
    double, setup, _ = stage
    target = ConsensusTarget(setup.production_project_hash, setup.benchmark_project_hash)
    review = ConsensusReview(make_client(double, max_retries=0), target, invocation.budget()).open()
    double.configure_faults(faults)
    double.counts.reset()
    return review


def test_a_stage_of_many_pages_is_listed_whole_while_30_percent_of_pages_fail(
    stage: tuple[EncordDouble, StandardSetup, set[str]],
) -> None:
    double, _, tasks = stage
    invocation = Invocation(900, attempts=8, backoff=0.5)
    # About 30 % of page reads fail: 429 (Retry-After 1), 502, or the answer lost. A listing retried whole would need
    # 0.7**6 = 12 % luck per attempt; per page, 8 attempts each suffice with this seed.
    review = opened(stage, invocation, faulted_task_pages(0.1))

    listed = review.list_tasks()

    uuids = Counter(t.uuid for t in listed)
    assert set(uuids) == tasks, "every task of the stage"
    assert set(uuids.values()) == {1}, "each once"
    fired = double.faults.fired
    assert min(fired["status 429"], fired["status 502"], fired["drop"]) > 0, fired
    # Each failed read was waited for once and cost one more read of that page only, not a restart from page 1.
    failed = len(invocation.slept)
    assert failed >= 3
    assert double.counts.total() == TASKS // PAGE + failed, (double.counts.snapshot(), fired)


def test_a_failed_page_whose_wait_does_not_fit_raises_out_of_time_without_sleeping(
    stage: tuple[EncordDouble, StandardSetup, set[str]],
) -> None:
    double = stage[0]
    invocation = Invocation(60, attempts=8, backoff=0.5)
    # A page throttled for a minute; 50 s are left above the reserve.
    review = opened(
        stage, invocation, FaultConfig(rules=[FaultRule(endpoint=LISTING, status=429, retry_after=60, times=1)])
    )

    with pytest.raises(OutOfTime, match=r"list the review stage \(page 1\): Encord asked to wait 60 s"):
        review.list_tasks()
    assert invocation.slept == []
    assert double.counts.total() == 1


def test_no_page_is_asked_for_without_the_time_to_read_it(stage: tuple[EncordDouble, StandardSetup, set[str]]) -> None:
    """The per-page listing keeps the budget's rule that no request starts without the time to finish (a listing
    retried whole kept it too: this guards the new path, it does not tell the two apart)."""
    double = stage[0]
    invocation = Invocation(60, attempts=8, backoff=0.5)
    review = opened(stage, invocation, FaultConfig(rules=[]))
    invocation.left = 14  # 4 s above the reserve, a request may take 5

    with pytest.raises(OutOfTime, match=r"list the review stage: not started"):
        review.list_tasks()
    assert invocation.slept == []
    assert double.counts.total() == 0
