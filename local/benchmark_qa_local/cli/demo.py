"""`benchmark-qa demo`: the Benchmark QA workflow offline, on the embedded local stack and the Encord double."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the whole workflow offline and print what happened")
    parser.add_argument("--verbose", action="store_true", help="show the functions' own logs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.verbose:
        # The functions log JSON lines for CloudWatch; the demo prints its own story instead.
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        logging.getLogger().setLevel(logging.WARNING)
    from benchmark_qa_local import demo

    demo.run()
    return 0
