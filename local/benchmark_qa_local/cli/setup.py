"""`benchmark-qa setup`: find or create the Encord side of a deployment from a setup file, check the Production
workflow, and write the stack's deployment parameters (docs/setup.md). Idempotent; --dry-run changes nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "setup",
        help="find or create the Encord folders, datasets, ontology and projects; write the deploy parameters",
        description=__doc__,
    )
    parser.add_argument("--config", "-c", type=Path, required=True, help="setup file (docs/setup.example.yaml)")
    parser.add_argument("--key-file", type=Path, help="Encord private key (default: encord.key_file of the setup file)")
    parser.add_argument("--domain", help="Encord API domain (default: encord.domain of the setup file)")
    parser.add_argument("--parameters-file", type=Path, help="where to write the deployment parameters")
    parser.add_argument("--dry-run", action="store_true", help="print what exists and what would be created")
    parser.set_defaults(func=run)


def _line(kind: str, role: str, name: str, outcome: str, ident: str | None) -> str:
    return f"{kind:<12} {role:<11} {name:<44} {outcome:<13} {ident or ''}".rstrip()


def run(args: argparse.Namespace) -> int:
    from benchmark_qa.encord.client import EncordKeyError

    from benchmark_qa_local.encord_access import client_from_file, key_file
    from benchmark_qa_local.setup import Outcome, SetupAborted, SetupConfigError, load_config, run_setup
    from benchmark_qa_local.setup.parameters import ParametersFileError

    try:
        config = load_config(args.config)
        updates: dict[str, Any] = {}
        if args.domain:
            updates["encord"] = config.encord.model_copy(update={"domain": args.domain})
        if args.parameters_file:
            updates["deployment"] = config.deployment.model_copy(update={"parameters_file": args.parameters_file})
        config = config.model_copy(update=updates)
        client = client_from_file(key_file(args.key_file, config.encord.key_file), config.encord.domain)
        result = run_setup(client, config, dry_run=args.dry_run)
    except (SetupConfigError, EncordKeyError, SetupAborted, ParametersFileError) as error:
        print(f"benchmark-qa setup: {error}", file=sys.stderr)
        return 2

    for step in result.workspace.steps:
        print(_line(step.kind, step.role, step.name, step.outcome.value, step.id))
        if step.outcome is Outcome.PROBLEM:
            print(f"{'':<12} -> {step.detail}")
    path = result.parameters_file
    if result.missing:
        print(_line("parameters", "", str(path), "not written", None))
        print(f"{'':<12} -> still unknown: {', '.join(result.missing)} (see the problems above)")
    elif args.dry_run:
        what = ", ".join(result.changed) or "nothing"
        creating = any(s.outcome is Outcome.WOULD_CREATE for s in result.workspace.steps)
        print(_line("parameters", "", str(path), "dry run", None))
        print(f"{'':<12} -> would change {what}" + (", and the ids of what is created" if creating else ""))
    else:
        print(_line("parameters", "", str(path), "written" if result.written else "unchanged", None))
    if result.ok and not args.dry_run:
        print(f"\nnext: make deploy PARAMETERS={path}   (docs/setup.md, step 6)")
    return 0 if result.ok else 1
