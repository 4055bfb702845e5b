"""`benchmark-qa demo`: the Benchmark QA workflow offline, on the embedded local stack and the Encord double.
With --keep both stay up afterwards (until Ctrl-C) and the demo prints the `export` lines that point `status`,
`report` and `route` at them."""

from __future__ import annotations

import argparse
import io
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmark_qa_local.demo import DemoWorld

KEY_FILE = Path("out/demo-encord.key")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the whole workflow offline and print what happened")
    parser.add_argument("--verbose", action="store_true", help="show the functions' own logs")
    parser.add_argument(
        "--out", type=Path, default=Path("out/leaderboard.html"), help="where the HTML leaderboard is written"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the local stack and the Encord double running (Ctrl-C stops them) and print the export lines",
    )
    parser.set_defaults(func=run)


def exports(world: DemoWorld, key_file: Path) -> tuple[dict[str, str], list[str]]:
    """The variables that point the CLI at the kept stack and double, and commands to try on them."""
    variables = {
        **world.stack.env(),
        "STATE_TABLE": world.stack.physical_id("StateTable"),
        "REPORTS_BUCKET": world.reports_bucket,
        "ENCORD_DOMAIN": world.double.url,
        "BENCHMARK_PROJECT_HASH": world.setup.benchmark_project_hash,
    }
    commands = [
        "benchmark-qa status",
        "benchmark-qa report --open",
        "benchmark-qa report --out out/board.html --hourly-rate 30",
        f"benchmark-qa route --domain $ENCORD_DOMAIN --key-file {shlex.quote(str(key_file))} "
        f"--project {world.setup.production_project_hash} --benchmark-dataset {world.setup.benchmark_dataset_hash} "
        "--dry-run",
        "benchmark-qa invoke ReportFunction   # publish the leaderboard again",
    ]
    return variables, commands


def keep_running(world: DemoWorld, key_file: Path = KEY_FILE, stop: threading.Event | None = None) -> None:
    """Print the export lines, then wait until Ctrl-C / SIGTERM (or `stop`) while the stack and double serve."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(world.key.private_openssh, encoding="utf-8")
    key_file.chmod(0o600)
    variables, commands = exports(world, key_file)
    print("\nThe local stack and the Encord double keep running. In another terminal, paste:\n")
    print("export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items()))
    print("\nthen, for example:\n" + "\n".join(f"  {c}" for c in commands))
    print("\nCtrl-C stops them.", flush=True)
    stopped = stop or threading.Event()
    if stop is None:  # signals only reach the main thread; tests pass their own event
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        signal.signal(signal.SIGINT, lambda *_: stopped.set())
    while not stopped.wait(0.5):
        pass
    print("stopping the local stack and the Encord double", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if not args.verbose:
        # The functions log JSON lines for CloudWatch; the demo tells its own story unless asked for them.
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        logging.getLogger().setLevel(logging.WARNING)
    from benchmark_qa_local import demo

    world = demo.run(
        report_path=args.out,
        function_logs=None if args.verbose else io.StringIO(),
        hold=keep_running if args.keep else None,
    )
    # The demo is also a check: its simulated annotators have a known order the leaderboard must recover, and the
    # report must find the planted wrong ground truth and the annotator who drifts.
    return 0 if world.ranking_recovered and world.planted_found and world.drift_found else 1
