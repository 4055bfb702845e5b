"""What the annotators of one consensus task agree on, object by object: the input of the agreement statistics
and of the ground-truth audit (docs/annotator-quality.md).

Every annotator labels the same data unit on a branch of their own. The scoring engine matches any two rows
(per data unit, frame and shape family, optimal one-to-one at the class's match threshold); here every pair of
annotators is matched that way, and the matched marks are grouped into *objects*: a group holds at most one
mark per annotator, and every two marks in it matched each other (complete linkage, strongest pairs first, so
a chain A~B~C whose ends do not match never makes one object). A mark nobody matched is an object of its own.

With ground truth, each truth mark is then linked to the object holding most of the annotator marks the
engine matched to it (its partners in the annotator's own score report).

Pure: label-row dicts in, plain records out; no AWS, no SDK.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from benchmark_qa.scoring.config import ScoringConfig
from benchmark_qa.scoring.engine import score_label_sets
from benchmark_qa.scoring.labels import Answer, LabelSet, read_label_row
from benchmark_qa.scoring.ontology import AttributeNode, ClassificationClass, ObjectClass, Ontology
from benchmark_qa.scoring.report import MatchTable

TRUTH = "<ground truth>"
Place = tuple[str, int, str]  # data unit hash, frame, shape family


@dataclass(frozen=True, slots=True)
class Mark:
    """One coder's annotation of one object on one frame."""

    coder: str
    object_hash: str
    cls: str
    du: str
    frame: int
    family: str


@dataclass
class ConsensusObject:
    """One object as the annotators saw it: their marks and how similar each two are."""

    place: Place
    marks: dict[str, Mark]  # annotator -> mark
    similarity: dict[tuple[str, str], float] = field(default_factory=dict)  # sorted annotator pair -> similarity
    truth: Mark | None = None
    truth_similarity: dict[str, float] = field(default_factory=dict)  # annotator -> similarity with the truth mark

    def pair_similarity(self, a: str, b: str) -> float:
        return self.similarity.get((a, b) if a < b else (b, a), 0.0)

    @property
    def majority_class(self) -> str:
        counts = Counter(m.cls for m in self.marks.values())
        return min(counts, key=lambda c: (-counts[c], c)) if counts else (self.truth.cls if self.truth else "")


@dataclass
class AnswerSet:
    """Every coder's answer to one question on one frame: an object attribute or a classification."""

    scope: str  # "object" | "classification"
    path: str  # "Car/Occluded", "Weather"
    node: AttributeNode
    du: str
    frame: int
    answers: dict[str, Answer]  # annotator -> answer
    truth: Answer | None = None
    truth_present: bool = False  # the truth had the question to answer (object / classification present)
    obj: ConsensusObject | None = None  # for object attributes


@dataclass
class Consensus:
    annotators: tuple[str, ...]
    objects: list[ConsensusObject]
    unlinked_truth: list[Mark]  # truth marks no annotator matched
    answers: list[AnswerSet]
    truth_frames: dict[str, int]  # truth object hash -> frames it is on
    has_truth: bool


def _marks(ls: LabelSet, coder: str, names: Sequence[str]) -> list[Mark]:
    out = []
    for family, ann in ls.families.items():
        du, frame, obj = ann.du.tolist(), ann.frame.tolist(), ann.obj.tolist()
        for d, f, o in zip(du, frame, obj, strict=True):
            lo = ls.objects[o]
            out.append(Mark(coder, lo.hash, names[lo.class_index], ls.units[d].hash, int(f), family))
    return out


def _pairs(table: MatchTable) -> list[tuple[Place, str, str, float]]:
    return [
        ((du, f, fam), a, b, s)
        for fam, du, f, a, b, s in zip(
            table.family,
            table.data_unit,
            table.frame,
            table.truth_hash,
            table.labels_hash,
            table.similarity,
            strict=True,
        )
    ]


def _cluster(place: Place, marks: list[Mark], edges: list[tuple[float, Mark, Mark]]) -> list[ConsensusObject]:
    """Complete-linkage grouping: strongest edges first; two groups join only when they share no annotator and
    every cross pair matched."""
    group_of: dict[Mark, int] = {m: i for i, m in enumerate(marks)}
    members: dict[int, list[Mark]] = {i: [m] for i, m in enumerate(marks)}
    sim: dict[tuple[Mark, Mark], float] = {}
    for s, a, b in edges:
        sim[(a, b)] = sim[(b, a)] = s
    for _, a, b in sorted(edges, key=lambda e: (-e[0], e[1].coder, e[1].object_hash, e[2].coder, e[2].object_hash)):
        ga, gb = group_of[a], group_of[b]
        if ga == gb:
            continue
        left, right = members[ga], members[gb]
        if {m.coder for m in left} & {m.coder for m in right}:
            continue
        if not all((x, y) in sim for x in left for y in right):
            continue
        for m in right:
            group_of[m] = ga
        members[ga] = left + right
        del members[gb]
    objects = []
    for group in members.values():
        obj = ConsensusObject(place, {m.coder: m for m in group})
        for x, y in combinations(group, 2):
            key = (x.coder, y.coder) if x.coder < y.coder else (y.coder, x.coder)
            obj.similarity[key] = sim[(x, y)]
        objects.append(obj)
    return objects


def _answer_nodes(ontology: Ontology) -> dict[str, tuple[str, AttributeNode]]:
    """attribute featureHash -> (owner name, node)."""
    nodes: dict[str, tuple[str, AttributeNode]] = {}
    owners: list[ObjectClass | ClassificationClass] = [*ontology.objects, *ontology.classifications]
    for owner in owners:
        for node in owner.all_attributes.values():
            nodes[node.hash] = (owner.name, node)
    return nodes


def build_consensus(
    ontology: Ontology,
    branches: Mapping[str, Mapping[str, Any] | bytes],
    truth: Mapping[str, Any] | bytes | None = None,
    config: ScoringConfig | None = None,
    truth_matches: Mapping[str, MatchTable] | None = None,
) -> Consensus:
    """`branches`: annotator -> label row. `truth_matches` (annotator -> the MatchTable of their score report
    against `truth`) saves scoring them again; missing ones are computed."""
    config = (config or ScoringConfig()).validate_against(ontology)
    names = [o.name for o in ontology.objects]
    sets = {a: read_label_row(ontology, row) for a, row in sorted(branches.items())}
    annotators = tuple(sets)
    marks = {a: _marks(ls, a, names) for a, ls in sets.items()}
    by_key = {(m.du, m.frame, m.family, m.coder, m.object_hash): m for ms in marks.values() for m in ms}

    edges: dict[Place, list[tuple[float, Mark, Mark]]] = {}
    for a, b in combinations(annotators, 2):
        report = score_label_sets(ontology, sets[a], sets[b], config)
        for place, ha, hb, s in _pairs(report.matches):
            ma, mb = by_key.get((*place, a, ha)), by_key.get((*place, b, hb))
            if ma is not None and mb is not None:
                edges.setdefault(place, []).append((s, ma, mb))
    places: dict[Place, list[Mark]] = {}
    for m in (m for ms in marks.values() for m in ms):
        places.setdefault((m.du, m.frame, m.family), []).append(m)
    objects = [o for place, ms in sorted(places.items()) for o in _cluster(place, ms, edges.get(place, []))]
    object_of: dict[Mark, ConsensusObject] = {m: o for o in objects for m in o.marks.values()}

    unlinked: list[Mark] = []
    truth_frames: dict[str, int] = {}
    truth_set: LabelSet | None = None
    if truth is not None:
        truth_set = read_label_row(ontology, truth)
        truth_marks = _marks(truth_set, TRUTH, names)
        for m in truth_marks:
            truth_frames[m.object_hash] = truth_frames.get(m.object_hash, 0) + 1
        partners: dict[Mark, dict[str, tuple[Mark, float]]] = {m: {} for m in truth_marks}
        truth_key = {(m.du, m.frame, m.family, m.object_hash): m for m in truth_marks}
        for a in annotators:
            table = (truth_matches or {}).get(a)
            if table is None:
                table = score_label_sets(ontology, truth_set, sets[a], config).matches
            for place, th, ah, s in _pairs(table):
                tm, am = truth_key.get((*place, th)), by_key.get((*place, a, ah))
                if tm is not None and am is not None:
                    partners[tm][a] = (am, s)
        # Strongest truth marks first, so two truth marks never claim one object and the better one keeps it.
        for tm in sorted(truth_marks, key=lambda m: (-sum(s for _, s in partners[m].values()), m.object_hash)):
            votes = Counter(id(object_of[am]) for am, _ in partners[tm].values())
            claimed = {id(object_of[am]): object_of[am] for am, _ in partners[tm].values()}
            free = [o for o in claimed.values() if o.truth is None]
            if not free:
                unlinked.append(tm)
                continue
            linked = min(free, key=lambda o: (-votes[id(o)], sorted(m.object_hash for m in o.marks.values())))
            linked.truth = tm
            linked.truth_similarity = {a: s for a, (am, s) in partners[tm].items() if object_of[am] is linked}

    answers = _answers(ontology, sets, truth_set, objects)
    return Consensus(annotators, objects, unlinked, answers, truth_frames, truth is not None)


def _answers(
    ontology: Ontology,
    sets: Mapping[str, LabelSet],
    truth: LabelSet | None,
    objects: list[ConsensusObject],
) -> list[AnswerSet]:
    nodes = _answer_nodes(ontology)
    coders = [*sets.items(), *([(TRUTH, truth)] if truth else [])]
    return _object_answers(nodes, coders, objects) + _classification_answers(nodes, coders)


def _object_answers(
    nodes: Mapping[str, tuple[str, AttributeNode]],
    coders: Sequence[tuple[str, LabelSet]],
    objects: list[ConsensusObject],
) -> list[AnswerSet]:
    """Static object attributes on every object, per attribute path of each member's class (dynamic attributes
    are left out)."""
    static = {(coder, lo.hash): lo.answers for coder, ls in coders for lo in ls.objects}
    out: list[AnswerSet] = []
    # Object attributes (static answers) on every object, per attribute path of each member's class.
    for obj in objects:
        du, frame, _ = obj.place
        by_path: dict[str, AnswerSet] = {}
        marks = [*obj.marks.items(), *([(TRUTH, obj.truth)] if obj.truth else [])]
        for coder, mark in marks:
            for feature, answer in static.get((coder, mark.object_hash), {}).items():
                if feature not in nodes or nodes[feature][0] != mark.cls:
                    continue
                owner, node = nodes[feature]
                path = f"{owner}/{node.path}"
                entry = by_path.setdefault(path, AnswerSet("object", path, node, du, frame, {}, obj=obj))
                if coder == TRUTH:
                    entry.truth = answer
                else:
                    entry.answers[coder] = answer
        for path, entry in by_path.items():
            entry.truth_present = obj.truth is not None and path.startswith(obj.truth.cls + "/")
            out.append(entry)
    return out


def _classification_answers(
    nodes: Mapping[str, tuple[str, AttributeNode]], coders: Sequence[tuple[str, LabelSet]]
) -> list[AnswerSet]:
    """Classification answers, frame by frame."""
    per_frame: dict[tuple[int, str], AnswerSet] = {}
    for coder, ls in coders:
        du = ls.units[0].hash if ls.units else ""
        for lc in ls.classifications:
            frames = [f for start, stop in lc.frames.tolist() for f in range(int(start), int(stop) + 1)]
            for feature, answer in lc.answers.items():
                node = nodes[feature][1] if feature in nodes else None
                if node is None:
                    continue
                for f in frames:
                    entry = per_frame.setdefault(
                        (f, node.path), AnswerSet("classification", node.path, node, du, f, {})
                    )
                    if coder == TRUTH:
                        entry.truth, entry.truth_present = answer, True
                    else:
                        entry.answers[coder] = answer
    return [per_frame[k] for k in sorted(per_frame)]
