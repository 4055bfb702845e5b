"""`benchmark-qa score`: score an annotator's label row against a ground-truth row, offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score annotator labels against ground truth (Encord label-row JSON)",
        description="Score an annotator's Encord label row against a ground-truth row for one ontology.",
    )
    parser.add_argument("--ontology", required=True, type=Path, help="ontology structure JSON")
    parser.add_argument("--truth", required=True, type=Path, help="ground-truth label row JSON")
    parser.add_argument("--labels", required=True, type=Path, help="annotator label row JSON")
    parser.add_argument("--config", type=Path, help="scoring config (YAML or JSON)")
    parser.add_argument("--format", choices=("json", "table"), default="json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import orjson
    from benchmark_qa.scoring import Ontology, ScoringConfig, ScoringError, score_label_rows

    try:
        structure = orjson.loads(args.ontology.read_bytes())
        ontology = Ontology.from_dict(structure)
        config = ScoringConfig.load(args.config) if args.config else ScoringConfig()
        config.validate_against(ontology)
        report = score_label_rows(ontology, args.truth.read_bytes(), args.labels.read_bytes(), config)
    except OSError as exc:
        print(f"benchmark-qa score: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except orjson.JSONDecodeError as exc:
        print(f"benchmark-qa score: invalid JSON: {exc}", file=sys.stderr)
        return 2
    except ScoringError as exc:
        print(f"benchmark-qa score: {exc}", file=sys.stderr)
        return 2
    if args.format == "table":
        sys.stdout.write(report.to_table() + "\n")
    else:
        sys.stdout.buffer.write(report.to_json(indent=True) + b"\n")
    return 0
