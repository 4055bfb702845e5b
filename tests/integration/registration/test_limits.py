"""Finishing a manifest written by hand within AWS limits (issue 11): DynamoDB requests per entry, counted.

Entry by entry it cost 4 requests each (5,000 entries: 20,006 requests, 206 s of a 120 s timeout); the outcomes
are now written in transactions of 100, in chunks that a cursor on the manifest carries across polls."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from benchmark_qa.encord.registration import external_manifest_id
from benchmark_qa_local.aws_calls import counted

from .conftest import App
from .test_registration import objects, repository

pytestmark = pytest.mark.integration

DYNAMODB = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "TransactWriteItems"}


def test_a_hand_written_manifest_is_finished_with_a_few_requests_per_hundred_entries(app: App) -> None:
    entries = 300
    urls = [f"https://{app.bucket}.s3.us-east-1.amazonaws.com/benchmark/by-hand/cat{i}.jpg" for i in range(entries)]
    document = {"images": [{"objectUrl": u, "title": f"cat{i}"} for i, u in enumerate(urls)]}
    key = "manifests/benchmark/by-hand.json"
    with counted() as (calls, units):
        app.upload(key, json.dumps(document).encode())
        for _ in range(3):
            app.pump.drain()
            app.pump.fire_schedule("RegisterFunction").raise_for_error()

    manifest = repository(app).get_manifest(external_manifest_id(key))
    assert (manifest["status"], manifest["registered"]) == ("registered", entries), manifest
    assert Counter(r.status for r in objects(app).values()) == {"registered": entries}
    requests = Counter({name: n for name, n in calls.items() if name in DYNAMODB})
    # 4 a entry was 1,200 here. Now: 3 transactions of 100 outcomes, the manifest's own few status moves, and the
    # poller's 3 status queries per poll.
    assert units["transact_items"] == entries
    assert requests["PutItem"] + requests["UpdateItem"] + requests["TransactWriteItems"] <= 15, requests
    assert sum(requests.values()) <= 40, requests
