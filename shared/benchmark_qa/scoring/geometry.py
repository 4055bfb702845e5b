"""Exact geometry on numpy: box IoU, rotated boxes and polygons (with holes) by boundary integrals, polylines,
OKS and 1-D ranges. Nothing is rasterised and nothing here imports shapely.

Polygon intersection area uses Green's theorem: the boundary of A∩B is the part of A's boundary inside B plus the
part of B's boundary inside A, so area(A∩B) = sum of (x1*y2 - x2*y1)/2 over those sub-segments. Edges are split at
every crossing; a sub-segment is classified by its midpoint. Shared edges are counted once (A's copy, when both
run the same way) and never when they run opposite ways (the regions only touch).
"""

from __future__ import annotations

import math

import numpy as np

Ring = np.ndarray  # (k, 2)
Region = list[Ring]  # oriented rings: outer counter-clockwise, holes clockwise


# ----------------------------------------------------------------------------------------------------------- boxes


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of axis-aligned boxes given as (..., 4) x, y, w, h; broadcasts like a[..., :, None] vs b[..., None, :]."""
    ax0, ay0 = a[..., :, None, 0], a[..., :, None, 1]
    ax1, ay1 = ax0 + a[..., :, None, 2], ay0 + a[..., :, None, 3]
    bx0, by0 = b[..., None, :, 0], b[..., None, :, 1]
    bx1, by1 = bx0 + b[..., None, :, 2], by0 + b[..., None, :, 3]
    # in-place steps: this runs on (frames, truth, annotator) batches of millions of pairs
    inter = np.minimum(ax1, bx1)
    inter -= np.maximum(ax0, bx0)
    np.clip(inter, 0.0, None, out=inter)
    ih = np.minimum(ay1, by1)
    ih -= np.maximum(ay0, by0)
    np.clip(ih, 0.0, None, out=ih)
    inter *= ih
    union = ih
    np.add(a[..., :, None, 2] * a[..., :, None, 3], b[..., None, :, 2] * b[..., None, :, 3], out=union)
    union -= inter
    np.divide(inter, union, out=inter, where=union > 0)
    inter[union <= 0] = 0.0
    out: np.ndarray = inter
    return out


def box_corners(x: float, y: float, w: float, h: float, theta_deg: float) -> Ring:
    """Corners of the box (x, y, w, h) turned by theta degrees about its centre (clockwise on screen, y down)."""
    cx, cy = x + w / 2.0, y + h / 2.0
    t = math.radians(theta_deg)
    c, s = math.cos(t), math.sin(t)
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    rot = np.array([[c, -s], [s, c]])
    out: np.ndarray = local @ rot.T + np.array([cx, cy])
    return out


# -------------------------------------------------------------------------------------------------------- polygons


def signed_area(ring: Ring) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


def region(polygons: list[list[Ring]], scale: tuple[float, float] = (1.0, 1.0)) -> Region:
    """Encord polygons ([outer, hole, hole...] per part) -> oriented rings in the given pixel scale."""
    out: Region = []
    sx, sy = scale
    for rings in polygons:
        for i, ring in enumerate(rings):
            r = ring * np.array([sx, sy])
            if len(r) > 1 and np.allclose(r[0], r[-1]):
                r = r[:-1]  # closed rings repeat the first point
            if len(r) < 3:
                continue
            area = signed_area(r)
            if area == 0.0:
                continue
            if (area > 0) != (i == 0):  # outer rings counter-clockwise, holes clockwise
                r = r[::-1]
            out.append(r)
    return out


def region_area(rings: Region) -> float:
    return float(sum(signed_area(r) for r in rings))


def _edges(rings: Region) -> tuple[np.ndarray, np.ndarray]:
    p0 = np.concatenate(rings)
    p1 = np.concatenate([np.roll(r, -1, axis=0) for r in rings])
    keep = (p0 != p1).any(axis=1)  # repeated vertices make zero-length edges
    return p0[keep], p1[keep]


def _cross(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    out: np.ndarray = ax * by - ay * bx
    return out


def _split_params(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray, eps: float) -> np.ndarray:
    """For each edge p (n), the parameters t in (0, 1) where an edge q (m) crosses, touches or overlaps it.

    Returns (k, 2) rows of (edge index, t), including t=0 and t=1 for every edge.
    """
    d = p1 - p0
    e = q1 - q0
    dx, dy = d[:, None, 0], d[:, None, 1]
    ex, ey = e[None, :, 0], e[None, :, 1]
    wx, wy = q0[None, :, 0] - p0[:, None, 0], q0[None, :, 1] - p0[:, None, 1]
    denom = _cross(dx, dy, ex, ey)
    len_d = np.hypot(dx, dy)
    len_e = np.hypot(ex, ey)
    parallel = np.abs(denom) <= 1e-9 * len_d * len_e  # within ~1e-9 rad: treat as parallel
    safe = np.where(parallel, 1.0, denom)
    t = _cross(wx, wy, ex, ey) / safe
    u = _cross(wx, wy, dx, dy) / safe
    tol = 1e-12
    hit = ~parallel & (t > tol) & (t < 1 - tol) & (u >= -tol) & (u <= 1 + tol)
    rows, cols = np.nonzero(hit)
    params = [np.stack([rows.astype(np.float64), t[rows, cols]], axis=1)]
    # collinear overlaps: split p at q's end points that lie on p
    collinear = parallel & (np.abs(_cross(wx, wy, dx, dy)) <= eps * np.maximum(len_d, 1e-300))
    if collinear.any():
        rows, cols = np.nonzero(collinear)
        dd = (d[rows] ** 2).sum(axis=1)
        for q in (q0, q1):
            tq = ((q[cols] - p0[rows]) * d[rows]).sum(axis=1) / dd
            keep = (tq > tol) & (tq < 1 - tol)
            params.append(np.stack([rows[keep].astype(np.float64), tq[keep]], axis=1))
    n = len(p0)
    idx = np.arange(n, dtype=np.float64)
    params.append(np.stack([idx, np.zeros(n)], axis=1))
    params.append(np.stack([idx, np.ones(n)], axis=1))
    return np.concatenate(params)


def _inside(points: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Even-odd point in region test (crossing number), vectorised over points and edges."""
    px, py = points[:, None, 0], points[:, None, 1]
    x0, y0, x1, y1 = q0[None, :, 0], q0[None, :, 1], q1[None, :, 0], q1[None, :, 1]
    straddle = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        xcross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    crossings = (straddle & (px < xcross)).sum(axis=1)
    return np.asarray(crossings % 2 == 1)


def _on_boundary(
    points: np.ndarray, dirs: np.ndarray, q0: np.ndarray, q1: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """(on any edge of q, on an edge of q running the same way as `dirs`)."""
    e = q1 - q0
    ee = np.maximum((e**2).sum(axis=1), 1e-300)
    w = points[:, None, :] - q0[None, :, :]
    t = np.clip((w * e[None]).sum(axis=2) / ee[None], 0.0, 1.0)
    closest = q0[None] + t[..., None] * e[None]
    dist2 = ((points[:, None, :] - closest) ** 2).sum(axis=2)
    near = dist2 <= eps * eps
    same = ((dirs[:, None, :] * e[None]).sum(axis=2)) > 0
    return near.any(axis=1), (near & same).any(axis=1)


def _boundary_part(
    p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray, eps: float, keep_shared: bool
) -> float:
    params = _split_params(p0, p1, q0, q1, eps)
    order = np.lexsort((params[:, 1], params[:, 0]))
    params = params[order]
    edge = params[:-1, 0]
    same_edge = edge == params[1:, 0]
    t0, t1 = params[:-1, 1][same_edge], params[1:, 1][same_edge]
    edge = edge[same_edge].astype(np.int64)
    nonzero = t1 - t0 > 1e-15
    t0, t1, edge = t0[nonzero], t1[nonzero], edge[nonzero]
    if len(edge) == 0:
        return 0.0
    d = p1[edge] - p0[edge]
    a = p0[edge] + t0[:, None] * d
    b = p0[edge] + t1[:, None] * d
    mid = (a + b) / 2.0
    on, on_same = _on_boundary(mid, d, q0, q1, eps)
    inside = _inside(mid, q0, q1) & ~on
    take = inside | (on_same if keep_shared else np.zeros_like(on))
    return float(0.5 * _cross(a[take, 0], a[take, 1], b[take, 0], b[take, 1]).sum())


def intersection_area(a: Region, b: Region) -> float:
    """Exact area of the intersection of two regions of oriented rings (see module docstring)."""
    if not a or not b:
        return 0.0
    a0, a1 = _edges(a)
    b0, b1 = _edges(b)
    # quick reject on bounding boxes
    amin, amax = a0.min(axis=0), a0.max(axis=0)
    bmin, bmax = b0.min(axis=0), b0.max(axis=0)
    if (amin > bmax).any() or (bmin > amax).any():
        return 0.0
    span = float(max(np.max(amax - amin), np.max(bmax - bmin), 1e-300))
    eps = 1e-9 * span
    area = _boundary_part(a0, a1, b0, b1, eps, True) + _boundary_part(b0, b1, a0, a1, eps, False)
    return max(area, 0.0)


def region_iou(a: Region, b: Region) -> float:
    inter = intersection_area(a, b)
    union = region_area(a) + region_area(b) - inter
    return float(inter / union) if union > 0 else 0.0


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
    if len(r) == 0:
        return r.reshape(0, 2)
    r = np.sort(r, axis=1)
    r = r[np.argsort(r[:, 0], kind="stable")]
    out = [r[0].copy()]
    for s, e in r[1:]:
        if s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append(np.array([s, e]))
    return np.array(out)


def range_iou(truth: np.ndarray, other: np.ndarray, tolerance: float) -> float:
    """1-D IoU of two unions of [start, end] ranges. The other side's boundaries within `tolerance` of a truth
    boundary are snapped to it first, so "off by a few ms / chars" counts as exact."""
    t = merge_ranges(truth)
    o = merge_ranges(other).astype(np.float64)
    if len(t) and tolerance > 0:
        bounds = np.unique(t.ravel())
        flat = o.ravel()
        nearest = bounds[np.abs(flat[:, None] - bounds[None, :]).argmin(axis=1)]
        o = np.where(np.abs(flat - nearest) <= tolerance, nearest, flat).reshape(-1, 2)
        o = merge_ranges(o)
    inter = 0.0
    for s, e in t:
        inter += float(np.clip(np.minimum(o[:, 1], e) - np.maximum(o[:, 0], s), 0, None).sum())
    union = float((t[:, 1] - t[:, 0]).sum() + (o[:, 1] - o[:, 0]).sum()) - inter
    return inter / union if union > 0 else (1.0 if len(t) and len(o) else 0.0)
