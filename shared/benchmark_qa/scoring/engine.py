"""score_label_rows: ontology + truth row + annotator row -> ScoreReport. Pure: no network, no SDK."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from benchmark_qa.collector import paused_gc
from benchmark_qa.scoring.comparison import compare
from benchmark_qa.scoring.config import ScoringConfig
from benchmark_qa.scoring.conflicts import build_conflicts
from benchmark_qa.scoring.errors import RowMismatchError
from benchmark_qa.scoring.labels import LabelSet, read_label_row
from benchmark_qa.scoring.metrics import attribute_metrics, micro_accuracy, object_metrics, stat_of
from benchmark_qa.scoring.ontology import FAMILIES, Ontology
from benchmark_qa.scoring.report import MatchTable, ScoreReport, Subject
from benchmark_qa.scoring.tracking import SwitchEvent, tracking_metrics

TRACK_TYPES = frozenset({"video", "dicom", "nifti"})  # frames of one scene; PDF pages are not a sequence


def score_label_rows(
    ontology: Ontology,
    truth: Mapping[str, Any] | bytes,
    labels: Mapping[str, Any] | bytes,
    config: ScoringConfig | None = None,
) -> ScoreReport:
    config = (config or ScoringConfig()).validate_against(ontology)
    # parse one row at a time so only one row's dicts are alive at once
    with paused_gc():
        t = read_label_row(ontology, truth)
        a = read_label_row(ontology, labels)
        check_same_data(t, a)
        return score_label_sets(ontology, t, a, config)


def check_same_data(t: LabelSet, a: LabelSet) -> None:
    """Refuse two rows that label different data: comparing them would report every object missed and extra."""
    if t.data_type != a.data_type:
        raise RowMismatchError(
            f"the truth row {t.label_hash!r} labels {t.data_type} data (data hash {t.data_hash}) but the annotator "
            f"row {a.label_hash!r} labels {a.data_type} data (data hash {a.data_hash}); pass two label rows of the "
            "same data unit"
        )
    truth_units = {u.hash for u in t.units}
    if t.units and a.units and not truth_units & {u.hash for u in a.units}:
        raise RowMismatchError(
            f"the truth row {t.label_hash!r} (data hash {t.data_hash}) and the annotator row {a.label_hash!r} (data "
            f"hash {a.data_hash}) share no data unit; pass two label rows of the same data unit"
        )


def _take(values: list[str], index: np.ndarray) -> list[str]:
    """[values[i] for i in index], for non-negative indices."""
    if not len(index):
        return []
    low, high = int(index.min()), int(index.max())
    if low == high:  # one family, data unit or class throughout: the same str n times
        return [values[low]] * len(index)
    table = np.empty(len(values), dtype=object)
    table[:] = values
    taken: list[str] = table[index].tolist()
    return taken


def score_label_sets(ontology: Ontology, t: LabelSet, a: LabelSet, config: ScoringConfig) -> ScoreReport:
    comp = compare(ontology, t, a, config)
    rules = [config.resolve(o.name, o.shape, t.data_type) for o in ontology.objects]
    objects = object_metrics(ontology, t, a, comp)
    object_attrs = attribute_metrics(comp.answers, "object")
    class_attrs = attribute_metrics(comp.answers, "classification")
    tracking = None
    switches: list[SwitchEvent] = []
    t_class = np.array([o.class_index for o in t.objects] or [0])
    a_class = np.array([o.class_index for o in a.objects] or [0])
    detections = len(comp.matches.t_obj) + len(comp.missed.t_obj) + len(comp.extra.a_obj)
    if t.data_type in TRACK_TYPES and detections:  # also without truth objects: MOTA = -FP, as TrackEval
        names = [o.name for o in ontology.objects]
        tracking, switches = tracking_metrics(comp, t_class, a_class, lambda c: rules[c].match, names)
    conflicts, totals = build_conflicts(ontology, t, a, comp, rules, config.max_conflicts, switches)

    pq = objects.panoptic_quality
    components = {
        "objects": pq,
        "attributes": micro_accuracy(object_attrs),
        "classifications": micro_accuracy(class_attrs),
    }
    weights = config.weights.model_dump()
    present = [(weights[k], s) for k, s in components.items() if s.n > 0 and weights[k] > 0]
    if present:
        total_w = sum(w for w, _ in present)
        score = sum(w * (s.value or 0.0) for w, s in present) / total_w
        n = sum(s.n for _, s in present)
    else:
        score, n = 1.0, 0
    interval = stat_of(score, n)

    names = [o.name for o in ontology.objects]
    m = comp.matches
    du_names = [u.hash for u in t.units]
    top_du = int(m.du.max()) if len(m.du) else -1
    if top_du >= len(du_names):
        du_names += [str(d) for d in range(len(du_names), top_du + 1)]
    t_hash, a_hash = [o.hash for o in t.objects], [o.hash for o in a.objects]
    # per-object values taken by the matched pairs' indices from object arrays (the same str objects, no lookups
    # per pair); class names through the objects' classes (one class throughout is one list repeat); built from
    # typed columns, so not validated again (hundreds of thousands of values on a long video)
    table = MatchTable.model_construct(
        family=_take(list(FAMILIES), m.family),
        data_unit=_take(du_names, m.du),
        frame=m.frame.tolist(),
        truth_hash=_take(t_hash, m.t_obj),
        labels_hash=_take(a_hash, m.a_obj),
        truth_class=_take(names, t_class[m.t_obj]),
        labels_class=_take(names, a_class[m.a_obj]),
        similarity=m.sim.tolist(),
    )
    return ScoreReport.model_construct(
        subject=Subject(
            data_type=t.data_type, data_hash=t.data_hash, truth_label_hash=t.label_hash, labels_label_hash=a.label_hash
        ),
        parameters=config.model_dump(mode="json"),
        score=float(min(max(score, 0.0), 1.0)),
        n=int(n),
        interval=interval,
        components=components,
        objects=objects,
        object_attributes=object_attrs,
        classifications=class_attrs,
        tracking=tracking,
        conflict_totals=totals,
        conflicts=conflicts,
        matches=table,
        schema_version=ScoreReport.model_fields["schema_version"].default,
        score_formula=ScoreReport.model_fields["score_formula"].default,
    )
