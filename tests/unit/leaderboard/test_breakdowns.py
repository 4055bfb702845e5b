"""Per-class and per-attribute breakdowns: counts summed over an annotator's tasks, ratios from the sums."""

from __future__ import annotations

import pytest
from benchmark_qa.leaderboard import build_leaderboard

from tests.unit.leaderboard.conftest import result, wilson


def test_classes_are_summed_over_tasks_including_classes_seen_in_only_some() -> None:
    results = [
        result("a", 0.9, classes={"Car": (4, 1, 0, 3.2), "Bus": (2, 0, 2, 1.0)}),
        result("a", 0.6, classes={"Car": (1, 3, 5, 0.5)}),
        result("a", 0.8, classes={"Person": (0, 2, 1, 0.0)}),
    ]

    row = build_leaderboard(results, min_tasks=1).annotators[0]

    by_name = {c.name: c for c in row.classes}
    assert [c.name for c in row.classes] == ["Bus", "Car", "Person"]
    car = by_name["Car"]
    assert (car.tp, car.fp, car.fn) == (5, 4, 5)
    assert car.precision.value == pytest.approx(5 / 9)
    assert car.precision.n == 9
    assert (car.recall.low, car.recall.high) == pytest.approx(wilson(5 / 10, 10))
    assert car.f1.value == pytest.approx(10 / 19)
    assert car.localisation.value == pytest.approx(3.7 / 5)
    bus = by_name["Bus"]
    assert (bus.tp, bus.fp, bus.fn) == (2, 0, 2)
    assert bus.precision.value == pytest.approx(1.0)
    assert bus.recall.value == pytest.approx(0.5)
    person = by_name["Person"]
    assert person.precision.value == pytest.approx(0.0)
    assert (person.localisation.value, person.localisation.n) == (None, 0), "no true positive, no localisation"


def test_class_breakdowns_belong_to_their_annotator_and_the_board_lists_every_class() -> None:
    results = [result("a", 0.9, classes={"Car": (4, 0, 0, 3.0)}), result("b", 0.4, classes={"Truck": (1, 1, 1, 0.5)})]

    board = build_leaderboard(results, min_tasks=1)

    assert board.classes == ["Car", "Truck"]
    rows = {a.annotator: a for a in board.annotators}
    assert [c.name for c in rows["a"].classes] == ["Car"]
    assert [c.name for c in rows["b"].classes] == ["Truck"]


def test_attribute_paths_are_summed_over_tasks() -> None:
    results = [
        result("a", 0.9, attributes={"Car/colour": (3, 4), "Car/occluded": (1, 1)}),
        result("a", 0.5, attributes={"Car/colour": (2, 6)}),
    ]

    row = build_leaderboard(results, min_tasks=1).annotators[0]

    paths = {a.path: a for a in row.attribute_paths}
    assert [a.path for a in row.attribute_paths] == ["Car/colour", "Car/occluded"]
    colour = paths["Car/colour"]
    assert (colour.correct, colour.total) == (5, 10)
    assert colour.accuracy.value == pytest.approx(0.5)
    assert colour.accuracy.n == 10
    assert (colour.accuracy.low, colour.accuracy.high) == pytest.approx(wilson(0.5, 10))
    assert (paths["Car/occluded"].correct, paths["Car/occluded"].total) == (1, 1)
    # The annotator's overall accuracy is pooled from the same counts.
    assert row.attributes.value == pytest.approx(6 / 11)
