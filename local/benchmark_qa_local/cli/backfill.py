"""`benchmark-qa backfill s3://BUCKET[/PREFIX]`: put the objects already in the upload bucket through the ingest
exactly as live uploads go (records in the state table, manifests split to the batch size in the manifest
prefix, which RegisterFunction registers). Resumable: a stopped or paused run goes on after its checkpoint;
repeats are no-ops. Workers are bounded (--workers), and with --max-waiting-manifests the run pauses while
that many manifests wait for Encord. With --inventory the keys come from an S3 Inventory (CSV) of the bucket instead
of a listing. docs/backfill.md has the design, the state machine the template deploys for large buckets, the cost
model and measured throughput.

Exit codes: 0 done; 1 done with failed objects, or paused (run again to resume); 2 usage error, an empty
prefix, a missing bucket or table, missing credentials or another AWS failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from benchmark_qa_local.cli.manifest import Progress, layout_flags, layout_from
from benchmark_qa_local.clouds import SourceError, check_region, parse_source


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backfill",
        help="ingest the objects already in the upload bucket, as live uploads are (resumable)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="s3://BUCKET[/PREFIX]", help="the upload bucket (and a prefix)")
    parser.add_argument("--table", default=os.environ.get("STATE_TABLE"), help="state table (default: $STATE_TABLE)")
    parser.add_argument("--region", help="region in the object URLs (default: $AWS_REGION, else us-east-1)")
    parser.add_argument("--workers", type=int, default=4, help="listing pages ingested at once (default 4)")
    parser.add_argument("--page-size", type=int, default=1000, help="keys per listing page (default 1000)")
    parser.add_argument(
        "--max-waiting-manifests",
        type=int,
        default=0,
        help="pause while this many manifests wait for Encord to finish them (default 0: never pause)",
    )
    parser.add_argument("--wait-seconds", type=float, default=60.0, help="how long to wait before pausing")
    parser.add_argument("--restart", action="store_true", help="ignore the checkpoint and list from the start")
    parser.add_argument(
        "--inventory",
        metavar="s3://BUCKET/KEY/manifest.json",
        help="take the keys from this S3 Inventory (CSV) of the bucket instead of listing it",
    )
    layout_flags(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchmark_qa.ingest.inventory import InventoryError
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        layout = layout_from(args)
        source = parse_source(args.source)
        if source.cloud != "s3":
            raise SourceError("backfill reads the S3 upload bucket the pipeline watches; write s3://BUCKET[/PREFIX]")
        check_region(source, args.region)
        if not args.table:
            raise SourceError("name the state table with --table or $STATE_TABLE")
        if args.workers < 1 or not 1 <= args.page_size <= 1000 or args.max_waiting_manifests < 0:
            raise SourceError("--workers must be at least 1, --page-size 1..1000, --max-waiting-manifests 0 or more")
        inventory = parse_source(args.inventory) if args.inventory else None
        if inventory is not None and (inventory.cloud != "s3" or not inventory.prefix.endswith("manifest.json")):
            raise SourceError("--inventory names an S3 Inventory's manifest: s3://BUCKET/.../manifest.json")
    except (SourceError, ValueError) as error:
        print(f"benchmark-qa backfill: {error}", file=sys.stderr)
        return 2
    try:
        report = _backfill(args, layout, source.bucket, source.prefix, inventory)
    except InventoryError as error:
        print(f"benchmark-qa backfill: {error}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("benchmark-qa backfill: no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"benchmark-qa backfill: AWS error: {error}; the checkpoint keeps what is done", file=sys.stderr)
        return 2
    if report is None:
        print(f"benchmark-qa backfill: {args.source} holds no objects; check the prefix", file=sys.stderr)
        return 2
    print(
        f"backfill {args.source}: {report.status}; listed {report.listed:,}, recorded {report.recorded:,}, "
        f"skipped {report.skipped:,}, failed {report.failed:,}, manifests {report.manifests:,}; "
        f"{report.per_second:,.0f} objects/s with {args.workers} workers"
        + (f"; resumed after {report.resumed_after}" if report.resumed_after else "")
        + (f"; {report.note}" if report.note else "")
    )
    return 0 if report.status == "done" and not report.failed else 1


def _backfill(args: argparse.Namespace, layout: Any, bucket_name: str, prefix: str, inventory: Any) -> Any:
    from benchmark_qa.bucket import S3Bucket
    from benchmark_qa.ingest.backfill import Backfill, BackfillReport
    from benchmark_qa.ingest.inventory import InventoryBucket, InventoryError
    from benchmark_qa.store.backfills import BackfillRepository
    from benchmark_qa.store.table import state_table
    from benchmark_qa.store.uploads import UploadsRepository

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    bucket = S3Bucket(bucket_name)
    if inventory is not None:
        bucket = InventoryBucket.from_manifest(S3Bucket(inventory.bucket), inventory.prefix, prefix)
        if bucket.name != bucket_name:
            raise InventoryError(f"{args.inventory} is an inventory of bucket {bucket.name}, not {bucket_name}")
    if not any(bucket.pages(prefix, page_size=1)):
        return None
    table = state_table(args.table)
    backfill = Backfill(
        UploadsRepository(table),
        BackfillRepository(table),
        bucket,
        layout,
        region,
        prefix=prefix,
        workers=args.workers,
        page_size=args.page_size,
        max_waiting_manifests=args.max_waiting_manifests,
        wait_seconds=args.wait_seconds,
    )
    progress = Progress(sys.stderr, f"backfill {args.source}")

    def show(report: BackfillReport) -> None:
        progress.update(report.listed, f"{report.manifests:,} manifests written")

    report = backfill.run(restart=args.restart, progress=show)
    progress.done()
    return report
