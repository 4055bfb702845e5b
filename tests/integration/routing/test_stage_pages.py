"""Routing the agent stage while 30 % of its page reads fail (429, 502, a lost answer): each page is retried on its
own (benchmark_qa.encord.stage_pages), so both listings (YES by the benchmark dataset, NO by the others) complete
and every task is routed. The budget's clock is a fixed amount of time left, its sleeps recorded, never slept."""

from __future__ import annotations

from collections import Counter

import pytest
from benchmark_qa.encord.routing import Outcome, Router, RoutingTarget, run_routing
from benchmark_qa_local.encord_double import EncordDouble

from tests.integration.encord_double.conftest import Invocation, faulted_task_pages, make_client

from .conftest import seed, stage_of

pytestmark = pytest.mark.integration


def test_both_listings_of_many_pages_complete_while_30_percent_of_page_reads_fail(double: EncordDouble) -> None:
    setup = seed(double, benchmark=300, production=300, page_size=30)  # 10 pages a listing
    invocation = Invocation(900, attempts=8, backoff=0.5)
    router = Router(
        make_client(double, max_retries=0),
        RoutingTarget(setup.production_project_hash, setup.benchmark_dataset_hash),
        budget=invocation.budget(),
    )
    double.configure_faults(faulted_task_pages(0.1))
    double.counts.reset()

    report = run_routing(router, trigger="test")

    assert report.status == "finished", report.errors
    assert Counter(t.outcome for t in report.tasks) == {Outcome.ROUTED: 600}
    where = stage_of(double, setup)
    assert {where[h] for h in setup.benchmark_data_hashes} == {"Consensus 1 Annotate"}
    assert {where[h] for h in setup.production_data_hashes} == {"Annotate 1"}
    failed = len(invocation.slept)
    assert failed >= 3, "page reads failed and were retried"
    # Each failed read cost one more read of that page only (2 listings of 10 pages), never a restart from page 1.
    assert double.counts.get("v2 GET projects/{project}/workflow/stages/{stage}/tasks") == 20 + failed
