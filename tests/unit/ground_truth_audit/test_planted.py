"""The audit on simulated tasks: every planted ground-truth mistake is found, and nothing else is flagged."""

from __future__ import annotations

import pytest
from benchmark_qa.annotator_consensus import build_consensus
from benchmark_qa.ground_truth_audit import Flag, audit
from benchmark_qa.scoring import Ontology
from benchmark_qa_local.simulation import demo_ontology
from benchmark_qa_local.simulation.planted_errors import EXPECTED_FLAGS, KINDS, PlantedError, planted_task


def _task(seed: int, title: str, kind: str | None) -> tuple[list[Flag], PlantedError | None] | None:
    task = planted_task(f"dh-{title}", title, kind, seed)
    if task is None:
        return None
    truth, branches, planted = task
    consensus = build_consensus(Ontology.from_dict(demo_ontology()), branches, truth)
    return audit(consensus, f"dh-{title}"), planted


# Planted on 40 images each (`python -m bench` prints the same table for more): how often the audit finds the
# mistake with the five demo annotators (quorum 3 of 5). A nudged box or a flipped attribute is found only when at
# least three annotators matched the object with its class, which sloppy-boxes and confuses-car-truck often do not.
DETECTED_AT_LEAST = {
    "wrong_class": 40,
    "spurious_object": 40,
    "missing_object": 40,
    "shifted_box": 40,
    "nudged_box": 25,  # measured 29 of 40
    "wrong_attribute": 28,  # measured 32 of 40
    "wrong_weather": 40,
}


@pytest.mark.parametrize("kind", KINDS)
def test_planted_mistakes_are_found_and_nothing_else_is_flagged(kind: str) -> None:
    found = tried = 0
    for seed in range(40):
        outcome = _task(seed, f"scene {seed}", kind)
        if outcome is None:
            continue
        flags, planted = outcome
        tried += 1
        kinds = {f.kind for f in flags}
        assert kinds <= EXPECTED_FLAGS[kind], [f.message for f in flags]  # never a flag of another kind
        if kinds == EXPECTED_FLAGS[kind]:
            found += 1
            if planted is not None and planted.object_hash:
                assert any(f.truth_object == planted.object_hash for f in flags)
    assert tried == 40
    assert found >= DETECTED_AT_LEAST[kind]


def test_no_flags_on_correct_ground_truth() -> None:
    flagged = []
    for seed in range(40):
        outcome = _task(seed, f"clean {seed}", None)
        assert outcome is not None
        flags, _ = outcome
        flagged += [f.message for f in flags]
    assert flagged == []
