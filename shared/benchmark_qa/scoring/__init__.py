"""Scoring engine: an Encord ontology and two label rows (ground truth, annotator) -> scores and conflicts.

Pure library: no AWS, no network, no encord SDK. Public API:

    from benchmark_qa.scoring import score_label_rows, ScoringConfig, ScoreReport, Ontology
    report = score_label_rows(Ontology.from_dict(structure), truth_json, labels_json, ScoringConfig.load("c.yaml"))

Modules (one concept each): ontology, labels (reader), typed_row (typed decoding of row bytes), streaming
(frame-batch parsing of big rows the types refuse), geometry, polygon, ellipse, bitmask, attributes, config,
assignment (optimal assignment solver), matching, comparison, metrics, tracking, conflicts, report, engine, errors.
Names are resolved lazily so that importing the package stays cheap. Runtime dependencies are numpy, msgspec,
orjson, pydantic and PyYAML; scipy and shapely are test-only cross-checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmark_qa.scoring.config import ScoringConfig as ScoringConfig
    from benchmark_qa.scoring.engine import score_label_rows as score_label_rows
    from benchmark_qa.scoring.errors import (
        ConfigError as ConfigError,
    )
    from benchmark_qa.scoring.errors import (
        LabelRowError as LabelRowError,
    )
    from benchmark_qa.scoring.errors import (
        OntologyError as OntologyError,
    )
    from benchmark_qa.scoring.errors import (
        RowMismatchError as RowMismatchError,
    )
    from benchmark_qa.scoring.errors import (
        ScoringError as ScoringError,
    )
    from benchmark_qa.scoring.ontology import Ontology as Ontology
    from benchmark_qa.scoring.report import ScoreReport as ScoreReport

_EXPORTS = {
    "score_label_rows": "benchmark_qa.scoring.engine",
    "ScoringConfig": "benchmark_qa.scoring.config",
    "ScoreReport": "benchmark_qa.scoring.report",
    "Ontology": "benchmark_qa.scoring.ontology",
    "ScoringError": "benchmark_qa.scoring.errors",
    "ConfigError": "benchmark_qa.scoring.errors",
    "LabelRowError": "benchmark_qa.scoring.errors",
    "OntologyError": "benchmark_qa.scoring.errors",
    "RowMismatchError": "benchmark_qa.scoring.errors",
}
__all__ = [
    "ConfigError",
    "LabelRowError",
    "Ontology",
    "OntologyError",
    "RowMismatchError",
    "ScoreReport",
    "ScoringConfig",
    "ScoringError",
    "score_label_rows",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'benchmark_qa.scoring' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
