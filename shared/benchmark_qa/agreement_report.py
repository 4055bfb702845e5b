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

from benchmark_qa.agreement import ABSENT, AC1Sums, AlphaSums, Shape, Value
from benchmark_qa.annotator_consensus import AnswerSet, Consensus, ConsensusObject
from benchmark_qa.scoring.labels import Answer
from benchmark_qa.scoring.ontology import Ontology

PAIR_SEPARATOR = " | "
T = TypeVar("T", AlphaSums, "NominalSums")


class NominalSums(BaseModel):
    alpha: AlphaSums = Field(default_factory=AlphaSums)
    ac1: AC1Sums = Field(default_factory=AC1Sums)

    def add_unit(self, values: list[Value]) -> None:
        self.alpha.add_unit(values)
        self.ac1.add_unit(values)

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

    def overall_shapes(self) -> AlphaSums:
        return sum(self.shapes.values(), AlphaSums())


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


def task_agreement(consensus: Consensus, ontology: Ontology) -> TaskAgreement:
    annotators = list(consensus.annotators)
    out = TaskAgreement(annotators=annotators, tasks=1)
    if len(annotators) < 2:
        return out
    class_count = len(ontology.objects)
    out.classes.ac1.options = class_count
    for obj in consensus.objects:
        values = _shape_values(obj, annotators)

        def similarity(x: Value, y: Value, obj: ConsensusObject = obj) -> float:
            assert isinstance(x, Shape)
            assert isinstance(y, Shape)
            return obj.pair_similarity(str(x.key), str(y.key))

        family = obj.place[2]
        out.shapes.setdefault(family, AlphaSums()).add_unit(values, similarity)
        out.shapes_by_class.setdefault(obj.majority_class, AlphaSums()).add_unit(values, similarity)
        for a, b in combinations(annotators, 2):
            if a in obj.marks or b in obj.marks:
                pair = [v for v, who in zip(values, annotators, strict=True) if who in (a, b)]
                out.shape_pairs.setdefault(pair_key(a, b), AlphaSums()).add_unit(pair, similarity)
        if len(obj.marks) >= 2:
            out.classes.add_unit([m.cls for m in obj.marks.values()])
    for answers in consensus.answers:
        _add_answers(out, answers, annotators)
    return out


def _add_answers(out: TaskAgreement, entry: AnswerSet, annotators: list[str]) -> None:
    given = {a: _answer_value(v) for a, v in entry.answers.items()}
    if not given:
        return
    sums = out.answers.get(entry.path)
    if sums is None:
        sums = out.answers[entry.path] = NominalSums()
        sums.ac1.options = len(entry.node.options) if entry.node.kind == "radio" else 0
    sums.add_unit(list(given.values()))
    for a, b in combinations(annotators, 2):
        if a in given and b in given:
            # the path keeps answers to different questions apart in the pooled pair figure
            out.answer_pairs.setdefault(pair_key(a, b), AlphaSums()).add_unit(
                [f"{entry.path}={given[a]}", f"{entry.path}={given[b]}"]
            )
