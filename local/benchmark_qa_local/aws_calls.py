"""Every AWS request this process makes, counted by operation: the benchmarks and the backfill soak test report
requests per object with it (the cost model multiplies them by list prices)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def counted() -> Iterator[tuple[Counter[str], Counter[str]]]:
    """Count every botocore API call made in this process while inside, and the items inside DynamoDB
    transactions and batch writes and reads (`transact_items`, `batch_items`, `batch_get_items`: what DynamoDB bills
    by)."""
    import botocore.client

    calls: Counter[str] = Counter()
    units: Counter[str] = Counter()
    lock = threading.Lock()
    client_type: Any = botocore.client.BaseClient  # its private dispatcher is not in the stubs
    original = client_type._make_api_call

    def spy(client: Any, name: str, params: dict[str, Any]) -> Any:
        with lock:
            calls[name] += 1
            if name == "TransactWriteItems":
                units["transact_items"] += len(params.get("TransactItems", []))
            elif name == "BatchWriteItem":
                units["batch_items"] += sum(len(v) for v in params.get("RequestItems", {}).values())
            elif name == "BatchGetItem":
                units["batch_get_items"] += sum(len(v["Keys"]) for v in params.get("RequestItems", {}).values())
        return original(client, name, params)

    client_type._make_api_call = spy
    try:
        yield calls, units
    finally:
        client_type._make_api_call = original
