"""The box batch's shortcuts (one-to-one frames, rows' best partners, last frame's pairs checked for all frames at
once, streamed frame batches) give exactly the report of the per-frame matcher, on videos that mix easy and
crowded frames, identity swaps, misses and extras, in every class mode, with and without track continuity."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from benchmark_qa.scoring import Ontology, ScoringConfig, comparison, labels, score_label_rows, streaming


def mixed_video(seed: int, frames: int = 60, tracks: int = 8) -> tuple[dict[str, Any], dict[str, Any]]:
    """Spread-out tracks most of the time; every few frames a run where they pile up on one spot (several
    candidates per box, so the solver must run); swapped identities, missed and extra boxes, two classes."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.05, 0.7, (tracks, 2))
    pile = rng.uniform(0.3, 0.4, (tracks, 2))
    truth_frames: dict[str, Any] = {}
    label_frames: dict[str, Any] = {}

    def box(object_hash: str, k: int, xy: np.ndarray) -> dict[str, Any]:
        x, y = (float(v) for v in xy)
        return {
            "objectHash": object_hash,
            "featureHash": "car00001" if k % 3 else "truck001",
            "shape": "bounding_box",
            "boundingBox": {"x": x, "y": y, "w": 0.12, "h": 0.12},
        }

    for f in range(frames):
        crowded = (f // 5) % 3 == 2
        truth, annotated = [], []
        for k in range(tracks):
            xy = pile[k] if crowded else start[k] + 0.002 * f
            truth.append(box(f"gt{k:06d}", k, xy))
            if rng.random() < 0.08:
                continue  # missed
            ident = k ^ 1 if (f // 7) % 2 else k  # identities swap back and forth
            annotated.append(box(f"an{ident:06d}", ident, xy + rng.normal(0, 0.01 if crowded else 0.003, 2)))
        if rng.random() < 0.3:
            annotated.append(box(f"ex{f:06d}", f, rng.uniform(0.0, 0.8, 2)))
        if not crowded and rng.random() < 0.5:  # a second, worse candidate for one truth box
            k = int(rng.integers(tracks))
            annotated.append(box(f"nx{f:06d}", k, start[k] + 0.002 * f + 0.02))
        if rng.random() < 0.5:
            rng.shuffle(annotated)  # annotation order within a frame must not matter
        truth_frames[str(f)] = {"objects": truth, "classifications": []}
        label_frames[str(f)] = {"objects": annotated, "classifications": []}

    return video_rows(truth_frames, label_frames, 1280, 720)


def video_rows(
    truth_frames: dict[str, Any], label_frames: dict[str, Any], width: int, height: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The truth and annotator label rows of one video data unit with these frames."""

    def row(label_hash: str, frames_: dict[str, Any]) -> dict[str, Any]:
        unit = {"data_hash": "v1", "data_title": "v", "width": width, "height": height, "labels": frames_}
        return {"label_hash": label_hash, "data_hash": "v1", "data_type": "video", "data_units": {"v1": unit}}

    return row("truth", truth_frames), row("labels", label_frames)


def _one_by_one(self: Any, out: dict[str, list[Any]]) -> None:
    """The matcher's run() with every frame the box batch leaves over solved by solve_group(), one by one."""
    slow = list(self.groups_with_both())
    if self.family == "box" and slow:
        slow = self.box_batch(np.asarray(slow))
    for g in slow:
        self.solve_group(int(g), out)
    self.emit(out)


def _pairs(report: Any) -> list[tuple[Any, ...]]:
    m = report.matches
    return sorted(zip(m.frame, m.truth_hash, m.labels_hash, m.similarity, strict=True))


@pytest.mark.parametrize("mode", ["two_stage", "class_aware", "class_agnostic"])
@pytest.mark.parametrize("continuity", [True, False])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batched_matching_equals_frame_by_frame_matching(
    mode: str, continuity: bool, seed: int, ontology: Ontology, monkeypatch: pytest.MonkeyPatch
) -> None:
    truth, annotated = mixed_video(seed)
    config = ScoringConfig.model_validate({"mode": mode, "track_continuity": continuity})
    solved: list[int] = []
    solve_group = comparison._FamilyMatcher.solve_group

    def counting(self: Any, g: int, out: Any, candidates: bool = True) -> None:
        solved.append(g)
        solve_group(self, g, out, candidates)

    monkeypatch.setattr(comparison._FamilyMatcher, "solve_group", counting)
    batched = score_label_rows(ontology, truth, annotated, config)
    solved_in_batch_run = len(solved)
    monkeypatch.setattr(comparison._FamilyMatcher, "run", _one_by_one)
    one_by_one = score_label_rows(ontology, truth, annotated, config)
    assert batched.to_json() == one_by_one.to_json()
    slow_frames = len(solved) - solved_in_batch_run  # the one-by-one run solves every frame left over
    assert solved_in_batch_run <= slow_frames
    if mode == "class_agnostic":  # no frame is held back by cross-class candidates: both paths ran
        assert 0 < solved_in_batch_run < slow_frames
    # the same rows as JSON bytes, streamed in small frame batches
    monkeypatch.undo()
    monkeypatch.setattr(labels, "_STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(streaming, "_BATCH_BYTES", 2_000)
    streamed = score_label_rows(ontology, json.dumps(truth).encode(), json.dumps(annotated).encode(), config)
    assert streamed.to_json() == batched.to_json()
    # without any box batch every frame is solved on its own: the same pairs (listed in another order, so sums
    # may differ in the last bit)
    monkeypatch.setattr(comparison, "_MAX_BATCH", 0)
    assert _pairs(score_label_rows(ontology, truth, annotated, config)) == _pairs(batched)


@pytest.mark.parametrize("batch_bytes", [300, 5_000, 128_000])
def test_box_columns_keep_frame_order_with_rotated_boxes(
    batch_bytes: int, ontology: Ontology, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames of plain boxes are read a batch at a time, straight into arrays; frames with rotated boxes go
    frame by frame. The box columns (and each rotated box's angle) stay in frame order either way."""
    rng = np.random.default_rng(4)
    truth, _ = mixed_video(4, frames=30, tracks=4)
    frames = truth["data_units"]["v1"]["labels"]
    expected = []
    for f in range(30):
        for k, o in enumerate(frames[str(f)]["objects"]):
            if f % 7 == 3 and k % 2:  # some frames carry rotated boxes
                o["shape"] = "rotatable_bounding_box"
                o["rotatableBoundingBox"] = {**o.pop("boundingBox"), "theta": float(rng.uniform(0, 90))}
                b = o["rotatableBoundingBox"]
                expected.append((f, b["x"], b["y"], b["w"], b["h"], b["theta"], True))
            else:
                b = o["boundingBox"]
                expected.append((f, b["x"], b["y"], b["w"], b["h"], 0.0, False))
    monkeypatch.setattr(labels, "_STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(streaming, "_BATCH_BYTES", batch_bytes)
    for row in (truth, json.dumps(truth).encode()):
        boxes = labels.read_label_row(ontology, row).families["box"]
        assert boxes.boxes is not None
        assert boxes.rotated is not None
        columns = zip(boxes.frame.tolist(), boxes.boxes.tolist(), boxes.rotated.tolist(), strict=True)
        got = [(f, *b, r) for f, b, r in columns]
        assert got == expected


def crowded_video(seed: int, frames: int = 40, tracks: int = 10) -> tuple[dict[str, Any], dict[str, Any]]:
    """Boxes on a coarse grid (many exact ties: identical boxes, equal overlaps), some without width or height,
    annotator identities drawn at random each frame (a new pair almost every frame), misses, two classes."""
    rng = np.random.default_rng(seed)

    def box(object_hash: str, k: int, x: float, y: float, w: float, h: float) -> dict[str, Any]:
        return {
            "objectHash": object_hash,
            "featureHash": "car00001" if k % 3 else "truck001",
            "shape": "bounding_box",
            "boundingBox": {"x": x, "y": y, "w": w, "h": h},
        }

    truth_frames: dict[str, Any] = {}
    label_frames: dict[str, Any] = {}
    for f in range(frames):
        truth, annotated, used = [], [], set()
        for k in range(tracks):
            x, y = (float(v) for v in np.round(rng.uniform(0, 0.5, 2) * 4) / 4)
            w = 0.0 if rng.random() < 0.15 else float(rng.choice([0.1, 0.25]))
            h = 0.0 if rng.random() < 0.1 else float(rng.choice([0.1, 0.25]))
            truth.append(box(f"gt{k:04d}", k, x, y, w, h))
            j = int(rng.integers(tracks + 3))
            if rng.random() < 0.1 or j in used:
                continue
            used.add(j)
            if rng.random() < 0.5:  # exactly the truth box
                annotated.append(box(f"an{j:04d}", j, x, y, w, h))
            else:
                annotated.append(box(f"an{j:04d}", j, x + float(rng.normal(0, 0.03)), y, w, h))
        truth_frames[str(f)] = {"objects": truth, "classifications": []}
        label_frames[str(f)] = {"objects": annotated, "classifications": []}

    return video_rows(truth_frames, label_frames, 640, 480)


@pytest.mark.parametrize("mode", ["two_stage", "class_aware", "class_agnostic"])
@pytest.mark.parametrize("continuity", [True, False])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_box_batch_chunks_change_nothing(
    mode: str, continuity: bool, seed: int, ontology: Ontology, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The box batch runs a chunk of frames at a time: a frame per chunk, a few frames, or the whole video in
    one chunk give the same report as each other and as solving every frame on its own, also with exact ties
    and boxes without area (and last frame's pairs looked up across chunk boundaries)."""
    video = crowded_video(seed) if seed % 2 else mixed_video(seed)
    config = ScoringConfig.model_validate({"mode": mode, "track_continuity": continuity})
    reports = []
    for pairs_per_chunk in (1, 7 * 14 * 14, 10**9):
        monkeypatch.setattr(comparison, "_IOU_CHUNK", pairs_per_chunk)
        reports.append(score_label_rows(ontology, *video, config).to_json())
    monkeypatch.setattr(comparison._FamilyMatcher, "run", _one_by_one)
    reports.append(score_label_rows(ontology, *video, config).to_json())
    assert len(set(reports)) == 1
