"""`benchmark-qa report`: the annotator leaderboard from the state table, written as HTML, CSV or JSON, with a
compact text leaderboard on stdout."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

FORMATS = ("html", "csv", "json")


def _since(value: str) -> datetime:
    from benchmark_qa.leaderboard import parse_time

    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or datetime: {value!r}") from None


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def register(subparsers: Any) -> None:
    from benchmark_qa.leaderboard import DEFAULT_MIN_TASKS

    parser = subparsers.add_parser(
        "report",
        help="annotator leaderboard (HTML, CSV or JSON) from the scores in the state table",
        description="Write the annotator leaderboard from the scores in the state table and print it as text.",
    )
    parser.add_argument("--format", choices=FORMATS, help="default: from the --out suffix, else html")
    parser.add_argument("--out", required=True, type=Path, help="file to write")
    parser.add_argument("--table", default=os.environ.get("STATE_TABLE"), help="state table (default: $STATE_TABLE)")
    parser.add_argument("--since", type=_since, help="only tasks scored at or after this ISO date/datetime (UTC)")
    parser.add_argument(
        "--min-tasks",
        type=_positive,
        default=DEFAULT_MIN_TASKS,
        help=f"tasks needed before an annotator is ranked (default {DEFAULT_MIN_TASKS})",
    )
    parser.add_argument("--trend", choices=("day", "week"), help="trend bucket (default: days up to ~2 months)")
    parser.add_argument(
        "--breakdown", action="store_true", help="CSV: add one row per (annotator, class) and (annotator, attribute)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchmark_qa.leaderboard import build_leaderboard
    from benchmark_qa.store.scores import ScoresRepository
    from benchmark_qa.store.table import state_table
    from botocore.exceptions import BotoCoreError, ClientError

    from benchmark_qa_local.report import render_csv, render_html, render_json, render_text

    if not args.table:
        print("benchmark-qa report: name the state table with --table or $STATE_TABLE", file=sys.stderr)
        return 2
    suffix = args.out.suffix.lstrip(".").lower()
    fmt = args.format or (suffix if suffix in FORMATS else "html")
    repository = ScoresRepository(state_table(args.table))
    try:
        board = build_leaderboard(
            repository.results(),
            aggregates=repository.aggregates() if args.since is None else (),
            since=args.since,
            min_tasks=args.min_tasks,
            bucket=args.trend,
            open_errors=len(repository.errors()),
        )
    except (BotoCoreError, ClientError) as exc:  # a missing table or no credentials: say so, no traceback
        print(f"benchmark-qa report: cannot read table {args.table}: {exc}", file=sys.stderr)
        return 2
    if fmt == "csv":
        body = render_csv(board, breakdown=args.breakdown)
    elif fmt == "json":
        body = render_json(board)
    else:
        body = render_html(board)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(body, encoding="utf-8")
    except OSError as exc:
        print(f"benchmark-qa report: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    sys.stdout.write(render_text(board))
    print(f"wrote {fmt} report to {args.out}")
    return 0
