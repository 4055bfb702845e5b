"""Polygon regions: Encord polygons made valid, then intersected exactly by boundary integrals. No shapely.

**Validity.** Annotators draw self-intersecting rings (a "bow-tie"), parts that overlap or nest and holes that
stick out of their ring. Each object is read as the region shapely's `make_valid(..., method="structure")` gives
(GEOS's GeometryFixer): a ring covers the points it winds around (non-zero winding, so a bow-tie is its two
triangles and a pentagram is filled like the editor's canvas paints it), a part is its outer ring minus the union
of its holes, and the object is the union of its parts. `valid_region` builds the oriented boundary of that
region: every edge is split where any edge of the object crosses, touches or overlaps it; each piece's two sides
are classified by winding numbers (a ray from the piece's midpoint along its left normal, plus the jump across the
edges that contain the midpoint); a piece with the region on exactly one side is kept, turned so the region is on
its left. Coincident pieces are kept once. The result is a list of oriented segments with the region on the left,
no two overlapping, sorted so that identical regions give identical arrays.

**Intersection.** By Green's theorem area(A∩B) is the sum of (x1*y2 - x2*y1)/2 over the boundary of A∩B: the
pieces of A's boundary inside B plus those of B's boundary inside A. Edges are split at every crossing, a piece is
classified by its midpoint (even-odd test, exact for valid boundaries); shared pieces count once (A's copy, when
both run the same way) and not at all when they run opposite ways (the regions only touch).

Identical regions score exactly 1.0: an unsplit piece is summed from its own end points, in the same order and
with the same expression as `region_area`, so area(A∩A) and area(A) are the same sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Ring = np.ndarray  # (k, 2)
_PAIR_CHUNK = 1 << 18  # edge pairs per vectorised block (a few MB per temporary)


@dataclass(frozen=True, slots=True)
class Region:
    """A valid region as oriented boundary segments (region on the left of p0 -> p1)."""

    p0: np.ndarray  # (n, 2)
    p1: np.ndarray  # (n, 2)

    def __len__(self) -> int:
        return len(self.p0)

    @property
    def area(self) -> float:
        return _half_cross_sum(self.p0, self.p1)


EMPTY = Region(np.zeros((0, 2)), np.zeros((0, 2)))


def _half_cross_sum(a: np.ndarray, b: np.ndarray) -> float:
    return float(0.5 * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum())


def _cross(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    out: np.ndarray = ax * by - ay * bx
    return out


def _span(*points: np.ndarray) -> float:
    pts = np.concatenate([p for p in points if len(p)]) if any(len(p) for p in points) else np.zeros((1, 2))
    return float(max(np.max(pts.max(axis=0) - pts.min(axis=0)), 1e-300))


# ------------------------------------------------------------------------------------------------------ splitting


def _split_params(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray, eps: float) -> np.ndarray:
    """(k, 2) rows of (edge index of p, t): every t in (0, 1) where an edge of q crosses, touches or overlaps that
    edge of p, plus t = 0 and t = 1 for every edge. Worked in blocks of p's edges to bound memory."""
    params = []
    step = max(1, _PAIR_CHUNK // max(len(q0), 1))
    for lo in range(0, len(p0), step):
        params.append(_split_block(p0[lo : lo + step], p1[lo : lo + step], q0, q1, eps, lo))
    n = len(p0)
    idx = np.arange(n, dtype=np.float64)
    params.append(np.stack([idx, np.zeros(n)], axis=1))
    params.append(np.stack([idx, np.ones(n)], axis=1))
    return np.concatenate(params)


def _split_block(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray, eps: float, base: int) -> np.ndarray:
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
    out = [np.stack([(rows + base).astype(np.float64), t[rows, cols]], axis=1)]
    # collinear overlaps: split p at q's end points that lie on p
    collinear = parallel & (np.abs(_cross(wx, wy, dx, dy)) <= eps * np.maximum(len_d, 1e-300))
    if collinear.any():
        rows, cols = np.nonzero(collinear)
        dd = (d[rows] ** 2).sum(axis=1)
        for q in (q0, q1):
            tq = ((q[cols] - p0[rows]) * d[rows]).sum(axis=1) / dd
            keep = (tq > tol) & (tq < 1 - tol)
            out.append(np.stack([(rows[keep] + base).astype(np.float64), tq[keep]], axis=1))
    return np.concatenate(out)


def _pieces(p0: np.ndarray, p1: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sub-segments (a, b) between consecutive split parameters of each edge, and their edge index. An unsplit
    edge keeps its own end points exactly (p0 + 1.0 * (p1 - p0) need not be p1 in floating point)."""
    params = params[np.lexsort((params[:, 1], params[:, 0]))]
    edge = params[:-1, 0]
    same_edge = edge == params[1:, 0]
    t0, t1 = params[:-1, 1][same_edge], params[1:, 1][same_edge]
    edge = edge[same_edge].astype(np.int64)
    nonzero = t1 - t0 > 1e-15
    t0, t1, edge = t0[nonzero], t1[nonzero], edge[nonzero]
    d = p1[edge] - p0[edge]
    a = np.where((t0 == 0.0)[:, None], p0[edge], p0[edge] + t0[:, None] * d)
    b = np.where((t1 == 1.0)[:, None], p1[edge], p0[edge] + t1[:, None] * d)
    return a, b, edge


def _near(points: np.ndarray, q0: np.ndarray, q1: np.ndarray, eps: float) -> np.ndarray:
    """(points, edges): the point lies within eps of the edge."""
    e = q1 - q0
    ee = np.maximum((e**2).sum(axis=1), 1e-300)
    w = points[:, None, :] - q0[None, :, :]
    t = np.clip((w * e[None]).sum(axis=2) / ee[None], 0.0, 1.0)
    closest = q0[None] + t[..., None] * e[None]
    dist2 = ((points[:, None, :] - closest) ** 2).sum(axis=2)
    out: np.ndarray = dist2 <= eps * eps
    return out


# ------------------------------------------------------------------------------------------------------- validity


@dataclass(slots=True)
class _Rings:
    p0: np.ndarray  # edges of every ring
    p1: np.ndarray
    ring: np.ndarray  # ring index of each edge
    part: list[int]  # part index of each ring
    hole: list[bool]  # is each ring a hole


def _rings(polygons: list[list[Ring]], scale: tuple[float, float]) -> _Rings:
    p0s: list[np.ndarray] = []
    p1s: list[np.ndarray] = []
    ring_ids: list[np.ndarray] = []
    parts: list[int] = []
    holes: list[bool] = []
    for part_index, rings in enumerate(polygons):
        for i, raw in enumerate(rings):
            r = np.asarray(raw, dtype=np.float64).reshape(-1, 2) * np.array(scale)
            a, b = r, np.roll(r, -1, axis=0)
            keep = (a != b).any(axis=1)  # repeated vertices (and the closing point) make zero-length edges
            if keep.sum() < 2:
                continue
            p0s.append(a[keep])
            p1s.append(b[keep])
            ring_ids.append(np.full(int(keep.sum()), len(parts)))
            parts.append(part_index)
            holes.append(i > 0)
    if not p0s:
        z = np.zeros((0, 2))
        return _Rings(z, z, np.zeros(0, np.int64), [], [])
    return _Rings(np.concatenate(p0s), np.concatenate(p1s), np.concatenate(ring_ids), parts, holes)


def _winding_left(mid: np.ndarray, normal: np.ndarray, rings: _Rings, on: np.ndarray) -> np.ndarray:
    """(pieces, rings) winding numbers just left of each piece: signed crossings of a ray from the midpoint along
    the left normal, ignoring the edges through the midpoint (`on`). Vertices on the ray count on one side only
    (half-open), so every ring is counted consistently."""
    q0, q1 = rings.p0, rings.p1
    out = np.zeros((len(mid), len(rings.part)), dtype=np.int64)
    step = max(1, _PAIR_CHUNK // max(len(q0), 1))
    for lo in range(0, len(mid), step):
        m, n = mid[lo : lo + step, None, :], normal[lo : lo + step, None, :]
        s0 = _cross(n[..., 0], n[..., 1], q0[None, :, 0] - m[..., 0], q0[None, :, 1] - m[..., 1])
        s1 = _cross(n[..., 0], n[..., 1], q1[None, :, 0] - m[..., 0], q1[None, :, 1] - m[..., 1])
        up = (s0 <= 0) & (s1 > 0)
        down = (s0 > 0) & (s1 <= 0)
        # where the edge meets the ray's line, by interpolating the sides (defined whenever the signs differ, even
        # for an edge lying along the ray), and how far along the ray that is
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(up | down, s0 / (s0 - s1), 0.0)
        x = q0[None, :, 0] + u * (q1 - q0)[None, :, 0]
        y = q0[None, :, 1] + u * (q1 - q0)[None, :, 1]
        t = (x - m[..., 0]) * n[..., 0] + (y - m[..., 1]) * n[..., 1]
        ahead = (t > 0) & ~on[lo : lo + step]
        signed = (up & ahead).astype(np.int64) - (down & ahead).astype(np.int64)
        np.add.at(out[lo : lo + step].T, rings.ring, signed.T)
    return out


def _inside(winding: np.ndarray, rings: _Rings, apart: set[int]) -> np.ndarray:
    """Region membership from per-ring winding numbers: union over parts of (outer ring minus the holes that meet
    it, plus the holes that do not: GEOS's GeometryFixer turns a hole lying wholly outside its shell into a shell)."""
    covered = winding != 0
    n_parts = max(rings.part, default=-1) + 1
    inside = np.zeros(len(winding), dtype=bool)
    for part in range(n_parts):
        ring_ids = [k for k, p in enumerate(rings.part) if p == part]
        outer = [k for k in ring_ids if not rings.hole[k]]
        if not outer:  # a part whose outer ring collapsed is empty, holes and all
            continue
        holes = [k for k in ring_ids if rings.hole[k] and k not in apart]
        body = covered[:, outer].any(axis=1)
        if holes:
            body &= ~covered[:, holes].any(axis=1)
        extra = [k for k in ring_ids if k in apart]
        if extra:
            body |= covered[:, extra].any(axis=1)
        inside |= body
    return inside


def _meet(a: Region, b: Region, eps: float) -> bool:
    """Do two valid regions share a point: boundaries crossing, touching (an end point within eps of the other's
    boundary), or one region inside the other?"""
    if not len(a) or not len(b):
        return False
    d, e = a.p1 - a.p0, b.p1 - b.p0

    def side(o: np.ndarray, v: np.ndarray, p: np.ndarray) -> np.ndarray:  # sign of p against the line o + t v
        out: np.ndarray = np.sign(
            _cross(v[:, None, 0], v[:, None, 1], p[None, :, 0] - o[:, None, 0], p[None, :, 1] - o[:, None, 1])
        )
        return out

    proper = (side(a.p0, d, b.p0) * side(a.p0, d, b.p1) < 0) & (side(b.p0, e, a.p0) * side(b.p0, e, a.p1) < 0).T
    if proper.any() or _near(b.p0, a.p0, a.p1, eps).any() or _near(a.p0, b.p0, b.p1, eps).any():
        return True
    return bool(_inside_even_odd(b.p0[:1], a.p0, a.p1)[0] or _inside_even_odd(a.p0[:1], b.p0, b.p1)[0])


def _holes_apart(polygons: list[list[Ring]], scale: tuple[float, float], rings: _Rings, eps: float) -> set[int]:
    """Rings (by index) that are holes sharing no point with their part's outer ring."""
    if not any(rings.hole):
        return set()
    fixed = {}
    k = 0
    for rings_of_part in polygons:
        for raw in rings_of_part:
            r = np.asarray(raw, dtype=np.float64).reshape(-1, 2)
            if ((r != np.roll(r, -1, axis=0)).any(axis=1)).sum() < 2:
                continue
            fixed[k] = valid_region([[raw]], scale)
            k += 1
    apart = set()
    for k, is_hole in enumerate(rings.hole):
        if not is_hole:
            continue
        outer = next((j for j, p in enumerate(rings.part) if p == rings.part[k] and not rings.hole[j]), None)
        # a collapsed outer ring leaves the part empty (GEOS), so its holes are never turned into shells
        if outer is not None and len(fixed[outer]) and len(fixed[k]) and not _meet(fixed[outer], fixed[k], eps):
            apart.add(k)
    return apart


def valid_region(polygons: list[list[Ring]], scale: tuple[float, float] = (1.0, 1.0)) -> Region:
    """Encord polygons ([outer, hole, hole...] per part) -> the valid region (see the module docstring), in the
    given pixel scale."""
    rings = _rings(polygons, scale)
    if len(rings.p0) == 0 or all(rings.hole):
        return EMPTY
    p0, p1 = rings.p0, rings.p1
    eps = 1e-9 * _span(p0)
    a, b, edge = _pieces(p0, p1, _split_params(p0, p1, p0, p1, eps))
    if len(rings.part) == 1 and len(a) == len(p0) and not _repeated_vertex(p0, eps):
        # a simple ring (crosses, touches and retraces nothing): only its orientation matters
        area = _half_cross_sum(p0, p1)
        if area == 0.0:
            return EMPTY
        return _canonical(p0, p1) if area > 0 else _canonical(p1[::-1], p0[::-1])
    mid = (a + b) / 2.0
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / length[:, None]
    on = np.zeros((len(mid), len(p0)), dtype=bool)
    step = max(1, _PAIR_CHUNK // len(p0))
    for lo in range(0, len(mid), step):
        on[lo : lo + step] = _near(mid[lo : lo + step], p0, p1, eps)
    # a piece lying on an earlier edge is a copy of that edge's piece: keep the first copy only
    first = on.argmax(axis=1)
    keep = first >= edge
    left = _winding_left(mid[keep], normal[keep], rings, on[keep])
    # crossing an edge that runs the same way as the piece, from its right to its left, adds one turn
    same_way = ((d[keep][:, None, :] * (p1 - p0)[None, :, :]).sum(axis=2) > 0).astype(np.int64) * 2 - 1
    jump = np.zeros_like(left)
    np.add.at(jump.T, rings.ring, (np.where(on[keep], same_way, 0)).T)
    apart = _holes_apart(polygons, scale, rings, eps)
    in_left, in_right = _inside(left, rings, apart), _inside(left - jump, rings, apart)
    a, b = a[keep], b[keep]
    fwd, back = in_left & ~in_right, in_right & ~in_left
    start, end = np.concatenate([a[fwd], b[back]]), np.concatenate([b[fwd], a[back]])
    # a crossing point is computed once from each of its two edges and may differ in the last bit: give every
    # cluster of end points one position so the boundary closes exactly (the even-odd test relies on it)
    ends = _snap(np.concatenate([start, end]), eps)
    start, end = ends[: len(start)], ends[len(start) :]
    keep = (start != end).any(axis=1)
    return _canonical(start[keep], end[keep])


def _snap(points: np.ndarray, eps: float) -> np.ndarray:
    """Each point moved onto the first point within eps of it."""
    first = np.empty(len(points), dtype=np.int64)
    step = max(1, _PAIR_CHUNK // max(len(points), 1))
    for lo in range(0, len(points), step):
        d2 = ((points[lo : lo + step, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        first[lo : lo + step] = (d2 <= eps * eps).argmax(axis=1)
    out: np.ndarray = points[first]
    return out


def _repeated_vertex(p0: np.ndarray, eps: float) -> bool:
    """Does the ring pass through one of its vertices twice (two loops touching there, or a retraced edge)?"""
    keys = np.round(p0 / max(eps, 1e-300))
    return len(np.unique(keys, axis=0)) < len(keys)


def _canonical(p0: np.ndarray, p1: np.ndarray) -> Region:
    order = np.lexsort((p1[:, 1], p1[:, 0], p0[:, 1], p0[:, 0]))
    return Region(np.ascontiguousarray(p0[order]), np.ascontiguousarray(p1[order]))


# --------------------------------------------------------------------------------------------------- intersection


def _inside_even_odd(points: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Even-odd point in region test (crossing number), vectorised over points and edges."""
    px, py = points[:, None, 0], points[:, None, 1]
    x0, y0, x1, y1 = q0[None, :, 0], q0[None, :, 1], q1[None, :, 0], q1[None, :, 1]
    straddle = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        xcross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    crossings = (straddle & (px < xcross)).sum(axis=1)
    return np.asarray(crossings % 2 == 1)


def _boundary_part(p: Region, q: Region, eps: float, keep_shared: bool) -> float:
    """Sum over the pieces of p's boundary inside q (and, with keep_shared, on q's boundary running the same way)."""
    a, b, edge = _pieces(p.p0, p.p1, _split_params(p.p0, p.p1, q.p0, q.p1, eps))
    if len(edge) == 0:
        return 0.0
    d = b - a
    mid = (a + b) / 2.0
    take = np.zeros(len(mid), dtype=bool)
    e = q.p1 - q.p0
    step = max(1, _PAIR_CHUNK // max(len(q), 1))
    for lo in range(0, len(mid), step):
        m = mid[lo : lo + step]
        near = _near(m, q.p0, q.p1, eps)
        on = near.any(axis=1)
        on_same = (near & ((d[lo : lo + step, None, :] * e[None]).sum(axis=2) > 0)).any(axis=1)
        inside = _inside_even_odd(m, q.p0, q.p1) & ~on
        take[lo : lo + step] = inside | (on_same if keep_shared else False)
    return _half_cross_sum(a[take], b[take])


def _local(a: Region, b: Region) -> tuple[Region, Region]:
    """Both regions shifted to a shared nearby origin: the boundary terms x1*y2 - x2*y1 cancel less."""
    origin = np.minimum(a.p0.min(axis=0), b.p0.min(axis=0))
    return Region(a.p0 - origin, a.p1 - origin), Region(b.p0 - origin, b.p1 - origin)


def intersection_area(a: Region, b: Region) -> float:
    if not len(a) or not len(b):
        return 0.0
    amin, amax = a.p0.min(axis=0), a.p0.max(axis=0)
    bmin, bmax = b.p0.min(axis=0), b.p0.max(axis=0)
    if (amin > bmax).any() or (bmin > amax).any():  # bounding boxes apart
        return 0.0
    eps = 1e-9 * _span(a.p0, b.p0)
    return max(_boundary_part(a, b, eps, True) + _boundary_part(b, a, eps, False), 0.0)


def region_iou(a: Region, b: Region) -> float:
    """IoU of two valid regions, in [0, 1]; 1.0 exactly for identical regions, 0 when either has no area."""
    if not len(a) or not len(b):
        return 0.0
    a, b = _local(a, b)
    area_a, area_b = a.area, b.area
    inter = min(intersection_area(a, b), area_a, area_b)
    union = area_a + area_b - inter
    return float(min(max(inter / union, 0.0), 1.0)) if union > 0 else 0.0


def box_corners(x: float, y: float, w: float, h: float, theta_deg: float) -> Ring:
    """Corners of the box (x, y, w, h) turned by theta degrees about its centre (clockwise on screen, y down)."""
    cx, cy = x + w / 2.0, y + h / 2.0
    t = np.radians(theta_deg)
    c, s = float(np.cos(t)), float(np.sin(t))
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    rot = np.array([[c, -s], [s, c]])
    out: np.ndarray = local @ rot.T + np.array([cx, cy])
    return out
