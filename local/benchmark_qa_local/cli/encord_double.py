"""`benchmark-qa encord-double`: run the Encord API double until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

DEFAULT_PORT = 8765


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "encord-double",
        help="Run the offline Encord API double",
        description="Serve an HTTP stand-in for the Encord API that the unmodified encord SDK can use.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"Port (default {DEFAULT_PORT}; 0 = any)")
    parser.add_argument("--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1)")
    parser.add_argument("--state", type=Path, help="State JSON: loaded at start if present, saved on exit")
    parser.add_argument(
        "--seed-demo",
        action="store_true",
        help="Seed the standard Benchmark QA setup, register a new key and print the hashes and key path",
    )
    parser.add_argument("--key-file", type=Path, help="Where --seed-demo writes the private key")
    parser.set_defaults(func=run)


def _write_key(path: Path | None, private_openssh: str) -> Path:
    if path is None:
        fd, name = tempfile.mkstemp(prefix="encord-double-", suffix=".key")
        os.close(fd)
        path = Path(name)
    path.write_text(private_openssh, encoding="utf-8")
    path.chmod(0o600)
    return path


def run(args: argparse.Namespace) -> int:
    from benchmark_qa_local.encord_double import DoubleState, EncordDouble
    from benchmark_qa_local.encord_double.seed import seed_standard_setup

    state_path: Path | None = args.state
    state = DoubleState.load(state_path) if state_path is not None and state_path.exists() else DoubleState()
    setup = seed_standard_setup(state) if args.seed_demo else None  # before the double syncs its tasks
    double = EncordDouble(state, port=args.port, host=args.host, state_path=state_path)
    info: dict[str, object] = {}
    if setup is not None:
        key = double.register_key()
        info = {
            "setup": dataclasses.asdict(setup),
            "private_key_path": str(_write_key(args.key_file, key.private_openssh)),
        }

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    double.start()
    try:
        print(json.dumps({"url": double.url, **info}), flush=True)
        stop.wait()
    finally:
        double.stop()  # also saves to --state
    print("encord-double stopped", file=sys.stderr, flush=True)
    return 0
