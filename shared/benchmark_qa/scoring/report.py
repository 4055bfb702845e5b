"""The versioned JSON report (pydantic). `SCHEMA_VERSION` changes whenever a field changes meaning.

Overall score (documented in docs/scoring.md):
    score = (w_o * PQ + w_a * A_attr + w_c * A_cls) / (sum of the weights of the components present)
    PQ     = sum of TP similarity / (TP + FP/2 + FN/2)   (panoptic quality: F1 x mean localisation)
    A_attr = frames-weighted accuracy of object attributes on class-correct matches
    A_cls  = frames-weighted accuracy of classification answers (unanswered / extra frames count as wrong)
A component with no evidence (n = 0) is left out. Both rows empty: score 1 with n = 0.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, Field

from benchmark_qa.scoring.conflicts import Conflict, aggregate_hints
from benchmark_qa.scoring.metrics import AttributeBreakdown, ObjectMetrics, Stat
from benchmark_qa.scoring.tracking import TrackingMetrics

SCHEMA_VERSION = "1.1"  # 1.1: per-class tracking, not_scored, n of F1/PQ/IDF1 = TP + FP + FN (docs/scoring.md)
SCORE_FORMULA = (
    "(w_objects*PQ + w_attributes*attribute_accuracy + w_classifications*classification_accuracy) / sum(w present)"
)


class MatchTable(BaseModel):
    """Every matched pair, column-wise (one row = one pair on one frame)."""

    family: list[str] = Field(default_factory=list)
    data_unit: list[str] = Field(default_factory=list)
    frame: list[int] = Field(default_factory=list)
    truth_hash: list[str] = Field(default_factory=list)
    labels_hash: list[str] = Field(default_factory=list)
    truth_class: list[str] = Field(default_factory=list)
    labels_class: list[str] = Field(default_factory=list)
    similarity: list[float] = Field(default_factory=list)


class Subject(BaseModel):
    data_type: str
    data_hash: str
    truth_label_hash: str
    labels_label_hash: str


class ScoreReport(BaseModel):
    schema_version: str = SCHEMA_VERSION
    subject: Subject
    parameters: dict[str, Any] = Field(description="the ScoringConfig used, verbatim")
    score: float = Field(ge=0.0, le=1.0)
    score_formula: str = SCORE_FORMULA
    n: int = Field(
        description="evidence units behind the score: the n of each component present (objects TP+FP+FN, "
        "attribute and classification frames), summed"
    )
    interval: Stat = Field(description="Wilson 95% interval of the score, treating it as a proportion over n")
    components: dict[str, Stat]
    objects: ObjectMetrics
    object_attributes: dict[str, AttributeBreakdown]
    classifications: dict[str, AttributeBreakdown]
    tracking: TrackingMetrics | None = None
    conflict_totals: dict[str, int] = Field(description="frames per conflict kind, before the list is capped")
    conflicts: list[Conflict]
    matches: MatchTable

    # ---- raw counts for summing over many tasks
    def counts(self) -> dict[str, Any]:
        """tp/fp/fn per class and correct/total per attribute path: add these across reports, then divide."""
        return {
            "classes": {
                k: {"tp": v.tp, "fp": v.fp, "fn": v.fn, "similarity_sum": v.similarity_sum}
                for k, v in self.objects.classes.items()
            },
            "object_attributes": {
                k: {"correct": v.correct, "total": v.total} for k, v in self.object_attributes.items()
            },
            "classifications": {k: {"correct": v.correct, "total": v.total} for k, v in self.classifications.items()},
        }

    def hints(self, limit: int = 5) -> list[str]:
        return aggregate_hints(self.conflicts, limit)

    def to_json(self, indent: bool = False) -> bytes:
        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.model_dump(mode="json"), option=option)

    def to_table(self) -> str:
        o = self.objects
        weights = self.parameters.get("weights", {})
        present = {k: c for k, c in self.components.items() if c.n > 0 and weights.get(k, 0) > 0}
        total = sum(weights[k] for k in present) or 1.0
        lines = [
            f"score {self.score:.3f}  (n={self.n}, 95% CI {_fmt(self.interval.low)}-{_fmt(self.interval.high)})",
            "  = " + " + ".join(f"{weights[k] / total:.3f} x {k} {_fmt(c)}" for k, c in present.items())
            if present
            else "  (no evidence: two empty rows)",
            f"{'component':<18}{'value':>8}{'weight':>8}{'n':>8}",
            *(
                f"{k:<18}{_fmt(c):>8}{weights.get(k, 0):>8.2f}{c.n:>8}" + ("" if k in present else "  (not counted)")
                for k, c in self.components.items()
            ),
            f"detection  tp={o.detection.tp} fp={o.detection.fp} fn={o.detection.fn}  "
            f"P={_fmt(o.detection.precision)} R={_fmt(o.detection.recall)} F1={_fmt(o.detection.f1)}",
            f"localisation (mean over TP) {_fmt(o.localisation.get('all'))}   label accuracy {_fmt(o.label_accuracy)}",
            "",
            f"{'class':<20}{'tp':>6}{'fp':>6}{'fn':>6}{'F1':>8}{'loc':>8}",
        ]
        for name, b in o.classes.items():
            lines.append(f"{name:<20}{b.tp:>6}{b.fp:>6}{b.fn:>6}{_fmt(b.f1):>8}{_fmt(b.localisation):>8}")
        for title, table in (("attribute", self.object_attributes), ("classification", self.classifications)):
            if table:
                lines += ["", f"{title:<36}{'correct':>9}{'total':>7}{'acc':>7}"]
                lines += [f"{p:<36}{b.correct:>9}{b.total:>7}{_fmt(b.accuracy):>7}" for p, b in table.items()]
        if o.not_scored:
            lines += [
                "",
                "not scored: "
                + ", ".join(f"{k} (truth {v.truth}, labels {v.labels})" for k, v in o.not_scored.items()),
            ]
        if self.tracking:
            t = self.tracking
            lines += [
                "",
                f"tracks: IDF1={_fmt(t.idf1)} MOTA={t.mota:.3f} HOTA={_fmt(t.hota)} "
                f"ID switches={t.id_switches} fragmentations={t.fragmentations}",
            ]
            lines += [
                f"  {name:<18}IDF1={_fmt(c.idf1)} MOTA={c.mota:.3f} HOTA={_fmt(c.hota)} ID switches={c.id_switches}"
                for name, c in t.classes.items()
            ]
        if self.conflict_totals:
            lines += ["", "conflicts: " + ", ".join(f"{k}={v}" for k, v in sorted(self.conflict_totals.items()))]
        hints = self.hints()
        if hints:
            lines += ["hints: " + "; ".join(hints)]
        return "\n".join(lines)


def _fmt(value: Stat | float | None) -> str:
    if isinstance(value, Stat):
        value = value.value
    return "-" if value is None else f"{value:.3f}"
