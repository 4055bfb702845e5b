"""A workflow stage's tasks, listed page by page, each page retried on its own within the invocation's time.

Retrying a whole listing (`budget.call(..., lambda: list(stage.get_tasks()))`) starts again from page 1 after any
429, 5xx or lost answer: a stage of P pages with a fault rate f lists with probability (1 - f)**P per attempt
(2,000 tasks, 21 pages, 20 % faults: 1 %; real Encord, 10,000 tasks, 1 % throttling: 37 %). So the page is the unit
retried, not the listing.

How, with the SDK's own paging (encord 0.1.211, pinned by the lock):
  * `stage.get_tasks()` hands its query DTO to `WorkflowClient.get_tasks` (encord/workflow/common.py:111-116),
    which is `ApiClient.get_paged_iterator` (encord/http/v2/api_client.py:79-105): a loop calling `self.get(path,
    params=params, ...)` once per page and moving `params.page_token` on only after a page was read.
  * So the stage is listed through a copy of itself (a frozen dataclass whose `_workflow_client` is a field,
    encord/workflow/common.py:19-21) whose ApiClient retries `get` through the TimeBudget: a failed page is asked
    again with the same page token, the SDK's loop goes on, and every wait is bounded by the time left
    (OutOfTime, never a sleep past it).
  * Only GETs (reads, idempotent) are retried here; every other call of the copy (POSTs: moves, bundles) is the
    SDK client's own, unchanged.
Rejected: resuming the SDK's iterator after an error (a generator that raised is finished); a requests/urllib3
retry layer (the SDK builds a new session per request, encord/http/v2/api_client.py `_request`, so it could only
be installed by patching the SDK module-wide, for every call and thread, and it would need the budget in a global).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, cast

from benchmark_qa.encord.budget import TimeBudget


class _PageRetryingApiClient:
    """The SDK's ApiClient, with each GET (here: each page) retried through `budget`."""

    def __init__(self, api_client: Any, budget: TimeBudget, what: str) -> None:
        self._api_client = api_client
        self._budget = budget
        self._what = what
        self.pages = 0

    def get(self, path: str, params: Any, result_type: Any, allow_none: bool = False) -> Any:
        self.pages += 1
        read = partial(self._api_client.get, path, params, result_type, allow_none)
        return self._budget.call(f"{self._what} (page {self.pages})", read)

    def get_paged_iterator(self, *args: Any, **kwargs: Any) -> Any:
        # The SDK's own paging loop, run with this object as `self` so each of its pages goes through `get` above.
        return type(self._api_client).get_paged_iterator(self, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # everything else (post, put, ...) is the SDK client's, not retried
        return getattr(self._api_client, name)


def list_stage_tasks(stage: Any, budget: TimeBudget, what: str, **filters: Any) -> list[Any]:
    """Every task `stage.get_tasks(**filters)` lists, each page retried within `budget`."""
    from encord.workflow.common import WorkflowClient

    workflow = stage._workflow_client
    paged = WorkflowClient(
        api_client=cast(Any, _PageRetryingApiClient(workflow.api_client, budget, what)),
        project_hash=workflow.project_hash,
    )
    listing_stage = dataclasses.replace(stage, _workflow_client=paged)
    budget.check(what)
    return list(listing_stage.get_tasks(**filters))
