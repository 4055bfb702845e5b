"""Counts and statistics: detection, localisation, classification, attributes, per class, micro / macro / worst.

Every aggregate is a `Stat` carrying its n and a Wilson 95% interval, and that n is the one the interval used
(docs/scoring.md lists n for every figure). For means of values in [0, 1] (IoU, OKS) the Wilson interval is used as
a conservative bound: such a variable's variance is at most p(1-p). F1-type figures (F1, IDF1) have n = TP + FP + FN
and an exact transform of the Wilson interval of TP / n. Raw counts are kept next to every ratio so reports over
many tasks can be summed, not averaged.
"""

from __future__ import annotations

import math
from typing import Self

import numpy as np
from pydantic import BaseModel, Field

from benchmark_qa.scoring.comparison import FAMILY_CODE, AnswerRecord, Comparison
from benchmark_qa.scoring.labels import LabelSet
from benchmark_qa.scoring.ontology import Ontology

Z95 = 1.959963984540054
UNMATCHED = "unmatched"


class Stat(BaseModel):
    """A ratio or mean with its sample size and Wilson 95% interval (None when n = 0)."""

    value: float | None
    n: int
    low: float | None
    high: float | None


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def stat(numerator: float, n: float) -> Stat:
    """numerator / n with the Wilson interval for n."""
    if n <= 0:
        return Stat(value=None, n=0, low=None, high=None)
    return stat_of(numerator / n, int(n))


def stat_of(value: float, n: int) -> Stat:
    """A value in [0, 1] treated as a proportion over n units, with the Wilson interval for that n."""
    if n <= 0:
        return Stat(value=None, n=0, low=None, high=None)
    p = min(max(value, 0.0), 1.0)
    low, high = wilson(p, n)
    return Stat(value=p, n=n, low=low, high=high)


def f1_stat(tp: int, fp: int, fn: int) -> Stat:
    """F1 = 2TP / (2TP + FP + FN) with n = TP + FP + FN: every pair, miss and extra once. F1 = 2J / (1 + J) of the
    proportion J = TP / n (the threat score, a true binomial proportion over n), and that map is increasing, so the
    Wilson interval of J carried through it covers F1 exactly as often."""
    n = tp + fp + fn
    if n <= 0:
        return Stat(value=None, n=0, low=None, high=None)
    low, high = wilson(tp / n, n)
    return Stat(value=2 * tp / (2 * tp + fp + fn), n=n, low=2 * low / (1 + low), high=2 * high / (1 + high))


class DetectionCounts(BaseModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0
    precision: Stat | None = None
    recall: Stat | None = None
    f1: Stat | None = None

    def finish(self) -> Self:
        self.precision = stat(self.tp, self.tp + self.fp)
        self.recall = stat(self.tp, self.tp + self.fn)
        self.f1 = f1_stat(self.tp, self.fp, self.fn)
        return self


class ClassBreakdown(DetectionCounts):
    """Raw counts (summable across tasks) and the ratios derived from them, for one object class."""

    truth: int = 0  # truth annotations (object x frame)
    labels: int = 0
    similarity_sum: float = 0.0  # over true positives
    localisation: Stat | None = None


class AttributeBreakdown(BaseModel):
    correct: int = 0  # frames-weighted
    total: int = 0
    similarity_sum: float = 0.0
    accuracy: Stat | None = None
    mean_similarity: Stat | None = None


class Aggregates(BaseModel):
    micro: DetectionCounts
    macro_f1: Stat
    worst_class: str | None
    worst_class_f1: Stat


class ConfusionMatrix(BaseModel):
    """rows: truth class, columns: annotator class; "unmatched" row/column for extras / misses."""

    truth: list[str]
    labels: list[str]
    counts: list[list[int]]


class NotScored(BaseModel):
    """Annotations (object x frame) of a shape the engine has no similarity for, per row."""

    truth: int = 0
    labels: int = 0


class ObjectMetrics(BaseModel):
    detection: DetectionCounts
    aggregates: Aggregates
    localisation: dict[str, Stat] = Field(description="mean similarity over true positives, per shape family and 'all'")
    label_accuracy: Stat = Field(description="spatial matches whose class agrees")
    confusion: ConfusionMatrix
    classes: dict[str, ClassBreakdown]
    panoptic_quality: Stat = Field(description="sum of TP similarity / (TP + FP/2 + FN/2); n = TP + FP + FN")
    visibility_accuracy: Stat
    empty_frames_agreed: int = 0
    not_scored: dict[str, NotScored] = Field(
        default_factory=dict, description="per shape: annotations left out because the engine cannot score them"
    )


def object_metrics(ontology: Ontology, truth: LabelSet, labels: LabelSet, comp: Comparison) -> ObjectMetrics:
    n_cls = len(ontology.objects)
    t_class = np.array([o.class_index for o in truth.objects] or [0], dtype=np.int64)
    a_class = np.array([o.class_index for o in labels.objects] or [0], dtype=np.int64)
    m = comp.matches
    mt, ma = t_class[m.t_obj] if len(m.t_obj) else m.t_obj, a_class[m.a_obj] if len(m.a_obj) else m.a_obj
    same = mt == ma
    miss_c = t_class[comp.missed.t_obj] if len(comp.missed.t_obj) else comp.missed.t_obj
    extra_c = a_class[comp.extra.a_obj] if len(comp.extra.a_obj) else comp.extra.a_obj
    tp = np.bincount(mt[same], minlength=n_cls)
    sim_sum = np.bincount(mt[same], weights=m.sim[same], minlength=n_cls)
    fn = np.bincount(miss_c, minlength=n_cls) + np.bincount(mt[~same], minlength=n_cls)
    fp = np.bincount(extra_c, minlength=n_cls) + np.bincount(ma[~same], minlength=n_cls)
    size = n_cls + 1
    confusion = np.zeros((size, size), dtype=np.int64)
    np.add.at(confusion, (mt, ma), 1)
    np.add.at(confusion, (miss_c, np.full(len(miss_c), n_cls)), 1)
    np.add.at(confusion, (np.full(len(extra_c), n_cls), extra_c), 1)

    classes: dict[str, ClassBreakdown] = {}
    for cls in ontology.objects:
        i = cls.index
        if tp[i] + fp[i] + fn[i] == 0:
            continue
        b = ClassBreakdown(
            tp=int(tp[i]),
            fp=int(fp[i]),
            fn=int(fn[i]),
            truth=int(tp[i] + fn[i]),
            labels=int(tp[i] + fp[i]),
            similarity_sum=float(sim_sum[i]),
        ).finish()
        b.localisation = stat(float(sim_sum[i]), int(tp[i]))
        classes[cls.name] = b
    empty = comp.empty_frames
    micro = DetectionCounts(tp=int(tp.sum()) + empty, fp=int(fp.sum()), fn=int(fn.sum())).finish()
    f1s = [(name, b.f1) for name, b in classes.items() if b.f1 is not None and b.f1.value is not None]
    macro = float(np.mean([f.value for _, f in f1s])) if f1s else None
    macro_stat = stat(macro * len(f1s), len(f1s)) if macro is not None else stat(0, 0)
    worst = min(f1s, key=lambda item: (item[1].value, item[0])) if f1s else None
    aggregates = Aggregates(
        micro=micro,
        macro_f1=macro_stat,
        worst_class=worst[0] if worst else None,
        worst_class_f1=worst[1] if worst else stat(0, 0),
    )
    localisation: dict[str, Stat] = {}
    for family, code in FAMILY_CODE.items():
        sel = same & (m.family == code)
        if sel.any():
            localisation[family] = stat(float(m.sim[sel].sum()), int(sel.sum()))
    localisation["all"] = stat(float(m.sim[same].sum()), int(same.sum()))
    names = [c.name for c in ontology.objects]
    used = sorted(
        {
            *np.nonzero(confusion[:n_cls].sum(axis=1))[0].tolist(),
            *np.nonzero(confusion[:, :n_cls].sum(axis=0))[0].tolist(),
        }
    )
    rows = [*used, n_cls]
    pq_den = tp.sum() + 0.5 * fp.sum() + 0.5 * fn.sum() + empty
    return ObjectMetrics(
        detection=micro,
        aggregates=aggregates,
        localisation=localisation,
        label_accuracy=stat(int(same.sum()), len(same)),
        confusion=ConfusionMatrix(
            truth=[names[i] for i in used] + [UNMATCHED],
            labels=[names[i] for i in used] + [UNMATCHED],
            counts=confusion[np.ix_(rows, rows)].tolist(),
        ),
        classes=classes,
        panoptic_quality=stat_of(
            (float(sim_sum.sum()) + empty) / float(pq_den) if pq_den else 0.0,
            int(tp.sum() + fp.sum() + fn.sum() + empty),
        ),
        visibility_accuracy=stat(comp.visibility_agree, comp.visibility_nodes),
        empty_frames_agreed=empty,
        not_scored={
            shape: NotScored(truth=truth.not_scored.get(shape, 0), labels=labels.not_scored.get(shape, 0))
            for shape in sorted({*truth.not_scored, *labels.not_scored})
        },
    )


def attribute_metrics(records: list[AnswerRecord], scope: str) -> dict[str, AttributeBreakdown]:
    out: dict[str, AttributeBreakdown] = {}
    for r in records:
        if r.scope != scope:
            continue
        b = out.setdefault(r.path, AttributeBreakdown())
        b.total += r.frames
        b.correct += r.frames if r.correct else 0
        b.similarity_sum += r.similarity * r.frames
    for b in out.values():
        b.accuracy = stat(b.correct, b.total)
        b.mean_similarity = stat(b.similarity_sum, b.total)
    return dict(sorted(out.items()))


def micro_accuracy(breakdown: dict[str, AttributeBreakdown]) -> Stat:
    return stat(sum(b.correct for b in breakdown.values()), sum(b.total for b in breakdown.values()))
