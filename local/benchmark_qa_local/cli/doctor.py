"""`benchmark-qa doctor`: check a deployed stack and its Encord side, one line per check with what to do; exits
non-zero when any check fails (docs/setup.md, step 8)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check a deployed stack and its Encord side; non-zero exit on any failure", description=__doc__
    )
    parser.add_argument("--stack-name", help="the deployed stack (default benchmark-qa; with --local: the local one)")
    parser.add_argument("--region", help="its region (default: the AWS CLI's)")
    parser.add_argument(
        "--local",
        action="store_true",
        help="check the local stack at $AWS_ENDPOINT_URL (benchmark-qa stack) instead of CloudFormation",
    )
    parser.add_argument(
        "--parameters", type=Path, help="with --local: the parameters it runs with (setup's parameters file)"
    )
    parser.set_defaults(func=run)


def print_report(checks: Any) -> int:
    from benchmark_qa_local.doctor import Status

    counts: Counter[str] = Counter()
    for check in checks:
        counts[check.status] += 1
        print(f"{check.status.value:<5} {check.name:<19} {check.message}", flush=True)
    summary = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])
    failed = counts[Status.FAIL]
    print(f"\n{summary}: " + ("fix the FAIL lines and run doctor again" if failed else "ready"))
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    from benchmark_qa_local.doctor import Doctor, StackNotFound, from_cloudformation, from_local_stack
    from benchmark_qa_local.encord_access import client_from_text
    from benchmark_qa_local.setup.parameters import ParametersFileError, read_parameters

    try:
        if args.local:
            from benchmark_qa_local.deployment import DEFAULT_STACK_NAME
            from benchmark_qa_local.stack import LocalStack, endpoint_from_environment

            endpoint = endpoint_from_environment()
            if endpoint is None:
                print(
                    "benchmark-qa doctor: --local needs AWS_ENDPOINT_URL (benchmark-qa stack prints it)",
                    file=sys.stderr,
                )
                return 2
            parameters = read_parameters(args.parameters) if args.parameters else {}
            stack = LocalStack(
                endpoint_url=endpoint, stack_name=args.stack_name or DEFAULT_STACK_NAME, parameters=parameters
            ).start()
            deployed = from_local_stack(stack)
        else:
            deployed = from_cloudformation(args.stack_name or "benchmark-qa", args.region)
    except (StackNotFound, ParametersFileError) as error:
        print(f"benchmark-qa doctor: {error}", file=sys.stderr)
        return 2
    doctor = Doctor(
        deployed, client_factory=lambda key, domain: client_from_text(key, domain, source="EncordKeySecret")
    )
    return print_report(doctor.run())
