"""Geometry annotators draw by accident, checked against independent implementations on generated cases.

Polygons: self-intersecting rings (bow-ties, stars, retraced edges), parts that overlap or nest, holes that stick out
of their ring. The engine reads each object as shapely's `make_valid(..., method="structure")` does (a bow-tie is its
two triangles, as `make_valid`'s default also sees it); areas and IoUs are compared with GEOS on an integer grid,
where shared edges, touching vertices and collinear overlaps are common. Ranges: zero-length and adjacent ranges
against a brute-force count of the units they cover. Every similarity stays in [0, 1]; identical geometry is 1.0.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import shapely
import shapely.geometry as sg
from benchmark_qa.scoring.geometry import box_iou, range_iou
from benchmark_qa.scoring.polygon import region_iou, valid_region
from hypothesis import assume, given, settings
from hypothesis import strategies as st

point = st.tuples(st.integers(0, 8), st.integers(0, 8))
ring = st.lists(point, min_size=3, max_size=7)
part = st.lists(ring, min_size=1, max_size=3)  # an outer ring and up to two holes, drawn anywhere
shape = st.lists(part, min_size=1, max_size=3)


def engine(polygons: list[list[list[tuple[int, int]]]]) -> object:
    return valid_region([[np.array(r, dtype=float) for r in p] for p in polygons])


def geos(polygons: list[list[list[tuple[int, int]]]]) -> sg.base.BaseGeometry:
    """GEOS's structure-method repair of every part, unioned: what make_valid(MultiPolygon, method="structure")
    computes. The parts are unioned pair by pair: GEOS 3.14's unary union (which make_valid uses for the last step)
    drops area on some grid cases with crossing points a few thousandths apart (e.g. the parts below, where
    union_all gives 14.74 but union(a, b) and area(a) + area(b) - area(a & b) both give 15.46)."""
    parts = [shapely.make_valid(sg.Polygon(p[0], p[1:]), method="structure") for p in polygons]
    polygonal = [
        shapely.union_all([g for g in shapely.get_parts(f) if g.geom_type in ("Polygon", "MultiPolygon")])
        for f in parts
    ]
    return functools.reduce(shapely.union, polygonal)


def test_reference_union_is_pairwise() -> None:
    b = [[[(6, 0), (1, 0), (7, 1), (0, 0), (7, 2)]], [[(0, 1), (0, 5), (8, 0)], [(0, 2), (6, 0), (7, 2)]]]
    first, second = (shapely.make_valid(sg.Polygon(p[0], p[1:]), method="structure") for p in b)
    by_parts = first.area + second.area - first.intersection(second).area
    assert math.isclose(geos(b).area, by_parts, rel_tol=1e-12)
    assert math.isclose(engine(b).area, by_parts, rel_tol=1e-12)  # type: ignore[attr-defined]


def hole_only_touches(polygons: list[list[list[tuple[int, int]]]]) -> bool:
    """A hole that meets its shell in points or lines only. GEOS keeps a hole that meets the shell and turns one
    that does not into a shell, but decides "meets" on the repaired rings, whose crossing points are rounded: a
    touch on the grid can go either way there. The engine decides on the rings as drawn (the hole stays a hole)."""
    for p in polygons:
        shell = shapely.make_valid(sg.Polygon(p[0]), method="structure")
        for h in p[1:]:
            hole = shapely.make_valid(sg.Polygon(h), method="structure")
            if shell.area > 0 and hole.area > 0 and shell.intersection(hole).area < 1e-12 and shell.intersects(hole):
                return True
            if sg.LinearRing(p[0]).intersects(sg.LinearRing(h)) and shell.intersection(hole).area < 1e-12:
                return True
    return False


@settings(max_examples=300, deadline=None)
@given(shape)
def test_invalid_polygon_area_matches_make_valid(polygons: list[list[list[tuple[int, int]]]]) -> None:
    assume(not hole_only_touches(polygons))
    assert math.isclose(engine(polygons).area, geos(polygons).area, rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(shape, shape)
def test_invalid_polygon_iou_matches_make_valid(
    a: list[list[list[tuple[int, int]]]], b: list[list[list[tuple[int, int]]]]
) -> None:
    assume(not hole_only_touches(a) and not hole_only_touches(b))
    ga, gb = geos(a), geos(b)
    union = ga.union(gb).area
    # GEOS leaves slivers of ~1e-16 where a shape collapses; the engine leaves nothing
    want = ga.intersection(gb).area / union if ga.area > 1e-12 and gb.area > 1e-12 and union > 0 else 0.0
    got = region_iou(engine(a), engine(b))  # type: ignore[arg-type]
    assert 0.0 <= got <= 1.0
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    if ga.area > 1e-12:
        assert region_iou(engine(a), engine(a)) == 1.0  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.lists(point, min_size=4, max_size=8))
def test_single_ring_matches_default_make_valid_where_the_fill_rules_agree(points: list[tuple[int, int]]) -> None:
    """make_valid's default ("linework") keeps even-odd faces; the structure method non-zero ones. They differ only
    where a ring winds twice around a face (a pentagram's centre); everywhere else the engine matches both."""
    poly = sg.Polygon(points)
    linework = shapely.make_valid(poly)
    structure = shapely.make_valid(poly, method="structure")
    if not math.isclose(linework.area, structure.area, abs_tol=1e-9):
        return
    assert math.isclose(engine([[points]]).area, linework.area, rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[attr-defined]


def test_bow_tie_pair() -> None:
    """An identical bow-tie pair is one match of IoU 1 (it used to be one miss and one extra); a bow-tie against
    one of its own triangles has IoU 1/2, as shapely computes it."""
    bow = [[[(0, 0), (4, 4), (4, 0), (0, 4)]]]
    assert engine(bow).area == 8.0  # type: ignore[attr-defined]
    assert region_iou(engine(bow), engine(bow)) == 1.0  # type: ignore[arg-type]
    triangle = [[[(4, 0), (4, 4), (2, 2)]]]
    assert region_iou(engine(bow), engine(triangle)) == 0.5  # type: ignore[arg-type]
    assert shapely.make_valid(sg.Polygon(bow[0][0])).intersection(sg.Polygon(triangle[0][0])).area == 4.0


def test_overlapping_parts_and_protruding_holes_stay_in_unit_range() -> None:
    """The cases that gave IoU 1.14, 1.25 and 6.67: overlapping parts, nested parts, a hole sticking out."""
    overlap = [[[(0, 0), (2, 0), (2, 2), (0, 2)]], [[(1, 1), (3, 1), (3, 3), (1, 3)]]]
    nested = [[[(0, 0), (4, 0), (4, 4), (0, 4)]], [[(1, 1), (2, 1), (2, 2), (1, 2)]]]
    hole_out = [[[(0, 0), (4, 0), (4, 4), (0, 4)], [(3, 1), (6, 1), (6, 3), (3, 3)]]]
    assert engine(overlap).area == 7.0  # type: ignore[attr-defined]
    assert engine(nested).area == 16.0  # type: ignore[attr-defined]
    assert engine(hole_out).area == 14.0  # type: ignore[attr-defined]
    square = [[[(0, 0), (4, 0), (4, 4), (0, 4)]]]
    assert region_iou(engine(nested), engine(square)) == 1.0  # type: ignore[arg-type]
    assert region_iou(engine(hole_out), engine(square)) == 14 / 16  # type: ignore[arg-type]


box = st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(box, min_size=1, max_size=5), st.lists(box, min_size=1, max_size=5))
def test_box_iou_stays_in_unit_range_and_identical_boxes_score_one(
    a: list[tuple[float, ...]], b: list[tuple[float, ...]]
) -> None:
    sim = box_iou(np.array(a), np.array(b))
    assert ((sim >= 0) & (sim <= 1)).all()
    assert (np.diag(box_iou(np.array(a), np.array(a))) == 1.0).all()  # 0.1 + 0.3 - 0.1 is not 0.3: still exactly 1


# ------------------------------------------------------------------------------------------------------------ ranges

span = st.tuples(st.integers(0, 30), st.integers(0, 30)).map(sorted)


def covered(ranges: list[list[int]], inclusive: bool) -> set[int]:
    return {u for s, e in ranges for u in range(s, e + 1 if inclusive else e)}


@settings(max_examples=400, deadline=None)
@given(st.lists(span, min_size=1, max_size=4), st.lists(span, min_size=1, max_size=4), st.booleans())
def test_range_iou_counts_units(truth: list[list[int]], other: list[list[int]], inclusive: bool) -> None:
    """Against the units each side covers: closed ranges count both ends, half-open ones not the end; empty
    selections (start == end, half-open) agree only with the same empty selections."""
    t, o = covered(truth, inclusive), covered(other, inclusive)
    got = range_iou(np.array(truth, dtype=float), np.array(other, dtype=float), 0.0, inclusive)
    assert 0.0 <= got <= 1.0
    if t and o:
        assert math.isclose(got, len(t & o) / len(t | o), rel_tol=1e-12)
    elif not t and not o:
        assert got == float(
            sorted(map(tuple, truth)) == sorted(map(tuple, other)) or set(map(tuple, truth)) == set(map(tuple, other))
        )
    else:
        assert got == 0.0
    assert range_iou(np.array(truth, dtype=float), np.array(truth, dtype=float), 0.0, inclusive) == 1.0


def test_zero_length_ranges_in_different_places_do_not_match() -> None:
    at = np.array([[5.0, 5.0]])
    elsewhere = np.array([[9.0, 9.0]])
    assert range_iou(at, elsewhere, 0.0, inclusive=False) == 0.0
    assert range_iou(at, at, 0.0, inclusive=False) == 1.0
    assert range_iou(at, elsewhere, 0.0) == 0.0  # closed: one unit each, apart
    assert range_iou(at, elsewhere, 5.0, inclusive=False) == 1.0  # within the boundary tolerance: the same spot
