"""The backfill on AWS's own engine: what `BackfillBatchFunction` does for the state machine the template deploys
(`BackfillStateMachine`, docs/backfill.md "On Step Functions").

A Distributed Map reads the keys (S3 Inventory, or ListObjectsV2 for a small bucket) and hands them to the function
in batches (ItemBatcher); `ingest_batch` puts each batch through the same page ingest as `benchmark-qa backfill`
(`Backfill.ingest_batch`): every object recorded in the state table with the live statuses, single items into
manifests split to the batch sizes, group members recorded and their groups touched. Batches run in parallel and in
no order, so no batch can know that a group folder is complete: after the map, `close_groups` closes every group
still open under the prefix (the live sweep's `close_group`, from a listing of its folder), a bounded number per
invocation (the state machine loops while some remain), and records the run as done.

Resumable: an object already recorded (same key and version) is left out of its batch before any read, so running
the state machine again (after a failed or stopped execution) costs one BatchGetItem per 100 objects done, and the
objects whose records are not finished (a pending single, a group member) are finished by the sweep or the close.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from benchmark_qa.bucket import Bucket
from benchmark_qa.deadline import Deadline
from benchmark_qa.ingest.backfill import Backfill
from benchmark_qa.ingest.inventory import object_of
from benchmark_qa.ingest.items import S3Object
from benchmark_qa.ingest.pipeline import BatchOutcome, Ingest, object_version
from benchmark_qa.store.table import now_iso


@dataclass
class BatchReport:
    items: int = 0  # keys in the batch
    already: int = 0  # recorded by an earlier run (or the live path): left out
    listed: int = 0  # the batch's objects less manifests, ingested now
    recorded: int = 0
    skipped: int = 0
    failed: int = 0
    manifests: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class CloseReport:
    closed: int = 0
    manifests: int = 0
    skipped: int = 0
    failed: int = 0
    remaining: int = 0  # groups still open under the prefix: the state machine runs the close again

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def batch_objects(
    items: Iterable[Mapping[str, Any]], bucket: Bucket, *, inventory: bool, prefix: str = ""
) -> list[S3Object]:
    """The objects of a Distributed Map batch under prefix: ListObjectsV2 entries, or S3 Inventory rows (URL-encoded
    keys; an inventory lists the whole bucket, or its own filter's prefix, whatever the execution's prefix).

    Whether Step Functions decodes an inventory row's key before handing it over is not documented; a key that
    decoding changes is looked up, so either way the object S3 holds is the one ingested."""
    found: list[S3Object] = []
    for item in items:
        obj = object_of(item, bucket.name, encoded_key=inventory)
        if obj is None or not obj.key.startswith(prefix):
            continue
        if obj.bucket != bucket.name:
            raise ValueError(
                f"item {obj.key} is in bucket {obj.bucket}, not the upload bucket {bucket.name}: run the backfill "
                "with an inventory of the upload bucket"
            )
        raw = str(item["Key"])
        if inventory and obj.key != raw and bucket.head(obj.key) is None and bucket.head(raw) is not None:
            obj = obj.model_copy(update={"key": raw})
        found.append(obj)
    return found


def ingest_batch(backfill: Backfill, objects: list[S3Object], items: int | None = None) -> BatchReport:
    """Record and ingest the batch's objects not recorded yet."""
    report = BatchReport(items=len(objects) if items is None else items)
    recorded = backfill.repository.get_objects([(o.bucket, o.key, object_version(o)) for o in objects])
    fresh = [o for o in objects if (o.bucket, o.key, object_version(o)) not in recorded]
    report.already = len(objects) - len(fresh)
    if fresh:
        page = backfill.ingest_batch(fresh)
        report.listed, report.recorded, report.skipped = page.ingested, page.recorded, page.skipped
        report.failed, report.manifests = page.failed, page.manifests
    return report


def close_groups(backfill: Backfill, deadline: Deadline) -> CloseReport:
    """Close the groups still open under the backfill's prefix (every batch is done), `backfill.workers` at a time,
    while the invocation has time; when none remains, the run is recorded done (`BACKFILL#`, as the CLI records
    it, so `benchmark-qa backfill` on the same prefix says so). A close that does not fit the invocation stops with
    its place recorded on its claimed manifest, and the live sweep goes on with it, as for a live upload."""
    report = CloseReport()
    waiting = [
        str(g["pk"]).removeprefix("GROUP#")
        for g in backfill.repository.quiet_groups(now_iso())
        if str(g.get("prefix", "")).startswith(backfill.prefix)
    ]

    def close(group_id: str) -> BatchOutcome:
        ingest = Ingest(backfill.repository, backfill.bucket, backfill.layout, backfill.region)
        ingest.deadline = deadline  # a big group's close stops in time, its place kept; the live sweep goes on
        ingest.close_group(group_id)
        return ingest.outcome

    with ThreadPoolExecutor(max_workers=backfill.workers) as pool:
        while waiting and not deadline.passed():
            chunk, waiting = waiting[: backfill.workers], waiting[backfill.workers :]
            for outcome in pool.map(close, chunk):
                report.closed += 1
                report.manifests += len(outcome.manifests)
                report.skipped += outcome.skipped
                report.failed += outcome.failed
    report.remaining = len(waiting)
    if not waiting:
        backfill.runs.save(backfill.bucket.name, backfill.prefix, status="done", engine="state machine")
    return report
