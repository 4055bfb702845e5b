"""Geometry against independent implementations: shapely (polygons, rotated boxes), pycocotools (boxes, masks),
the SDK (RLE decoding) and the published OKS formula."""

from __future__ import annotations

import math

import numpy as np
import shapely.affinity
import shapely.geometry as sg
from benchmark_qa.scoring.bitmask import decode_counts, mask_iou
from benchmark_qa.scoring.geometry import (
    box_corners,
    box_iou,
    intersection_area,
    keypoint_area,
    oks,
    polyline_similarity,
    range_iou,
    region,
    region_area,
    region_iou,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from tests.fixtures.scoring.generate import encord_rle

coord = st.integers(min_value=0, max_value=12)


@st.composite
def star_polygon(draw: st.DrawFn) -> np.ndarray:
    """Simple polygons: vertices sorted by angle around a centre (integer grid to provoke shared edges)."""
    n = draw(st.integers(3, 9))
    cx, cy = draw(coord), draw(coord)
    pts = []
    for k in range(n):
        angle = 2 * math.pi * (k + draw(st.floats(0.05, 0.95))) / n
        r = draw(st.integers(1, 6))
        pts.append((round(cx + r * math.cos(angle)), round(cy + r * math.sin(angle))))
    return np.array(pts, dtype=float)


def valid(p: sg.Polygon) -> bool:
    return bool(p.is_valid and p.area > 0)


@settings(max_examples=300, deadline=None)
@given(star_polygon(), star_polygon())
def test_polygon_intersection_matches_shapely(a: np.ndarray, b: np.ndarray) -> None:
    pa, pb = sg.Polygon(a), sg.Polygon(b)
    if not (valid(pa) and valid(pb)):
        return
    got = intersection_area(region([[a]]), region([[b]]))
    assert math.isclose(got, pa.intersection(pb).area, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(
        region_iou(region([[a]]), region([[b]])),
        pa.intersection(pb).area / pa.union(pb).area,
        rel_tol=1e-9,
        abs_tol=1e-9,
    )


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 5), st.integers(0, 5), st.integers(2, 6), star_polygon())
def test_polygon_with_hole_and_second_part_matches_shapely(hx: int, hy: int, size: int, b: np.ndarray) -> None:
    outer = np.array([[0, 0], [14, 0], [14, 14], [0, 14]], dtype=float)
    hole = np.array(
        [[hx + 1, hy + 1], [hx + 1 + size, hy + 1], [hx + 1 + size, hy + 1 + size], [hx + 1, hy + 1 + size]],
        dtype=float,
    )
    part = np.array([[20, 20], [24, 20], [24, 23]], dtype=float)
    pa = sg.MultiPolygon([sg.Polygon(outer, [hole]), sg.Polygon(part)])
    pb = sg.Polygon(b)
    if not (pa.is_valid and valid(pb)):
        return
    ra = region([[outer, hole], [part]])
    assert math.isclose(region_area(ra), pa.area)
    assert math.isclose(intersection_area(ra, region([[b]])), pa.intersection(pb).area, rel_tol=1e-9, abs_tol=1e-9)


box = st.tuples(st.floats(0, 80), st.floats(0, 80), st.floats(1, 40), st.floats(1, 40))


@settings(max_examples=200, deadline=None)
@given(box, st.integers(-1800, 1800), box, st.integers(-1800, 1800))
def test_rotated_box_iou_matches_shapely(a: tuple[float, ...], ta10: int, b: tuple[float, ...], tb10: int) -> None:
    ta, tb = ta10 / 10, tb10 / 10  # the editor stores angles to 0.1 degree

    def shp(x: float, y: float, w: float, h: float, t: float) -> sg.Polygon:
        return shapely.affinity.rotate(sg.box(x, y, x + w, y + h), t, origin="center")

    sa, sb = shp(a[0], a[1], a[2], a[3], ta), shp(b[0], b[1], b[2], b[3], tb)
    want = sa.intersection(sb).area / sa.union(sb).area
    ca = box_corners(a[0], a[1], a[2], a[3], ta)
    cb = box_corners(b[0], b[1], b[2], b[3], tb)
    got = region_iou(region([[ca]]), region([[cb]]))
    assert math.isclose(got, want, rel_tol=1e-7, abs_tol=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(box, min_size=1, max_size=6), st.lists(box, min_size=1, max_size=6))
def test_box_iou_matches_pycocotools(a: list[tuple[float, ...]], b: list[tuple[float, ...]]) -> None:
    want = coco_mask.iou([list(x) for x in a], [list(x) for x in b], [0] * len(b))
    np.testing.assert_allclose(box_iou(np.array(a), np.array(b)), want, rtol=1e-9, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**31 - 1))
def test_mask_iou_matches_pycocotools_without_decoding(h: int, w: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.random((h, w)) < rng.random()
    b = rng.random((h, w)) < rng.random()
    from encord.common.bitmask_operations.bitmask_operations import _string_to_rle

    assert decode_counts(encord_rle(a)).tolist() == _string_to_rle(encord_rle(a))
    want = coco_mask.iou(
        [coco_mask.encode(np.asfortranarray(a.astype(np.uint8)))],
        [coco_mask.encode(np.asfortranarray(b.astype(np.uint8)))],
        [0],
    )[0, 0]
    assert math.isclose(mask_iou((0, 0, w, h, encord_rle(a)), (0, 0, w, h, encord_rle(b))), want, abs_tol=1e-12)


def test_mask_offset_inside_frame() -> None:
    small = np.ones((2, 3), dtype=bool)
    frame = np.zeros((6, 8), dtype=bool)
    frame[3:5, 4:7] = True
    assert mask_iou((3, 4, 3, 2, encord_rle(small)), (0, 0, 8, 6, encord_rle(frame)), 8) == 1.0
    assert mask_iou((2, 4, 3, 2, encord_rle(small)), (0, 0, 8, 6, encord_rle(frame)), 8) == 3 / 9


def test_oks_reference_value_and_degenerate_skeletons() -> None:
    # COCO: exp(-d^2 / (2 s^2 k^2)), k = 2 sigma; s^2 = 100, sigma 0.09, d = 1.8 px -> exp(-0.5)
    value = oks(np.array([[0.0, 0.0]]), np.array([2]), np.array([[1.8, 0.0]]), np.array([2]), np.array([0.09]), 100.0)
    assert math.isclose(value, math.exp(-0.5))
    # collinear nodes: zero-area bounding box, floored scale; identical skeleton scores 1 (CVAT #9957 gives 0)
    line = np.array([[10.0, 5.0], [20.0, 5.0], [30.0, 5.0]])
    vis = np.array([2, 2, 2])
    area = keypoint_area(line, vis, floor=25.0)
    assert area == 25.0
    assert oks(line, vis, line, vis, np.full(3, 0.09), area) == 1.0
    # a node the annotator marks invisible scores 0; unlabelled truth nodes are ignored
    assert math.isclose(oks(line, np.array([2, 2, 0]), line, np.array([2, 0, 2]), np.full(3, 0.09), area), 0.5)


def test_polyline_similarity_direction() -> None:
    line = np.array([[0.0, 0.0], [50.0, 0.0], [100.0, 10.0]])
    forward, backward = polyline_similarity(line, line, sigma=2.0)
    assert forward == 1.0
    assert backward < 0.2
    forward, backward = polyline_similarity(line, line[::-1], sigma=2.0)
    assert backward == 1.0
    assert forward < 0.2
    shifted, _ = polyline_similarity(line, line + np.array([0.0, 2.0]), sigma=2.0)
    assert math.isclose(shifted, math.exp(-0.5))


def test_range_iou_with_tolerance() -> None:
    assert range_iou(np.array([[0.0, 1000.0]]), np.array([[100.0, 1150.0]]), 0.0) == 900 / 1150
    assert range_iou(np.array([[0.0, 1000.0]]), np.array([[100.0, 1150.0]]), 200.0) == 1.0
    assert range_iou(np.array([[0.0, 10.0], [20.0, 30.0]]), np.array([[0.0, 30.0]]), 0.0) == 20 / 30
    assert range_iou(np.array([[0.0, 10.0]]), np.array([[50.0, 60.0]]), 2.0) == 0.0
