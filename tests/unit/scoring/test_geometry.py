"""Geometry against independent implementations: shapely (polygons, rotated boxes, ellipses), pycocotools (boxes,
masks), the SDK (RLE decoding), closed forms (circle lenses) and the published OKS formula. Invalid polygons and
degenerate ranges are in test_invalid_geometry.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely.affinity
import shapely.geometry as sg
from benchmark_qa.scoring.bitmask import decode_counts, mask_iou
from benchmark_qa.scoring.ellipse import Ellipse, ellipse_iou
from benchmark_qa.scoring.geometry import (
    box_iou,
    box_iou_where_positive,
    keypoint_area,
    oks,
    polyline_similarity,
    range_iou,
)
from benchmark_qa.scoring.polygon import box_corners, intersection_area, region_iou, valid_region
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
    got = intersection_area(valid_region([[a]]), valid_region([[b]]))
    assert math.isclose(got, pa.intersection(pb).area, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(
        region_iou(valid_region([[a]]), valid_region([[b]])),
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
    ra = valid_region([[outer, hole], [part]])
    assert math.isclose(ra.area, pa.area)
    assert math.isclose(
        intersection_area(ra, valid_region([[b]])), pa.intersection(pb).area, rel_tol=1e-9, abs_tol=1e-9
    )


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
    got = region_iou(valid_region([[ca]]), valid_region([[cb]]))
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
    if a.any() and b.any():
        assert math.isclose(mask_iou((0, 0, w, h, encord_rle(a)), (0, 0, w, h, encord_rle(b))), want, abs_tol=1e-12)
    assert mask_iou((0, 0, w, h, encord_rle(a)), (0, 0, w, h, encord_rle(a))) == 1.0  # also an empty mask


def test_mask_offset_inside_frame() -> None:
    small = np.ones((2, 3), dtype=bool)
    frame = np.zeros((6, 8), dtype=bool)
    frame[3:5, 4:7] = True
    assert mask_iou((3, 4, 3, 2, encord_rle(small)), (0, 0, 8, 6, encord_rle(frame)), (8, 6)) == 1.0
    assert mask_iou((2, 4, 3, 2, encord_rle(small)), (0, 0, 8, 6, encord_rle(frame)), (8, 6)) == 3 / 9


@settings(max_examples=100, deadline=None)
@given(st.integers(-4, 9), st.integers(-4, 7), st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_mask_overhanging_the_frame_is_clipped_not_wrapped(top: int, left: int, w: int, h: int, seed: int) -> None:
    """A mask placed partly outside an 8x6 frame: its overhang is cut off, never wrapped into the next row (checked
    against painting the mask into a padded image and cropping the frame)."""
    rng = np.random.default_rng(seed)
    mask = rng.random((h, w)) < 0.6
    other = rng.random((6, 8)) < 0.5
    canvas = np.zeros((6 + 2 * 10, 8 + 2 * 10), dtype=bool)
    canvas[10 + top : 10 + top + h, 10 + left : 10 + left + w] = mask
    placed = canvas[10:16, 10:18]
    inter, union = (placed & other).sum(), (placed | other).sum()
    want = inter / union if placed.any() and other.any() else 0.0
    got = mask_iou((top, left, w, h, encord_rle(mask)), (0, 0, 8, 6, encord_rle(other)), (8, 6))
    assert math.isclose(got, want, abs_tol=1e-12)


def _lens(r1: float, r2: float, d: float) -> float:
    """Area of the intersection of two discs (radii r1, r2, centres d apart), the textbook closed form."""
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return math.pi * min(r1, r2) ** 2
    a = r1 * r1 * math.acos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
    b = r2 * r2 * math.acos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
    return a + b - 0.5 * math.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2))


@settings(max_examples=200, deadline=None)
@given(st.floats(0.5, 5), st.floats(0.5, 5), st.floats(0, 9), st.floats(0, 2 * math.pi))
def test_circle_iou_matches_the_closed_form(r1: float, r2: float, d: float, angle: float) -> None:
    inter = _lens(r1, r2, d)
    want = inter / (math.pi * (r1 * r1 + r2 * r2) - inter)
    got = ellipse_iou(
        Ellipse(1.0, 2.0, r1, r1, 0.0), Ellipse(1 + d * math.cos(angle), 2 + d * math.sin(angle), r2, r2, 0)
    )
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


def _shapely_ellipse(e: Ellipse) -> sg.Polygon:
    disc = sg.Point(0, 0).buffer(1, quad_segs=512)
    return shapely.affinity.translate(
        shapely.affinity.rotate(shapely.affinity.scale(disc, e.a, e.b, origin=(0, 0)), e.theta, origin=(0, 0)),
        e.cx,
        e.cy,
    )


ellipse = st.builds(
    Ellipse, st.floats(-3, 3), st.floats(-3, 3), st.floats(0.3, 4), st.floats(0.3, 4), st.floats(0, 360)
)


@settings(max_examples=60, deadline=None)
@given(ellipse, ellipse)
def test_ellipse_iou_matches_shapely(p: Ellipse, q: Ellipse) -> None:
    """Against 2,048-gons: the polygon's own IoU error is below ~2e-6, the engine's at rounding level."""
    sp, sq = _shapely_ellipse(p), _shapely_ellipse(q)
    want = sp.intersection(sq).area / sp.union(sq).area
    assert math.isclose(ellipse_iou(p, q), want, abs_tol=1e-5)
    assert ellipse_iou(p, p) == 1.0
    assert 0.0 <= ellipse_iou(p, q) <= 1.0


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
    # closed intervals (Encord's): [0, 1000] and [100, 1150] share 901 of 1151 units
    assert range_iou(np.array([[0.0, 1000.0]]), np.array([[100.0, 1150.0]]), 0.0) == 901 / 1151
    assert range_iou(np.array([[0.0, 1000.0]]), np.array([[100.0, 1150.0]]), 0.0, inclusive=False) == 900 / 1150
    assert range_iou(np.array([[0.0, 1000.0]]), np.array([[100.0, 1150.0]]), 200.0) == 1.0
    assert range_iou(np.array([[0.0, 10.0], [20.0, 30.0]]), np.array([[0.0, 30.0]]), 0.0, inclusive=False) == 20 / 30
    assert range_iou(np.array([[0.0, 10.0], [20.0, 30.0]]), np.array([[0.0, 30.0]]), 0.0) == 22 / 31
    assert range_iou(np.array([[0.0, 10.0]]), np.array([[50.0, 60.0]]), 2.0) == 0.0
    # adjacent closed ranges [0, 4] and [5, 9] cover 0..9 without a gap, as the SDK's IntegerRangeSet merges them
    assert range_iou(np.array([[0.0, 4.0], [5.0, 9.0]]), np.array([[0.0, 9.0]]), 0.0) == 1.0


@pytest.mark.parametrize("seed", range(8))
def test_box_iou_where_positive_is_box_iou(seed: int) -> None:
    """The box batch finishes the IoU only on the pairs that intersect: the pairs with IoU > 0 (identical boxes
    without area included) and their values are box_iou's, bit for bit, also with boxes of zero, negative,
    infinite or NaN size and the batch's padding."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 6, (9, 5, 4)).astype(np.float64) / 4
    b = rng.integers(0, 6, (9, 7, 4)).astype(np.float64) / 4
    a[:, 0], b[:, 1] = (-1e300, -1e300, 0.0, 0.0), (1e300, 1e300, 0.0, 0.0)  # the batch's padding
    b[:, 2] = a[:, 1]  # identical boxes
    a[:, 3, 2:] = 0.0  # boxes without area
    b[:, 4] = a[:, 3] if seed % 2 else a[:, 2]
    for side in (a, b):
        odd = rng.random(side.shape) < 0.08
        side[odd] = rng.choice([0.0, -0.0, -0.5, np.inf, -np.inf, np.nan, 1e-200], int(odd.sum()))
    with np.errstate(all="ignore"):  # infinite sizes overflow
        want = box_iou(a, b)
        # buffers holding another chunk's values, as the box batch reuses them
        pos, iou = box_iou_where_positive(a, b, np.full(want.shape, np.nan), np.full((2, *want.shape), -3.0))
    np.testing.assert_array_equal(pos, np.flatnonzero(want > 0))
    np.testing.assert_array_equal(iou.view(np.int64), want[want > 0].view(np.int64))
