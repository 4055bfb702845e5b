"""`benchmark-qa status`: where each uploaded object is: pending, in a manifest, registered (with its Encord
hashes), skipped or failed (with why and what to do); and the queue messages that were not S3 notifications."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from typing import Any

from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import ObjectRecord, UploadsRepository


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("status", help="where each uploaded object is, from the state table")
    parser.add_argument("--table", default=os.environ.get("STATE_TABLE"), help="state table (default: $STATE_TABLE)")
    parser.add_argument("--status", action="append", help="only objects in this status (repeatable)")
    parser.add_argument("--prefix", default="", help="only keys under this prefix")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument(
        "--audit",
        action="store_true",
        help="check the table against the bucket: every object in one manifest, or skipped/failed/deleted with a "
        "reason, nothing stuck, no URL sent twice (exit 1 on any finding)",
    )
    parser.add_argument("--bucket", default=os.environ.get("UPLOAD_BUCKET"), help="upload bucket (--audit)")
    parser.add_argument(
        "--dataset-prefix",
        action="append",
        help="dataset prefixes to audit (repeatable; default: benchmark and production)",
    )
    parser.set_defaults(func=run)


def describe(record: ObjectRecord) -> str:
    if record.status == "registered" and record.encord:
        return f"data {record.encord.get('data_hash')} (item {record.encord.get('item_uuid')})"
    if record.status in ("claimed", "in_manifest"):
        return f"manifest {record.manifest_id}"
    return record.reason or ""


def rows(table: str, statuses: list[str] | None, prefix: str) -> list[ObjectRecord]:
    repository = UploadsRepository(state_table(table))
    selected = [
        r for r in repository.all_objects() if r.key.startswith(prefix) and (not statuses or r.status in statuses)
    ]
    return sorted(selected, key=lambda r: (r.key, r.received_at))


def render_table(records: list[ObjectRecord]) -> str:
    lines = [f"{'STATUS':<12} {'KEY':<60} DETAIL"]
    lines += [f"{r.status:<12} {r.key:<60} {describe(r)}" for r in records]
    counts = Counter(r.status for r in records)
    lines.append("total: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not args.table:
        print("benchmark-qa status: name the state table with --table or $STATE_TABLE", file=sys.stderr)
        return 2
    if args.audit:
        return run_audit(args)
    records = rows(args.table, args.status, args.prefix)
    bad = UploadsRepository(state_table(args.table)).bad_messages()
    if args.format == "json":
        print(json.dumps({"objects": [r.__dict__ for r in records], "bad_messages": bad}, indent=1, default=str))
        return 0
    print(render_table(records))
    if bad:
        print(f"\n{len(bad)} queue message(s) were not S3 notifications (recorded, never retried):")
        print("\n".join(f"  {m['received_at']}  {m['message_id']}  {m['reason']}" for m in bad))
    return 0


def run_audit(args: argparse.Namespace) -> int:
    import boto3

    from benchmark_qa_local.audit import Auditor

    if not args.bucket:
        print("benchmark-qa status --audit: name the upload bucket with --bucket or $UPLOAD_BUCKET", file=sys.stderr)
        return 2
    prefixes = args.dataset_prefix or ["benchmark", "production"]
    report = Auditor(state_table(args.table), boto3.client("s3"), args.bucket, prefixes).run()
    if args.format == "json":
        findings = [f.__dict__ for f in report.findings]
        print(json.dumps({"objects": report.objects, "records": report.records, "findings": findings}, indent=1))
    else:
        print(report.render())
    return 0 if report.ok else 1
