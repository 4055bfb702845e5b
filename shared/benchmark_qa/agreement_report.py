"""Agreement without ground truth on one consensus task: Krippendorff's alpha on the shapes (per shape family,
per class, per annotator pair), and alpha and Gwet's AC1 on object classes, attributes and classifications
(docs/annotator-quality.md). Everything is kept as additive sums, so tasks add up to a per-class or per-pair figure.

Units and values (from `annotator_consensus`):
* shapes: a unit is one object (a group of mutually matched marks); every annotator of the task rates it, with
  their mark (distance 1 - similarity to another mark: 1 - IoU, 1 - OKS, 1 - range IoU, ...) or ABSENT
  (distance 1 to any mark, 0 to another ABSENT). A box only one annotator drew is a unit too: it is disagreement.
* object class: a unit is an object with two marks or more; the values are the classes the annotators gave it.
* an answer (object attribute path, or classification): a unit is one object (or frame); the values are the
  answers given. Nominal: two answers agree only when equal (a checklist is equal as a set).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import TypeVar

from pydantic import BaseModel, Field

from benchmark_qa.agreement import (
    ABSENT,
    AC1Sums,
    AC1Tally,
    AlphaSums,
    AlphaTally,
    Shape,
    Value,
    category_counts,
)
from benchmark_qa.annotator_consensus import AnswerSet, Consensus, ConsensusObject
from benchmark_qa.scoring.labels import Answer
from benchmark_qa.scoring.ontology import Ontology

PAIR_SEPARATOR = " | "
T = TypeVar("T", AlphaSums, "NominalSums")


class NominalSums(BaseModel):
    alpha: AlphaSums = Field(default_factory=AlphaSums)
    ac1: AC1Sums = Field(default_factory=AC1Sums)

    def __add__(self, other: NominalSums) -> NominalSums:
        return NominalSums(alpha=self.alpha + other.alpha, ac1=self.ac1 + other.ac1)


class TaskAgreement(BaseModel):
    """Additive agreement sums of one task (or, added up, of many)."""

    annotators: list[str] = Field(default_factory=list)
    tasks: int = 0
    shapes: dict[str, AlphaSums] = Field(default_factory=dict, description="shape family -> alpha sums")
    shapes_by_class: dict[str, AlphaSums] = Field(default_factory=dict, description="object class -> alpha sums")
    shape_pairs: dict[str, AlphaSums] = Field(default_factory=dict, description="'a | b' -> alpha sums (shapes)")
    classes: NominalSums = Field(default_factory=NominalSums, description="object class labels on shared objects")
    answers: dict[str, NominalSums] = Field(default_factory=dict, description="attribute / classification path")
    answer_pairs: dict[str, AlphaSums] = Field(default_factory=dict, description="'a | b' -> alpha sums (answers)")

    def __add__(self, other: TaskAgreement) -> TaskAgreement:
        return TaskAgreement(
            annotators=sorted(set(self.annotators) | set(other.annotators)),
            tasks=self.tasks + other.tasks,
            shapes=_add(self.shapes, other.shapes),
            shapes_by_class=_add(self.shapes_by_class, other.shapes_by_class),
            shape_pairs=_add(self.shape_pairs, other.shape_pairs),
            classes=self.classes + other.classes,
            answers=_add(self.answers, other.answers),
            answer_pairs=_add(self.answer_pairs, other.answer_pairs),
        )


def _add(a: dict[str, T], b: dict[str, T]) -> dict[str, T]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k] + v if k in out else v
    return out


def pair_key(a: str, b: str) -> str:
    return PAIR_SEPARATOR.join(sorted((a, b)))


def _shape_values(obj: ConsensusObject, annotators: Iterable[str]) -> list[Value]:
    return [Shape(a) if a in obj.marks else ABSENT for a in annotators]  # a shape is one annotator's mark


def _answer_value(answer: Answer) -> Value:
    return answer


class _NominalTally:
    def __init__(self, options: int = 0) -> None:
        self.alpha = AlphaTally()
        self.ac1 = AC1Tally(options)

    def add_categories(self, counts: dict[str, int]) -> None:
        self.alpha.add_categories(counts)
        self.ac1.add_categories(counts)

    def sums(self) -> NominalSums:
        return NominalSums(alpha=self.alpha.sums(), ac1=self.ac1.sums())


def task_agreement(consensus: Consensus, ontology: Ontology) -> TaskAgreement:
    """Each object is one unit of `AlphaSums.add_unit` (its `_shape_values`, delta 1 - similarity between two
    marks) for its family, its majority class and every pair of annotators with a mark in it; added up in plain
    tallies, with each pair's delta worked out once for all three."""
    annotators = list(consensus.annotators)
    if len(annotators) < 2:
        return TaskAgreement(annotators=annotators, tasks=1)
    k = len(annotators)
    pairs = [
        (a, b, (a, b) if a < b else (b, a), pair_key(a, b))
        for i, a in enumerate(annotators)
        for b in annotators[i + 1 :]
    ]
    shapes: dict[str, AlphaTally] = {}
    by_class: dict[str, AlphaTally] = {}
    shape_pairs: dict[str, AlphaTally] = {}
    classes = _NominalTally(len(ontology.objects))
    for obj in consensus.objects:
        marks, similarity = obj.marks, obj.similarity
        total = 0.0
        paired: list[tuple[str, float, int]] = []  # pair key, its unit's total, its ABSENT values
        for a, b, sorted_pair, key in pairs:
            has_a, has_b = a in marks, b in marks
            if has_a and has_b:
                delta = 1.0 - min(max(similarity.get(sorted_pair, 0.0), 0.0), 1.0)
                paired.append((key, 2.0 * delta, 0))
            elif has_a or has_b:
                delta = 1.0
                paired.append((key, 2.0, 1))
            else:
                delta = 0.0
            total += 2.0 * delta
        absent = k - len(marks)
        family = obj.place[2]
        tally = shapes.get(family)
        if tally is None:
            tally = shapes[family] = AlphaTally()
        tally.add(k, total, ABSENT, absent)
        cls = obj.majority_class
        tally = by_class.get(cls)
        if tally is None:
            tally = by_class[cls] = AlphaTally()
        tally.add(k, total, ABSENT, absent)
        for key, pair_total, pair_absent in paired:
            tally = shape_pairs.get(key)
            if tally is None:
                tally = shape_pairs[key] = AlphaTally()
            tally.add(2, pair_total, ABSENT, pair_absent)
        if len(marks) >= 2:
            classes.add_categories(category_counts(m.cls for m in marks.values()))
    answers: dict[str, _NominalTally] = {}
    answer_pairs: dict[str, AlphaTally] = {}
    for entry in consensus.answers:
        _add_answers(answers, answer_pairs, entry, annotators)
    return TaskAgreement(
        annotators=annotators,
        tasks=1,
        shapes={f: t.sums() for f, t in shapes.items()},
        shapes_by_class={c: t.sums() for c, t in by_class.items()},
        shape_pairs={p: t.sums() for p, t in shape_pairs.items()},
        classes=classes.sums(),
        answers={p: t.sums() for p, t in answers.items()},
        answer_pairs={p: t.sums() for p, t in answer_pairs.items()},
    )


def _add_answers(
    answers: dict[str, _NominalTally], answer_pairs: dict[str, AlphaTally], entry: AnswerSet, annotators: list[str]
) -> None:
    given = {a: _answer_value(v) for a, v in entry.answers.items()}
    if not given:
        return
    sums = answers.get(entry.path)
    if sums is None:
        sums = answers[entry.path] = _NominalTally(len(entry.node.options) if entry.node.kind == "radio" else 0)
    sums.add_categories(category_counts(given.values()))
    for a, b in combinations(annotators, 2):
        if a in given and b in given:
            # the path keeps answers to different questions apart in the pooled pair figure
            pair = category_counts([f"{entry.path}={given[a]}", f"{entry.path}={given[b]}"])
            tally = answer_pairs.get(pair_key(a, b))
            if tally is None:
                tally = answer_pairs[pair_key(a, b)] = AlphaTally()
            tally.add_categories(pair)
