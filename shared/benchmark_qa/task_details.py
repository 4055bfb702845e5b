"""What a scored result keeps for the leaderboard's drill-down, next to its counts: which way classes were
confused (truth class -> annotated class), detection by object size (COCO's small / medium / large, in the
frame's own pixels), which radio answers were given where the benchmark had another, and the worst conflicts
(frame, object, kind, similarity) so a manager can open them in Encord.

Computed once per (task, annotator) at scoring time from the engine's report and the two parsed label rows;
the leaderboard then only adds these up. Pure: no AWS, no SDK.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from benchmark_qa.scoring.conflict import Conflict

if TYPE_CHECKING:
    from benchmark_qa.scoring import Ontology, ScoreReport, ScoringConfig
    from benchmark_qa.scoring.labels import LabelSet

SizeBucket = Literal["small", "medium", "large"]
SIZE_BUCKETS: tuple[SizeBucket, ...] = ("small", "medium", "large")
# COCO's areas (pycocotools cocoeval.py `areaRng`): small < 32², medium < 96², large above, in pixels.
SMALL_AREA = 32.0**2
LARGE_AREA = 96.0**2
WORST_CONFLICTS = 8  # conflicts kept per result for the drill-down
NO_ANSWER = "(no answer)"
SEVERITY_ORDER = {"error": 0, "warning": 1}


class SizeCounts(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0


class ChoiceCount(BaseModel):
    """A radio attribute answered `labels` where the benchmark has `truth`, on `frames` frames."""

    path: str
    truth: str
    labels: str
    frames: int


class TaskDetails(BaseModel):
    confusion: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="truth class -> annotated class -> objects ('unmatched' for misses/extras)"
    )
    sizes: dict[str, SizeCounts] = Field(default_factory=dict, description="COCO size bucket -> tp / fp / fn")
    choices: list[ChoiceCount] = Field(default_factory=list, description="radio answers that disagree")
    worst: list[Conflict] = Field(default_factory=list, description="the worst conflicts: errors, longest first")


def size_bucket(area: float) -> SizeBucket:
    if area < SMALL_AREA:
        return "small"
    return "medium" if area < LARGE_AREA else "large"


HINT_COUNT = re.compile(r"\s*(?:\bon\s+)?\(?\b\d+\s+(?:frame|time)s?\b\)?")


def hint_pattern(hint: str) -> str:
    """The hint without its frame count ("missed Car on 3 frames" -> "missed Car"), so tasks group."""
    return HINT_COUNT.sub("", hint).strip()


# ------------------------------------------------------------------------------------------- computing details
def details_of(ontology: Ontology, truth: LabelSet, labels: LabelSet, report: ScoreReport) -> TaskDetails:
    """`ontology` (scoring Ontology), `truth` and `labels` (the parsed LabelSets the report was scored from)."""
    return TaskDetails(
        confusion=_confusion(report),
        sizes=_sizes(truth, labels, report),
        choices=_choices(ontology, report.conflicts),
        worst=sorted(report.conflicts, key=_worst_first)[:WORST_CONFLICTS],
    )


def score_with_details(
    ontology: Ontology,
    truth: LabelSet | Mapping[str, Any] | bytes,
    labels: LabelSet | Mapping[str, Any] | bytes,
    config: ScoringConfig | None = None,
) -> tuple[ScoreReport, TaskDetails]:
    """The engine's `score_label_rows` plus the details, parsing each row once. Either row may come parsed
    already (`read_label_row`): a task's branches share the truth, the quality checks reuse the branches, and the
    engine never changes a LabelSet."""
    from benchmark_qa.collector import paused_gc
    from benchmark_qa.scoring.config import ScoringConfig
    from benchmark_qa.scoring.engine import score_label_sets
    from benchmark_qa.scoring.labels import LabelSet, read_label_row

    config = (config or ScoringConfig()).validate_against(ontology)
    with paused_gc():
        t = truth if isinstance(truth, LabelSet) else read_label_row(ontology, truth)
        a = labels if isinstance(labels, LabelSet) else read_label_row(ontology, labels)
        report = score_label_sets(ontology, t, a, config)
        return report, details_of(ontology, t, a, report)


def _worst_first(c: Conflict) -> tuple[int, int, str, int, str]:
    return (SEVERITY_ORDER.get(c.severity, 2), -c.frames, c.data_unit, c.frame, c.kind)


def _confusion(report: ScoreReport) -> dict[str, dict[str, int]]:
    from benchmark_qa.scoring.metrics import UNMATCHED  # the engine's, imported with it (numpy)

    matrix = report.objects.confusion
    out: dict[str, dict[str, int]] = {}
    for i, truth in enumerate(matrix.truth):
        for j, annotated in enumerate(matrix.labels):
            if matrix.counts[i][j] and not (truth == UNMATCHED and annotated == UNMATCHED):
                out.setdefault(truth, {})[annotated] = int(matrix.counts[i][j])
    return out


def _areas(label_set: LabelSet) -> dict[tuple[str, int, str], float]:
    """(data unit hash, frame, objectHash) -> area in the frame's pixels, for the shapes that have an area (boxes,
    polygons, bitmasks) on data units whose size is known."""
    from benchmark_qa.scoring.bitmask import decode_counts
    from benchmark_qa.scoring.polygon import valid_region

    out: dict[tuple[str, int, str], float] = {}
    units, objects = label_set.units, label_set.objects
    for family, ann in label_set.families.items():
        if family not in ("box", "polygon", "bitmask") or not len(ann):
            continue
        for k, (du, frame, obj) in enumerate(zip(ann.du.tolist(), ann.frame.tolist(), ann.obj.tolist(), strict=True)):
            unit = units[du] if du < len(units) else None
            if unit is None or not unit.width or not unit.height:
                continue
            if family == "box":
                assert ann.boxes is not None  # the reader always fills boxes for the box family
                area = float(ann.boxes[k, 2] * ann.boxes[k, 3]) * unit.width * unit.height
            elif family == "polygon":
                area = valid_region(ann.geom[k], (unit.width, unit.height)).area  # as the engine reads it
            else:
                area = float(decode_counts(ann.geom[k][4])[1::2].sum())
            out[(unit.hash, frame, objects[obj].hash)] = area
    return out


def _sizes(truth: LabelSet, labels: LabelSet, report: ScoreReport) -> dict[str, SizeCounts]:
    """TP and FN by the truth object's area, FP by the annotated object's (as COCO does): a TP is a match of the
    same class, as in the engine's metrics."""
    m = report.matches
    hit_truth, hit_labels = set(), set()
    for du, frame, th, lh, tc, lc in zip(
        m.data_unit, m.frame, m.truth_hash, m.labels_hash, m.truth_class, m.labels_class, strict=True
    ):
        if tc == lc:
            hit_truth.add((du, frame, th))
            hit_labels.add((du, frame, lh))
    counts: dict[str, SizeCounts] = defaultdict(SizeCounts)
    for key, area in _areas(truth).items():
        bucket = counts[size_bucket(area)]
        if key in hit_truth:
            bucket.tp += 1
        else:
            bucket.fn += 1
    for key, area in _areas(labels).items():
        if key not in hit_labels:
            counts[size_bucket(area)].fp += 1
    return {b: counts[b] for b in SIZE_BUCKETS if b in counts}


def _radio_paths(ontology: Ontology) -> set[str]:
    """Conflict paths of radio attributes: 'Class/path' for objects, the path itself for classifications."""
    paths = {
        f"{owner.name}/{node.path}"
        for owner in ontology.objects
        for node in owner.all_attributes.values()
        if node.kind == "radio"
    }
    paths |= {
        node.path
        for owner in ontology.classifications
        for node in owner.all_attributes.values()
        if node.kind == "radio"
    }
    return paths


def _choices(ontology: Ontology, conflicts: list[Conflict]) -> list[ChoiceCount]:
    radio = _radio_paths(ontology)
    frames: Counter[tuple[str, str, str]] = Counter()
    for c in conflicts:
        # both sides empty: a classification nobody answered, which the gap conflicts already report
        if c.kind == "attribute_mismatch" and c.path in radio and (c.truth_value or c.labels_value):
            frames[(c.path, c.truth_value or NO_ANSWER, c.labels_value or NO_ANSWER)] += c.frames
    return [ChoiceCount(path=p, truth=t, labels=a, frames=n) for (p, t, a), n in sorted(frames.items())]


__all__ = [
    "NO_ANSWER",
    "SIZE_BUCKETS",
    "ChoiceCount",
    "SizeCounts",
    "TaskDetails",
    "details_of",
    "hint_pattern",
    "score_with_details",
    "size_bucket",
]
