"""The quality checks a consensus task gets besides its scores (docs/annotator-quality.md):
agreement among the annotators and the ground-truth audit, and, when flagged objects are left out, the branches
scored again without them. Pure: label rows and the engine's reports in, records out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from benchmark_qa.agreement_report import TaskAgreement, task_agreement
from benchmark_qa.annotator_consensus import build_consensus
from benchmark_qa.collector import paused_gc
from benchmark_qa.ground_truth_audit import AuditSettings, Flag, exclusions, without
from benchmark_qa.ground_truth_audit import audit as audit_truth
from benchmark_qa.scoring import Ontology, ScoreReport, ScoringConfig, score_label_rows
from benchmark_qa.scoring.labels import LabelSet


@dataclass
class TaskQuality:
    agreement: TaskAgreement
    flags: list[Flag]


def assess(
    ontology: Ontology,
    data_hash: str,
    truth: LabelSet | Mapping[str, Any] | None,
    branches: Mapping[str, LabelSet | Mapping[str, Any]],
    reports: Mapping[str, ScoreReport],
    config: ScoringConfig | None = None,
    settings: AuditSettings | None = None,
) -> TaskQuality:
    """`branches` and `reports` are keyed by annotator; the reports (against `truth`) are reused, not redone.
    The rows may come parsed already (`read_label_row`), as the score worker has them."""
    with paused_gc():  # builds the consensus's objects and frees none of them until it returns (collector.py)
        consensus = build_consensus(
            ontology, branches, truth, config, truth_matches={a: r.matches for a, r in reports.items()}
        )
        flags = audit_truth(consensus, data_hash, settings) if truth is not None else []
        return TaskQuality(task_agreement(consensus, ontology), flags)


def score_without(
    ontology: Ontology,
    truth: Mapping[str, Any] | bytes,
    branches: Mapping[str, Mapping[str, Any] | bytes],
    flags: Collection[Flag],
    config: ScoringConfig | None = None,
) -> dict[str, ScoreReport]:
    """Every branch scored against the truth with the objects of `flags` left out of both (rows as dicts or JSON)."""
    left_out = exclusions(flags)
    clean_truth = without(truth, left_out.truth_objects, left_out.classifications)
    return {
        a: score_label_rows(
            ontology,
            clean_truth,
            without(row, left_out.annotator_objects.get(a, frozenset()), left_out.classifications),
            config,
        )
        for a, row in branches.items()
    }
