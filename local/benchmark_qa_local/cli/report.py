"""`benchmark-qa report`: the annotator leaderboard.

* `--open`: fetch the latest report the stack published (ReportFunction, into the ReportsBucketName output's
  bucket) and open it in the browser. Needs read access to that bucket, nothing else.
* `--out FILE`: render it here from the state table (aggregates and the few results the drill-down shows), as
  HTML, CSV or JSON, with a compact text leaderboard on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import webbrowser
from datetime import datetime
from pathlib import Path
from typing import Any

FORMATS = ("html", "csv", "json")
DEFAULT_OPEN_FOLDER = Path("out/report")


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


def _rate(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


def register(subparsers: Any) -> None:
    from benchmark_qa.leaderboard import DEFAULT_MIN_TASKS

    parser = subparsers.add_parser(
        "report",
        help="the annotator leaderboard: open the one the stack published, or write one from the state table",
        description="Open the latest leaderboard the stack published (--open), or write one from the state table "
        "(--out) and print it as text.",
    )
    parser.add_argument("--open", action="store_true", help="fetch the latest published report and open it")
    parser.add_argument("--bucket", default=os.environ.get("REPORTS_BUCKET"), help="reports bucket ($REPORTS_BUCKET)")
    parser.add_argument("--stack", help="CloudFormation stack whose ReportsBucketName output names the bucket")
    parser.add_argument("--out", type=Path, help="file to write (with --open: the folder, default out/report)")
    parser.add_argument("--format", choices=FORMATS, help="default: from the --out suffix, else html")
    parser.add_argument("--table", default=os.environ.get("STATE_TABLE"), help="state table (default: $STATE_TABLE)")
    parser.add_argument("--since", type=_since, help="only tasks scored at or after this ISO date/datetime (UTC)")
    parser.add_argument(
        "--min-tasks",
        type=_positive,
        default=DEFAULT_MIN_TASKS,
        help=f"tasks needed before an annotator is ranked (default {DEFAULT_MIN_TASKS})",
    )
    parser.add_argument("--trend", choices=("day", "week", "month"), help="trend bucket (default: by the span)")
    parser.add_argument("--breakdown", action="store_true", help="CSV: add the class, attribute, size, ... rows")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild every annotator's aggregates and ledger from the stored results (once, for results scored "
        "by an older version; not while scoring runs)",
    )
    parser.add_argument("--hourly-rate", type=_rate, help="annotators' hourly rate, for the cost per correct object")
    parser.add_argument("--currency", default="USD", help="currency of --hourly-rate (default USD)")
    parser.add_argument(
        "--encord-domain",
        default=os.environ.get("ENCORD_DOMAIN", "https://api.encord.com"),
        help="Encord API domain, for the links into the label editor ($ENCORD_DOMAIN)",
    )
    parser.add_argument(
        "--benchmark-project",
        default=os.environ.get("BENCHMARK_PROJECT_HASH"),
        help="Benchmark Project hash, for links to the ground truth ($BENCHMARK_PROJECT_HASH)",
    )
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"benchmark-qa report: {message}", file=sys.stderr)
    return 2


def _bucket_of_stack(stack: str) -> str | None:
    import boto3

    outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return next((o["OutputValue"] for o in outputs if o["OutputKey"] == "ReportsBucketName"), None)


def open_published(args: argparse.Namespace) -> int:
    import boto3
    from benchmark_qa.leaderboard.publish import fetch_latest

    bucket = args.bucket or (_bucket_of_stack(args.stack) if args.stack else None)
    if not bucket:
        return _fail("name the reports bucket: --bucket, $REPORTS_BUCKET, or --stack (its ReportsBucketName output)")
    folder = args.out or DEFAULT_OPEN_FOLDER
    try:
        files = fetch_latest(boto3.client("s3"), bucket, folder)
    except OSError as exc:
        return _fail(f"cannot write into {folder}: {exc.strerror}")
    page = files["html"].resolve()
    print(f"fetched s3://{bucket}/latest/ into {folder}: {', '.join(p.name for p in files.values())}")
    if webbrowser.open(page.as_uri()):
        print(f"opened {page}")
    else:
        print(f"no browser found; open {page}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.open:
        return open_published(args)
    from benchmark_qa.leaderboard import EditorLinks, app_url, read_leaderboard
    from benchmark_qa.leaderboard.csv import render_csv
    from benchmark_qa.leaderboard.html import render_html
    from benchmark_qa.leaderboard.json import render_json
    from benchmark_qa.leaderboard.text import render_text
    from benchmark_qa.store.scores import ScoresRepository
    from benchmark_qa.store.table import state_table

    if args.out is None and not args.rebuild:
        return _fail("give --out FILE to write a report from the table, or --open to open the published one")
    if not args.table:
        return _fail("name the state table with --table or $STATE_TABLE (the stack's StateTableName output)")
    repository = ScoresRepository(state_table(args.table))
    if args.rebuild:
        results = list(repository.results())
        written = repository.rebuild_aggregates(results)
        print(f"rebuilt the aggregates of {len(results)} results ({written} items)")
        if args.out is None:
            return 0
    suffix = args.out.suffix.lstrip(".").lower()
    fmt = args.format or (suffix if suffix in FORMATS else "html")
    board = read_leaderboard(
        repository,
        since=args.since,
        min_tasks=args.min_tasks,
        bucket=args.trend,
        links=EditorLinks(app_url(args.encord_domain), args.benchmark_project),
        hourly_rate=args.hourly_rate,
        currency=args.currency,
    )
    if args.since is None:  # the quality records are not kept per window
        from benchmark_qa.leaderboard.quality import read_quality
        from benchmark_qa.store.quality import QualityRepository

        board.quality = read_quality(QualityRepository(state_table(args.table)))
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
        return _fail(f"cannot write {args.out}: {exc.strerror}")
    sys.stdout.write(render_text(board))
    print(f"wrote {fmt} report to {args.out}")
    return 0
