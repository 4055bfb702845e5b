"""Identity metrics on small hand-computed videos (values derived in the comments), and the shortcuts of
tracking.py against the plain computation they replace."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from benchmark_qa.scoring import Ontology, score_label_rows, tracking

from tests.fixtures.scoring.generate import bbox, data_unit, label_row


def video(tracks: dict[str, list[int]], far: dict[str, list[int]] | None = None, cls: str = "Car") -> dict[str, Any]:
    """One 100x100 video; every track is the same box (so IoU is 1 wherever two tracks share a frame); `far`
    tracks are a box that overlaps none of them."""
    frames: dict[str, Any] = {"0": {"objects": [], "classifications": []}}
    for boxes, (x, y) in ((tracks, (0.1, 0.1)), (far or {}, (0.7, 0.7))):
        for object_hash, present in boxes.items():
            for f in present:
                frames.setdefault(str(f), {"objects": [], "classifications": []})["objects"].append(
                    bbox(object_hash, cls, x, y, 0.2, 0.2)
                )
    unit = data_unit("vid", "video/mp4", 0, frames, 100, 100)
    return label_row("video", "vid", "lb", [unit])


def test_id_switch_mota_idf1_hota(ontology: Ontology) -> None:
    # truth G on frames 0-3; annotator A on 0-1 and B on 2-3.
    # MOTA = 1 - (FN 0 + FP 0 + IDSW 1) / 4 = 0.75
    # IDF1: best global pair G-A (or G-B) has IDTP 2 -> 2*2 / (4 + 4) = 0.5
    # HOTA: every alpha matches all 4 (IoU 1) -> DetA 1; AssA = (2 * 2/(4+2-2) + 2 * 2/(4+2-2)) / 4 = 0.5
    #       HOTA = sqrt(1 * 0.5) = 0.7071
    report = score_label_rows(ontology, video({"G": [0, 1, 2, 3]}), video({"A": [0, 1], "B": [2, 3]}))
    t = report.tracking
    assert t is not None
    assert t.id_switches == 1
    assert t.fragmentations == 0
    assert math.isclose(t.mota, 0.75)
    assert t.idtp == 2
    assert math.isclose(t.idf1 or 0, 0.5)
    assert math.isclose(t.deta or 0, 1.0)
    assert math.isclose(t.assa or 0, 0.5)
    assert math.isclose(t.hota or 0, math.sqrt(0.5))
    kinds = [c.kind for c in report.conflicts]
    assert kinds.count("id_switch") == 1
    switch = next(c for c in report.conflicts if c.kind == "id_switch")
    assert switch.frame == 2
    assert switch.labels_hash == "B"
    assert switch.labels_value == "A"


def test_fragmentation(ontology: Ontology) -> None:
    # truth G on 0-4; annotator A on 0, 1, 3, 4 (misses frame 2) and, on frame 2 only, an unrelated box X.
    # MOTA = 1 - (1 FN + 1 FP) / 5 = 0.6; G is tracked again after a frame (with objects on both sides) where it
    # was not -> 1 fragmentation. IDF1 = 2*4 / (5 + 5) = 0.8
    # HOTA: TP 4, FN 1, FP 1 -> DetA 4/6; AssA = 4/(5+4-4) = 0.8 -> HOTA sqrt(0.8 * 2/3)
    far = {"X": [2]}
    report = score_label_rows(ontology, video({"G": [0, 1, 2, 3, 4]}), video({"A": [0, 1, 3, 4]}, far))
    t = report.tracking
    assert t is not None
    assert t.fragmentations == 1
    assert t.id_switches == 0
    assert math.isclose(t.mota, 0.6)
    assert math.isclose(t.idf1 or 0, 0.8)
    assert math.isclose(t.hota or 0, math.sqrt(0.8 * 4 / 6))
    missing = [c for c in report.conflicts if c.kind == "missing"]
    assert len(missing) == 1
    assert missing[0].frame == 2
    # without X the annotator has no object at all on frame 2: TrackEval skips such a frame (clear.py: "no
    # gt_det/tracker_det in a timestep"), so the track is not interrupted there
    skipped = score_label_rows(ontology, video({"G": [0, 1, 2, 3, 4]}), video({"A": [0, 1, 3, 4]})).tracking
    assert skipped is not None
    assert skipped.fragmentations == 0
    assert math.isclose(skipped.mota, 0.8)


def test_tracks_are_evaluated_per_class(ontology: Ontology) -> None:
    """A Car labelled Truck on every frame: the Car class has 4 misses, the Truck class 4 extras (MOTA -4, as
    TrackEval gives a class without truth objects); combined MOTA = (0 - 4) / 4 = -1, not 1."""
    truth = video({"G": [0, 1, 2, 3]})
    labels = video({"A": [0, 1, 2, 3]}, cls="Truck")
    report = score_label_rows(ontology, truth, labels)
    t = report.tracking
    assert t is not None
    assert (t.tp, t.fn, t.fp) == (0, 4, 4)
    assert math.isclose(t.mota, -1.0)
    assert set(t.classes) == {"Car", "Truck"}
    assert math.isclose(t.classes["Car"].mota, 0.0)
    assert math.isclose(t.classes["Truck"].mota, -4.0)
    assert t.class_averaged is not None
    assert math.isclose(t.class_averaged.mota, -2.0)
    assert t.idf1 == 0.0
    assert t.hota == 0.0
    assert t.loca == 1.0  # no match at any alpha: TrackEval's LocA is 1 there


def test_video_without_truth_objects_still_gets_a_tracking_block(ontology: Ontology) -> None:
    truth = video({})
    report = score_label_rows(ontology, truth, video({"A": [0, 1, 2]}))
    t = report.tracking
    assert t is not None
    assert (t.tp, t.fp, t.truth_detections) == (0, 3, 0)
    assert t.mota == -3.0  # TrackEval: (TP - FP - IDSW) / max(1, TP + FN)
    assert t.moda == -3.0


def test_perfect_tracks(ontology: Ontology) -> None:
    row = video({"G": [0, 1, 2], "H": [1, 2]})
    report = score_label_rows(ontology, row, row)
    t = report.tracking
    assert t is not None
    assert (t.mota, t.idf1, t.hota, t.id_switches) == (1.0, 1.0, 1.0, 0)
    assert report.score == 1.0
    assert report.conflicts == []


@pytest.mark.parametrize("seed", range(6))
def test_frame_track_keys_are_equal_exactly_where_frame_and_track_are(seed: int) -> None:
    """Long videos whose annotator tracks are mostly one-detection extras (keyed alone) and a few long tracks;
    and dense ones (frame x track)."""
    rng = np.random.default_rng(seed)
    frames = int(rng.choice([50, 20_000]))
    long_tracks = int(rng.integers(1, 5))
    extras = int(rng.integers(1, 3_000))
    frame = np.concatenate([rng.integers(0, frames, 4_000), rng.integers(0, frames, extras)])
    track = np.concatenate([rng.integers(0, long_tracks, 4_000), long_tracks + np.arange(extras)])
    counts = np.bincount(track).astype(np.float64)  # one detection per extra: its pairs share its one frame
    order = rng.permutation(len(frame))
    frame, track = frame[order], track[order]
    key = tracking._frame_track_keys(frame, track, counts)
    assert key.min() >= 0
    _, by_pair = np.unique(frame * len(counts) + track, return_inverse=True)
    _, by_key = np.unique(key, return_inverse=True)
    n = int(by_pair.max()) + 1  # the same partition: as many groups either way, and each group one of the other's
    assert int(by_key.max()) + 1 == n
    assert len(np.unique(by_key * n + by_pair)) == n
