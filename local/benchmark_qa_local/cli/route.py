"""`benchmark-qa route`: route the "Benchmark Task?" agent stage from the command line, against any Encord
endpoint (the real API or the double). With --dry-run nothing moves; with --table the run is audited there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "route",
        help='route the "Benchmark Task?" agent stage (YES benchmark, NO everything else)',
        description="Route the tasks of an Encord agent stage by dataset: benchmark -> YES, others -> NO.",
    )
    parser.add_argument("--domain", default="https://api.encord.com", help="Encord API domain (or the double's URL)")
    parser.add_argument("--key-file", required=True, type=Path, help="OpenSSH Ed25519 private key file")
    parser.add_argument("--project", required=True, help="Production Project hash")
    parser.add_argument("--benchmark-dataset", required=True, help="Benchmark Dataset hash")
    parser.add_argument("--stage", default="Benchmark Task?", help="agent stage name or uuid")
    parser.add_argument("--yes", default="YES", help="pathway for benchmark tasks")
    parser.add_argument("--no", default="NO", help="pathway for every other task")
    parser.add_argument("--dry-run", action="store_true", help="print the decisions; move nothing")
    parser.add_argument("--table", help="DynamoDB state table for the audit records and the lock (optional)")
    parser.add_argument("--batch-size", type=int, default=1000, help="pathway actions per bundled request")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchmark_qa.config import EncordSettings
    from benchmark_qa.encord.budget import TimeBudget
    from benchmark_qa.encord.client import EncordKeyError
    from benchmark_qa.encord.routing import Router, RoutingSetupError, RoutingTarget, run_routing

    from benchmark_qa_local.encord_access import client_from_file

    try:
        client = client_from_file(args.key_file, args.domain, sdk_retries=False)  # retried through the budget
    except EncordKeyError as exc:
        print(f"benchmark-qa route: {exc}", file=sys.stderr)
        return 2
    budget = TimeBudget.of(EncordSettings(encord_domain=args.domain, encord_key_secret=str(args.key_file)))
    target = RoutingTarget(
        project_hash=args.project,
        benchmark_dataset_hash=args.benchmark_dataset,
        stage=args.stage,
        yes_pathway=args.yes,
        no_pathway=args.no,
    )
    repository = None
    if args.table:
        from benchmark_qa.store.routing import RoutingRepository
        from benchmark_qa.store.table import state_table

        repository = RoutingRepository(state_table(args.table))
    try:
        report = run_routing(
            Router(client, target, batch_size=args.batch_size, budget=budget),
            trigger="cli",
            dry_run=args.dry_run,
            repository=repository,
        )
    except RoutingSetupError as exc:
        print(f"benchmark-qa route: {exc}", file=sys.stderr)
        return 2
    for task in report.tasks:
        line = f"{task.outcome.value:<16} {task.decision:<6} {task.task_uuid}  {task.data_title}"
        print(line + (f"  ({task.error})" if task.error else ""))
    summary = report.summary()
    print(f"run {summary['run_id']}: {summary['status']}" + (" (dry run)" if args.dry_run else ""))
    for name, count in sorted(summary["counts"].items()):
        print(f"  {name}: {count}")
    for error in report.errors:
        print(f"  error: {error}", file=sys.stderr)
    return 0 if report.status == "finished" else 1
