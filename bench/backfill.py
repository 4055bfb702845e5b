"""Backfill throughput beside manifest throughput, and the cost model for 10 million objects.

The same generated bucket (samples.generated_bucket: single images, videos, image groups, DICOM series, junk)
goes through `benchmark-qa backfill`'s engine on the local stack (moto server in this process, built from
template.yaml) with 1 and 2 workers, and through the batch manifest scan in memory. Every AWS request the
backfill makes is counted by operation, so the cost model below uses measured requests per object; the unit
prices are list prices (us-east-1) and are parameters, not measurements. Prints, never asserts.

moto runs in a process of its own (`LocalStack(moto_process=True)`, as the backfill soak test does); one more
run with moto in this process (one GIL for the client, its worker threads and the server) shows what that
changes. The local objects/s are a floor set by the emulator on a shared machine; AWS latencies are not
modelled by them.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from unittest import mock

if TYPE_CHECKING:
    from benchmark_qa_local.stack import LocalStack

N_OBJECTS = 1_000
PAGE_SIZE = 500
OBJECTS_10M = 10_000_000

# Unit prices (USD, us-east-1 list prices; change them for your region and date).
S3_GET = 0.0004 / 1000  # GET (a ranged GET is one GET)
S3_LIST_PUT = 0.005 / 1000  # LIST, PUT
DDB_WRITE_UNIT = 0.625 / 1_000_000  # on-demand write request unit (1 KB item; 2 per item in a transaction)
DDB_READ_UNIT = 0.125 / 1_000_000  # on-demand read request unit (strongly consistent, up to 4 KB)
LAMBDA_GB_SECOND = 0.0000133334  # arm64


@contextmanager
def filled_stack(name: str, files: dict[str, bytes], moto_process: bool = False) -> Iterator[tuple[LocalStack, str]]:
    """A local stack (its environment set while it runs) whose upload bucket holds `files`, put as the bucket was
    before benchmark-qa: no notifications while it is filled (the backfill is measured, not the live path; moto's
    SQS costs O(queue length) per message sent)."""
    from benchmark_qa_local.stack import LocalStack

    stack = LocalStack(stack_name=f"{name}-{uuid.uuid4().hex[:6]}", moto_process=moto_process)
    with stack, mock.patch.dict(os.environ, stack.env()):
        s3 = stack.boto3_client("s3")
        bucket = stack.physical_id("UploadBucket")
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda item: s3.put_object(Bucket=bucket, Key=item[0], Body=item[1]), files.items()))
        yield stack, bucket


def _backfill(workers: int, moto_process: bool = True) -> tuple[int, float, Counter[str], Counter[str]]:
    from benchmark_qa.bucket import S3Bucket
    from benchmark_qa.ingest.backfill import Backfill
    from benchmark_qa.ingest.layout import Layout
    from benchmark_qa.store.backfills import BackfillRepository
    from benchmark_qa.store.table import state_table
    from benchmark_qa.store.uploads import UploadsRepository
    from benchmark_qa_local import samples
    from benchmark_qa_local.aws_calls import counted

    with filled_stack("bench-bf", samples.generated_bucket(N_OBJECTS), moto_process) as (stack, bucket):
        table = state_table(stack.physical_id("StateTable"))
        backfill = Backfill(
            UploadsRepository(table),
            BackfillRepository(table),
            S3Bucket(bucket),
            Layout(),
            stack.region,
            workers=workers,
            page_size=PAGE_SIZE,
        )
        with counted() as (calls, units):
            started = time.perf_counter()
            report = backfill.run()
            seconds = time.perf_counter() - started
    return report.listed, seconds, calls, units


def _manifest_scan() -> float:
    """The batch CLI's engine on the same objects in memory (first bytes served from memory): objects/s."""
    from benchmark_qa.ingest.heads import Heads
    from benchmark_qa.ingest.items import S3Object
    from benchmark_qa.ingest.layout import Layout
    from benchmark_qa.ingest.scan import scan
    from benchmark_qa_local import samples

    files = samples.generated_bucket(N_OBJECTS)
    objects = [S3Object(bucket="b", key=k, size=len(v), etag=str(hash(v))) for k, v in files.items()]
    started = time.perf_counter()
    scan(objects, lambda k: files[k], region="us-east-1", layout=Layout(), heads=Heads(lambda k, n: files[k][:n], 1))
    return len(objects) / (time.perf_counter() - started)


def run() -> None:
    print(f"{N_OBJECTS:,} generated objects (samples.generated_bucket), listing pages of {PAGE_SIZE}")
    scan_rate = _manifest_scan()
    print(f"{'manifest scan (in memory, content read)':<44} {scan_rate:12,.0f} objects/s")
    measured = {}
    for workers in (1, 2):
        listed, seconds, calls, units = _backfill(workers)
        measured[workers] = (listed, seconds, calls, units)
        rate = listed / seconds
        label = f"backfill on the local stack, {workers} worker(s)"
        print(f"{label:<44} {rate:12,.1f} objects/s ({rate / workers:,.1f} per worker)")
    listed, seconds, _, _ = _backfill(2, moto_process=False)
    label = "the same, 2 workers, moto in this process"
    print(f"{label:<44} {listed / seconds:12,.1f} objects/s ({listed / seconds / 2:,.1f} per worker)")
    listed, _, calls, units = measured[1]
    print(f"ratio manifest scan / backfill (1 worker): {scan_rate / (listed / measured[1][1]):,.0f}x")
    print("requests per object (1 worker): " + ", ".join(f"{k} {v / listed:.3f}" for k, v in sorted(calls.items())))
    print(
        f"GetObject per object {calls['GetObject'] / listed:.3f} (first bytes, read once: at most 1.0 unless a DICOM "
        f"header needs a longer range); DynamoDB transaction items per object {units['transact_items'] / listed:.3f}"
    )
    _cost_model(listed, calls, units)


@dataclass(frozen=True)
class PerObject:
    """Requests per object measured on the local stack, as AWS bills them (read and write units, GETs, LIST/PUTs):
    the one place both backfill cost models (the CLI engine's, the state machine's) take their S3 and DynamoDB from."""

    gets: float  # GET (ranged GETs of first bytes) and HEAD
    lists_puts: float  # LIST and PUT
    writes: float  # DynamoDB write units: single writes 1, each transaction item 2
    reads: float  # DynamoDB read units: GetItem, Query, each BatchGetItem key
    calls: dict[str, float]

    @classmethod
    def of(cls, listed: int, calls: Counter[str], units: Counter[str]) -> PerObject:
        per = {name: n / listed for name, n in calls.items()}
        return cls(
            gets=per.get("GetObject", 0) + per.get("HeadObject", 0),
            lists_puts=per.get("ListObjectsV2", 0) + per.get("ListObjectVersions", 0) + per.get("PutObject", 0),
            writes=per.get("PutItem", 0) + per.get("UpdateItem", 0) + 2 * units["transact_items"] / listed,
            reads=per.get("GetItem", 0) + per.get("Query", 0) + units["batch_get_items"] / listed,
            calls=per,
        )

    def s3_cost(self, objects: int) -> float:
        return objects * (self.gets * S3_GET + self.lists_puts * S3_LIST_PUT)

    def dynamodb_cost(self, objects: int) -> float:
        return objects * (self.writes * DDB_WRITE_UNIT + self.reads * DDB_READ_UNIT)

    def seconds(self, objects: int) -> float:
        """The Lambda time of `objects` objects on AWS, estimated from the counts (not measured): ranged GETs 16 at
        a time (~20 ms each), the other requests one after another (~8 ms each; writes 50 and reads 100 a batch)."""
        others = self.calls.get("TransactWriteItems", 0) + self.writes / 50 + self.reads / 100
        return objects * (self.gets / 16 * 0.020 + others * 0.008)


def _cost_model(listed: int, calls: Counter[str], units: Counter[str]) -> None:
    """The CLI engine's cost for 10M objects (the state machine's: bench.backfill_state_machine)."""
    per, scale = PerObject.of(listed, calls, units), OBJECTS_10M
    s3_cost, ddb_cost = per.s3_cost(scale), per.dynamodb_cost(scale)
    per_page_seconds = per.seconds(1000)  # pages of 1,000 keys in 1,024 MB functions
    pages = scale / 1000
    lambda_cost = pages * per_page_seconds * 1.0 * LAMBDA_GB_SECOND
    print(f"cost model, {scale:,} objects (measured requests per object x list prices):")
    print(f"  S3: {scale * per.gets:,.0f} GET/HEAD, {scale * per.lists_puts:,.0f} LIST/PUT           ${s3_cost:,.2f}")
    print(f"  DynamoDB: {scale * per.writes:,.0f} write units, {scale * per.reads:,.0f} read units   ${ddb_cost:,.2f}")
    print(
        f"  Lambda (if run as 1 GB functions, {per_page_seconds:.1f} s per page of 1,000 est.): "
        f"{pages * per_page_seconds:,.0f} GB-s ${lambda_cost:,.2f}"
    )
    print(f"  total ${s3_cost + ddb_cost + lambda_cost:,.2f}")
