"""Exact geometry on numpy: axis-aligned box IoU, polylines, OKS and 1-D ranges (polygons and rotated boxes are in
polygon.py, ellipses in ellipse.py). Nothing is rasterised. Every similarity is in [0, 1] and identical geometry
scores exactly 1.0: areas and lengths are computed from the same differences as the intersection, so a shape
intersected with itself gives back its own area bit for bit.
"""

from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------------------------------------- boxes


def _corners(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x0, y0, x1, y1 of (..., 4) x, y, w, h boxes."""
    x0, y0 = boxes[..., 0], boxes[..., 1]
    return x0, y0, x0 + boxes[..., 2], y0 + boxes[..., 3]


def _overlap(
    a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, work: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs' intersection areas (into `out`; `work`, of shape (2, *out.shape), holds the intermediates) and
    the areas of a's and of b's boxes, shaped (..., n, 1) and (..., 1, m) to broadcast against them."""
    ax0, ay0, ax1, ay1 = (c[..., :, None] for c in _corners(a))
    bx0, by0, bx1, by1 = (c[..., None, :] for c in _corners(b))
    # in-place steps: this runs on (frames, truth, annotator) batches of millions of pairs. Clipping at 0 from
    # below with an upper bound of inf takes numpy's fast two-sided loop (it only keeps -0.0 as -0.0: never > 0)
    inter = np.minimum(ax1, bx1, out=out)
    inter -= np.maximum(ax0, bx0, out=None if work is None else work[0])
    np.clip(inter, 0.0, np.inf, out=inter)
    ih = np.minimum(ay1, by1, out=None if work is None else work[1])
    ih -= np.maximum(ay0, by0, out=None if work is None else work[0])
    np.clip(ih, 0.0, np.inf, out=ih)
    inter *= ih
    area_a = np.clip(ax1 - ax0, 0.0, None) * np.clip(ay1 - ay0, 0.0, None)
    area_b = np.clip(bx1 - bx0, 0.0, None) * np.clip(by1 - by0, 0.0, None)
    return inter, area_a, area_b


def _same_corners(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs of (..., 4) boxes (broadcast) with the same corners: the IoU of a pair without union is 1 for these."""
    ax0, ay0, ax1, ay1 = _corners(a)
    bx0, by0, bx1, by1 = _corners(b)
    same: np.ndarray = (ax0 == bx0) & (ay0 == by0) & (ax1 == bx1) & (ay1 == by1)
    return same


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of axis-aligned boxes given as (..., 4) x, y, w, h; broadcasts like a[..., :, None] vs b[..., None, :].

    Widths and heights are taken from the corners (x + w - x need not be w in floating point), the same way as the
    intersection's, so identical boxes give intersection == union exactly. Two identical boxes without area score 1,
    any other pair without union 0."""
    inter, area_a, area_b = _overlap(a, b)
    union = np.add(area_a, area_b)
    union -= inter
    empty = union <= 0
    # pairs without union are overwritten below: dividing everywhere is faster than a masked divide
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(inter, union, out=inter)
    np.clip(inter, 0.0, 1.0, out=inter)
    if empty.any():
        inter[empty] = _same_corners(a[..., :, None, :], b[..., None, :, :])[empty]
    iou: np.ndarray = inter
    return iou


def box_iou_where_positive(
    a: np.ndarray, b: np.ndarray, out: np.ndarray, work: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of box_iou(a, b) with IoU > 0: their flat positions among the (..., n, m) pairs, ascending (the
    order np.nonzero lists them), and their IoU, bit for bit box_iou's. Only the pairs that intersect (a tenth in
    a box batch) and those without union get past the intersection. `out` (the pairs' shape) and `work` (2, *that
    shape) are buffers a caller reuses chunk after chunk; `out` is left holding values that are not > 0 elsewhere."""
    n, m = out.shape[-2:]
    inter, area_a, area_b = _overlap(a, b, out, work)
    flat = inter.reshape(-1)
    pos = np.flatnonzero(flat > 0)
    # the same operations as box_iou's, on the intersecting pairs only
    union = np.add(area_a.reshape(-1)[pos // m], area_b.reshape(-1)[pos // (n * m) * m + pos % m])
    union -= flat[pos]
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.divide(flat[pos], union, out=union)
    np.clip(iou, 0.0, 1.0, out=iou)
    flat[pos] = iou
    a_zero, b_zero = area_a == 0, area_b == 0
    if a_zero.any() and b_zero.any():  # pairs without union (both areas 0, padding too): identical boxes score 1
        empty = np.flatnonzero(a_zero & b_zero)
        empty = empty[flat[empty] >= 0]  # not NaN (a side of infinite length): box_iou leaves those NaN
        same = _same_corners(a.reshape(-1, 4)[empty // m], b.reshape(-1, 4)[empty // (n * m) * m + empty % m])
        flat[empty] = same
        if same.any():
            pos = np.flatnonzero(flat > 0)
            return pos, flat[pos]
    keep = iou > 0  # not all: an intersection can underflow to IoU 0
    if not keep.all():
        return pos[keep], iou[keep]
    return pos, iou


# ------------------------------------------------------------------------------------------------------- polylines


def resample(line: np.ndarray, n: int) -> np.ndarray:
    """n points at equal arc-length steps along the line."""
    if len(line) == 1:
        return np.repeat(line, n, axis=0)
    seg = np.hypot(*np.diff(line, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if cum[-1] == 0:
        return np.repeat(line[:1], n, axis=0)
    s = np.linspace(0.0, cum[-1], n)
    return np.stack([np.interp(s, cum, line[:, 0]), np.interp(s, cum, line[:, 1])], axis=1)


def polyline_similarity(truth: np.ndarray, other: np.ndarray, sigma: float) -> tuple[float, float]:
    """(forward, reversed) similarity: mean exp(-d^2 / 2 sigma^2) over points at matching arc-length fractions.

    Pixel coordinates; sigma is the tolerance in pixels. `reversed` compares against the other line walked
    backwards, so max() is direction-blind and reversed - forward measures a flipped direction.
    """
    n = int(min(max(len(truth), len(other), 16) * 4, 256))
    t = resample(truth, n)
    o = resample(other, n)
    s2 = 2.0 * sigma * sigma
    forward = float(np.exp(-((t - o) ** 2).sum(axis=1) / s2).mean())
    backward = float(np.exp(-((t - o[::-1]) ** 2).sum(axis=1) / s2).mean())
    return forward, backward


# ------------------------------------------------------------------------------------------------------------- OKS


def oks(
    truth_xy: np.ndarray,
    truth_vis: np.ndarray,
    other_xy: np.ndarray,
    other_vis: np.ndarray,
    sigmas: np.ndarray,
    area: float,
) -> float:
    """COCO object keypoint similarity: mean over truth-labelled nodes (v > 0) of exp(-d^2 / (2 area k^2)),
    k = 2 sigma. A node the other side marks invisible (v = 0) scores 0. No bounding-box gate, so single points and
    collinear skeletons are scored like any other (unlike CVAT #9957)."""
    labelled = truth_vis > 0
    if not labelled.any():
        return 1.0 if not (other_vis > 0).any() else 0.0
    d2 = ((truth_xy - other_xy) ** 2).sum(axis=1)
    k2 = (2.0 * sigmas) ** 2
    e = np.exp(-d2 / (2.0 * max(area, 1e-12) * k2))
    e = np.where(other_vis > 0, e, 0.0)
    return float(e[labelled].mean())


def keypoint_area(xy: np.ndarray, vis: np.ndarray, floor: float) -> float:
    """OKS scale s^2: the area of the labelled nodes' bounding box, floored (single points / lines have none)."""
    pts = xy[vis > 0] if (vis > 0).any() else xy
    if len(pts) == 0:
        return floor
    span = pts.max(axis=0) - pts.min(axis=0)
    return float(max(span[0] * span[1], floor))


# ---------------------------------------------------------------------------------------------------------- ranges


def merge_ranges(r: np.ndarray) -> np.ndarray:
    """Sorted, disjoint [start, end) intervals covering the same points; empty intervals are dropped."""
    r = np.sort(np.asarray(r, dtype=np.float64).reshape(-1, 2), axis=1)
    r = r[r[:, 1] > r[:, 0]]
    if len(r) == 0:
        return r
    r = r[np.argsort(r[:, 0], kind="stable")]
    out = [r[0].copy()]
    for s, e in r[1:]:
        if s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append(np.array([s, e]))
    return np.array(out)


def _measure(r: np.ndarray) -> float:
    return float(sum((r[:, 1] - r[:, 0]).tolist()))


def _intersect(t: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Intersection of two sorted disjoint interval lists."""
    out: list[tuple[float, float]] = []
    i = j = 0
    while i < len(t) and j < len(o):
        s, e = max(t[i, 0], o[j, 0]), min(t[i, 1], o[j, 1])
        if s < e:
            out.append((float(s), float(e)))
        if t[i, 1] < o[j, 1]:
            i += 1
        else:
            j += 1
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def snap(truth: np.ndarray, other: np.ndarray, tolerance: float) -> np.ndarray:
    """The other side's boundaries within `tolerance` of a truth boundary, moved onto it ("off by a few ms or
    characters" counts as exact)."""
    o = np.asarray(other, dtype=np.float64).reshape(-1, 2)
    t = np.asarray(truth, dtype=np.float64).reshape(-1, 2)
    if not len(t) or not len(o) or tolerance <= 0:
        return o
    bounds = np.unique(t.ravel())
    flat = o.ravel()
    nearest = bounds[np.abs(flat[:, None] - bounds[None, :]).argmin(axis=1)]
    return np.where(np.abs(flat - nearest) <= tolerance, nearest, flat).reshape(-1, 2)


def range_iou(truth: np.ndarray, other: np.ndarray, tolerance: float, inclusive: bool = True) -> float:
    """1-D IoU of two unions of Encord ranges [[start, end], ...] after boundary snapping (see `snap`).

    `inclusive`: Encord's ranges are closed integer intervals ([3, 5] covers characters or milliseconds 3, 4 and
    5; docs/scoring.md cites the sources), so [s, e] measures e - s + 1. With `inclusive=False` ([s, e) half-open)
    a range with start == end is an empty selection at a position: two such selections score 1 when they sit at
    the same positions and 0 otherwise, and never match a range of positive length. Intersection and union are
    measured the same way, so identical ranges score exactly 1.0."""
    t = np.sort(np.asarray(truth, dtype=np.float64).reshape(-1, 2), axis=1)
    o = np.sort(snap(t, other, tolerance), axis=1)
    if inclusive:
        one_more = np.array([0.0, 1.0])  # [s, e] closed -> [s, e + 1) half-open
        t, o = t + one_more, o + one_more
    mt, mo = merge_ranges(t), merge_ranges(o)
    if not len(mt) or not len(mo):  # a side without measure: only the same empty selections agree
        if len(mt) or len(mo) or not len(t) or not len(o):
            return 0.0
        return 1.0 if np.array_equal(np.unique(t, axis=0), np.unique(o, axis=0)) else 0.0
    inter = _measure(_intersect(mt, mo))
    union = _measure(merge_ranges(np.concatenate([mt, mo])))
    return min(max(inter / union, 0.0), 1.0)
