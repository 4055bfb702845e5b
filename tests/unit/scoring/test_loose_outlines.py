"""A loose outline is one `low_overlap` conflict, not a `missing` plus an `extra` the annotator never drew, even
when its overlap is below the match threshold; the metrics still count it as a miss and an extra."""

from __future__ import annotations

import re
from typing import Any

import pytest
from benchmark_qa.scoring import Ontology, score_label_rows

from tests.fixtures.scoring.generate import bbox, data_unit, label_row


def image(label_hash: str, *objects: dict[str, Any]) -> dict[str, Any]:
    unit = data_unit("img00042", "image/jpeg", 0, {"objects": list(objects), "classifications": []}, 1000, 1000)
    return label_row("image", "img00042", label_hash, [unit])


def kinds(conflicts: list[Any]) -> list[str]:
    return sorted(c.kind for c in conflicts)


def test_a_box_below_the_match_threshold_is_one_loose_outline(ontology: Ontology) -> None:
    truth = image("lbTruth", bbox("gtCar0001", "Car", 0.1, 0.1, 0.4, 0.4))
    labels = image("lbLabel", bbox("anCar0001", "Car", 0.1, 0.1, 0.4, 0.1))  # a quarter of the box: IoU 0.25

    report = score_label_rows(ontology, truth, labels)

    [conflict] = report.conflicts
    assert conflict.kind == "low_overlap"
    assert conflict.severity == "error", "below the match threshold it costs a miss and an extra"
    assert (conflict.truth_hash, conflict.labels_hash) == ("gtCar0001", "anCar0001")
    assert conflict.similarity == pytest.approx(0.25)
    assert report.conflict_totals == {"low_overlap": 1}
    assert report.hints() == ["Car outlines are loose on 1 frame"]
    # the metrics are those of an unmatched pair
    assert (report.objects.detection.tp, report.objects.detection.fp, report.objects.detection.fn) == (0, 1, 1)


def test_a_matched_but_loose_box_stays_a_warning(ontology: Ontology) -> None:
    truth = image("lbTruth", bbox("gtCar0001", "Car", 0.1, 0.1, 0.4, 0.4))
    labels = image("lbLabel", bbox("anCar0001", "Car", 0.1, 0.1, 0.4, 0.24))  # IoU 0.6: matched, below 0.75

    [conflict] = score_label_rows(ontology, truth, labels).conflicts

    assert (conflict.kind, conflict.severity) == ("low_overlap", "warning")


def test_boxes_that_do_not_overlap_or_differ_in_class_are_a_miss_and_an_extra(ontology: Ontology) -> None:
    truth = image("lbTruth", bbox("gtCar0001", "Car", 0.1, 0.1, 0.2, 0.2), bbox("gtCar0002", "Car", 0.6, 0.6, 0.2, 0.2))
    labels = image(
        "lbLabel",
        bbox("anCar0001", "Car", 0.5, 0.1, 0.2, 0.2),  # elsewhere: no overlap with any truth box
        bbox("anTrk0002", "Truck", 0.6, 0.6, 0.2, 0.05),  # overlaps the second Car, but is a Truck
    )

    report = score_label_rows(ontology, truth, labels)

    assert kinds(report.conflicts) == ["extra", "extra", "missing", "missing"]


def test_each_loose_pair_takes_its_best_partner_once(ontology: Ontology) -> None:
    # Two truth Cars side by side; one long annotator box overlaps both below the threshold, a second one only
    # the right Car. Loose pairs are chosen as matches are (most pairs, then the largest total overlap), so both
    # Cars get their loose outline. The long box's two overlaps are equal only up to float rounding
    # (0.4 and 0.4000000000000001): a greedy "largest overlap first" pairing let that last bit decide and left a
    # miss and an extra the annotator never made.
    truth = image("lbTruth", bbox("gtCar0001", "Car", 0.1, 0.1, 0.2, 0.2), bbox("gtCar0002", "Car", 0.3, 0.1, 0.2, 0.2))
    labels = image(
        "lbLabel",
        bbox("anCar0001", "Car", 0.05, 0.1, 0.5, 0.2),  # IoU 0.4 with each truth Car
        bbox("anCar0002", "Car", 0.45, 0.1, 0.2, 0.2),  # IoU 0.14 with the right Car
    )

    report = score_label_rows(ontology, truth, labels)

    loose = [c for c in report.conflicts if c.kind == "low_overlap"]
    assert [(c.truth_hash, c.labels_hash) for c in loose] == [
        ("gtCar0001", "anCar0001"),
        ("gtCar0002", "anCar0002"),
    ]
    assert kinds(report.conflicts) == ["low_overlap", "low_overlap"]


def test_on_video_a_loose_outline_keeps_its_partner_from_frame_to_frame(ontology: Ontology) -> None:
    # Truth Car G on frames 0-1. The annotator's loose Car A follows it on both frames; on frame 1 a second loose
    # Car B overlaps G a little more (IoU 0.21 against A's 0.14). As in CLEAR-MOT matching, last frame's pair is
    # kept: one loose outline over two frames and one extra, not two one-frame outlines.
    def video(*frames: list[dict[str, Any]]) -> dict[str, Any]:
        labels = {str(i): {"objects": objects, "classifications": []} for i, objects in enumerate(frames)}
        return label_row("video", "vid", "lb", [data_unit("vid", "video/mp4", 0, labels, 100, 100)])

    g = bbox("gtCar0001", "Car", 0.4, 0.1, 0.2, 0.2)
    a = bbox("anCar000A", "Car", 0.25, 0.1, 0.2, 0.2)
    b = bbox("anCar000B", "Car", 0.53, 0.1, 0.2, 0.2)

    report = score_label_rows(ontology, video([g], [g]), video([a], [a, b]))

    summary = sorted((c.kind, c.truth_hash, c.labels_hash, c.frame, c.frames) for c in report.conflicts)
    assert summary == [
        ("extra", None, "anCar000B", 1, 1),
        ("low_overlap", "gtCar0001", "anCar000A", 0, 2),
    ]


def test_loose_outline_hints_name_only_the_class(ontology: Ontology) -> None:
    truth = image("lbTruth", bbox("gtCar0001", "Car", 0.1, 0.1, 0.4, 0.4))
    labels = image("lbLabel", bbox("anCar0001", "Car", 0.1, 0.1, 0.4, 0.1))

    report = score_label_rows(ontology, truth, labels)

    for text in [c.hint for c in report.conflicts] + report.hints():
        assert "gtCar0001" not in text
        assert not re.search(r"\d\.\d", text), "no coordinates or similarities"
        assert "no counterpart" not in text
        assert "not labelled" not in text
