"""`benchmark-qa` command line. Each sub-command lives in its own module of this package and exposes
`register(subparsers)`; the module's parser sets `func(args) -> int`. Modules are discovered, so adding a
command never touches this file."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmark-qa", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from benchmark_qa_local.cli_errors import run_command

    args = build_parser().parse_args(argv)
    return run_command(args.command, args.func, args)  # a mistake the user can fix is one line, not a traceback


if __name__ == "__main__":
    sys.exit(main())
