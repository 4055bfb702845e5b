"""Exact IoU of ellipses (Encord's `circle` and `ellipse` shapes), by boundary integrals on the conic arcs.

IoU is unchanged by an affine map (every area scales by the same determinant), so the first ellipse is mapped to the
unit circle and the second to an ellipse p(s) = c + f1 cos s + f2 sin s. The boundary of the intersection is made
of circle arcs inside that ellipse and ellipse arcs inside the circle, cut at the points where the two meet. Those
are the roots on |z| = 1 of a degree-4 polynomial in z = e^(i phi) (the circle point (cos phi, sin phi) put into the
ellipse's implicit equation), polished by Newton steps. Each arc is kept when its midpoint is inside the other
curve and contributes its closed-form integral of (x dy - y dx) / 2:

    circle arc phi0..phi1:   (phi1 - phi0) / 2
    ellipse arc s0..s1:      [c x f1 (cos s1 - cos s0) + c x f2 (sin s1 - sin s0) + f1 x f2 (s1 - s0)] / 2

Without crossings one curve lies inside the other or they are apart. Identical ellipses score exactly 1.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

TAU = 2.0 * math.pi


class Ellipse(NamedTuple):
    """Centre, semi-axes and rotation (degrees, clockwise on screen like rotated boxes) in pixels."""

    cx: float
    cy: float
    a: float
    b: float
    theta: float

    def canonical(self) -> Ellipse:
        """The same point set written one way: a >= b, theta in [0, 180), theta 0 for a circle."""
        a, b, theta = abs(self.a), abs(self.b), self.theta
        if b > a:
            a, b, theta = b, a, theta + 90.0
        theta = 0.0 if a == b else round(theta % 180.0, 9) % 180.0
        return Ellipse(self.cx, self.cy, a, b, theta)

    @property
    def area(self) -> float:
        return math.pi * abs(self.a * self.b)


def _frame(e: Ellipse) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = math.radians(e.theta)
    u = np.array([math.cos(t), math.sin(t)])
    v = np.array([-math.sin(t), math.cos(t)])
    return np.array([e.cx, e.cy]), e.a * u, e.b * v


def _cross(p: np.ndarray, q: np.ndarray) -> float:
    return float(p[0] * q[1] - p[1] * q[0])


def _crossings(c: np.ndarray, f1: np.ndarray, f2: np.ndarray) -> np.ndarray | None:
    """Angles phi where the unit circle meets the ellipse c + f1 cos s + f2 sin s; None when it is the circle."""
    g_inv = np.linalg.inv(np.column_stack([f1, f2]))
    n = g_inv.T @ g_inv  # implicit form (q - c)^T n (q - c) = 1
    a, b, cc = n[0, 0], 2.0 * n[0, 1], n[1, 1]
    d = -2.0 * (n[0, 0] * c[0] + n[0, 1] * c[1])
    e = -2.0 * (n[0, 1] * c[0] + n[1, 1] * c[1])
    f = float(c @ n @ c) - 1.0
    # A cos^2 + B cos sin + C sin^2 + D cos + E sin + F = 0 with cos = (z + 1/z)/2, sin = (z - 1/z)/2i, times z^2
    coeffs = np.array(
        [
            (a - cc) / 4 - 1j * b / 4,
            d / 2 - 1j * e / 2,
            (a + cc) / 2 + f,
            d / 2 + 1j * e / 2,
            (a - cc) / 4 + 1j * b / 4,
        ]
    )
    scale = np.abs(coeffs).max()
    if scale <= 1e-12 * (abs(a) + abs(cc)):  # the same curve up to rounding
        return None
    roots = np.roots(coeffs / scale)
    roots = roots[np.abs(np.abs(roots) - 1.0) < 1e-5]
    phis = np.angle(roots)

    def g(phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        co, si = np.cos(phi), np.sin(phi)
        value = a * co * co + b * co * si + cc * si * si + d * co + e * si + f
        slope = -2 * a * co * si + b * (co * co - si * si) + 2 * cc * si * co - d * si + e * co
        return value, slope

    for _ in range(4):  # Newton: the roots of a near-degenerate quartic are only good to ~1e-8
        value, slope = g(phis)
        step = np.where(np.abs(slope) > 1e-300, value / np.where(slope == 0, 1.0, slope), 0.0)
        phis = phis - np.clip(step, -1e-3, 1e-3)
    value, _ = g(phis)
    phis = phis[np.abs(value) < 1e-9 * max(1.0, abs(f) + abs(a) + abs(cc))]
    return np.sort(np.mod(phis, TAU))


def _inside_ellipse(points: np.ndarray, c: np.ndarray, f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
    s = np.linalg.solve(np.column_stack([f1, f2]), (points - c).T)
    out: np.ndarray = (s**2).sum(axis=0) < 1.0
    return out


def intersection_area_unit(c: np.ndarray, f1: np.ndarray, f2: np.ndarray) -> float:
    """Area of (unit disc) ∩ (ellipse c + f1 cos s + f2 sin s), with f1 x f2 > 0."""
    ellipse_area = math.pi * _cross(f1, f2)
    phis = _crossings(c, f1, f2)
    if phis is None:
        return min(math.pi, ellipse_area)
    if len(phis) < 2:  # apart, touching, or one inside the other
        if _inside_ellipse(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), c, f1, f2).any():
            return math.pi  # a point of the circle inside the ellipse and no crossing: the disc is inside
        on_ellipse = np.array([c + f1, c - f1, c + f2, c - f2])
        if (np.hypot(on_ellipse[:, 0], on_ellipse[:, 1]) < 1.0).any():
            return ellipse_area  # and the ellipse inside the disc
        return 0.0
    area = 0.0
    # circle arcs between consecutive crossings, kept when their midpoint is inside the ellipse
    ends = np.append(phis, phis[0] + TAU)
    mids = (ends[:-1] + ends[1:]) / 2
    keep = _inside_ellipse(np.stack([np.cos(mids), np.sin(mids)], axis=1), c, f1, f2)
    area += float(((ends[1:] - ends[:-1]) / 2)[keep].sum())
    # the same points on the ellipse, by its own parameter s
    pts = np.stack([np.cos(phis), np.sin(phis)], axis=1)
    s_at = np.linalg.solve(np.column_stack([f1, f2]), (pts - c).T)
    s = np.sort(np.mod(np.arctan2(s_at[1], s_at[0]), TAU))
    s_ends = np.append(s, s[0] + TAU)
    s0, s1 = s_ends[:-1], s_ends[1:]
    sm = (s0 + s1) / 2
    mid_pts = c + np.outer(np.cos(sm), f1) + np.outer(np.sin(sm), f2)
    keep = np.hypot(mid_pts[:, 0], mid_pts[:, 1]) < 1.0
    terms = (
        _cross(c, f1) * (np.cos(s1) - np.cos(s0))
        + _cross(c, f2) * (np.sin(s1) - np.sin(s0))
        + _cross(f1, f2) * (s1 - s0)
    ) / 2
    area += float(terms[keep].sum())
    return min(max(area, 0.0), math.pi, ellipse_area)


def ellipse_iou(p: Ellipse, q: Ellipse) -> float:
    """IoU of two ellipses in pixels; exactly 1.0 for the same point set, 0 when either has no area."""
    p, q = p.canonical(), q.canonical()
    if p.area <= 0 or q.area <= 0:
        return 0.0
    if p == q:
        return 1.0
    cp, up, vp = _frame(p)
    # the affine map taking p to the unit circle: x -> L (x - cp), L = diag(1/a, 1/b) R(-theta)
    lin = np.array([up / p.a**2, vp / p.b**2])
    cq, uq, vq = _frame(q)
    c, f1, f2 = lin @ (cq - cp), lin @ uq, lin @ vq
    if _cross(f1, f2) < 0:
        f2 = -f2
    inter = intersection_area_unit(c, f1, f2)
    unit_q = math.pi * _cross(f1, f2)  # q's area in the mapped frame
    union = math.pi + unit_q - inter
    return float(min(max(inter / union, 0.0), 1.0)) if union > 0 else 0.0
