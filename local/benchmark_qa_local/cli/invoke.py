"""`benchmark-qa invoke FUNCTION -e EVENT.json`: a Docker-free `sam local invoke`. Starts a local stack
(moto, built from the template) for the function's AWS calls unless $AWS_ENDPOINT_URL names one already
running (then nothing is created). The handler's JSON result goes to stdout, its logs to stderr; exit code
1 when the handler fails."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import ExitStack, redirect_stdout
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("invoke", help="run a template function locally, without Docker")
    parser.add_argument("function", metavar="FunctionLogicalId", help="the function's logical id in the template")
    parser.add_argument("-e", "--event", help="event JSON file ('-' for stdin; default: {})")
    parser.add_argument("--env-vars", help='sam-style overrides: {"Parameters": {...}, "FunctionLogicalId": {...}}')
    parser.add_argument("--template", "-t", type=Path, help="SAM template (default: template.yaml here or above)")
    parser.add_argument(
        "--no-stack", action="store_true", help="do not start a local stack (handlers without AWS calls)"
    )
    parser.set_defaults(func=run)


def read_event(source: str | None) -> Any:
    if source is None:
        return {}
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    return json.loads(text)


def run(args: argparse.Namespace) -> int:
    from benchmark_qa_local.invoker import Invoker
    from benchmark_qa_local.stack import LocalStack, endpoint_from_environment, find_template
    from benchmark_qa_local.template import TemplateError

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="benchmark-qa invoke: %(message)s")
    result_stream = sys.stdout
    try:
        event = read_event(args.event)
        template = args.template or find_template()
        with ExitStack() as resources, redirect_stdout(sys.stderr):
            stack = None
            if not args.no_stack:
                # An endpoint in the environment is a stack someone already runs: attach, create nothing.
                stack = resources.enter_context(LocalStack(template, endpoint_url=endpoint_from_environment()))
            invoker = Invoker(template, stack, env_vars=args.env_vars, log_stream=sys.stderr)
            result = invoker.invoke(args.function, event)
    except (OSError, ValueError, TemplateError) as error:  # bad paths, JSON or template: the user's to fix
        print(f"benchmark-qa invoke: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result.response(), indent=2), file=result_stream)
    return 0 if result.ok else 1
