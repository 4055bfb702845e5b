"""Compare two parsed label rows: per (data unit, frame, shape family) similarity, matching, answer trees.

The output is raw and columnar (matched pairs, misses, extras, candidate pairs for the tracking metrics, answer
outcomes); metrics.py turns it into numbers and conflicts.py into reviewer-facing conflicts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from benchmark_qa.scoring.attributes import AnswerOutcome, compare_tree, describe
from benchmark_qa.scoring.bitmask import mask_iou
from benchmark_qa.scoring.config import AttributeRule, Resolved, ScoringConfig
from benchmark_qa.scoring.ellipse import Ellipse, ellipse_iou
from benchmark_qa.scoring.geometry import (
    box_iou,
    box_iou_where_positive,
    keypoint_area,
    oks,
    polyline_similarity,
    range_iou,
)
from benchmark_qa.scoring.labels import FRAME_TYPES, IMAGE_TYPES, Annotations, Answer, LabelObject, LabelSet
from benchmark_qa.scoring.matching import assign
from benchmark_qa.scoring.ontology import FAMILIES, AttributeNode, Ontology
from benchmark_qa.scoring.ordering import contains, lexsort_ints, union_sorted
from benchmark_qa.scoring.polygon import Region, box_corners, region_iou, valid_region

FAMILY_CODE = {name: code for code, name in enumerate(FAMILIES)}
_MAX_BATCH = 20_000_000  # padded box batch cells before falling back to the per-frame loop
_IOU_CHUNK = 131_072  # padded box pairs per chunk (1 MB per temporary: in L2; fewer page faults than 2 MB, measured)


@dataclass(slots=True)
class PairNote:
    """A matched pair's secondary disagreement: a reversed polyline or skeleton visibility flags."""

    kind: Literal["direction", "visibility"]
    du: int
    frame: int
    t_obj: int
    a_obj: int
    value: float
    detail: str = ""


@dataclass(slots=True)
class AnswerRecord:
    """One answer comparison, weighted by the frames it covers (a static attribute of a track pair counts once
    per matched frame, like every other per-frame measure)."""

    scope: str  # "object" | "classification"
    owner: str  # class or classification name
    path: str  # owner-qualified, e.g. "Car/colour/red/shade"
    node: AttributeNode
    du: int
    first: int
    last: int
    frames: int
    correct: bool
    similarity: float
    truth_hash: str
    labels_hash: str
    truth: str | None
    labels: str | None


@dataclass(slots=True)
class ClassificationGap:
    kind: Literal["missing", "extra"]
    owner: str
    path: str
    hash: str
    first: int
    last: int
    frames: int


@dataclass(slots=True)
class Columns:
    family: np.ndarray
    du: np.ndarray
    frame: np.ndarray
    t_obj: np.ndarray
    a_obj: np.ndarray
    sim: np.ndarray

    @staticmethod
    def concat(parts: list[tuple[np.ndarray, ...]]) -> Columns:
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return Columns(z.astype(np.int8), z, z, z, z, z.astype(np.float64))
        kinds = (np.int8, np.int64, np.int64, np.int64, np.int64, np.float64)
        if len(parts) == 1:  # one shape family: its (fresh) arrays themselves, cast where they differ
            return Columns(
                *(part.astype(kind, casting="unsafe", copy=False) for part, kind in zip(parts[0], kinds, strict=True))
            )
        cols = [np.concatenate([p[i] for p in parts], dtype=kind, casting="unsafe") for i, kind in enumerate(kinds)]
        return Columns(*cols)


@dataclass(slots=True)
class Comparison:
    matches: Columns  # matched pairs
    missed: Columns  # truth annotations with no partner (a_obj = -1)
    extra: Columns  # annotator annotations with no partner (t_obj = -1)
    candidates: Columns  # every pair with similarity > 0 (identity metrics need them)
    notes: list[PairNote] = field(default_factory=list)
    answers: list[AnswerRecord] = field(default_factory=list)
    gaps: list[ClassificationGap] = field(default_factory=list)
    empty_frames: int = 0  # frames both sides leave empty
    visibility_nodes: int = 0  # skeleton nodes compared on matched pairs
    visibility_agree: int = 0


class _Context:
    def __init__(self, ontology: Ontology, truth: LabelSet, labels: LabelSet, config: ScoringConfig) -> None:
        self.ontology = ontology
        self.truth = truth
        self.labels = labels
        self.config = config
        self.data_type = truth.data_type
        self.rules: list[Resolved] = [config.resolve(o.name, o.shape, truth.data_type) for o in ontology.objects]
        self.match_thr = np.array([r.match for r in self.rules] or [0.5], dtype=np.float64)
        self.scale: list[tuple[float, float, bool]] = []
        for i, unit in enumerate(truth.units):
            other = labels.units[i] if i < len(labels.units) else None
            w = unit.width or (other.width if other else None)
            h = unit.height or (other.height if other else None)
            self.scale.append((w or 1.0, h or 1.0, bool(w and h)))
        self.continuity = config.track_continuity and truth.data_type in FRAME_TYPES
        self.t_rank = _ranks(truth.objects)
        self.a_rank = _ranks(labels.objects)
        self.visibility_nodes = 0
        self.visibility_agree = 0

    def px(self, du: int) -> tuple[float, float, bool]:
        return self.scale[du] if du < len(self.scale) else (1.0, 1.0, False)


def _ranks(objects: list[LabelObject]) -> np.ndarray:
    order = sorted(range(len(objects)), key=lambda i: objects[i].hash)
    rank = np.empty(len(objects), dtype=np.int64)
    rank[order] = np.arange(len(objects))
    return rank


def align_units(truth: LabelSet, labels: LabelSet) -> LabelSet:
    """Re-index the annotator's data units to the truth's, by data hash (engine.check_same_data has made sure the
    rows share one); a unit only the annotator has gets an index of its own."""
    index = {u.hash: i for i, u in enumerate(truth.units)}
    mapping = np.zeros(max(len(labels.units), 1), dtype=np.int32)
    units = list(truth.units)
    for i, unit in enumerate(labels.units):
        j = index.get(unit.hash)
        if j is None:
            j = len(units)
            units.append(unit)
        mapping[i] = j
    families = {
        name: Annotations(mapping[ann.du] if len(ann) else ann.du, ann.frame, ann.obj, ann.geom, ann.boxes, ann.rotated)
        for name, ann in labels.families.items()
    }
    return LabelSet(
        labels.label_hash, labels.data_hash, labels.data_type, units, labels.objects, families, labels.classifications
    )


def _empty(family: str) -> Annotations:
    z = np.zeros(0, dtype=np.int64)
    ann = Annotations(z.astype(np.int32), z, z.astype(np.int32), [])
    if family == "box":
        ann.boxes = np.zeros((0, 5))
        ann.rotated = np.zeros(0, dtype=bool)
    return ann


# ----------------------------------------------------------------------------------------------- similarity


Notes = dict[tuple[int, int], Any]


class _Similarity:
    """Similarity matrices (truth rows x annotator columns) for one family on one frame, plus per-pair notes
    (polyline direction, skeleton visibility). Geometry is converted to pixels with the data unit's size."""

    def __init__(self, ctx: _Context, family: str, t: Annotations, a: Annotations) -> None:
        self.ctx, self.family, self.t, self.a = ctx, family, t, a
        self.regions: dict[tuple[int, int], Any] = {}  # polygons converted once, reused across pairs

    def __call__(self, ti: np.ndarray, ai: np.ndarray, du: int) -> tuple[np.ndarray, Notes]:
        if self.family == "polyline":
            return self.lines(ti, ai, du)
        if self.family in ("point", "skeleton"):
            return self.keypoints(ti, ai, du)
        if self.family == "range":
            return self.ranges(ti, ai), {}
        measure = {
            "box": self.boxes,
            "polygon": self.polygons,
            "bitmask": self.masks,
            "ellipse": self.ellipses,
            "cuboid_2d": self.cuboids,
        }[self.family]
        return measure(ti, ai, du), {}

    def rule(self, idx: int) -> Resolved:
        return self.ctx.rules[self.ctx.truth.objects[int(self.t.obj[idx])].class_index]

    def boxes(self, ti: np.ndarray, ai: np.ndarray, du: int) -> np.ndarray:
        t, a = self.t, self.a
        assert t.boxes is not None
        assert a.boxes is not None
        assert t.rotated is not None
        assert a.rotated is not None
        sim = box_iou(t.boxes[ti, :4], a.boxes[ai, :4])
        if t.rotated[ti].any() or a.rotated[ai].any():
            w, h, _ = self.ctx.px(du)
            for i, x in enumerate(ti):
                for j, y in enumerate(ai):
                    if t.rotated[x] or a.rotated[y]:
                        sim[i, j] = _rotated_iou(t.boxes[x], a.boxes[y], w, h)
        return sim

    def region(self, side: int, idx: int, du: int) -> Region:
        """The valid region of a polygon (made valid once per object and frame, reused across pairs)."""
        key = (side, idx)
        if key not in self.regions:
            w, h, _ = self.ctx.px(du)
            self.regions[key] = valid_region((self.t if side == 0 else self.a).geom[idx], (w, h))
        out: Region = self.regions[key]
        return out

    def polygons(self, ti: np.ndarray, ai: np.ndarray, du: int) -> np.ndarray:
        rt = [self.region(0, int(x), du) for x in ti]
        ra = [self.region(1, int(y), du) for y in ai]
        sim = np.zeros((len(ti), len(ai)))
        for i, p in enumerate(rt):
            for j, q in enumerate(ra):
                if len(p) and len(q):
                    sim[i, j] = region_iou(p, q)
                elif not len(p) and not len(q):  # two polygons without area: only the very same one agrees
                    sim[i, j] = float(_same_polygon(self.t.geom[ti[i]], self.a.geom[ai[j]]))
        return sim

    def masks(self, ti: np.ndarray, ai: np.ndarray, du: int) -> np.ndarray:
        w, h, known = self.ctx.px(du)
        size = (int(w), int(h)) if known else None
        sim = np.array([[mask_iou(self.t.geom[x], self.a.geom[y], size) for y in ai] for x in ti], dtype=np.float64)
        return sim.reshape(len(ti), len(ai))

    def ellipses(self, ti: np.ndarray, ai: np.ndarray, du: int) -> np.ndarray:
        w, h, _ = self.ctx.px(du)
        et = [_ellipse(self.t.geom[x], w, h) for x in ti]
        ea = [_ellipse(self.a.geom[y], w, h) for y in ai]
        return np.array([[ellipse_iou(p, q) for q in ea] for p in et], dtype=np.float64).reshape(len(ti), len(ai))

    def cuboids(self, ti: np.ndarray, ai: np.ndarray, du: int) -> np.ndarray:
        """Mean IoU of the front faces and of the back faces: 1 only when both faces agree, so a cuboid drawn with
        the right outline but the depth the wrong way round scores low."""
        w, h, _ = self.ctx.px(du)
        ft = [tuple(valid_region([[face]], (w, h)) for face in self.t.geom[x]) for x in ti]
        fa = [tuple(valid_region([[face]], (w, h)) for face in self.a.geom[y]) for y in ai]
        sim = np.zeros((len(ti), len(ai)))
        for i, p in enumerate(ft):
            for j, q in enumerate(fa):
                sim[i, j] = (region_iou(p[0], q[0]) + region_iou(p[1], q[1])) / 2
        return sim

    def lines(self, ti: np.ndarray, ai: np.ndarray, du: int) -> tuple[np.ndarray, Notes]:
        w, h, _ = self.ctx.px(du)
        sim = np.zeros((len(ti), len(ai)))
        notes: Notes = {}
        for i, x in enumerate(ti):
            sigma = self.rule(int(x)).polyline_tolerance * float(np.sqrt(w * h))
            for j, y in enumerate(ai):
                fwd, bwd = polyline_similarity(self.t.geom[x] * (w, h), self.a.geom[y] * (w, h), sigma)
                sim[i, j] = max(fwd, bwd)
                notes[(i, j)] = bwd - fwd
        return sim, notes

    def keypoints(self, ti: np.ndarray, ai: np.ndarray, du: int) -> tuple[np.ndarray, Notes]:
        family, ctx = self.family, self.ctx
        w, h, _ = ctx.px(du)
        floor = ctx.config.oks_min_area_fraction * w * h
        sim = np.zeros((len(ti), len(ai)))
        notes: Notes = {}
        for i, x in enumerate(ti):
            r = self.rule(int(x))
            names, txy, tvis = _keypoints(family, self.t.geom[x])
            cls = ctx.ontology.objects[ctx.truth.objects[int(self.t.obj[x])].class_index]
            if cls.skeleton_nodes and family == "skeleton":  # template order, so sigmas line up by name
                names = tuple(n for n in cls.skeleton_nodes if n in names) or names
                txy, tvis = _align(names, _keypoints(family, self.t.geom[x]))
            sig = np.array([r.node_sigmas.get(n, r.oks_sigma) for n in names])
            txy = txy * (w, h)
            area = keypoint_area(txy, tvis, floor)
            for j, y in enumerate(ai):
                axy, avis = _align(names, _keypoints(family, self.a.geom[y]))
                sim[i, j] = oks(txy, tvis, axy * (w, h), avis, sig, area)
                if family == "skeleton":
                    notes[(i, j)] = (names, tvis, avis)
        return sim, notes

    def ranges(self, ti: np.ndarray, ai: np.ndarray) -> np.ndarray:
        sim = np.zeros((len(ti), len(ai)))
        inclusive = self.ctx.config.range_end == "inclusive"
        for i, x in enumerate(ti):
            tol = self.rule(int(x)).range_tolerance or 0.0
            for j, y in enumerate(ai):
                sim[i, j] = range_iou(self.t.geom[x], self.a.geom[y], tol, inclusive)
        return sim


def _keypoints(family: str, geom: Any) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    if family == "point":
        return ("point",), np.asarray(geom, dtype=np.float64).reshape(1, 2), np.array([2], dtype=np.int8)
    names, xy, vis = geom
    return names, xy, vis


def _align(
    names: tuple[str, ...], other: tuple[tuple[str, ...], np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The other skeleton's nodes in the order of `names`; a node it lacks is invisible (v = 0)."""
    onames, oxy, ovis = other
    if onames == names:
        return oxy, ovis
    where = {n: k for k, n in enumerate(onames)}
    xy = np.zeros((len(names), 2))
    vis = np.zeros(len(names), dtype=np.int8)
    for k, n in enumerate(names):
        m = where.get(n)
        if m is not None:
            xy[k], vis[k] = oxy[m], ovis[m]
    return xy, vis


def _rotated_iou(a: np.ndarray, b: np.ndarray, w: float, h: float) -> float:
    """Exact IoU of two (possibly rotated) boxes in pixel space: rotation is defined on the image, not on the
    normalised square, so corners are built after scaling. Identical boxes score 1 (also without area)."""
    if np.array_equal(a, b):
        return 1.0
    pa = box_corners(a[0] * w, a[1] * h, a[2] * w, a[3] * h, a[4])
    pb = box_corners(b[0] * w, b[1] * h, b[2] * w, b[3] * h, b[4])
    return region_iou(valid_region([[pa]]), valid_region([[pb]]))


def _ellipse(geom: tuple[Any, ...], w: float, h: float) -> Ellipse:
    """Encord's circle (radius and stretch as fractions of the width: round in pixels) or ellipse (rx a fraction
    of the width, ry of the height), in pixels; theta in degrees, clockwise on screen (SDK coordinates.py)."""
    kind, x, y, rx, ry, theta = geom
    return Ellipse(x * w, y * h, rx * w, ry * (w if kind == "circle" else h), theta)


def _same_polygon(p: list[list[np.ndarray]], q: list[list[np.ndarray]]) -> bool:
    return len(p) == len(q) and all(
        len(a) == len(b) and all(np.array_equal(r, s) for r, s in zip(a, b, strict=True))
        for a, b in zip(p, q, strict=True)
    )


# ------------------------------------------------------------------------------------------------- matching


def _sorted_view(ann: Annotations, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    key = np.left_shift(ann.du, 40, dtype=np.int64)
    key |= ann.frame
    order = lexsort_ints((rank[ann.obj] if len(ann) else ann.obj, key))
    return order, key[order]


def _classes(objects: list[LabelObject], ann: Annotations) -> np.ndarray:
    if not len(ann):
        return np.zeros(0, np.int64)
    classes: np.ndarray = np.array([o.class_index for o in objects], dtype=np.int64)[ann.obj]
    return classes


class _FamilyMatcher:
    """Matching of one shape family over every (data unit, frame) group of both rows.

    Groups are frames sorted by (data unit, frame); inside a group annotations are sorted by objectHash, so the
    solver sees the same matrix on every run. Video groups are visited in frame order so the previous frame's
    pairs can be preferred when still valid (CLEAR-MOT continuity).
    """

    def __init__(self, ctx: _Context, family: str, t: Annotations, a: Annotations) -> None:
        self.ctx, self.family, self.t, self.a = ctx, family, t, a
        self.t_order, t_keys = _sorted_view(t, ctx.t_rank)
        self.a_order, a_keys = _sorted_view(a, ctx.a_rank)
        self.keys = union_sorted(t_keys, a_keys)
        self.t_start = np.searchsorted(t_keys, self.keys, "left")
        self.t_end = np.searchsorted(t_keys, self.keys, "right")
        self.a_start = np.searchsorted(a_keys, self.keys, "left")
        self.a_end = np.searchsorted(a_keys, self.keys, "right")
        self.t_class = _classes(ctx.truth.objects, t)
        self.a_class = _classes(ctx.labels.objects, a)
        self.simfn = _Similarity(ctx, family, t, a)
        self.pair_base = len(ctx.labels.objects) + 1
        self.matched: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.candidates: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.prev: dict[int, np.ndarray] = {}  # group -> matched pair codes (t_obj * base + a_obj)
        self.batch_sim: np.ndarray | None = None
        self.batch_cand: np.ndarray | None = None  # threshold candidates before any class mask
        self.batch_idx: tuple[np.ndarray, np.ndarray] | None = None  # (truth, annotator) indices, -1 = padding
        self.batch_row: dict[int, int] = {}
        self.fast_pairs: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.slow_candidates: tuple[np.ndarray, np.ndarray, np.ndarray] = (
            self.fast_pairs[0],
            self.fast_pairs[0],
            np.zeros(0),
        )
        self.group_du: list[int] = (self.keys >> 40).tolist()
        # find_row_best(): group -> its row in best_cols / best_has (each truth row's best column, and whether it
        # has a candidate), for the frames where those are an optimal assignment
        self.best_of: dict[int, int] = {}
        self.best_cols = np.zeros((0, 0), dtype=np.int64)
        self.best_has = np.zeros((0, 0), dtype=bool)

    def groups_with_both(self) -> np.ndarray:
        return np.asarray(np.nonzero((self.t_end > self.t_start) & (self.a_end > self.a_start))[0])

    def run(self, out: dict[str, list[Any]]) -> None:
        slow = list(self.groups_with_both())
        if self.family == "box" and slow:
            slow = self.box_batch(np.asarray(slow))
        batched = bool(slow) and all(g in self.batch_row for g in slow)
        if batched:
            self.solve_batched([int(g) for g in slow], out)
            self.batch_candidates()
        else:
            for g in slow:
                self.solve_group(int(g), out)
        self.emit(out)

    def solve_batched(self, slow: list[int], out: dict[str, list[Any]]) -> None:
        """solve_group() for the box batch's slow frames, in frame order, with the same results. A frame whose
        rows' best partners are distinct (find_row_best) takes them, as solve_group() does, unless one of last
        frame's pairs is a candidate here but not among them. That test runs for all frames at once assuming the
        frame before took its best partners; a frame is settled here only where that holds (the frame before was
        one-to-one in the batch, or was settled here too). Every other frame goes through solve_group()."""
        assert self.batch_sim is not None
        assert self.batch_cand is not None
        assert self.batch_idx is not None
        t, a, base = self.t, self.a, self.pair_base
        tidx, aidx = self.batch_idx
        n = len(slow)
        groups = np.asarray(slow, dtype=np.int64)
        rows = np.array([self.batch_row[g] for g in slow], dtype=np.int64)
        is_best = np.zeros((n, *self.batch_cand.shape[1:]), dtype=bool)
        at = np.array([self.best_of.get(g, -1) for g in slow], dtype=np.int64)
        has_best = at >= 0
        fi, ii = np.nonzero(self.best_has[at[has_best]])
        is_best[np.flatnonzero(has_best)[fi], ii, self.best_cols[at[has_best]][fi, ii]] = True
        # frame by frame, rows ascending: the order solve_group() lists them
        bs, bi, bj = _cells(np.flatnonzero(is_best), is_best.shape)
        b_t, b_a = tidx[rows[bs], bi], aidx[rows[bs], bj]
        b_code = t.obj[b_t].astype(np.int64) * base + a.obj[b_a]
        continuity = self.ctx.continuity
        fail, after_slow = self.last_pairs_disagree(groups, rows, is_best, b_code, bs)
        ok, depends, with_best = (has_best & ~fail).tolist(), after_slow.tolist(), has_best.tolist()
        cut = np.searchsorted(bs, np.arange(n + 1)).tolist()
        b_sim = self.batch_sim[rows[bs], bi, bj]
        as_assumed = [False] * n  # frame k ended with its best partners (what the test above assumed)
        run = -1  # first frame of the current run of settled frames
        for k in range(n + 1):
            if k < n and ok[k] and (not depends[k] or as_assumed[k - 1]):
                as_assumed[k] = True
                run = k if run < 0 else run
                continue
            if run >= 0:  # the settled frames run..k-1 take their best partners
                lo, hi = cut[run], cut[k]
                self.matched.append((b_t[lo:hi], b_a[lo:hi], b_sim[lo:hi]))
                if continuity:  # the next frame goes through solve_group(), which reads these pairs
                    self.prev[slow[k - 1]] = b_code[cut[k - 1] : cut[k]]
                run = -1
            if k == n:
                break
            self.solve_group(slow[k], out, candidates=False)
            if continuity and with_best[k]:
                as_assumed[k] = bool(np.array_equal(self.prev[slow[k]], b_code[cut[k] : cut[k + 1]]))

    def last_pairs_disagree(
        self, groups: np.ndarray, rows: np.ndarray, is_best: np.ndarray, b_code: np.ndarray, bs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per slow frame: does one of last frame's pairs (the batch's one-to-one pairs, or the best partners of
        a slow frame) stand as a candidate here outside this frame's best partners? And: is the frame before a
        slow frame of the same data unit (whose actual pairs decide)? Both False without track continuity."""
        assert self.batch_cand is not None
        assert self.batch_idx is not None
        n = len(groups)
        fail = np.zeros(n, dtype=bool)
        after_slow = np.zeros(n, dtype=bool)
        if not self.ctx.continuity or not len(bs):
            return fail, after_slow
        t, a, base = self.t, self.a, self.pair_base
        tidx, aidx = self.batch_idx
        du = np.asarray(self.group_du, dtype=np.int64)
        span = (len(self.ctx.truth.objects) + 1) * base
        fast_g, fast_code = self.fast_pairs
        done = np.concatenate([fast_g, groups[bs]]) * span + np.concatenate([fast_code, b_code])
        in_rows = self.batch_cand[rows]
        cs, ci, cj = _cells(np.flatnonzero(in_rows), in_rows.shape)
        cg = groups[cs]
        code = t.obj[tidx[rows[cs], ci]].astype(np.int64) * base + a.obj[aidx[rows[cs], cj]]
        follows = (cg > 0) & (du[np.maximum(cg - 1, 0)] == du[cg])
        kept = follows & contains(np.sort(done, kind="stable"), (cg - 1) * span + code)  # stable: runs in frame order
        fail[cs[kept & ~is_best[cs, ci, cj]]] = True
        after_slow[1:] = (groups[1:] - 1 == groups[:-1]) & (du[groups[1:]] == du[groups[:-1]])
        return fail, after_slow

    def batch_candidates(self) -> None:
        """The candidate pairs (similarity > 0) of frames solved one by one from the box batch, listed at once in
        the order solve_group() would list them: frame by frame, row-major (box_batch found them)."""
        self.candidates.append(self.slow_candidates)

    def solve_group(self, g: int, out: dict[str, list[Any]], candidates: bool = True) -> None:
        ctx, t, a = self.ctx, self.t, self.a
        ti = self.t_order[self.t_start[g] : self.t_end[g]]
        ai = self.a_order[self.a_start[g] : self.a_end[g]]
        du = self.group_du[g]
        row = self.batch_row.get(g)
        notes: dict[tuple[int, int], Any] = {}
        if row is not None and self.batch_sim is not None and self.batch_cand is not None:
            sim = self.batch_sim[row, : len(ti), : len(ai)]
            cand = self.batch_cand[row, : len(ti), : len(ai)]
        else:
            sim, notes = self.simfn(ti, ai, du)
            cand = (sim >= ctx.match_thr[self.t_class[ti]][:, None] - 1e-12) & (sim > 0)
        kept = None
        if ctx.continuity and g > 0 and self.group_du[g - 1] == du:
            before = self.prev.get(g - 1)
            if before is not None and len(before):
                codes = t.obj[ti].astype(np.int64)[:, None] * self.pair_base + a.obj[ai][None, :]
                # small per-frame arrays: one broadcast compare beats np.isin's sort-based setup
                kept = (codes[:, :, None] == before[None, None, :]).any(axis=2) & cand
        best = self.row_best(g)
        if best is not None and (kept is None or kept[best].sum() == kept.sum()):
            # the rows' best partners are distinct, and last frame's pairs (if any) are among them: optimal
            rows, cols = best
        else:
            tc, ac = self.t_class[ti], self.a_class[ai]
            rows, cols = assign(sim, cand, tc[:, None] == ac[None, :], ctx.config.mode, kept)
        mt, ma = ti[rows], ai[cols]
        if ctx.continuity:
            self.prev[g] = t.obj[mt].astype(np.int64) * self.pair_base + a.obj[ma]
        self.matched.append((mt, ma, sim[rows, cols]))
        if candidates:
            nz = np.nonzero(sim > 0)
            self.candidates.append((ti[nz[0]], ai[nz[1]], sim[nz]))
        if not notes:
            return
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            note = notes.get((r, c))
            if note is not None:
                _pair_note(ctx, self.family, note, du, int(t.frame[ti[r]]), int(t.obj[ti[r]]), int(a.obj[ai[c]]), out)

    def box_batch(self, groups: np.ndarray) -> list[int]:
        """All frames' box IoU on padded (frames, truth, annotator) arrays, a chunk of frames at a time (the
        chunk's arrays stay in cache and are reused); frames whose candidate pairs are already one-to-one are
        matched here without a solver. Only the other frames' similarities and candidates are kept (batch_sim,
        batch_cand, batch_idx, numbered by batch_row). Returns the frames that still need a solver."""
        t, a, ctx = self.t, self.a, self.ctx
        nt = (self.t_end - self.t_start)[groups]
        na = (self.a_end - self.a_start)[groups]
        kt, ka = int(nt.max()), int(na.max())
        if len(groups) * kt * ka > _MAX_BATCH:
            return [int(g) for g in groups]
        n = len(groups)
        first = len(self.matched)
        fast, matched_rows, slow_pairs, kept = self.box_chunks(groups, nt, na)
        if ctx.continuity:
            mt = np.concatenate([m[0] for m in self.matched[first:]])
            ma = np.concatenate([m[1] for m in self.matched[first:]])
            mg = np.concatenate(matched_rows)
            codes = t.obj[mt].astype(np.int64) * self.pair_base + a.obj[ma]
            self.fast_pairs = (groups[mg].astype(np.int64), codes)
            cut = np.searchsorted(mg, np.arange(n + 1))
            for row in np.nonzero(~fast)[0].tolist():  # only the frame before a slow frame is ever looked up
                if row > 0 and fast[row - 1]:
                    self.prev[int(groups[row - 1])] = codes[cut[row - 1] : cut[row]]
        c_t, c_a, c_sim = (np.concatenate(column) for column in zip(*slow_pairs, strict=True))
        self.slow_candidates = (c_t, c_a, c_sim)
        slow_rows, slow_sim, slow_cand, slow_allowed, slow_t, slow_a, slow_tc, slow_ac = kept
        self.batch_sim = slow_sim
        self.batch_cand = slow_cand
        self.batch_idx = (slow_t, slow_a)
        slow_groups = groups[slow_rows]
        self.batch_row = {g: k for k, g in enumerate(slow_groups.tolist())}
        self.find_row_best(slow_groups, slow_sim, slow_allowed, slow_tc, slow_ac)
        return [int(g) for g in groups[~fast]]

    def box_chunks(
        self, groups: np.ndarray, nt: np.ndarray, na: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray], list[tuple[np.ndarray, ...]], tuple[np.ndarray, ...]]:
        """box_batch()'s pass over the frames, a chunk at a time (padded to the most truth and annotator boxes of
        a frame): the one-to-one frames' matches and candidate pairs go to `matched` and `candidates` chunk by
        chunk (in frame order, as one array would). Returns which frames are one-to-one, the batch rows of those
        matches, the other frames' candidate pairs (truth, annotator, similarity; listed once they are solved)
        and those frames' rows, similarities, threshold candidates, candidates of the class mode, annotation
        indices and classes."""
        t, a = self.t, self.a
        assert t.boxes is not None
        assert a.boxes is not None
        n, kt, ka = len(groups), int(nt.max()), int(na.max())
        class_aware = self.ctx.config.mode == "class_aware"
        tidx = _grid(self.t_order, self.t_start[groups], nt, kt)
        aidx = _grid(self.a_order, self.a_start[groups], na, ka)
        t_pad, a_pad = tidx < 0, aidx < 0
        solvable = _unrotated(t.rotated, tidx, t_pad) & _unrotated(a.rotated, aidx, a_pad)
        fast = np.zeros(n, dtype=bool)
        matched_rows: list[np.ndarray] = []  # batch rows of the one-to-one frames' matches
        slow_pairs: list[tuple[np.ndarray, ...]] = []
        slow_cells: list[tuple[np.ndarray, ...]] = []  # (frame, row, column, in the class mode) of slow candidates
        # the slow frames' similarities, copied in as they are found (pages of the unused rest are never touched)
        slow_sim = np.empty((n, kt, ka))
        n_slow = 0
        step = max(1, _IOU_CHUNK // max(kt * ka, 1))
        # every chunk's arrays are allocated (and page-faulted) once
        buffer = np.empty((min(step, n), kt, ka))
        work = np.empty((2, *buffer.shape))  # box_iou's intermediates
        tb, ab = np.empty((len(buffer), kt, t.boxes.shape[1])), np.empty((len(buffer), ka, a.boxes.shape[1]))
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            m = hi - lo
            sim = buffer[:m]
            # every pair with similarity > 0, frame by frame, row-major (both boxes real: padding overlaps
            # nothing); the candidates are among them, so they are tested only there
            pos, c_sim = box_iou_where_positive(
                _fill(t.boxes, tidx[lo:hi], t_pad[lo:hi], tb[:m], _TRUTH_PAD),
                _fill(a.boxes, aidx[lo:hi], a_pad[lo:hi], ab[:m], _LABELS_PAD),
                sim,
                work[:, :m],
            )
            gi, i, j = _cells(pos, sim.shape)
            gi += lo
            c_t, c_a = tidx.reshape(-1)[gi * kt + i], aidx.reshape(-1)[gi * ka + j]
            t_cls = self.t_class[c_t]
            threshold_cand = c_sim >= self.ctx.match_thr[t_cls] - 1e-12
            cand = threshold_cand & (t_cls == self.a_class[c_a]) if class_aware else threshold_cand
            one = _one_to_one(gi[cand] - lo, i[cand], j[cand], (m, kt, ka)) & solvable[lo:hi]
            fast[lo:hi] = one
            on_fast = one[gi - lo]
            take = on_fast & cand
            self.matched.append((c_t[take], c_a[take], c_sim[take]))
            matched_rows.append(gi[take])
            self.candidates.append((c_t[on_fast], c_a[on_fast], c_sim[on_fast]))
            on_slow = ~on_fast & solvable[gi]
            slow_pairs.append((c_t[on_slow], c_a[on_slow], c_sim[on_slow]))
            slow = np.flatnonzero(~one & solvable[lo:hi])
            if len(slow):  # a copy: the buffer is reused
                np.take(sim, slow, axis=0, out=slow_sim[n_slow : n_slow + len(slow)])
                n_slow += len(slow)
                on_slow &= threshold_cand
                slow_cells.append((gi[on_slow], i[on_slow], j[on_slow], cand[on_slow]))
        slow_rows = np.flatnonzero(~fast & solvable)
        masks = _slow_masks(n, slow_rows, (kt, ka), slow_cells, class_aware)
        slow_t, slow_a = tidx[slow_rows], aidx[slow_rows]
        slow_classes = np.where(slow_t >= 0, self.t_class[slow_t], -1), np.where(slow_a >= 0, self.a_class[slow_a], -2)
        return fast, matched_rows, slow_pairs, (slow_rows, slow_sim[:n_slow], *masks, slow_t, slow_a, *slow_classes)

    def find_row_best(
        self, groups: np.ndarray, sim: np.ndarray, cand: np.ndarray, tc: np.ndarray, ac: np.ndarray
    ) -> None:
        """Frames where giving every truth box its best candidate uses distinct annotator boxes: that assignment
        is optimal (LP duals u = row maximum, v = 0 are feasible and tight on it, every unmatched vertex has dual
        0) and matches every row that has a candidate, so no solver is needed. In two_stage mode only frames
        without cross-class candidates qualify (there the stages coincide). `groups[k]` is the frame of row k of
        the (frames, truth, annotator) arrays."""
        if len(groups) == 0:
            return
        rows = np.arange(len(groups))
        c = cand
        if self.ctx.config.mode == "two_stage":
            cross = np.asarray((c & (tc[:, :, None] != ac[:, None, :])).any(axis=(1, 2)))
            if cross.any():
                rows, c, sim = rows[~cross], c[~cross], sim[~cross]
        masked = np.where(c, sim, -1.0)
        best = masked.argmax(axis=2)
        has = np.asarray(c.any(axis=2))
        chosen = np.where(has, best, -1 - np.arange(best.shape[1])[None, :])  # rows without candidates never clash
        srt = np.sort(chosen, axis=1)
        distinct = (srt[:, 1:] != srt[:, :-1]).all(axis=1)
        self.best_of = {int(g): k for k, g in enumerate(groups[rows[distinct]].tolist())}
        self.best_cols, self.best_has = best[distinct], has[distinct]

    def row_best(self, g: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, cols) of frame g's rows' best partners where find_row_best() found them optimal, or None."""
        k = self.best_of.get(g)
        if k is None:
            return None
        r = np.flatnonzero(self.best_has[k])
        return r, self.best_cols[k][r]

    def emit(self, out: dict[str, list[Any]]) -> None:
        t, a = self.t, self.a
        code = FAMILY_CODE[self.family]
        none = np.zeros(0, np.int64)
        # the chunks' indices are int64 or int32; astype copies only when the concatenation is not int64 already
        mt = np.concatenate([m[0] for m in self.matched]).astype(np.int64, copy=False) if self.matched else none
        ma = np.concatenate([m[1] for m in self.matched]).astype(np.int64, copy=False) if self.matched else none
        ms = np.concatenate([m[2] for m in self.matched]) if self.matched else np.zeros(0)
        # family codes as int8, the dtype of Columns.family: no int64 column to allocate and cast
        out["matches"].append((np.full(len(mt), code, np.int8), t.du[mt], t.frame[mt], t.obj[mt], a.obj[ma], ms))
        t_free = np.ones(len(t), dtype=bool)
        t_free[mt] = False
        a_free = np.ones(len(a), dtype=bool)
        a_free[ma] = False
        ft, fa = np.nonzero(t_free)[0], np.nonzero(a_free)[0]
        nt, na = len(ft), len(fa)
        out["missed"].append(
            (np.full(nt, code, np.int8), t.du[ft], t.frame[ft], t.obj[ft], np.full(nt, -1), np.zeros(nt))
        )
        out["extra"].append(
            (np.full(na, code, np.int8), a.du[fa], a.frame[fa], np.full(na, -1), a.obj[fa], np.zeros(na))
        )
        if self.candidates:
            ct = np.concatenate([c[0] for c in self.candidates]).astype(np.int64, copy=False)  # fresh already
            ca = np.concatenate([c[1] for c in self.candidates]).astype(np.int64, copy=False)
            cs = np.concatenate([c[2] for c in self.candidates])
            out["candidates"].append((np.full(len(ct), code, np.int8), t.du[ct], t.frame[ct], t.obj[ct], a.obj[ca], cs))


def _cells(flat: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.nonzero's (frame, row, column) of a 3-d array from the flat positions of its true cells (np.flatnonzero):
    the same indices in the same order, several times faster than np.nonzero on the box batch's millions of cells."""
    _, rows, cols = shape
    frame, cell = np.divmod(flat, rows * cols)
    row, col = np.divmod(cell, cols)
    return frame, row, col


# Padding of the box batch: boxes without area far apart, so their IoU with any box (and each other) is exactly 0
_TRUTH_PAD = (-1e300, -1e300, 0.0, 0.0)
_LABELS_PAD = (1e300, 1e300, 0.0, 0.0)


def _grid(order: np.ndarray, starts: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Annotation indices of each group's boxes (`counts` of them from `starts` in `order`) in a (groups, k)
    array, -1 = padding."""
    at = np.arange(k)
    idx = np.take(order, starts[:, None] + at, mode="clip").astype(np.int64, copy=False)
    idx[at >= counts[:, None]] = -1
    return idx


def _fill(boxes: np.ndarray, idx: np.ndarray, pad: np.ndarray, out: np.ndarray, fill: tuple[float, ...]) -> np.ndarray:
    """The boxes of a (groups, k) grid of annotation indices (`pad` marks padding) as (groups, k, 4) x, y, w, h, in
    `out` (groups, k, columns of `boxes`): whole rows are taken, several times faster than boxes[idx, :4]."""
    np.take(boxes, idx, axis=0, out=out, mode="clip")  # padding (-1) reads box 0 here, then is overwritten
    xywh = out[..., :4]
    xywh[pad] = fill
    return xywh


def _unrotated(rotated: np.ndarray | None, idx: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """Per group of a (groups, k) grid of annotation indices: has it no rotated box? (Those need the exact polygon
    IoU, frame by frame.)"""
    if rotated is None or not rotated.any():
        return np.ones(len(idx), dtype=bool)
    out: np.ndarray = ~(rotated[idx] & ~pad).any(axis=1)
    return out


def _one_to_one(frame: np.ndarray, row: np.ndarray, col: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Per frame of a (frames, truth, annotator) batch: does no truth and no annotator box have two of the
    candidate cells (frame, row, col)? Counted on the few candidates, not on the padded cells."""
    n, rows, cols = shape
    rows_used = np.bincount(frame * rows + row, minlength=n * rows).reshape(n, rows)
    cols_used = np.bincount(frame * cols + col, minlength=n * cols).reshape(n, cols)
    out: np.ndarray = (rows_used.max(axis=1, initial=0) <= 1) & (cols_used.max(axis=1, initial=0) <= 1)
    return out


def _slow_masks(
    n: int, rows: np.ndarray, shape: tuple[int, int], cells: list[tuple[np.ndarray, ...]], class_aware: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The (len(rows), *shape) threshold candidate and class-mode candidate masks of the batch's `rows`, from
    their candidates' (batch row, truth position, annotator position, class-mode candidate) columns; one array
    for both unless class_aware."""
    slot = np.zeros(n, dtype=np.int64)
    slot[rows] = np.arange(len(rows))
    threshold = np.zeros((len(rows), *shape), dtype=bool)
    allowed = threshold
    if cells:
        cg, ci, cj, cc = (np.concatenate(column) for column in zip(*cells, strict=True))
        threshold[slot[cg], ci, cj] = True
        if class_aware:
            allowed = np.zeros_like(threshold)
            allowed[slot[cg[cc]], ci[cc], cj[cc]] = True
    return threshold, allowed


def _pair_note(
    ctx: _Context, family: str, note: Any, du: int, frame: int, t_obj: int, a_obj: int, out: dict[str, list[Any]]
) -> None:
    rule = ctx.rules[ctx.truth.objects[t_obj].class_index]
    if family == "polyline":
        if float(note) > rule.direction:
            out["notes"].append(PairNote("direction", du, frame, t_obj, a_obj, float(note)))
        return
    names, tvis, avis = note
    ctx.visibility_nodes += len(names)
    ctx.visibility_agree += int((tvis == avis).sum())
    for k, name in enumerate(names):
        if tvis[k] != avis[k]:
            out["notes"].append(PairNote("visibility", du, frame, t_obj, a_obj, float(avis[k]), name))


# -------------------------------------------------------------------------------------------------- answers


def _rule_for(
    config: ScoringConfig, owner: str, base: Resolved, classification: bool
) -> Callable[[AttributeNode], AttributeRule]:
    memo: dict[str, AttributeRule] = {}

    def rule(node: AttributeNode) -> AttributeRule:
        if node.path not in memo:
            memo[node.path] = config.attribute_rule(owner, node.path, base, classification)
        return memo[node.path]

    return rule


def _values_at(entries: list[tuple[np.ndarray, Answer]], frames: np.ndarray) -> list[Answer | None]:
    idx = np.full(len(frames), -1, dtype=np.int64)
    for k, (ranges, _value) in enumerate(entries):
        for s, e in ranges:
            idx[(frames >= s) & (frames <= e)] = k
    return [None if k < 0 else entries[k][1] for k in idx.tolist()]


def _object_answers(ctx: _Context, matches: Columns, records: list[AnswerRecord]) -> None:
    tobjs, aobjs = ctx.truth.objects, ctx.labels.objects
    t_cls = np.array([o.class_index for o in tobjs], dtype=np.int64)
    a_cls = np.array([o.class_index for o in aobjs], dtype=np.int64)
    same = t_cls[matches.t_obj] == a_cls[matches.a_obj] if len(matches.t_obj) else np.zeros(0, dtype=bool)
    # pairs of a class without attributes have no answers to compare: left out before sorting
    with_attributes = np.array([bool(o.attributes) for o in ctx.ontology.objects] or [False])
    same &= with_attributes[t_cls[matches.t_obj]] if len(matches.t_obj) else same
    if not same.any():
        return
    sel = np.nonzero(same)[0]
    order = sel[lexsort_ints((matches.frame[sel], matches.a_obj[sel], matches.t_obj[sel], matches.du[sel]))]
    key = np.stack([matches.du[order], matches.t_obj[order], matches.a_obj[order]], axis=1)
    cut = np.nonzero((np.diff(key, axis=0) != 0).any(axis=1))[0] + 1
    rules_by_class: dict[int, Callable[[AttributeNode], AttributeRule]] = {}  # one memo per class, not per pair
    for chunk in np.split(order, cut):
        du, x, y = int(matches.du[chunk[0]]), int(matches.t_obj[chunk[0]]), int(matches.a_obj[chunk[0]])
        frames = matches.frame[chunk]
        t, a = tobjs[x], aobjs[y]
        cls = ctx.ontology.objects[t.class_index]
        if not cls.attributes:
            continue
        rule_for = rules_by_class.get(cls.index)
        if rule_for is None:
            rule_for = rules_by_class[cls.index] = _rule_for(ctx.config, cls.name, ctx.rules[cls.index], False)
        n, first, last = len(frames), int(frames.min()), int(frames.max())
        for outcome in compare_tree(cls.attributes, t.answers, a.answers, rule_for):
            records.append(_record("object", cls.name, outcome, du, first, last, n, t.hash, a.hash))
        for node in cls.attributes:
            if not node.dynamic or (node.hash not in t.dynamic and node.hash not in a.dynamic):
                continue
            tv = _values_at(t.dynamic.get(node.hash, []), frames)
            av = _values_at(a.dynamic.get(node.hash, []), frames)
            groups: dict[tuple[Any, Any], list[int]] = {}
            for f, p, q in zip(frames.tolist(), tv, av, strict=True):
                if p is None and q is None:
                    continue
                groups.setdefault((p, q), []).append(f)
            for (p, q), fs in groups.items():
                for outcome in compare_tree(
                    (node,),
                    {node.hash: p} if p is not None else {},
                    {node.hash: q} if q is not None else {},
                    rule_for,
                    include_dynamic=True,
                ):
                    records.append(_record("object", cls.name, outcome, du, min(fs), max(fs), len(fs), t.hash, a.hash))


def _record(
    scope: str, owner: str, o: AnswerOutcome, du: int, first: int, last: int, n: int, th: str, ah: str
) -> AnswerRecord:
    return AnswerRecord(
        scope,
        owner,
        f"{owner}/{o.path}",
        o.node,
        du,
        first,
        last,
        n,
        o.correct,
        o.similarity,
        th,
        ah,
        describe(o.node, o.truth),
        describe(o.node, o.labels),
    )


def _classification_answers(ctx: _Context, records: list[AnswerRecord], gaps: list[ClassificationGap]) -> None:
    for cls in ctx.ontology.classifications:
        ts = [c for c in ctx.truth.classifications if c.class_index == cls.index]
        as_ = [c for c in ctx.labels.classifications if c.class_index == cls.index]
        if not ts and not as_:
            continue
        bounds = sorted({int(v) for c in (*ts, *as_) for s, e in c.frames for v in (s, e + 1)})
        rule_for = _rule_for(ctx.config, cls.name, ctx.config.resolve(None, "classification", ctx.data_type), True)
        segments: list[tuple[int, int, Any, Any]] = []
        for s, e in itertools.pairwise(bounds):
            tc = next((c for c in reversed(ts) if ((c.frames[:, 0] <= s) & (c.frames[:, 1] >= s)).any()), None)
            ac = next((c for c in reversed(as_) if ((c.frames[:, 0] <= s) & (c.frames[:, 1] >= s)).any()), None)
            if tc is None and ac is None:
                continue
            if segments and segments[-1][1] == s and segments[-1][2] is tc and segments[-1][3] is ac:
                segments[-1] = (segments[-1][0], e, tc, ac)
            else:
                segments.append((s, e, tc, ac))
        top = cls.attributes[0]
        for s, e, tc, ac in segments:
            n = e - s
            if tc is None or ac is None:
                kind: Literal["missing", "extra"] = "missing" if ac is None else "extra"
                owner = tc if tc is not None else ac
                assert owner is not None
                gaps.append(ClassificationGap(kind, cls.name, f"{cls.name}", owner.hash, s, e - 1, n))
                records.append(
                    AnswerRecord(
                        "classification",
                        cls.name,
                        top.path,
                        top,
                        0,
                        s,
                        e - 1,
                        n,
                        False,
                        0.0,
                        tc.hash if tc else "",
                        ac.hash if ac else "",
                        None,
                        None,
                    )
                )
                continue
            for outcome in compare_tree(cls.attributes, tc.answers, ac.answers, rule_for, include_dynamic=True):
                rec = _record("classification", cls.name, outcome, 0, s, e - 1, n, tc.hash, ac.hash)
                rec.path = outcome.path
                records.append(rec)


# ----------------------------------------------------------------------------------------------------- entry


def compare(ontology: Ontology, truth: LabelSet, labels: LabelSet, config: ScoringConfig) -> Comparison:
    labels = align_units(truth, labels)
    ctx = _Context(ontology, truth, labels, config)
    out: dict[str, list[Any]] = {"matches": [], "missed": [], "extra": [], "candidates": [], "notes": []}
    for family in FAMILIES:
        t = truth.families.get(family)
        a = labels.families.get(family)
        if (t is None or len(t) == 0) and (a is None or len(a) == 0):
            continue
        _FamilyMatcher(ctx, family, t if t is not None else _empty(family), a if a is not None else _empty(family)).run(
            out
        )
    result = Comparison(
        Columns.concat(out["matches"]),
        Columns.concat(out["missed"]),
        Columns.concat(out["extra"]),
        Columns.concat(out["candidates"]),
        out["notes"],
    )
    _object_answers(ctx, result.matches, result.answers)
    _classification_answers(ctx, result.answers, result.gaps)
    result.visibility_nodes, result.visibility_agree = ctx.visibility_nodes, ctx.visibility_agree
    if config.empty_frames == "agree":
        result.empty_frames = _empty_frames(truth, labels)
    return result


def _empty_frames(truth: LabelSet, labels: LabelSet) -> int:
    """Frames (image data units, or video frames up to the last labelled one) that neither side labels."""
    used: set[tuple[int, int]] = set()
    for ls in (truth, labels):
        for ann in ls.families.values():
            used.update(zip(ann.du.tolist(), ann.frame.tolist(), strict=True))
    if truth.data_type in IMAGE_TYPES:
        return sum(1 for i, u in enumerate(truth.units) if (i, u.sequence) not in used)
    if truth.data_type in FRAME_TYPES and used:
        count = 0
        for du in {d for d, _ in used}:
            frames = {f for d, f in used if d == du}
            count += max(frames) + 1 - len(frames)
        return count
    return 0
