"""Listing a review stage of many pages while Encord throttles, answers 5xx and drops connections: each page is
retried on its own (benchmark_qa.encord.stage_pages), so the listing completes with a bounded number of attempts,
holds every task once, and no wait outlasts the invocation.

The client is built as the Lambdas build theirs (SDK status and read retries off); the budget's clock is a fixed
amount of time left and its sleeps are recorded, not slept, so nothing here depends on the machine's speed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from benchmark_qa.encord.budget import OutOfTime, TimeBudget
from benchmark_qa.encord.consensus import ConsensusReview, ConsensusTarget
from benchmark_qa_local.encord_double import DoubleState, EncordDouble, FaultConfig, FaultRule
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup

from tests.integration.encord_double.conftest import faulted_task_pages, make_client

from .conftest import put_in_review

pytestmark = pytest.mark.integration

TASKS = 600
PAGE = 100  # the double's default page size (DoubleSettings.page_size), as Encord's
LISTING = "v2 GET */tasks"


class Invocation:
    """What is left of a Lambda invocation, and the sleeps the budget asked for (never really slept)."""

    def __init__(self, left: float, attempts: int = 8) -> None:
        self.left = left
        self.attempts = attempts
        self.slept: list[float] = []

    def budget(self) -> TimeBudget:
        return TimeBudget(
            lambda: self.left,
            reserve_seconds=10,
            request_seconds=5,
            attempts=self.attempts,
            backoff=0.5,
            sleep=self.sleep,
        )

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.left -= seconds


@pytest.fixture(scope="module")
def stage() -> Iterator[tuple[EncordDouble, StandardSetup, set[str]]]:
    with EncordDouble(DoubleState()) as double:
        with double.locked() as state:
            state.settings.page_size = PAGE
            setup = seed_standard_setup(state, benchmark_items=TASKS, production_items=0)
            seeded = put_in_review(state, setup, setup.benchmark_data_hashes, truth=False)
        assert len(seeded.tasks) == TASKS
        yield double, setup, set(seeded.tasks)


def review(double: EncordDouble, setup: StandardSetup, invocation: Invocation) -> ConsensusReview:
    target = ConsensusTarget(setup.production_project_hash, setup.benchmark_project_hash)
    return ConsensusReview(make_client(double, max_retries=0), target, invocation.budget()).open()


def test_a_stage_of_many_pages_is_listed_whole_while_30_percent_of_pages_fail(
    stage: tuple[EncordDouble, StandardSetup, set[str]],
) -> None:
    double, setup, tasks = stage
    invocation = Invocation(left=900)
    opened = review(double, setup, invocation)
    # About 30 % of page reads fail: 429 (Retry-After 1), 502, or the answer lost. A listing retried whole would need
    # 0.7**6 = 12 % luck per attempt; per page, 8 attempts each suffice with this seed.
    double.configure_faults(faulted_task_pages(0.1))
    double.counts.reset()

    listed = opened.list_tasks()

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
    double, setup, _ = stage
    invocation = Invocation(left=60)
    opened = review(double, setup, invocation)
    # A page throttled for a minute; 50 s are left above the reserve.
    double.configure_faults(FaultConfig(rules=[FaultRule(endpoint=LISTING, status=429, retry_after=60, times=1)]))
    double.counts.reset()

    with pytest.raises(OutOfTime, match=r"list the review stage \(page 1\): Encord asked to wait 60 s"):
        opened.list_tasks()
    assert invocation.slept == []
    assert double.counts.total() == 1


def test_no_page_is_asked_for_without_the_time_to_read_it(stage: tuple[EncordDouble, StandardSetup, set[str]]) -> None:
    double, setup, _ = stage
    invocation = Invocation(left=60)
    opened = review(double, setup, invocation)
    double.configure_faults(FaultConfig(rules=[]))
    invocation.left = 14  # 4 s above the reserve, a request may take 5
    double.counts.reset()

    with pytest.raises(OutOfTime, match=r"list the review stage: not started"):
        opened.list_tasks()
    assert invocation.slept == []
    assert double.counts.total() == 0
