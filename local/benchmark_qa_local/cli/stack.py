"""`benchmark-qa stack`: run the local stack (moto + the template's resources) in the foreground, so other
terminals can point at it: `export AWS_ENDPOINT_URL=...` then `benchmark-qa invoke ...`. Ctrl-C stops it."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("stack", help="run moto with the template's resources until Ctrl-C")
    parser.add_argument("--port", type=int, default=5056, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--template", "-t", type=Path, help="SAM template (default: template.yaml here or above)")
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="template parameter (repeatable)"
    )
    parser.add_argument("--parameters", type=Path, help="a parameters file (benchmark-qa setup writes one)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchmark_qa_local.setup.parameters import read_parameters
    from benchmark_qa_local.stack import LocalStack, find_template

    parameters = {
        **(read_parameters(args.parameters) if args.parameters else {}),
        **dict(p.split("=", 1) for p in args.parameter),
    }
    stopped = threading.Event()
    # Both signals only set the event: a KeyboardInterrupt could land inside moto's shutdown instead.
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    with LocalStack(args.template or find_template(), port=args.port, parameters=parameters) as stack:
        print(stack.describe())
        print("outputs   " + json.dumps(stack.outputs, indent=1))
        print("\nexport " + " ".join(f"{k}={v}" for k, v in stack.env().items()))
        print("ready; Ctrl-C stops", flush=True)
        while not stopped.wait(0.5):
            pass
    print("stopped", file=sys.stderr)
    return 0
