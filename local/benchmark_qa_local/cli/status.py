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
