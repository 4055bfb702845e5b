"""Closing a large group within AWS limits (issue 11): DynamoDB requests per member, counted on moto server, and a
close that does not fit one invocation going on in the next ones.

One by one, closing cost 2-3 sequential requests a member (2,000 members: 6,012 requests, 43 s of a 60 s timeout).
Batched (BatchGetItem to read the members' records, transactions of 100 to move or create them), it costs a few
requests per 100 members, whether the members' own events came before the close or not. A close also reads the first
bytes of every member (one ranged GET each): at 10,000 members that and the listing dominate, so the close stops when
the invocation's time is nearly up, with its place recorded, and the sweep goes on from there."""

from __future__ import annotations

import os
import resource
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from benchmark_qa.bucket import S3Bucket
from benchmark_qa.deadline import Deadline
from benchmark_qa.ingest import pipeline
from benchmark_qa.ingest.backfill import Backfill
from benchmark_qa.ingest.backfill_batch import close_groups
from benchmark_qa.ingest.items import S3Object
from benchmark_qa.ingest.pipeline import MAX_RECOVER_ATTEMPTS, UploadEvent
from benchmark_qa.store.backfills import BackfillRepository
from benchmark_qa.store.table import state_table
from benchmark_qa_local.aws_calls import counted

from tests.integration.ingest_pipeline.conftest import World

pytestmark = pytest.mark.integration

DYNAMODB = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
}
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 16


def _close_group(world: World, members: int, recorded_before: int) -> Counter[str]:
    """Upload a group of `members` files; the events of the first `recorded_before` come before the ready marker,
    the others never come (the close takes them from its listing). Returns the requests of the closing batch."""
    folder = "benchmark/image-groups/big"
    events = [world.put(f"{folder}/img{i:05d}.jpg", JPEG) for i in range(members)]
    world.run(*events[:recorded_before])
    marker = world.put(f"{folder}/_READY", b"")
    with counted() as (calls, _):
        world.run(marker)
    statuses = Counter(world.status(f"{folder}/img{i:05d}.jpg")[0] for i in range(members))
    assert statuses == {"in_manifest": members}
    (manifest,) = world.manifests()
    (group,) = manifest["image_groups"]
    assert len([name for name in group if name.startswith("objectUrl")]) == members
    return Counter({name: n for name, n in calls.items() if name in DYNAMODB})


def test_closing_a_group_costs_a_few_requests_per_hundred_members(world: World) -> None:
    members = 300
    requests = _close_group(world, members, recorded_before=members // 2)
    # One by one this was over 2 requests a member (>600 here); batched it is 2 reads and 2 transactions per 100
    # members (half of them moved, half created), plus the group's and the manifest's own few.
    assert sum(requests.values()) <= 20, requests
    assert requests["BatchGetItem"] == 3
    assert requests["PutItem"] + requests["UpdateItem"] <= 10, requests


FOLDER = "benchmark/image-groups/big"
LATER = timedelta(minutes=15)  # past RECOVER_AFTER: the sweep takes a claimed manifest over


def _upload_group(
    world: World, members: int, recorded: int, put: Callable[[str, bytes], UploadEvent] | None = None
) -> list[UploadEvent]:
    """`members` files in one group folder (by `put`, else uploaded 8 at a time); the first `recorded` of them recorded
    pending in the open group by `Ingest.accept_all` (transactions of 100, as a backfill page records them) instead of
    one event at a time through the pipeline (10,000 events took most of a 16-minute run)."""
    with ThreadPoolExecutor(8) as pool:
        events = list(pool.map(lambda i: (put or world.put)(f"{FOLDER}/img{i:05d}.jpg", JPEG), range(members)))
    ingest = world.ingest()
    ingest.accept_all([e.obj for e in events[:recorded]])  # the product's own many-records path (a backfill page)
    ingest.flush()
    return events


def _close_in_invocations(world: World, deadline: Iterator[Deadline], limit: int) -> int:
    """Upload the ready marker and run its batch, then sweeps, each with the next invocation's deadline, until the
    group is closed; returns how many invocations it took."""
    ingest = world.ingest()
    ingest.accept(world.put(f"{FOLDER}/_READY", b""))
    ingest.flush(next(deadline))
    for invocation in range(1, limit + 1):
        marker = world.repository.object_versions(world.bucket_name, f"{FOLDER}/img00000.jpg")[0]
        if world.repository.get_group(marker.group_id or "").get("status") == "in_manifest":
            return invocation
        outcome = world.ingest().sweep(now=datetime.now(UTC) + LATER * invocation, deadline=next(deadline))
        print(f"invocation {invocation + 1} (a sweep): {outcome.deferred or 'done'}", flush=True)
    raise AssertionError(f"the group was not closed in {limit} invocations")


def _asks(n: int) -> Iterator[Deadline]:
    """Deadlines that each let an invocation start `n` steps (sweep units and a close's own steps), then pass."""
    while True:
        left = iter([60.0] * n)
        yield Deadline(lambda left=left: next(left, 0.0), reserve_seconds=15)  # type: ignore[misc]


def _assert_closed_once(world: World, members: int) -> None:
    statuses = Counter(world.status(f"{FOLDER}/img{i:05d}.jpg")[0] for i in range(members))
    assert statuses == {"in_manifest": members}
    (manifest,) = world.manifests()
    (group,) = manifest["image_groups"]
    urls = [url for name, url in group.items() if name.startswith("objectUrl")]
    assert len(urls) == len(set(urls)) == members
    assert world.repository.manifests_with_status("claimed") == []


def test_a_close_that_does_not_fit_one_invocation_goes_on_in_the_next(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invocation's time is up as soon as the close starts (the sweep's own look is the only one answered), with
    pages of 4 files and slices of 6 members: a 30-member close still moves one recorded step an invocation, over
    more invocations than MAX_RECOVER_ATTEMPTS, and is continued, never failed. Nothing is done twice (each member
    read once, the manifest written once) or lost (every member in it once, each recorded once)."""
    members = 30
    monkeypatch.setattr(pipeline, "CLOSE_PAGE", 4)
    monkeypatch.setattr(pipeline, "MARK_SLICE", 6)
    _upload_group(world, members, recorded=members // 2)

    with counted() as (calls, _):
        invocations = _close_in_invocations(world, _asks(1), limit=40)

    assert invocations > MAX_RECOVER_ATTEMPTS + 1, invocations
    _assert_closed_once(world, members)
    assert calls["GetObject"] == members  # the first bytes of each member, read once (the pages keep them)
    assert calls["PutObject"] == 2  # the ready marker, and the manifest: written once


def test_the_backfill_close_stops_in_time_and_the_sweep_goes_on(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state machine's close (`backfill_batch.close_groups`) is bounded by its invocation as the live one is: a
    group that does not fit stops after a recorded step, its manifest claimed, and the sweep finishes it, each member
    once."""
    members = 12
    monkeypatch.setattr(pipeline, "CLOSE_PAGE", 4)
    monkeypatch.setattr(pipeline, "MARK_SLICE", 6)
    _upload_group(world, members, recorded=members // 2)
    table = state_table(world.stack.physical_id("StateTable"), world.stack.region)
    backfill = Backfill(
        world.repository,
        BackfillRepository(table),
        S3Bucket(world.bucket_name),
        world.layout,
        "us-east-1",
        prefix="benchmark/",
    )

    report = close_groups(backfill, next(_asks(1)))

    assert (report.closed, report.manifests) == (1, 0), report
    assert len(world.repository.manifests_with_status("claimed")) == 1, "the close kept its place"
    asks = _asks(1)
    for invocation in range(1, 20):
        world.ingest().sweep(now=datetime.now(UTC) + LATER * invocation, deadline=next(asks))
        if not world.repository.manifests_with_status("claimed"):
            break
    _assert_closed_once(world, members)


def _stored_in_moto(world: World) -> Callable[[str, bytes], UploadEvent]:
    """Put objects straight into the moto server's S3 backend (it runs in this process): the same objects and
    versions, without an HTTP request each (10,000 uploads through moto server took most of a 5-minute run)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]

    def put(key: str, body: bytes) -> UploadEvent:
        stored = backend.put_object(world.bucket_name, key, body)
        etag, version = stored.etag.strip('"'), stored.version_id
        obj = S3Object(bucket=world.bucket_name, key=key, size=len(body), etag=etag, version_id=version)
        return UploadEvent(created=True, obj=obj)

    return put


@pytest.mark.soak
@pytest.mark.timeout(7200)
def test_a_10000_member_group_closes_across_invocations_within_the_lambda_timeout(world: World) -> None:
    """10,000 members, half of their events come before the close: closed by invocations of ManifestFunction's
    timeout (60 s, 15 s kept in reserve) on this machine's moto, each stopping in time and the next going on."""
    members = int(os.environ.get("SOAK_GROUP_MEMBERS", "10000"))
    started = time.monotonic()
    _upload_group(world, members, recorded=members // 2, put=_stored_in_moto(world))
    setup = time.monotonic() - started

    def invocations() -> Iterator[Deadline]:
        while True:
            ends = time.monotonic() + float(os.environ.get("SOAK_INVOCATION_SECONDS", "60"))
            yield Deadline(lambda ends=ends: ends - time.monotonic())  # type: ignore[misc]

    tracemalloc.start()
    started = time.monotonic()
    with counted() as (calls, units):
        count = _close_in_invocations(world, invocations(), limit=100)
    seconds = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    _assert_closed_once(world, members)
    dynamodb = {name: n for name, n in calls.items() if name in DYNAMODB}
    s3 = {name: n for name, n in calls.items() if name not in DYNAMODB}
    print(
        f"\n{members}-member group close: setup {setup:.0f} s; close {seconds:.0f} s in {count} invocations; "
        f"DynamoDB {sum(dynamodb.values())} requests {dynamodb} ({units['transact_items']} items in transactions); "
        f"S3 {sum(s3.values())} requests {s3}; Python peak {peak / 2**20:.0f} MiB (traced, moto's share included); "
        f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    assert calls["GetObject"] == members  # each member's first bytes read once, across all invocations
    assert sum(dynamodb.values()) <= 600, dynamodb
