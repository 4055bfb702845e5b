"""`benchmark-qa demo`: the Benchmark QA workflow offline, on the embedded local stack and the Encord double."""

from __future__ import annotations

import argparse
import io
import logging
import os
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the whole workflow offline and print what happened")
    parser.add_argument("--verbose", action="store_true", help="show the functions' own logs")
    parser.add_argument(
        "--out", type=Path, default=Path("out/leaderboard.html"), help="where the HTML leaderboard is written"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.verbose:
        # The functions log JSON lines for CloudWatch; the demo tells its own story unless asked for them.
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        logging.getLogger().setLevel(logging.WARNING)
    from benchmark_qa_local import demo

    world = demo.run(report_path=args.out, function_logs=None if args.verbose else io.StringIO())
    # The demo is also a check: its simulated annotators have a known order the leaderboard must recover.
    return 0 if world.ranking_recovered else 1
