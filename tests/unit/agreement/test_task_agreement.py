"""Agreement on simulated consensus tasks: shapes per family, class and pair; classes and answers; exclusion."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from benchmark_qa.agreement import alpha_of_categories
from benchmark_qa.agreement_report import pair_key, task_agreement
from benchmark_qa.annotator_consensus import build_consensus
from benchmark_qa.ground_truth_audit import Flag, audit, exclusions, without
from benchmark_qa.scoring import Ontology, score_label_rows
from benchmark_qa.task_quality import score_without
from benchmark_qa_local.simulation import (
    PROFILES,
    annotator_label_row,
    demo_annotators,
    demo_ontology,
    generate_scene,
    label_row_dict,
)
from benchmark_qa_local.simulation.planted_errors import planted_task

ONTOLOGY = Ontology.from_dict(demo_ontology())


def _branches(seed: int, title: str, profiles: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    scene = generate_scene("dh", title, seed)
    annotators = demo_annotators(tuple(PROFILES[p] for p in profiles))
    return {e: annotator_label_row(scene, p, seed, annotator=e, image_index=0) for e, p in annotators.items()}


def test_identical_branches_agree_perfectly() -> None:
    scene = generate_scene("dh", "same", 3)
    row = label_row_dict(scene, author="a")
    agreement = task_agreement(build_consensus(ONTOLOGY, {"a": row, "b": row, "c": row}), ONTOLOGY)
    assert agreement.shapes["box"].alpha == pytest.approx(1.0)
    assert agreement.shapes["box"].observed == pytest.approx(0.0, abs=1e-12)
    assert agreement.shapes["box"].units == len(scene.objects)


def test_sloppy_pairs_agree_less_than_precise_pairs() -> None:
    precise, sloppy = [], []
    for seed in range(8):
        branches = _branches(seed, f"img {seed}", ("precise", "misses-small", "sloppy-boxes"))
        agreement = task_agreement(build_consensus(ONTOLOGY, branches), ONTOLOGY)
        names = sorted(branches)
        p = agreement.shape_pairs[pair_key("precise@benchmark-qa.local", "misses-small@benchmark-qa.local")]
        s = agreement.shape_pairs[pair_key("precise@benchmark-qa.local", "sloppy-boxes@benchmark-qa.local")]
        precise.append(p.observed / p.n)
        sloppy.append(s.observed / s.n)
        assert len(names) == 3
    assert sum(sloppy) / len(sloppy) > 2 * sum(precise) / len(precise)


def test_class_and_answer_agreement_are_the_nominal_statistics_of_the_answers() -> None:
    branches = _branches(5, "img", ("precise", "confuses-car-truck", "wrong-attributes", "misses-small"))
    consensus = build_consensus(ONTOLOGY, branches)
    agreement = task_agreement(consensus, ONTOLOGY)
    classes = [[m.cls for m in o.marks.values()] for o in consensus.objects if len(o.marks) >= 2]
    assert agreement.classes.alpha.alpha == alpha_of_categories(classes).alpha
    weather = [list(a.answers.values()) for a in consensus.answers if a.path == "Weather"]
    assert agreement.answers["Weather"].alpha == alpha_of_categories(weather)
    assert agreement.answers["Weather"].ac1.options == 2


def _task_with_a_disputed_truth_class() -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[Flag]]:
    """A truth with a planted wrong class, every demo annotator's branch, and the audit's flags."""
    task = planted_task("dh", "excluded", "wrong_class", 11)
    assert task is not None
    truth, branches, _ = task
    return truth, branches, audit(build_consensus(ONTOLOGY, branches, truth), "dh")


def test_left_out_objects_no_longer_count_against_the_annotators() -> None:
    truth, branches, flags = _task_with_a_disputed_truth_class()
    assert [f.kind for f in flags] == ["class_disputed"]
    left_out = exclusions(flags)
    precise = "precise@benchmark-qa.local"
    before = score_label_rows(ONTOLOGY, truth, branches[precise])
    after = score_label_rows(
        ONTOLOGY,
        without(truth, left_out.truth_objects),
        without(branches[precise], left_out.annotator_objects[precise]),
    )
    assert before.conflict_totals.get("wrong_class") == 1
    assert "wrong_class" not in after.conflict_totals
    assert after.score > before.score
    assert after.n < before.n


def test_objects_left_out_of_rows_kept_as_json_score_as_left_out_of_the_dicts() -> None:
    """The score worker keeps rows as the JSON Encord sent (benchmark_qa.encord.consensus.Row): scoring them
    without the flagged objects gives the reports of the dicts."""
    truth, branches, flags = _task_with_a_disputed_truth_class()
    as_dicts = score_without(ONTOLOGY, truth, branches, flags)
    as_json = score_without(ONTOLOGY, orjson.dumps(truth), {a: orjson.dumps(r) for a, r in branches.items()}, flags)
    assert {a: r.model_dump() for a, r in as_json.items()} == {a: r.model_dump() for a, r in as_dicts.items()}
    precise = "precise@benchmark-qa.local"
    assert as_json[precise].score > score_label_rows(ONTOLOGY, truth, branches[precise]).score
