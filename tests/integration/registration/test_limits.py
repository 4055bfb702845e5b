"""Finishing a manifest written by hand within AWS limits (issue 11): DynamoDB requests per entry, counted.

Entry by entry it cost 4 requests each (5,000 entries: 20,006 requests, 206 s of a 120 s timeout); the outcomes
are now written in transactions of 100, in chunks that a cursor on the manifest carries across polls."""

from __future__ import annotations

import gc
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from benchmark_qa.encord.budget import TimeBudget
from benchmark_qa.encord.registration import (
    FINISH_CHUNK,
    ManifestScope,
    _entry_chunks,
    external_manifest_id,
    read_manifest,
    titled,
)
from benchmark_qa.ingest.items import Dataset
from benchmark_qa.ingest.url_scope import UploadScope
from benchmark_qa_local.aws_calls import counted
from benchmark_qa_local.template import SamTemplate

from .conftest import App, clock, objects, registrar, repository

pytestmark = pytest.mark.integration

PREFIXES = {Dataset.BENCHMARK: "benchmark", Dataset.PRODUCTION: "production"}
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


def _peak_growth_mib(run: Callable[[], object]) -> float:
    """Growth of this process's peak RSS (VmHWM, reset first) over `run`: an upper bound of what `run` needs, as the
    double answering it and moto run in this process too."""

    def mib(field: str) -> float:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
        return int(line.split()[1]) / 1024

    gc.collect()
    before = mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    run()
    return mib("VmHWM") - before


def _hand_written(app: App, key: str, entries: int) -> None:
    url = f"https://{app.bucket}.s3.us-east-1.amazonaws.com/benchmark/by-hand"
    document = {"images": [{"objectUrl": f"{url}/f{i // 1000:03d}/cat{i:06d}.jpg"} for i in range(entries)]}
    app.stack.boto3_client("s3").put_object(Bucket=app.bucket, Key=key, Body=json.dumps(document).encode())


def test_a_poll_reads_only_the_chunks_it_finishes_never_the_manifest_again(app: App) -> None:
    """The start keeps the manifest's entries as sent, a finish chunk an item; a poll reads the chunks it finishes
    (one GetItem each) and saves its place, so no poll reads or titles the whole document again (a 500,000-entry
    manifest cost about 20 s and 300 MB a poll that way), and a manifest split over many polls is finished once."""
    entries, chunk = 240, 50
    key = "manifests/benchmark/kept.json"
    _hand_written(app, key, entries)
    manifest_id = external_manifest_id(key)
    assert registrar(app, finish_chunk=chunk).start(key) == "started"
    uploads = repository(app)

    per_poll: list[Counter[str]] = []
    while uploads.get_manifest(manifest_id)["status"] == "uploading":
        assert len(per_poll) < 20
        # Time for about one chunk a poll: the rest is left, with the place, to the next polls.
        budget = TimeBudget(remaining_seconds=clock([100.0, 100.0, 100.0, 40.0]), request_seconds=1.0)
        with counted() as (calls, _):
            registrar(app, budget=budget, finish_chunk=chunk).poll()
        per_poll.append(calls)

    manifest = uploads.get_manifest(manifest_id)
    assert (manifest["status"], manifest["registered"], manifest["entries_kept"]) == ("registered", entries, entries)
    records = uploads.objects_in_manifest(manifest_id)
    assert len(records) == entries
    assert len({r.encord["item_uuid"] for r in records if r.encord}) == entries
    assert len(per_poll) >= 3, per_poll
    assert sum(c["GetObject"] for c in per_poll) == 0  # the document is read once, at its start
    # A poll reads the chunks it finishes, one GetItem each (about one chunk a poll here), never every kept chunk.
    assert max(c["GetItem"] for c in per_poll) <= 2, per_poll
    assert sum(c["GetItem"] for c in per_poll) >= entries // chunk, per_poll


def _seconds_left(timeout: float) -> Callable[[], float]:
    """An invocation's clock: `timeout` seconds from now."""
    ends = time.monotonic() + timeout
    return lambda: ends - time.monotonic()


@pytest.mark.soak
@pytest.mark.timeout(10800)
def test_a_500000_item_hand_written_manifest_finishes_in_polls_within_the_lambda_limits(app: App) -> None:
    """The start (read, check, title, keep the entries, send) and then polls of RegisterFunction's timeout (120 s),
    each finishing what fits and saving its place, until the manifest is registered. Prints each poll as it goes,
    so a run cut short still gives the rate."""
    entries = int(os.environ.get("SOAK_MANIFEST_ENTRIES", "500000"))
    key = "manifests/benchmark/half-a-million.json"
    _hand_written(app, key, entries)
    manifest_id = external_manifest_id(key)
    uploads = repository(app)
    started = time.monotonic()
    with counted() as (calls, _):
        start_peak = _peak_growth_mib(lambda: print(registrar(app).start(key)))
    print(
        f"\n{entries} entries: start {time.monotonic() - started:.0f} s, peak RSS growth {start_peak:.0f} MiB, "
        f"{dict(calls)}",
        flush=True,
    )

    polls, poll_peak, finishing = 0, 0.0, time.monotonic()
    with counted() as (calls, units):
        while uploads.get_manifest(manifest_id)["status"] == "uploading":
            polls += 1
            budget = TimeBudget(remaining_seconds=_seconds_left(120), request_seconds=20.0)
            poll_peak = max(poll_peak, _peak_growth_mib(registrar(app, budget=budget).poll))
            done = uploads.get_manifest(manifest_id).get("finish_cursor", 0)
            print(f"poll {polls}: {done} entries finished, {time.monotonic() - finishing:.0f} s", flush=True)
    seconds = time.monotonic() - finishing

    manifest = uploads.get_manifest(manifest_id)
    dynamodb = {name: n for name, n in calls.items() if name in DYNAMODB | {"BatchWriteItem"}}
    print(
        f"{entries}-entry manifest finished: {polls} polls, {seconds:.0f} s; "
        f"DynamoDB {sum(dynamodb.values())} requests {dynamodb} ({units['transact_items']} items in transactions); "
        f"S3 GetObject {calls['GetObject']}; peak RSS growth: start {start_peak:.0f} MiB, a poll {poll_peak:.0f} MiB "
        "(the double's and moto's share included)",
        flush=True,
    )
    assert (manifest["status"], manifest["registered"]) == ("registered", entries), manifest
    assert calls["GetObject"] == 0


@pytest.mark.soak
def test_starting_a_500000_entry_manifest_fits_register_functions_memory() -> None:
    """The start's own share, without the double or moto in the way: read the manifest, check every URL, title it,
    keep its entries (the rows built) and serialise what the SDK sends. RegisterFunction's MemorySize is sized from
    this peak (docs/performance.md)."""
    entries = int(os.environ.get("SOAK_MANIFEST_ENTRIES", "500000"))
    url = "https://uploads.s3.us-east-1.amazonaws.com/benchmark/by-hand"
    document = {"images": [{"objectUrl": f"{url}/f{i // 1000:03d}/cat{i:06d}.jpg"} for i in range(entries)]}
    raw = json.dumps(document).encode()
    del document

    class InMemory:
        def read(self, key: str, *, limit: int | None = None) -> bytes | None:
            return raw

    scope = ManifestScope("manifests", UploadScope(bucket="uploads", region="us-east-1", prefixes=PREFIXES))

    def start() -> None:
        sent, kept = titled(read_manifest(InMemory(), "manifests/benchmark/big.json", scope))  # type: ignore[arg-type]
        assert sum(len(rows) for _, rows in _entry_chunks(kept, FINISH_CHUNK)) == entries
        del kept
        assert json.dumps(sent)

    started = time.monotonic()
    peak = _peak_growth_mib(start)
    memory = SamTemplate.load(Path(__file__).parents[3] / "template.yaml").function("RegisterFunction").memory_mb
    print(f"\nstart of a {entries}-entry manifest: {time.monotonic() - started:.0f} s, peak RSS growth {peak:.0f} MiB")
    assert peak + 256 < memory, f"the start peaks at {peak:.0f} MiB; RegisterFunction's MemorySize is {memory} MB"
