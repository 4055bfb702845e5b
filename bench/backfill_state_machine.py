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
    PerObject,
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
    per, scale = PerObject.of(listed, calls, units), OBJECTS_10M
    batches = math.ceil(scale / BATCH_SIZE)
    batch_seconds = per.seconds(BATCH_SIZE)
    lambda_gb_s = batches * batch_seconds * LAMBDA_GB
    express_gb_s = batches * math.ceil(batch_seconds * 10) / 10 * 0.0625  # 100 ms steps, one 64 MB chunk
    transitions = batches + 12  # upper bound: a transition per child started, plus the parent's ~12 states
    s3_cost, ddb_cost = per.s3_cost(scale), per.dynamodb_cost(scale)
    lambda_cost = lambda_gb_s * LAMBDA_GB_SECOND + batches * LAMBDA_REQUEST
    parent_cost = transitions * SFN_STANDARD_TRANSITION
    children_cost = batches * SFN_EXPRESS_REQUEST + express_gb_s * SFN_EXPRESS_GB_SECOND
    return [
        f"  S3: {scale * per.gets:,.0f} GET x ${S3_GET * 1000:.4f}/1k + {scale * per.lists_puts:,.0f} LIST/PUT x "
        f"${S3_LIST_PUT * 1000:.3f}/1k = ${s3_cost:,.2f}",
        f"  DynamoDB: {scale * per.writes:,.0f} write units x ${DDB_WRITE_UNIT * 1e6:.3f}/M + {scale * per.reads:,.0f} "
        f"read units x ${DDB_READ_UNIT * 1e6:.3f}/M = ${ddb_cost:,.2f}",
        f"  Lambda: {batches:,} batches x {batch_seconds:.2f} s (est.) x {LAMBDA_GB:.0f} GB = {lambda_gb_s:,.0f} "
        f"GB-s x ${LAMBDA_GB_SECOND} + {batches:,} requests x $0.20/M = ${lambda_cost:,.2f}",
        f"  Step Functions: parent (Standard) {transitions:,} transitions x $0.025/1k = ${parent_cost:,.2f}; "
        f"children (Express) {batches:,} requests x $1/M + {express_gb_s:,.0f} GB-s x ${SFN_EXPRESS_GB_SECOND} = "
        f"${children_cost:,.2f}",
        f"  total ${s3_cost + ddb_cost + lambda_cost + parent_cost + children_cost:,.2f}",
    ]


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
