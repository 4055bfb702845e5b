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

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations, repeat
from typing import Any

import numpy as np

from benchmark_qa.scoring.comparison import compare
from benchmark_qa.scoring.config import ScoringConfig
from benchmark_qa.scoring.engine import score_label_sets
from benchmark_qa.scoring.labels import Answer, LabelSet, read_label_row
from benchmark_qa.scoring.ontology import FAMILIES, AttributeNode, ClassificationClass, ObjectClass, Ontology
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
        """The class most marks give (ties: the first by name)."""
        counts: dict[str, int] = {}
        for m in self.marks.values():
            counts[m.cls] = counts.get(m.cls, 0) + 1
        if len(counts) == 1:  # nearly every object: no vote to count
            return next(iter(counts))
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


def _marks(ls: LabelSet, coder: str, names: Sequence[str], ints: list[int]) -> list[Mark]:
    """The set's marks, their frame numbers the int objects of `ints` (`_shared_ints`)."""
    hashes, classes = [lo.hash for lo in ls.objects], [names[lo.class_index] for lo in ls.objects]
    units = [u.hash for u in ls.units]
    out: list[Mark] = []
    for family, ann in ls.families.items():
        n, obj = len(ann.obj), ann.obj.tolist()
        out += map(
            Mark,
            repeat(coder, n),
            map(hashes.__getitem__, obj),
            map(classes.__getitem__, obj),
            map(units.__getitem__, ann.du.tolist()),
            _shared_ints(ann.frame, ints),
            repeat(family, n),
        )
    return out


def _shared_ints(values: np.ndarray, ints: list[int]) -> Iterable[int]:
    """The values as the int objects of `ints` (ints[k] is k; extended as needed), one object per frame number rather
    than per mark (a long video's 800,000 marks name 10,000 frames: 24 MB of ints otherwise). Values that are not
    small non-negative numbers come as they are."""
    if not len(values) or int(values.min()) < 0 or int(values.max()) > 4 * len(values) + len(ints) + 1024:
        return values.tolist()  # type: ignore[no-any-return]
    ints.extend(range(len(ints), int(values.max()) + 1))
    return map(ints.__getitem__, values.tolist())


_FAMILY_RANK = {name: rank for rank, name in enumerate(sorted(FAMILIES))}  # places sort by family name
_RANK_OF_CODE = np.array([_FAMILY_RANK[name] for name in FAMILIES], dtype=np.int64)  # the engine's family codes


class _MarkTable:
    """Every mark of some coders, numbered coder by coder in `_marks` order, with the columns that place and
    identify them. A mark is known by its key (coder, data unit, frame, family, object), one int64 here; when one
    object has two marks on one frame (a malformed row) the last one stands for both, as a dict of equal `Mark`s
    keeps it. Keys in numpy, not a dict of tuples: 800,000 marks' tuples took 100 MB."""

    def __init__(self, sets: Sequence[tuple[str, LabelSet]], names: Sequence[str], unit_rank: Mapping[str, int]):
        self.marks: list[Mark] = []
        self.coder: list[str] = []
        self.coder_bit: list[int] = []  # 1 << the coder's number: a group's coders as one int
        self.object_hash: list[str] = []
        # every two coders' similarity key, sorted, one tuple object per pair rather than per consensus object
        self.pair_key: dict[tuple[str, str], tuple[str, str]] = {}
        for x, y in combinations(sorted({coder for coder, _ in sets}), 2):
            self.pair_key[(x, y)] = self.pair_key[(y, x)] = (x, y)
        frame_ints: list[int] = []  # one int object per frame number, shared by every coder's marks
        columns: list[tuple[np.ndarray, ...]] = []  # coder, data unit rank, frame, family rank, object
        for c, (coder, ls) in enumerate(sets):
            self.marks += _marks(ls, coder, names, frame_ints)
            units = np.array([unit_rank[u.hash] for u in ls.units] or [0], dtype=np.int64)
            hashes = [lo.hash for lo in ls.objects]
            for name, ann in ls.families.items():
                n = len(ann.obj)
                du = units[ann.du] if n else np.zeros(0, dtype=np.int64)
                rank = np.full(n, _FAMILY_RANK[name], dtype=np.int64)
                columns.append((np.full(n, c, dtype=np.int64), du, ann.frame, rank, ann.obj))
                self.coder += repeat(coder, n)
                self.coder_bit += repeat(1 << c, n)
                self.object_hash += map(hashes.__getitem__, ann.obj.tolist())
        who, self.du, self.frame, self.family, obj = (
            np.concatenate([col[i] for col in columns]).astype(np.int64) if columns else np.zeros(0, dtype=np.int64)
            for i in range(5)
        )
        self.frames = np.unique(self.frame)  # keys hold a frame's rank among these
        objects = max((len(ls.objects) for _, ls in sets), default=0)
        self.radix = (len(unit_rank) or 1, len(self.frames) or 1, len(_FAMILY_RANK), objects or 1)
        if len(sets) * math.prod(self.radix) >= 2**63:
            raise ValueError(f"too many marks to key: {len(sets)} coders x {self.radix}")
        key = self._key(who, self.du, np.searchsorted(self.frames, self.frame), self.family, obj)
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        last = np.ones(len(key), dtype=bool)
        last[:-1] = ordered[1:] != ordered[:-1]
        self.keys, self.last = ordered[last], order[last]  # each key, sorted, and its last mark
        canon = self.last[np.searchsorted(self.keys, key)]
        # the mark standing for each mark: itself but in malformed rows
        self.canon: Sequence[int] = range(len(key)) if np.array_equal(canon, np.arange(len(key))) else canon.tolist()

    def _key(
        self, who: np.ndarray, du: np.ndarray, frame_rank: np.ndarray, family: np.ndarray, obj: np.ndarray
    ) -> np.ndarray:
        units, frames, families, objects = self.radix
        key: np.ndarray = (((who * units + du) * frames + frame_rank) * families + family) * objects + obj
        return key

    def find(self, coder: int, du: np.ndarray, frame: np.ndarray, family: np.ndarray, obj: np.ndarray) -> np.ndarray:
        """The marks of `coder` at these columns (-1: a value not known), -1 where there is none."""
        units, _, families, objects = self.radix
        frame_rank = np.searchsorted(self.frames, frame)
        known = (du >= 0) & (du < units) & (frame_rank < len(self.frames)) & (family >= 0) & (family < families)
        known &= (obj >= 0) & (obj < objects)
        known[known] = self.frames[frame_rank[known]] == frame[known]
        out = np.full(len(frame), -1, dtype=np.int64)
        if not len(self.keys):
            return out
        key = self._key(np.full(len(frame), coder, dtype=np.int64), du, frame_rank, family, obj)[known]
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hit = self.keys[at] == key
        out[np.flatnonzero(known)[hit]] = self.last[at[hit]]
        return out


def _places(table: _MarkTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The marks ordered by place (data unit hash, frame, family), each place's marks in mark order; the place
    number of every mark; where each place starts in that order (and the end)."""
    order = np.lexsort((table.family, table.frame, table.du))
    du, frame, family = table.du[order], table.frame[order], table.family[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (du[1:] != du[:-1]) | (frame[1:] != frame[:-1]) | (family[1:] != family[:-1])
    place_of = np.empty(len(order), dtype=np.int64)
    place_of[order] = np.cumsum(new) - 1
    starts = np.append(np.flatnonzero(new), len(order))
    return order, place_of, starts


def _edges(
    table: _MarkTable, place_of: np.ndarray, found: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, list[tuple[float, float, int, int]]]:
    """The matched mark pairs (`found`: a's marks, b's marks, similarities, pair by pair), grouped by place and in
    each place strongest first, ties by (coder, objectHash) of a, then of b, then as found: the order `_cluster`
    merges in. Each as (similarity, the similarity the pair keeps, a, b) with its place; a pair found twice (only
    in a malformed row) keeps the similarity found last."""
    a = np.concatenate([f[0] for f in found]) if found else np.zeros(0, dtype=np.int64)
    b = np.concatenate([f[1] for f in found]) if found else np.zeros(0, dtype=np.int64)
    sim = np.concatenate([f[2] for f in found]).astype(np.float64) if found else np.zeros(0)
    both = (a >= 0) & (b >= 0)
    a, b, sim = a[both], b[both], sim[both]
    if not len(sim):
        return np.zeros(0, dtype=np.int64), []
    who = {k: r for r, k in enumerate(sorted(set(zip(table.coder, table.object_hash, strict=True))))}
    rank = np.fromiter(
        map(who.__getitem__, zip(table.coder, table.object_hash, strict=True)), np.int64, len(table.coder)
    )
    pair = a * len(table.marks) + b
    kept = sim
    unique, inverse = np.unique(pair, return_inverse=True)
    if len(unique) < len(pair):
        last = np.zeros(len(unique), dtype=np.int64)
        np.maximum.at(last, inverse, np.arange(len(pair)))
        kept = sim[last[inverse]]
    order = np.lexsort((rank[b], rank[a], -sim, place_of[a]))
    edges = list(zip(sim[order].tolist(), kept[order].tolist(), a[order].tolist(), b[order].tolist(), strict=True))
    return place_of[a][order], edges


def _cluster(
    place: Place, group: list[int], edges: Sequence[tuple[float, float, int, int]], table: _MarkTable
) -> list[tuple[ConsensusObject, list[int]]]:
    """Complete-linkage grouping of one place's marks (their numbers, in mark order), edges in `_edges`' order
    (strongest first): two groups join only when they share no annotator and every cross pair matched. Each object
    with the keys of its marks."""
    coder, marks, canon, bit = table.coder, table.marks, table.canon, table.coder_bit
    if not edges:
        return [(ConsensusObject(place, {coder[m]: marks[m]}), [canon[m]]) for m in group]
    group_of: dict[int, int] = {canon[m]: i for i, m in enumerate(group)}
    members: dict[int, list[int]] = {i: [canon[m]] for i, m in enumerate(group)}
    coders = [bit[m] for m in group]  # group -> its coders' bits
    sim: dict[tuple[int, int], float] = {}
    for _, kept, a, b in edges:
        sim[(a, b)] = sim[(b, a)] = kept
    for _, _, a, b in edges:
        ga, gb = group_of[a], group_of[b]
        if ga == gb or coders[ga] & coders[gb]:
            continue
        left, right = members[ga], members[gb]
        # two single marks are the edge's own two; larger groups need every cross pair matched
        if (len(left) > 1 or len(right) > 1) and not all((x, y) in sim for x in left for y in right):
            continue
        for m in right:
            group_of[m] = ga
        members[ga] = left + right
        coders[ga] |= coders[gb]
        del members[gb]
    objects = []
    for together in members.values():
        obj = ConsensusObject(place, {coder[m]: marks[m] for m in together})
        for x, y in combinations(together, 2):
            obj.similarity[table.pair_key[(coder[x], coder[y])]] = sim[(x, y)]
        objects.append((obj, together))
    return objects


def _answer_nodes(ontology: Ontology) -> dict[str, tuple[str, AttributeNode]]:
    """attribute featureHash -> (owner name, node)."""
    nodes: dict[str, tuple[str, AttributeNode]] = {}
    owners: list[ObjectClass | ClassificationClass] = [*ontology.objects, *ontology.classifications]
    for owner in owners:
        for node in owner.all_attributes.values():
            nodes[node.hash] = (owner.name, node)
    return nodes


def _label_set(ontology: Ontology, row: LabelSet | Mapping[str, Any] | bytes) -> LabelSet:
    return row if isinstance(row, LabelSet) else read_label_row(ontology, row)


def build_consensus(
    ontology: Ontology,
    branches: Mapping[str, LabelSet | Mapping[str, Any] | bytes],
    truth: LabelSet | Mapping[str, Any] | bytes | None = None,
    config: ScoringConfig | None = None,
    truth_matches: Mapping[str, MatchTable] | None = None,
) -> Consensus:
    """`branches`: annotator -> label row, or the row parsed already (`read_label_row`; a LabelSet is never
    changed). `truth_matches` (annotator -> the MatchTable of their score report against `truth`) saves
    scoring them again; missing ones are computed."""
    config = (config or ScoringConfig()).validate_against(ontology)
    names = [o.name for o in ontology.objects]
    sets = {a: _label_set(ontology, row) for a, row in sorted(branches.items())}
    truth_set = _label_set(ontology, truth) if truth is not None else None
    annotators = tuple(sets)
    unit_hashes = {u.hash for ls in [*sets.values(), *([truth_set] if truth_set else [])] for u in ls.units}
    unit_rank = {h: r for r, h in enumerate(sorted(unit_hashes))}
    table = _MarkTable(list(sets.items()), names, unit_rank)

    objects, object_of = _objects(ontology, sets, table, unit_rank, config)
    unlinked: list[Mark] = []
    truth_frames: dict[str, int] = {}
    if truth_set is not None:
        truth_table = _MarkTable([(TRUTH, truth_set)], names, unit_rank)
        for m in truth_table.marks:
            truth_frames[m.object_hash] = truth_frames.get(m.object_hash, 0) + 1
        given = truth_matches or {}
        matches = {
            a: given[a] if given.get(a) is not None else score_label_sets(ontology, truth_set, ls, config).matches
            for a, ls in sets.items()
        }
        unlinked = _link_truth(truth_table, truth_set, sets, matches, table, unit_rank, object_of)
    answers = _answers(ontology, sets, truth_set, objects)
    return Consensus(annotators, objects, unlinked, answers, truth_frames, truth is not None)


def _objects(
    ontology: Ontology,
    sets: Mapping[str, LabelSet],
    table: _MarkTable,
    unit_rank: Mapping[str, int],
    config: ScoringConfig,
) -> tuple[list[ConsensusObject], list[ConsensusObject | None]]:
    """The annotators' marks grouped into objects, place by place in order; and by mark key, the last object
    holding that mark."""
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # every two annotators matched as the engine matches a row with the truth (only the matches are needed)
    for (i, a), (j, b) in combinations(enumerate(sets), 2):
        pairs = compare(ontology, sets[a], sets[b], config).matches
        units = np.array([unit_rank[u.hash] for u in sets[a].units] or [0], dtype=np.int64)
        du = units[pairs.du] if len(pairs.du) else np.zeros(0, dtype=np.int64)
        frame, family = pairs.frame.astype(np.int64), _RANK_OF_CODE[pairs.family]
        a_marks = table.find(i, du, frame, family, pairs.t_obj.astype(np.int64))
        found.append((a_marks, table.find(j, du, frame, family, pairs.a_obj.astype(np.int64)), pairs.sim))
    order, place_of, starts = _places(table)
    edge_place, edges = _edges(table, place_of, found)
    edge_starts = np.searchsorted(edge_place, np.arange(len(starts)), side="left").tolist()
    objects: list[ConsensusObject] = []
    object_of: list[ConsensusObject | None] = [None] * len(table.marks)
    sorted_marks, bounds = order.tolist(), starts.tolist()
    for p in range(len(bounds) - 1):
        group = sorted_marks[bounds[p] : bounds[p + 1]]
        first = table.marks[group[0]]
        for obj, together in _cluster(
            (first.du, first.frame, first.family), group, edges[edge_starts[p] : edge_starts[p + 1]], table
        ):
            objects.append(obj)
            for m in together:
                object_of[m] = obj
    return objects, object_of


def _column(values: Sequence[str], index: Mapping[str, int]) -> np.ndarray:
    """index[v] for each value, -1 for one not in it."""
    return np.fromiter(map(index.get, values, repeat(-1)), np.int64, len(values))


def _link_truth(
    truth_table: _MarkTable,
    truth_set: LabelSet,
    sets: Mapping[str, LabelSet],
    matches: Mapping[str, MatchTable],
    table: _MarkTable,
    unit_rank: Mapping[str, int],
    object_of: Sequence[ConsensusObject | None],
) -> list[Mark]:
    """Each truth mark linked to the object holding most of its partners (the annotator marks the engine matched
    to it, `matches`); the truth marks left unlinked."""
    partners: dict[int, dict[str, tuple[int, float]]] = {m: {} for m in truth_table.canon}
    truth_objects = {lo.hash: i for i, lo in enumerate(truth_set.objects)}
    for i, (a, ls) in enumerate(sets.items()):
        table_a = matches[a]
        du, family = _column(table_a.data_unit, unit_rank), _column(table_a.family, _FAMILY_RANK)
        frame = np.array(table_a.frame, dtype=np.int64)
        objects_a = {lo.hash: k for k, lo in enumerate(ls.objects)}
        tms = truth_table.find(0, du, frame, family, _column(table_a.truth_hash, truth_objects))
        ams = table.find(i, du, frame, family, _column(table_a.labels_hash, objects_a))
        for t, am, s in zip(tms.tolist(), ams.tolist(), table_a.similarity, strict=True):
            if t >= 0 and am >= 0:
                partners[t][a] = (am, s)
    unlinked: list[Mark] = []
    # Strongest truth marks first, so two truth marks never claim one object and the better one keeps it.
    strength = [-sum(s for _, s in partners[c].values()) for c in truth_table.canon]
    for t in sorted(range(len(truth_table.marks)), key=lambda t: (strength[t], truth_table.object_hash[t])):
        tm, mine = truth_table.marks[t], partners[truth_table.canon[t]]
        held = [object_of[am] for am, _ in mine.values()]
        if held and all(o is held[0] for o in held):  # the usual case: one object holds every partner
            free = [o for o in held[:1] if o is not None and o.truth is None]
        else:
            claimed: dict[int, ConsensusObject] = {}
            votes: dict[int, int] = {}
            for o in held:
                assert o is not None
                claimed[id(o)] = o
                votes[id(o)] = votes.get(id(o), 0) + 1
            free = [o for o in claimed.values() if o.truth is None]
        if not free:
            unlinked.append(tm)
            continue
        linked = (
            free[0]
            if len(free) == 1
            else min(free, key=lambda o: (-votes[id(o)], sorted(m.object_hash for m in o.marks.values())))
        )
        linked.truth = tm
        linked.truth_similarity = {a: s for a, (am, s) in mine.items() if object_of[am] is linked}
    return unlinked


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
