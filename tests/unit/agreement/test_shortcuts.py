"""The quick ways of building a task's consensus and agreement against the plain computations they replace: the
tallies against `AlphaSums.add_unit` / `AC1Sums.add_unit` unit by unit, and `build_consensus` (marks keyed by
integers, edges ordered by numpy) against grouping `Mark`s directly, on images, videos and malformed rows."""

from __future__ import annotations

import copy
import json
import random
import statistics
from collections import Counter
from collections.abc import Mapping
from itertools import combinations
from typing import Any

import pytest
from benchmark_qa.agreement import AC1Sums, AC1Tally, AlphaSums, AlphaTally, Shape, category_counts
from benchmark_qa.agreement_report import NominalSums, TaskAgreement, _shape_values, pair_key, task_agreement
from benchmark_qa.annotator_consensus import (
    TRUTH,
    Consensus,
    ConsensusObject,
    Mark,
    Place,
    _marks,
    build_consensus,
)
from benchmark_qa.ground_truth_audit import _median
from benchmark_qa.scoring import Ontology, ScoringConfig
from benchmark_qa.scoring.engine import score_label_sets
from benchmark_qa.scoring.labels import LabelSet, read_label_row
from benchmark_qa.scoring.report import MatchTable
from benchmark_qa_local.simulation import PROFILES, demo_annotators, demo_ontology, generate_scene, label_row_dict
from benchmark_qa_local.simulation.profiles import annotator_label_row
from hypothesis import given
from hypothesis import strategies as st

ONTOLOGY = Ontology.from_dict(demo_ontology())
CATEGORIES = st.sampled_from(["a", "b", "c", "<absent>", "1.5"]) | st.frozensets(st.sampled_from(["x", "y"]))


# ---------------------------------------------------------------------------------------------- tallies
@given(st.lists(st.lists(CATEGORIES, max_size=6), max_size=12))
def test_tallies_add_categories_as_add_unit_does(units: list[list[Any]]) -> None:
    alpha, ac1, alpha_tally, ac1_tally = AlphaSums(), AC1Sums(options=3), AlphaTally(), AC1Tally(3)
    for unit in units:
        alpha.add_unit(unit)
        ac1.add_unit(unit)
        alpha_tally.add_categories(category_counts(unit))
        ac1_tally.add_categories(category_counts(unit))
    assert alpha_tally.sums().model_dump_json() == alpha.model_dump_json()
    assert ac1_tally.sums().model_dump_json() == ac1.model_dump_json()


def _add_nominal(sums: NominalSums, values: list[Any]) -> None:
    sums.alpha.add_unit(values)
    sums.ac1.add_unit(values)


def _plain_agreement(consensus: Consensus, ontology: Ontology) -> TaskAgreement:
    """task_agreement unit by unit through the models' add_unit (as it was before the tallies)."""
    annotators = list(consensus.annotators)
    out = TaskAgreement(annotators=annotators, tasks=1)
    if len(annotators) < 2:
        return out
    out.classes.ac1.options = len(ontology.objects)
    for obj in consensus.objects:
        values = _shape_values(obj, annotators)

        def similarity(x: Any, y: Any, obj: ConsensusObject = obj) -> float:
            assert isinstance(x, Shape)
            assert isinstance(y, Shape)
            return obj.pair_similarity(str(x.key), str(y.key))

        out.shapes.setdefault(obj.place[2], AlphaSums()).add_unit(values, similarity)
        out.shapes_by_class.setdefault(obj.majority_class, AlphaSums()).add_unit(values, similarity)
        for a, b in combinations(annotators, 2):
            if a in obj.marks or b in obj.marks:
                pair = [v for v, who in zip(values, annotators, strict=True) if who in (a, b)]
                out.shape_pairs.setdefault(pair_key(a, b), AlphaSums()).add_unit(pair, similarity)
        if len(obj.marks) >= 2:
            _add_nominal(out.classes, [m.cls for m in obj.marks.values()])
    for entry in consensus.answers:
        given_answers = dict(entry.answers)
        if not given_answers:
            continue
        sums = out.answers.get(entry.path)
        if sums is None:
            sums = out.answers[entry.path] = NominalSums()
            sums.ac1.options = len(entry.node.options) if entry.node.kind == "radio" else 0
        _add_nominal(sums, list(given_answers.values()))
        for a, b in combinations(annotators, 2):
            if a in given_answers and b in given_answers:
                out.answer_pairs.setdefault(pair_key(a, b), AlphaSums()).add_unit(
                    [f"{entry.path}={given_answers[a]}", f"{entry.path}={given_answers[b]}"]
                )
    return out


# ---------------------------------------------------------------------------------------------- tasks
def _video(row: Mapping[str, Any], frames: int, seed: int, duplicates: bool = False) -> dict[str, Any]:
    """An image row as a video of `frames` frames: every object on every frame but a few, jittered, moving; with
    `duplicates`, now and then one object twice on a frame (a malformed row)."""
    rng = random.Random(seed)
    out = copy.deepcopy(dict(row))
    unit = next(iter(out["data_units"].values()))
    objects = unit["labels"]["objects"]
    labels: dict[str, Any] = {}
    for f in range(frames):
        on_frame = []
        for o in objects:
            if rng.random() < 0.1:
                continue
            copy_ = copy.deepcopy(o)
            box = copy_["boundingBox"]
            box["x"] = min(max(box["x"] + 0.003 * f + rng.gauss(0, 0.01), 0.0), 1 - box["w"])
            box["y"] = min(max(box["y"] + rng.gauss(0, 0.01), 0.0), 1 - box["h"])
            on_frame.append(copy_)
            if duplicates and rng.random() < 0.15:
                twin = copy.deepcopy(copy_)
                twin["boundingBox"]["x"] = min(box["x"] + 0.02, 1 - box["w"])
                on_frame.append(twin)
        labels[str(f)] = {"objects": on_frame, "classifications": []}
    unit["labels"], unit["data_type"], out["data_type"] = labels, "video/mp4", "video"
    for answer in out["classification_answers"].values():
        answer["range"] = [[0, frames - 1]]
    return out


def _task(seed: int, video: bool, duplicates: bool = False) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    rng = random.Random(seed)
    scene = generate_scene(f"dh{seed}", f"scene {seed}", seed)
    profiles = rng.sample(list(PROFILES.values()), rng.choice([2, 3, 4]))
    branches = {
        email: annotator_label_row(scene, profile, seed, annotator=email, image_index=i)
        for i, (email, profile) in enumerate(demo_annotators(tuple(profiles)).items())
    }
    truth = label_row_dict(scene, author="gt")
    if video:
        frames = rng.randint(2, 12)
        truth = _video(truth, frames, seed, duplicates)
        branches = {a: _video(r, frames, seed + i + 1, duplicates) for i, (a, r) in enumerate(branches.items())}
    return truth, branches


TASKS = [
    (seed, video, duplicates) for seed in range(6) for video, duplicates in ((False, False), (True, seed % 2 == 0))
]


@pytest.mark.parametrize(("seed", "video", "duplicates"), TASKS)
def test_task_agreement_is_the_plain_unit_by_unit_sums(seed: int, video: bool, duplicates: bool) -> None:
    truth, branches = _task(seed, video, duplicates)
    consensus = build_consensus(ONTOLOGY, branches, truth)
    fast, plain = task_agreement(consensus, ONTOLOGY), _plain_agreement(consensus, ONTOLOGY)
    assert fast.model_dump_json() == plain.model_dump_json()


# ---------------------------------------------------------------------------------------------- consensus
def _plain_cluster(place: Place, marks: list[Mark], edges: list[tuple[float, Mark, Mark]]) -> list[ConsensusObject]:
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
            obj.similarity[(x.coder, y.coder) if x.coder < y.coder else (y.coder, x.coder)] = sim[(x, y)]
        objects.append(obj)
    return objects


def _pairs(table: MatchTable) -> list[tuple[Place, str, str, float]]:
    columns = (table.family, table.data_unit, table.frame, table.truth_hash, table.labels_hash, table.similarity)
    return [((du, f, fam), a, b, s) for fam, du, f, a, b, s in zip(*columns, strict=True)]


def _plain_consensus(
    ontology: Ontology, branches: Mapping[str, Mapping[str, Any]], truth: Mapping[str, Any]
) -> tuple[list[ConsensusObject], list[Mark]]:
    """The objects and the unlinked truth marks, grouping `Mark`s by value (as build_consensus did before its
    marks were numbered)."""
    config = ScoringConfig().validate_against(ontology)
    names = [o.name for o in ontology.objects]
    sets = {a: read_label_row(ontology, row) for a, row in sorted(branches.items())}
    marks = {a: _marks(ls, a, names, []) for a, ls in sets.items()}
    by_key = {(m.du, m.frame, m.family, m.coder, m.object_hash): m for ms in marks.values() for m in ms}
    edges: dict[Place, list[tuple[float, Mark, Mark]]] = {}
    for a, b in combinations(sets, 2):
        for place, ha, hb, s in _pairs(score_label_sets(ontology, sets[a], sets[b], config).matches):
            ma, mb = by_key.get((*place, a, ha)), by_key.get((*place, b, hb))
            if ma is not None and mb is not None:
                edges.setdefault(place, []).append((s, ma, mb))
    places: dict[Place, list[Mark]] = {}
    for m in (m for ms in marks.values() for m in ms):
        places.setdefault((m.du, m.frame, m.family), []).append(m)
    objects = [o for place, ms in sorted(places.items()) for o in _plain_cluster(place, ms, edges.get(place, []))]
    object_of = {m: o for o in objects for m in o.marks.values()}
    truth_set = read_label_row(ontology, truth)
    truth_marks = _marks(truth_set, TRUTH, names, [])
    partners: dict[Mark, dict[str, tuple[Mark, float]]] = {m: {} for m in truth_marks}
    truth_key = {(m.du, m.frame, m.family, m.object_hash): m for m in truth_marks}
    for a, ls in sets.items():
        for place, th, ah, s in _pairs(score_label_sets(ontology, truth_set, ls, config).matches):
            tm, am = truth_key.get((*place, th)), by_key.get((*place, a, ah))
            if tm is not None and am is not None:
                partners[tm][a] = (am, s)
    unlinked = []
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
    return objects, unlinked


def _dump(objects: list[ConsensusObject], unlinked: list[Mark]) -> str:
    rows = [
        [o.place, sorted(o.marks.items()), sorted(o.similarity.items()), o.truth, sorted(o.truth_similarity.items())]
        for o in objects
    ]
    return json.dumps([rows, unlinked], default=repr)


@pytest.mark.parametrize(("seed", "video", "duplicates"), TASKS)
def test_consensus_groups_the_marks_as_grouping_marks_by_value_does(seed: int, video: bool, duplicates: bool) -> None:
    truth, branches = _task(seed, video, duplicates)
    consensus = build_consensus(ONTOLOGY, branches, truth)
    assert _dump(consensus.objects, consensus.unlinked_truth) == _dump(*_plain_consensus(ONTOLOGY, branches, truth))


@pytest.mark.parametrize(("seed", "video"), [(1, False), (2, True)])
def test_parsed_rows_give_the_consensus_of_the_rows(seed: int, video: bool) -> None:
    truth, branches = _task(seed, video)
    parsed: dict[str, LabelSet] = {a: read_label_row(ONTOLOGY, r) for a, r in branches.items()}
    from_rows = build_consensus(ONTOLOGY, branches, truth)
    from_sets = build_consensus(ONTOLOGY, parsed, read_label_row(ONTOLOGY, truth))
    assert _dump(from_sets.objects, from_sets.unlinked_truth) == _dump(from_rows.objects, from_rows.unlinked_truth)
    assert task_agreement(from_sets, ONTOLOGY) == task_agreement(from_rows, ONTOLOGY)


# ---------------------------------------------------------------------------------------------- small ones
@given(st.lists(st.floats(0.0, 1.0), max_size=9))
def test_median_is_statistics_median(values: list[float]) -> None:
    assert _median(values) == (float(statistics.median(values)) if values else None)


@given(st.lists(st.sampled_from(["Car", "Truck", "Bus"]), min_size=1, max_size=5))
def test_majority_class_is_the_most_common_first_by_name(classes: list[str]) -> None:
    obj = ConsensusObject(
        ("du", 0, "box"), {f"a{i}": Mark(f"a{i}", "h", c, "du", 0, "box") for i, c in enumerate(classes)}
    )
    counts = Counter(classes)
    assert obj.majority_class == min(counts, key=lambda c: (-counts[c], c))


def test_marks_share_one_int_per_frame_and_objects_one_key_per_annotator_pair() -> None:
    """On a long video a frame number per mark and a pair key per object took ~50 MB of the checks' memory
    (800,000 marks, 200,000 objects; docs/performance.md, "Memory of a long video"): equal values are one object."""
    truth, branches = _task(3, video=False)
    frames = 300  # past the interpreter's cached small ints
    truth = _video(truth, frames, 3)
    branches = {a: _video(r, frames, 4 + i) for i, (a, r) in enumerate(branches.items())}
    consensus = build_consensus(ONTOLOGY, branches, truth)
    marks = [m for o in consensus.objects for m in o.marks.values()]
    assert max(m.frame for m in marks) > 256
    assert len({id(m.frame) for m in marks}) == len({m.frame for m in marks})
    keys = [k for o in consensus.objects for k in o.similarity]
    assert keys
    assert len({id(k) for k in keys}) == len(set(keys))
