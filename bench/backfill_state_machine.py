"""The backfill state machine (BackfillStateMachine) on the local stack, and its cost model for 10 million objects.

`python -m bench.backfill_state_machine [N]`: N generated objects (default 1,000) through the template's definition,
run Docker-free (state_machine_run: the Distributed Map's ListObjectsV2 reader, ItemBatcher, BackfillBatchFunction
in-process, the group close). Every AWS request is counted by operation, the ItemReader's own LIST requests
included, so the cost model multiplies measured requests per object by list prices (bench.backfill's). The
Lambda seconds are an estimate from those counts (as in bench.backfill), the Step Functions charges are arithmetic
from the definition (one Express child workflow per batch). Prints, never asserts.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter

from bench.backfill import (
    DDB_READ_UNIT,
    DDB_WRITE_UNIT,
    LAMBDA_GB_SECOND,
    OBJECTS_10M,
    S3_GET,
    S3_LIST_PUT,
    filled_stack,
)

SFN_STANDARD_TRANSITION = 0.025 / 1000
SFN_EXPRESS_REQUEST = 1.00 / 1_000_000
SFN_EXPRESS_GB_SECOND = 0.00001667  # billed per 64 MB and 100 ms
LAMBDA_REQUEST = 0.20 / 1_000_000
BATCH_SIZE = 500  # the template's BackfillBatchSize default
LAMBDA_GB = 1.0  # BackfillBatchFunction's MemorySize 1024


def measure(n: int) -> tuple[int, float, Counter[str], Counter[str], int]:
    from benchmark_qa_local import samples
    from benchmark_qa_local.aws_calls import counted
    from benchmark_qa_local.invoker import Invoker
    from benchmark_qa_local.state_machine_run import StateMachineRun

    files = samples.generated_bucket(n)
    with filled_stack("bench-sfn", files) as (stack, _):
        machine = StateMachineRun(stack, Invoker(stack=stack), "BackfillStateMachine")
        with counted() as (calls, units):
            started = time.perf_counter()
            runs = [machine.start({"prefix": prefix}) for prefix in ("benchmark/", "production/")]
            seconds = time.perf_counter() - started
    return len(files), seconds, calls, units, sum(len(r.batches) for r in runs)


def cost_model(listed: int, calls: Counter[str], units: Counter[str]) -> list[str]:
    per = {name: count / listed for name, count in calls.items()}
    scale = OBJECTS_10M
    gets = per.get("GetObject", 0) + per.get("HeadObject", 0)
    lists_puts = per.get("ListObjectsV2", 0) + per.get("ListObjectVersions", 0) + per.get("PutObject", 0)
    writes = per.get("PutItem", 0) + per.get("UpdateItem", 0) + 2 * units["transact_items"] / listed
    reads = per.get("GetItem", 0) + per.get("Query", 0) + units["batch_get_items"] / listed  # 1 unit an item
    batches = math.ceil(scale / BATCH_SIZE)
    # A batch's Lambda time on AWS, estimated as bench.backfill does: ranged GETs 16 at a time (~20 ms), the other
    # requests one after another (~8 ms).
    others = per.get("TransactWriteItems", 0) + per.get("BatchGetItem", 0) + writes / 50 + reads / 100
    batch_seconds = BATCH_SIZE * (gets / 16 * 0.020 + others * 0.008)
    lambda_gb_s = batches * batch_seconds * LAMBDA_GB
    express_gb_s = batches * math.ceil(batch_seconds * 10) / 10 * 0.0625  # 100 ms steps, one 64 MB chunk
    transitions = batches + 12  # upper bound: a transition per child started, plus the parent's ~12 states
    lines = [
        f"  S3: {scale * gets:,.0f} GET x ${S3_GET * 1000:.4f}/1k + {scale * lists_puts:,.0f} LIST/PUT x "
        f"${S3_LIST_PUT * 1000:.3f}/1k = ${scale * (gets * S3_GET + lists_puts * S3_LIST_PUT):,.2f}",
        f"  DynamoDB: {scale * writes:,.0f} write units x ${DDB_WRITE_UNIT * 1e6:.3f}/M + {scale * reads:,.0f} read "
        f"units x ${DDB_READ_UNIT * 1e6:.3f}/M = ${scale * (writes * DDB_WRITE_UNIT + reads * DDB_READ_UNIT):,.2f}",
        f"  Lambda: {batches:,} batches x {batch_seconds:.2f} s (est.) x {LAMBDA_GB:.0f} GB = {lambda_gb_s:,.0f} "
        f"GB-s x ${LAMBDA_GB_SECOND} + {batches:,} requests x $0.20/M = "
        f"${lambda_gb_s * LAMBDA_GB_SECOND + batches * LAMBDA_REQUEST:,.2f}",
        f"  Step Functions: parent (Standard) {transitions:,} transitions x $0.025/1k = "
        f"${transitions * SFN_STANDARD_TRANSITION:,.2f}; children (Express) {batches:,} requests x $1/M + "
        f"{express_gb_s:,.0f} GB-s x ${SFN_EXPRESS_GB_SECOND} = "
        f"${batches * SFN_EXPRESS_REQUEST + express_gb_s * SFN_EXPRESS_GB_SECOND:,.2f}",
    ]
    total = (
        scale * (gets * S3_GET + lists_puts * S3_LIST_PUT + writes * DDB_WRITE_UNIT + reads * DDB_READ_UNIT)
        + lambda_gb_s * LAMBDA_GB_SECOND
        + batches * LAMBDA_REQUEST
        + transitions * SFN_STANDARD_TRANSITION
        + batches * SFN_EXPRESS_REQUEST
        + express_gb_s * SFN_EXPRESS_GB_SECOND
    )
    return [*lines, f"  total ${total:,.2f}"]


def run(n: int = 1_000) -> None:
    listed, seconds, calls, units, batches = measure(n)
    print(
        f"backfill state machine (Docker-free run, ListObjectsV2 reader): {listed:,} objects in {batches} batches, "
        f"{listed / seconds:,.1f} objects/s ({seconds:,.0f} s; one batch at a time: objects/s per worker)"
    )
    print(
        "  AWS requests per object: "
        + ", ".join(f"{name} {count / listed:.3f}" for name, count in sorted(calls.items()))
        + f", transaction items {units['transact_items'] / listed:.3f}, BatchGetItem keys "
        + f"{units['batch_get_items'] / listed:.3f}"
    )
    print(f"cost model, {OBJECTS_10M:,} objects through BackfillStateMachine (batches of {BATCH_SIZE}):")
    print("\n".join(cost_model(listed, calls, units)))


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000)
