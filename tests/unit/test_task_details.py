"""What a scored result keeps for the drill-down: class confusion with its direction, detection by COCO object size
in the frame's pixels (boxes, polygons with holes, bitmasks), radio answers that differ, and the worst conflicts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from benchmark_qa.scoring import Ontology
from benchmark_qa.task_details import score_with_details, size_bucket

from tests.fixtures.scoring.generate import answer, bbox, bitmask, data_unit, label_row, object_answer, polygon
from tests.unit.scoring.conftest import MODALITIES, load, pair

W, H = 1000, 500  # frame pixels: a normalised box of w x h covers w*1000 x h*500 px


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.from_dict(load("ontology.json"))


def image(label_hash: str, objects: list[dict[str, Any]], answers: dict[str, Any] | None = None) -> dict[str, Any]:
    unit = data_unit("img00077", "image/jpeg", 0, {"objects": objects, "classifications": []}, W, H)
    return label_row("image", "img00077", label_hash, [unit], answers or {})


def box(object_hash: str, cls: str, side_px: float, x: float = 0.1) -> dict[str, Any]:
    """A square box of `side_px` pixels."""
    return bbox(object_hash, cls, x, 0.1, side_px / W, side_px / H)


@pytest.mark.parametrize(
    ("area", "bucket"), [(0, "small"), (1023.9, "small"), (1024, "medium"), (9215, "medium"), (9216, "large")]
)
def test_coco_size_boundaries(area: float, bucket: str) -> None:
    assert size_bucket(area) == bucket


def test_hits_and_misses_go_by_the_benchmark_objects_area_extras_by_the_drawn_ones(ontology: Ontology) -> None:
    truth = image("T", [box("gtS", "Car", 20, 0.1), box("gtM", "Car", 60, 0.3), box("gtL", "Car", 200, 0.6)])
    labels = image("L", [box("anM", "Car", 60, 0.3), box("anL", "Car", 200, 0.6), box("anX", "Car", 10, 0.95)])

    _, details = score_with_details(ontology, truth, labels)

    sizes = {k: (v.tp, v.fn, v.fp) for k, v in details.sizes.items()}
    assert sizes == {"small": (0, 1, 1), "medium": (1, 0, 0), "large": (1, 0, 0)}


def test_polygon_holes_and_bitmask_pixels_count_towards_the_area(ontology: Ontology) -> None:
    # 0.1..0.3 x 0.1..0.3 of 1000x500 = 200 x 100 px = 20,000 px (large); with a 150x80 px hole: 8,000 px (medium).
    outer = [0.1, 0.1, 0.3, 0.1, 0.3, 0.3, 0.1, 0.3]
    hole = [0.125, 0.12, 0.125, 0.28, 0.275, 0.28, 0.275, 0.12]
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[10:30, 10:30] = 1  # 400 px: small
    truth = image("T", [polygon("gtB1", [[outer, hole]]), bitmask("gtL1", mask)])

    _, details = score_with_details(ontology, truth, image("L", []))

    assert {k: v.fn for k, v in details.sizes.items()} == {"small": 1, "medium": 1}


def test_a_wrong_class_is_a_miss_of_one_class_and_an_extra_of_the_other_in_its_direction(ontology: Ontology) -> None:
    truth = image("T", [box("gtC", "Car", 60)])
    labels = image("L", [box("anT", "Truck", 60)])

    _, details = score_with_details(ontology, truth, labels)

    assert details.confusion == {"Car": {"Truck": 1}}, "benchmark Car -> annotated Truck, not the other way"
    assert (details.sizes["medium"].tp, details.sizes["medium"].fn, details.sizes["medium"].fp) == (0, 1, 1)
    assert [c.kind for c in details.worst] == ["wrong_class"]


def test_radio_answers_are_kept_benchmark_to_given_and_other_kinds_are_not(ontology: Ontology) -> None:
    truth = image("T", [box("gtC", "Car", 60)], {"gtC": object_answer("gtC", answer("colour", "red"))})
    labels = image("L", [box("anC", "Car", 60)], {"anC": object_answer("anC", answer("colour", "blue"))})

    _, details = score_with_details(ontology, truth, labels)

    assert [(c.path, c.truth, c.labels, c.frames) for c in details.choices] == [("Car/colour", "red", "blue", 1)]
    _, fixture = score_with_details(ontology, *pair("image"))
    paths = {c.path for c in fixture.choices}
    assert "Car/colour/red/shade" not in paths, "a text attribute has no choices to confuse"
    assert paths <= {"Building/kind", "Building/kind/house/floors", "Car/colour", "weather"}


def test_the_worst_conflicts_are_errors_first_and_capped(ontology: Ontology) -> None:
    report, details = score_with_details(ontology, *pair("image"))  # 12 conflicts, errors and warnings
    severities = [c.severity for c in details.worst]
    assert severities == sorted(severities, key=lambda s: s != "error")
    assert {"error", "warning"} <= {c.severity for c in report.conflicts}
    assert len(details.worst) == 8 < len(report.conflicts)


def test_scoring_with_details_scores_like_the_engine(ontology: Ontology) -> None:
    from benchmark_qa.scoring import score_label_rows

    for modality in ("image", "video", "pdf"):
        report, _ = score_with_details(ontology, *pair(modality))
        assert report.model_dump() == score_label_rows(ontology, *pair(modality)).model_dump(), modality


@pytest.mark.parametrize("modality", MODALITIES)
def test_a_truth_read_once_scores_every_branch_as_if_read_with_it(ontology: Ontology, modality: str) -> None:
    """The worker reads a task's truth once and scores every branch against that LabelSet: reports and details
    are those of reading the truth afresh for each branch, also for a branch scored after others."""
    from benchmark_qa.scoring.labels import read_label_row

    truth, labels = pair(modality)
    shared = read_label_row(ontology, truth)
    for row in (labels, truth, labels):  # another annotator, a perfect one, and the first again
        report, details = score_with_details(ontology, shared, row)
        fresh_report, fresh_details = score_with_details(ontology, load(f"{modality}.truth.json"), row)
        assert report.model_dump() == fresh_report.model_dump(), modality
        assert details.model_dump() == fresh_details.model_dump(), modality
