"""One conflict a reviewer sees (its kind, where, and the hint for the annotator). A model apart from the engine
that finds conflicts (benchmark_qa.scoring.conflicts), so that stored results can be read without numpy."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

ConflictKind = Literal[
    "missing", "extra", "wrong_class", "low_overlap", "attribute_mismatch", "direction", "visibility", "id_switch"
]
Severity = Literal["error", "warning"]
SEVERITY: dict[str, Severity] = {
    "missing": "error",
    "extra": "error",
    "wrong_class": "error",
    "id_switch": "error",
    "attribute_mismatch": "warning",
    "low_overlap": "warning",
    "direction": "warning",
    "visibility": "warning",
}


class Conflict(BaseModel):
    kind: ConflictKind
    severity: Severity
    data_unit: str  # data hash
    frame: int  # first frame of the run
    frame_last: int
    frames: int  # frames in the run
    truth_hash: str | None  # objectHash or classificationHash in the ground truth
    labels_hash: str | None  # objectHash or classificationHash in the annotator's row
    truth_value: str | None
    labels_value: str | None
    path: str | None = None  # attribute path, or skeleton node
    similarity: float | None = None
    hint: str
