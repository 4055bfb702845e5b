"""Identity metrics for tracks (an objectHash across the frames of a video, DICOM or NIfTI data unit), computed as
TrackEval computes them (Luiten et al., github.com/JonathonLuiten/TrackEval, `trackeval` on PyPI): per class, each
data unit a sequence, then combined over sequences and over classes.

* CLEAR-MOT (Bernardin & Stiefelhagen 2008; trackeval/metrics/clear.py): frame by frame, a truth track keeps the
  annotator track it was matched to on the previous frame when that pair is still a candidate (similarity >= the
  class's match threshold); the rest is matched to maximise total similarity. Frames where either side has no
  object are skipped without breaking that continuity. An ID switch is a truth track matched to another annotator
  track than the last one it was matched to; a fragmentation is a truth track tracked again after a frame (with
  objects on both sides) on which it was not; mostly tracked > 80% of its frames, partially >= 20%.
  MOTA = (TP - FP - IDSW) / max(1, TP + FN), so a video without truth objects has MOTA = -FP.
* Identity (Ristani et al. 2016; identity.py): one global track-to-track assignment maximising the frames where
  the pair's similarity >= the threshold (IDTP); IDF1 = IDTP / (IDTP + IDFP/2 + IDFN/2).
* HOTA (Luiten et al. 2021; hota.py), for alpha = 0.05 .. 0.95: per frame, the assignment maximising global
  alignment x similarity; pairs with similarity >= alpha are TPs. DetA, AssA (and Re/Pr), LocA; at an alpha without
  TPs LocA is 1 (TrackEval's max(1e-10, .) / max(1e-10, .)). Figures are means over alpha; the per-alpha TP, FN, FP
  and AssA x TP, AssRe x TP, AssPr x TP, LocA x TP are kept so videos can be combined by summing.

Reported per class, "combined" (TrackEval's cls_comb_det_av: counts summed over classes, then the ratios) at the top
level, and "class-averaged" (cls_comb_cls_av: each ratio averaged over the classes, counts summed). The classes are
those with at least one object in the video. Golden tests compare every number with TrackEval and motmetrics.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from benchmark_qa.scoring.assignment import linear_sum_assignment
from benchmark_qa.scoring.comparison import Comparison
from benchmark_qa.scoring.metrics import Stat, f1_stat
from benchmark_qa.scoring.ordering import distinct_ints, lexsort_ints

ALPHAS = np.arange(0.05, 0.99, 0.05)  # TrackEval's array_labels, the same expression
EPS = float(np.finfo(float).eps)  # TrackEval's slack on thresholds
SwitchEvent = tuple[int, int, int, int, int]  # data unit, frame, truth object, previous and new annotator object


class TrackingFigures(BaseModel):
    """One class, or all classes combined (counts summed, then ratios), or class-averaged (ratios averaged)."""

    truth_tracks: int
    labels_tracks: int
    truth_detections: int
    labels_detections: int
    frames: int = Field(description="frames of the sequences (last labelled frame + 1, summed over classes)")
    # CLEAR-MOT
    tp: int
    fn: int
    fp: int
    id_switches: int
    fragmentations: int
    mostly_tracked: int
    partially_tracked: int
    mostly_lost: int
    mota: float = Field(description="(TP - FP - IDSW) / max(1, TP + FN); -FP without truth objects")
    moda: float = Field(description="(TP - FP) / max(1, TP + FN)")
    motp: float | None = Field(description="mean similarity of the CLEAR matches")
    motp_sum: float
    clr_recall: float
    clr_precision: float
    clr_f1: float
    mtr: float
    ptr: float
    mlr: float
    smota: float
    motal: float
    fp_per_frame: float
    # Identity
    idtp: int
    idfp: int
    idfn: int
    idf1: float | None
    idp: float
    idr: float
    idf1_interval: Stat = Field(description="IDF1 with n = IDTP + IDFP + IDFN and its Wilson interval")
    # HOTA (means over alpha)
    hota: float | None
    deta: float | None
    assa: float | None
    loca: float | None
    detre: float
    detpr: float
    assre: float
    asspr: float
    owta: float
    hota_0: float = Field(description="HOTA at alpha 0.05")
    loca_0: float
    hotaloca_0: float
    # per alpha 0.05 .. 0.95, for summing over videos (empty where they would not be sums: class-averaged)
    hota_tp: list[int] = Field(description="per alpha 0.05..0.95, for summing across videos")
    hota_fn: list[int]
    hota_fp: list[int]
    hota_assa_weighted: list[float] = Field(description="per alpha: AssA x TP (sum, then divide by summed TP)")
    hota_assre_weighted: list[float] = Field(default_factory=list)
    hota_asspr_weighted: list[float] = Field(default_factory=list)
    hota_loca_weighted: list[float] = Field(default_factory=list, description="per alpha: LocA x TP")


class TrackingMetrics(TrackingFigures):
    """The combined figures at the top level (as before per-class tracking), plus each class and the class mean."""

    classes: dict[str, TrackingFigures] = Field(default_factory=dict)
    class_averaged: TrackingFigures | None = None


# ------------------------------------------------------------------------------------------------ raw sums


@dataclass(slots=True)
class _Sums:
    """Everything TrackEval sums over sequences and classes (its integer fields and MOTP_sum, the HOTA arrays)."""

    truth_tracks: int = 0
    labels_tracks: int = 0
    truth_detections: int = 0
    labels_detections: int = 0
    frames: int = 0
    tp: int = 0
    idsw: int = 0
    frag: int = 0
    mt: int = 0
    pt: int = 0
    ml: int = 0
    motp_sum: float = 0.0
    idtp: int = 0
    hota_tp: np.ndarray = field(default_factory=lambda: np.zeros(len(ALPHAS), dtype=np.int64))
    assa_w: np.ndarray = field(default_factory=lambda: np.zeros(len(ALPHAS)))
    assre_w: np.ndarray = field(default_factory=lambda: np.zeros(len(ALPHAS)))
    asspr_w: np.ndarray = field(default_factory=lambda: np.zeros(len(ALPHAS)))
    loca_w: np.ndarray = field(default_factory=lambda: np.zeros(len(ALPHAS)))

    def __iadd__(self, other: _Sums) -> _Sums:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def _figures(s: _Sums) -> TrackingFigures:
    """TrackEval's _compute_final_fields of CLEAR, Identity and HOTA on summed counts."""
    gt, tr = s.truth_detections, s.labels_detections
    fn, fp = gt - s.tp, tr - s.tp
    gt_ids = s.mt + s.pt + s.ml
    idfn, idfp = gt - s.idtp, tr - s.idtp
    tp_a = s.hota_tp.astype(np.float64)
    fn_a, fp_a = gt - tp_a, tr - tp_a
    assa = s.assa_w / np.maximum(1.0, tp_a)
    deta = tp_a / np.maximum(1.0, tp_a + fn_a + fp_a)
    detre = tp_a / np.maximum(1.0, tp_a + fn_a)
    hota = np.sqrt(deta * assa)
    loca = np.maximum(1e-10, s.loca_w) / np.maximum(1e-10, tp_a)
    log_idsw = float(np.log10(s.idsw)) if s.idsw > 0 else float(s.idsw)
    return TrackingFigures(
        truth_tracks=s.truth_tracks,
        labels_tracks=s.labels_tracks,
        truth_detections=gt,
        labels_detections=tr,
        frames=s.frames,
        tp=s.tp,
        fn=fn,
        fp=fp,
        id_switches=s.idsw,
        fragmentations=s.frag,
        mostly_tracked=s.mt,
        partially_tracked=s.pt,
        mostly_lost=s.ml,
        mota=(s.tp - fp - s.idsw) / max(1.0, s.tp + fn),
        moda=(s.tp - fp) / max(1.0, s.tp + fn),
        motp=s.motp_sum / max(1.0, s.tp),
        motp_sum=s.motp_sum,
        clr_recall=s.tp / max(1.0, s.tp + fn),
        clr_precision=s.tp / max(1.0, s.tp + fp),
        clr_f1=s.tp / max(1.0, s.tp + 0.5 * fn + 0.5 * fp),
        mtr=s.mt / max(1.0, gt_ids),
        ptr=s.pt / max(1.0, gt_ids),
        mlr=s.ml / max(1.0, gt_ids),
        smota=(s.motp_sum - fp - s.idsw) / max(1.0, s.tp + fn),
        motal=(s.tp - fp - log_idsw) / max(1.0, s.tp + fn),
        fp_per_frame=fp / max(1.0, s.frames),
        idtp=s.idtp,
        idfp=idfp,
        idfn=idfn,
        idf1=s.idtp / max(1.0, s.idtp + 0.5 * idfp + 0.5 * idfn),
        idp=s.idtp / max(1.0, s.idtp + idfp),
        idr=s.idtp / max(1.0, s.idtp + idfn),
        idf1_interval=f1_stat(s.idtp, idfp, idfn),
        hota=float(hota.mean()),
        deta=float(deta.mean()),
        assa=float(assa.mean()),
        loca=float(loca.mean()),
        detre=float(detre.mean()),
        detpr=float((tp_a / np.maximum(1.0, tp_a + fp_a)).mean()),
        assre=float((s.assre_w / np.maximum(1.0, tp_a)).mean()),
        asspr=float((s.asspr_w / np.maximum(1.0, tp_a)).mean()),
        owta=float(np.sqrt(detre * assa).mean()),
        hota_0=float(hota[0]),
        loca_0=float(loca[0]),
        hotaloca_0=float(hota[0] * loca[0]),
        hota_tp=s.hota_tp.tolist(),
        hota_fn=fn_a.astype(np.int64).tolist(),
        hota_fp=fp_a.astype(np.int64).tolist(),
        hota_assa_weighted=s.assa_w.tolist(),
        hota_assre_weighted=s.assre_w.tolist(),
        hota_asspr_weighted=s.asspr_w.tolist(),
        hota_loca_weighted=s.loca_w.tolist(),
    )


_SUMMED = {
    "truth_tracks", "labels_tracks", "truth_detections", "labels_detections", "frames", "tp", "fn", "fp",
    "id_switches", "fragmentations", "mostly_tracked", "partially_tracked", "mostly_lost", "idtp", "idfp", "idfn",
}  # fmt: skip


def _class_averaged(per_class: list[TrackingFigures]) -> TrackingFigures:
    """TrackEval's combine_classes_class_averaged: counts summed, every ratio the mean of the classes' ratios (for
    HOTA the mean over classes of the per-alpha arrays, whose mean over alpha is the mean of the classes' figures)."""
    out: dict[str, Any] = {}
    for name in TrackingFigures.model_fields:
        values = [getattr(f, name) for f in per_class]
        if name in _SUMMED:
            out[name] = int(sum(values))
        elif name == "idf1_interval":
            out[name] = f1_stat(
                sum(f.idtp for f in per_class), sum(f.idfp for f in per_class), sum(f.idfn for f in per_class)
            )
        elif name in ("hota_tp", "hota_fn", "hota_fp"):
            out[name] = np.sum(values, axis=0).astype(np.int64).tolist()
        elif name.startswith("hota_") and name.endswith("_weighted"):
            out[name] = []  # an average of ratios is not a sum over detections
        else:
            out[name] = float(np.mean(values))
    return TrackingFigures.model_validate(out)


# ------------------------------------------------------------------------------------------------ one sequence


def _group_ids(keys: np.ndarray) -> np.ndarray:
    """For non-negative integer keys: the rank of each key among the distinct keys (0, 1, ...; in key order).
    A presence table where the keys are dense (object indices, frame x truth track), a sort otherwise."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(keys.max()) + 1
    if top <= 4 * len(keys) + 4096:
        present = np.zeros(top, dtype=bool)
        present[keys] = True
        rank = np.cumsum(present)
        rank -= 1
        ids: np.ndarray = rank[keys]
        return ids
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.empty(len(keys), dtype=np.int64)
    new[0] = 0
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:], casting="unsafe")
    ids = np.empty(len(keys), dtype=np.int64)
    ids[order] = np.cumsum(new)
    return ids


def _counts(parts: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values of the parts ascending, how often each occurs as float64), for non-negative integers
    (object indices): counted per part in a table where they are dense, so no per-detection column is built."""
    present = [p for p in parts if len(p)]
    if not present:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    top = max(int(p.max()) for p in present) + 1
    if top > 4 * sum(len(p) for p in present) + 4096:
        ids, counts = np.unique(np.concatenate(present), return_counts=True)
        return ids, counts.astype(np.float64)
    table = np.bincount(present[0], minlength=top)
    for p in present[1:]:
        table += np.bincount(p, minlength=top)
    ids = np.flatnonzero(table)
    return ids, table[ids].astype(np.float64)


def _positions(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """np.searchsorted(ids, values) for distinct non-negative ids ascending (_counts'): the values themselves where
    the ids are 0 .. n-1 (every object of the row in the video: no copy), a table lookup where every value is one
    of the ids, a search otherwise. The result may be `values`: not to be changed in place."""
    top = int(ids[-1]) if len(ids) else -1
    if len(values) and int(values.min()) >= 0 and int(values.max()) <= top <= 4 * len(values) + 4096:
        if len(ids) == top + 1 and values.dtype == np.intp:
            return values
        table = np.full(top + 1, -1, dtype=np.intp)
        table[ids] = np.arange(len(ids))
        at: np.ndarray = table[values]
        if int(at.min()) >= 0:
            return at
    found: np.ndarray = np.searchsorted(ids, values)
    return found


def _member(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """np.isin for non-negative integers (frames): a table lookup where the range is small."""
    if len(values) == 0 or len(members) == 0:
        return np.zeros(len(values), dtype=bool)
    top = max(int(values.max()), int(members.max())) + 1
    if top > 8 * (len(values) + len(members)) + 4096:
        out: np.ndarray = np.isin(values, members)
        return out
    table = np.zeros(top, dtype=bool)
    table[members] = True
    member: np.ndarray = table[values]
    return member


@dataclass(slots=True)
class _Sequence:
    """One class on one data unit: its truth and annotator detections (in parts, e.g. matched and missed, so the
    common single-sequence video does not concatenate them) and their candidate pairs."""

    gt_frame: tuple[np.ndarray, ...]
    gt_obj: tuple[np.ndarray, ...]
    tr_frame: tuple[np.ndarray, ...]
    tr_obj: tuple[np.ndarray, ...]
    p_frame: np.ndarray
    p_gt: np.ndarray  # object indices
    p_tr: np.ndarray
    p_sim: np.ndarray
    threshold: float
    frames: int


def _match_frames(
    tangled: np.ndarray, step: np.ndarray, cut: np.ndarray, g: np.ndarray, t: np.ndarray, sim: np.ndarray
) -> np.ndarray:
    """Which candidate pairs CLEAR matches (pairs sorted by frame, truth track, annotator track). A pair alone in
    its row and column on its frame is matched, whatever the frame before did. The others (`tangled`) are
    settled frame by frame, in order: last frame's pairs first (TrackEval's 1000 bonus), then the maximum total
    similarity. A tangled pair's row and column hold only tangled pairs, so where every truth track's best pair
    uses its own annotator track that is optimal (duals u = row maximum, v = 0); otherwise the frame is solved."""
    matched: np.ndarray = ~tangled
    pairs = np.flatnonzero(tangled)
    if not len(pairs):
        return matched
    src = _own_before(tangled, pairs, step, g, t)
    frames = step[pairs]
    bounds = np.flatnonzero(np.concatenate([[True], frames[1:] != frames[:-1], [True]])).tolist()
    # lists of the tangled pairs only (a small share of the pairs), indexed by k like `pairs`
    src_list, g_list, t_list, sim_list = src.tolist(), g[pairs].tolist(), t[pairs].tolist(), sim[pairs].tolist()
    won = [False] * len(pairs)  # per k: matched (read by the next frame's bonus)
    pending: list[int] = []  # k won since `matched` was last brought up to date
    lost: set[int] = set()  # pairs alone in their row and column that a solver left out (see _own_before)
    for lo, hi in itertools.pairwise(bounds):
        chosen: list[int] = []  # per truth track (contiguous: pairs are sorted), its best k, the first on ties
        g_at, top = -1, 0.0
        for k in range(lo, hi):
            b = src_list[k]
            held = won[b] if b >= 0 else b < -1 and (not lost or -2 - b not in lost)
            score = sim_list[k] + 1000.0 if held else sim_list[k]
            if g_list[k] != g_at:
                g_at, top = g_list[k], score
                chosen.append(k)
            elif score > top:
                top = score
                chosen[-1] = k
        if len({t_list[k] for k in chosen}) == len(chosen):
            for k in chosen:
                won[k] = True
            pending += chosen
        else:  # the whole frame, as TrackEval's solver sees it
            matched[pairs[pending]] = True  # the solver reads the frame before from `matched`
            pending.clear()
            f = int(frames[lo])
            a, z, y = int(cut[f]), int(cut[f + 1]), int(cut[max(f - 1, 0)])
            held_before = np.flatnonzero(matched[y:a]) + y
            last = set(zip(g[held_before].tolist(), t[held_before].tolist(), strict=True))
            frame_pairs = zip(g[a:z].tolist(), t[a:z].tolist(), sim[a:z].tolist(), strict=True)
            score = [s + (1000.0 if (gk, tk) in last else 0.0) for gk, tk, s in frame_pairs]
            matched[a:z] = _solve_frame(g[a:z], t[a:z], np.asarray(score))
            won[lo:hi] = matched[pairs[lo:hi]].tolist()
            lost.update((np.flatnonzero(~(matched[a:z] | tangled[a:z])) + a).tolist())
    matched[pairs[pending]] = True
    return matched


def _own_before(tangled: np.ndarray, pairs: np.ndarray, step: np.ndarray, g: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For each tangled pair (`pairs`, sorted like every pair by frame, truth track, annotator track), its own pair
    (same truth and annotator track) on the processed frame before: its position k among the tangled pairs where
    that is tangled too; -2 - its index where it is not (then matched unless a solver left it out: alone in its
    row and column with a positive score, every optimal assignment takes it); -1 where there is none."""
    nt = int(t.max()) + 1
    width = (int(g.max()) + 1) * nt
    key = step * width  # ascending: pairs are sorted
    key += g * nt
    key += t
    wanted = key[pairs] - width
    at = np.minimum(np.searchsorted(key, wanted), len(key) - 1)
    before = np.where(key[at] == wanted, at, -1)
    src = np.searchsorted(pairs, before)
    src[before < 0] = -1
    alone = (before >= 0) & ~tangled[np.maximum(before, 0)]
    src[alone] = -2 - before[alone]
    return src


def _solve_frame(g: np.ndarray, t: np.ndarray, score: np.ndarray) -> np.ndarray:
    """One frame's pairs: which the maximum-total assignment of the scores takes (positive scores only)."""
    rows, r_idx = np.unique(g, return_inverse=True)
    cols, c_idx = np.unique(t, return_inverse=True)
    mat = np.zeros((len(rows), len(cols)))
    mat[r_idx, c_idx] = score
    rr, cc = linear_sum_assignment(-mat)
    chosen = np.zeros((len(rows), len(cols)), dtype=bool)
    chosen[rr, cc] = mat[rr, cc] > EPS
    out: np.ndarray = chosen[r_idx, c_idx]
    return out


def _clear_pairs(seq: _Sequence, gi: np.ndarray, ti: np.ndarray) -> tuple[np.ndarray, ...]:
    """(frame, truth track, annotator track, similarity) of the pairs CLEAR may match (similarity >= the threshold
    less EPS, and > EPS), sorted by frame, truth track, annotator track. Index gathers: a mask's are slower."""
    low = seq.threshold - EPS
    cand = seq.p_sim >= low
    if not low > EPS:
        cand &= seq.p_sim > EPS
    sel = np.flatnonzero(cand)
    sel = sel[lexsort_ints((ti[sel], gi[sel], seq.p_frame[sel]))]
    return seq.p_frame[sel], gi[sel], ti[sel], seq.p_sim[sel]


def _clear(
    seq: _Sequence, pairs: tuple[np.ndarray, ...], gt_count: np.ndarray, tr_count: np.ndarray
) -> tuple[_Sums, list[tuple[int, int, int, int]]]:
    """CLEAR-MOT as trackeval/metrics/clear.py on `pairs` (_clear_pairs'), vectorised: only frames whose candidate
    pairs are not already one-to-one are solved, in frame order, each knowing the previous processed frame's
    pairs."""
    out = _Sums()
    ng = len(gt_count)
    frame, g, t, sim = pairs
    # processed timesteps: frames with objects on both sides (TrackEval skips the others, keeping its state)
    processed, before = _processed(seq)
    step = (
        before[frame]
        if before is not None and len(frame) and frame[0] >= 0 and frame[-1] < len(before)
        else np.searchsorted(processed, frame)
    )
    cut = np.searchsorted(step, np.arange(len(processed) + 1))
    key = step * ng
    key += g
    tangled = _repeated(key)
    del key
    tangled |= _repeated(_frame_track_keys(step, t, tr_count))
    kept = np.flatnonzero(_match_frames(tangled, step, cut, g, t, sim))
    del tangled
    out.tp = len(kept)
    out.motp_sum = float(sim[kept].sum())
    # ID switches: a truth track matched to another annotator track than the last one
    # the matched pairs by track: lexsort((frame, g)), the pairs being in frame order already; stable sorts agree,
    # and numpy's of small integer types is a radix sort. Indices into the pairs: one gather per column needed
    kept_g = g[kept]
    by_track = kept[np.argsort(kept_g.astype(np.uint16) if ng <= 2**16 else kept_g, kind="stable")]
    del kept, kept_g
    sg, st = g[by_track], t[by_track]
    switch = np.flatnonzero((sg[1:] == sg[:-1]) & (st[1:] != st[:-1])) + 1
    out.idsw = len(switch)
    events = [(int(frame[by_track[i]]), int(sg[i]), int(st[i - 1]), int(st[i])) for i in switch.tolist()]
    # fragmentations: starts of tracking after a processed frame on which the track was not tracked
    ss = step[by_track]
    starts = np.ones(len(sg), dtype=bool)
    starts[1:] = (sg[1:] != sg[:-1]) | (ss[1:] != ss[:-1] + 1)
    runs = np.bincount(sg[starts], minlength=ng)
    out.frag = int(np.maximum(runs - 1, 0).sum())
    # mostly tracked / partially tracked / mostly lost
    ratio = np.bincount(sg, minlength=ng) / np.maximum(gt_count, 1.0)
    present = gt_count > 0
    out.mt = int((ratio[present] > 0.8).sum())
    out.pt = int((ratio[present] >= 0.2).sum()) - out.mt
    out.ml = ng - out.mt - out.pt
    return out, events


def _processed(seq: _Sequence) -> tuple[np.ndarray, np.ndarray | None]:
    """The frames with objects on both sides, ascending, and where frames are dense a table of how many of them
    precede each frame (np.searchsorted(processed, frame) by lookup)."""
    gt = [f for f in seq.gt_frame if len(f)]
    tr = [f for f in seq.tr_frame if len(f)]
    if not gt or not tr:
        return np.zeros(0, dtype=np.int64), None
    top = max(int(f.max()) for f in gt + tr) + 1
    low = min(int(f.min()) for f in gt + tr)
    if low < 0 or top > 4 * sum(len(f) for f in gt + tr) + 4096:
        return np.intersect1d(np.concatenate(gt), np.concatenate(tr)), None
    both = np.zeros(top, dtype=bool)
    for f in gt:
        both[f] = True
    in_tr = np.zeros(top, dtype=bool)
    for f in tr:
        in_tr[f] = True
    both &= in_tr
    before = np.cumsum(both, dtype=np.int64)
    before -= both
    return np.flatnonzero(both), before


def _frame_track_keys(frame: np.ndarray, track: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """A non-negative integer per (frame, annotator track) of the pairs, equal exactly where both are, for
    _group_ids: frame x track, unless that is sparse and keying a track with one detection (`counts`, the
    sequence's detections per track: its pairs are all on that frame) by itself alone makes it dense (a long video
    whose annotator tracks are mostly one-frame extras: a table, no sort)."""
    nt = len(counts)
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    low, high = int(frame.min()), int(frame.max())
    span = high - low + 1
    multi = counts > 1
    n_multi = int(multi.sum())
    if low < 0 or (high + 1) * nt <= 4 * len(frame) + 4096 or n_multi * span + nt > 4 * len(frame) + 4096:
        key = frame * nt
        key += track
        return key
    multi_rank = np.cumsum(multi) - 1
    base = np.where(multi, multi_rank * span - low, n_multi * span + np.arange(nt) - multi_rank - 1)
    split: np.ndarray = base[track]
    np.add(split, frame, out=split, where=multi[track])
    return split


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Which entries share their key with another entry (_group_ids: a table or a sort, no int64 count per
    entry)."""
    ids = _group_ids(keys)
    out: np.ndarray = (np.bincount(ids) > 1)[ids]  # a bool per id, then per entry: no int64 column per entry
    return out


def _identity(
    seq: _Sequence, gi: np.ndarray, ti: np.ndarray, ng: int, nt: int, clear_pairs: tuple[np.ndarray, ...]
) -> int:
    """IDTP of the global track assignment (identity.py's min FN + FP is max IDTP). Its pairs (similarity >= the
    threshold) are among CLEAR's where the threshold exceeds EPS: then taken from those, a smaller set."""
    if seq.threshold > EPS:
        _, gi, ti, sim = clear_pairs
    else:
        sim = seq.p_sim
    ok = np.flatnonzero(sim >= seq.threshold)
    if not len(ok):
        return 0
    key = gi[ok] * nt
    key += ti[ok]
    counts = np.bincount(key, minlength=ng * nt).reshape(ng, nt)
    # only the optimum's value is wanted, and tracks without a pair add nothing to it: the solver sees the tracks
    # with pairs (a few columns where most annotator tracks are one-frame extras, not thousands)
    counts = counts[counts.any(axis=1)][:, counts.any(axis=0)].astype(np.float64)
    r, c = linear_sum_assignment(counts, maximize=True)
    return int(counts[r, c].sum())


def _hota(
    seq: _Sequence, gi: np.ndarray, ti: np.ndarray, gt_count: np.ndarray, tr_count: np.ndarray, out: _Sums
) -> None:
    """HOTA's per-alpha sums as hota.py: global alignment from similarity normalised per frame, then per frame the
    assignment maximising alignment x similarity."""
    if not len(gi):
        return
    ng, nt = len(gt_count), len(tr_count)
    f, sim = seq.p_frame, seq.p_sim
    # in-place steps on the pairs' columns (hundreds of thousands long): the same operations in the same order,
    # without a fresh temporary (and its page faults) for each
    key = f * ng
    key += gi
    row_id = _group_ids(key)
    col_id = _group_ids(_frame_track_keys(f, ti, tr_count))
    denom = np.bincount(row_id, weights=sim)[row_id]
    denom += np.bincount(col_id, weights=sim)[col_id]
    denom -= sim
    positive = denom > EPS
    scaled = np.divide(sim, denom, out=denom, where=positive)
    scaled[~positive] = 0.0
    np.multiply(gi, nt, out=key)
    key += ti
    potential = np.bincount(key, weights=scaled, minlength=ng * nt).reshape(ng, nt)
    alignment = potential / (gt_count[:, None] + tr_count[None, :] - potential)
    # = alignment[gi, ti], by the flat index at hand, into the spent buffer of `scaled`: no fresh column
    weight = np.take(alignment, key, out=scaled)
    weight *= sim
    del key, positive  # the assignment's peak comes next
    chosen = np.flatnonzero(_hota_assignment(f, gi, ti, weight, row_id, col_id))  # indices: faster gathers
    cg, ct, cs = gi[chosen], ti[chosen], sim[chosen]
    # every alpha at once: a chosen pair counts at the alphas up to its similarity (alpha - EPS <= similarity)
    levels = len(ALPHAS) + 1
    level = np.searchsorted(ALPHAS - EPS, cs, side="right")
    pair = _group_ids(cg * nt + ct)
    n_pairs = int(pair.max()) + 1 if len(pair) else 0
    by_level = np.bincount(pair * levels + level, minlength=n_pairs * levels).reshape(n_pairs, levels)
    mc = np.cumsum(by_level[:, :0:-1], axis=1)[:, ::-1].astype(np.float64)  # (pair, alpha): pairs' TPs at alpha
    pg, pt = np.zeros(n_pairs, dtype=np.int64), np.zeros(n_pairs, dtype=np.int64)
    pg[pair], pt[pair] = cg, ct
    g_count, t_count = gt_count[pg][:, None], tr_count[pt][:, None]
    out.hota_tp += mc.sum(axis=0).astype(np.int64)
    out.assa_w += (mc * mc / np.maximum(1.0, g_count + t_count - mc)).sum(axis=0)
    out.assre_w += (mc * mc / np.maximum(1.0, g_count)).sum(axis=0)
    out.asspr_w += (mc * mc / np.maximum(1.0, t_count)).sum(axis=0)
    out.loca_w += np.cumsum(np.bincount(level, weights=cs, minlength=levels)[:0:-1])[::-1]


def _row_argmax(row: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Per distinct row id (ids are non-negative), the position of its highest score, the first one on ties;
    in no particular order. Unordered segment maxima instead of a two-key sort."""
    if len(row) == 0 or np.isnan(score).any():  # NaN: keep the sort's ordering rules
        order = np.lexsort((-score, row))
        first = np.concatenate([[True], row[order][1:] != row[order][:-1]])
        out: np.ndarray = order[first]
        return out
    n_rows = int(row.max()) + 1
    top = np.full(n_rows, -np.inf)
    np.maximum.at(top, row, score)
    at_top = np.flatnonzero(score == top[row])
    first = np.full(n_rows, len(row), dtype=np.int64)
    np.minimum.at(first, row[at_top], at_top)
    return first[first < len(row)]


def _argmax_if_optimal(
    idx: np.ndarray, row: np.ndarray, col: np.ndarray, frame: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, take each row's best pair; where those pairs use distinct columns the result is an optimal
    assignment (duals u_row = row maximum, v = 0 satisfy u + v >= score with equality on the pairs chosen and
    every unmatched vertex has dual 0), so the solver is not needed. Returns (chosen idx, solved mask)."""
    best = _row_argmax(row, score)
    chosen_col = col[best]
    dup_col = (np.bincount(chosen_col) > 1)[chosen_col]  # columns chosen by more than one row (of one frame)
    bad_frames = frame[best][dup_col]
    solved = ~_member(frame, bad_frames)
    keep = best[~_member(frame[best], bad_frames)]
    return idx[keep], solved


def _hota_assignment(
    key: np.ndarray, cg: np.ndarray, ca: np.ndarray, score: np.ndarray, frow: np.ndarray, fcol: np.ndarray
) -> np.ndarray:
    """Which candidate pairs are chosen per frame (max total score), as a mask. Frames whose pairs are already
    one-to-one keep them all; only the others go through the solver. `frow` / `fcol` number the distinct
    (frame, truth track) and (frame, annotator track) of the pairs."""
    ambiguous = (np.bincount(frow) > 1)[frow]
    ambiguous |= (np.bincount(fcol) > 1)[fcol]
    # an isolated pair (alone in its row and column) is always chosen, and it is its row's best pair whose column
    # no other row takes: the first pass runs on every pair, without copies of the columns for the ambiguous ones
    chosen: np.ndarray = ~ambiguous
    best = _row_argmax(frow, score)
    chosen_col = fcol[best]
    dup_col = (np.bincount(chosen_col) > 1)[chosen_col]  # columns chosen by more than one row (of one frame)
    bad_frames = key[best][dup_col]
    chosen[best[~_member(key[best], bad_frames)]] = True
    amb = np.flatnonzero(ambiguous & _member(key, bad_frames))
    if len(amb):  # the same the other way round, then the solver; these pairs are few
        picked, solved = _argmax_if_optimal(amb, fcol[amb], frow[amb], key[amb], score[amb])
        chosen[picked] = True
        amb = amb[~solved]
    amb = amb[np.argsort(key[amb], kind="stable")]
    keys_list, rows_list, cols_list = key[amb].tolist(), cg[amb].tolist(), ca[amb].tolist()
    scores = score[amb].tolist()
    start = 0
    for end in range(1, len(amb) + 1):
        if end < len(amb) and keys_list[end] == keys_list[start]:
            continue
        rmap: dict[int, int] = {}
        cmap: dict[int, int] = {}
        cells = [
            (rmap.setdefault(rows_list[k], len(rmap)), cmap.setdefault(cols_list[k], len(cmap)))
            for k in range(start, end)
        ]
        mat = np.zeros((len(rmap), len(cmap)))
        pick = np.full((len(rmap), len(cmap)), -1, dtype=np.int64)
        for k, (r, c) in enumerate(cells):
            mat[r, c] = scores[start + k]
            pick[r, c] = amb[start + k]
        rr, cc = linear_sum_assignment(mat, maximize=True)
        solution = pick[rr, cc]
        chosen[solution[solution >= 0]] = True
        start = end
    return chosen


def _sequence_sums(seq: _Sequence) -> tuple[_Sums, list[tuple[int, int, int, int]], np.ndarray, np.ndarray]:
    gt_ids, gt_count = _counts(seq.gt_obj)
    tr_ids, tr_count = _counts(seq.tr_obj)
    ng, nt = len(gt_ids), len(tr_ids)
    gi = _positions(gt_ids, seq.p_gt)
    ti = _positions(tr_ids, seq.p_tr)
    clear_pairs = _clear_pairs(seq, gi, ti)
    out, events = _clear(seq, clear_pairs, gt_count, tr_count)
    out.truth_tracks, out.labels_tracks = ng, nt
    out.truth_detections = sum(len(obj) for obj in seq.gt_obj)
    out.labels_detections = sum(len(obj) for obj in seq.tr_obj)
    # TrackEval's CLEAR returns early (CLR_Frames 0, so FP per frame = FP) when either side has no object
    out.frames = seq.frames if ng and nt else 0
    out.idtp = _identity(seq, gi, ti, ng, nt, clear_pairs)
    del clear_pairs  # not held through HOTA's peak
    _hota(seq, gi, ti, gt_count, tr_count, out)
    return out, events, gt_ids, tr_ids


# ------------------------------------------------------------------------------------------------------ entry


def _selected(mask: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The columns where `mask` holds (the columns themselves when it holds everywhere)."""
    if mask.all():
        return columns
    return tuple(column[mask] for column in columns)


def _single(comp: Comparison, t_class: np.ndarray, a_class: np.ndarray) -> tuple[int, int] | None:
    """(class, data unit) when every object is of one class and every detection and pair on one data unit (one
    video of one class, the common case): then no per-detection class or data unit column is needed."""
    m, cand = comp.matches, comp.candidates
    if not (len(m.du) or len(comp.missed.du) or len(comp.extra.du)) or not len(t_class) or not len(a_class):
        return None
    c = int(t_class[0])
    if not int(t_class.min()) == int(t_class.max()) == int(a_class.min()) == int(a_class.max()) == c:
        return None
    dus = [du for du in (m.du, comp.missed.du, comp.extra.du, cand.du) if len(du)]
    d = int(dus[0][0])
    if any(int(du.min()) != d or int(du.max()) != d for du in dus):
        return None
    return c, d


def _sequences(
    comp: Comparison, t_class: np.ndarray, a_class: np.ndarray, threshold: Callable[[int], float]
) -> Iterator[tuple[int, int, _Sequence]]:
    """(class, data unit, its sequence) for the classes with an object in the video ascending, each class's data
    units ascending."""
    m, cand = comp.matches, comp.candidates
    single = _single(comp, t_class, a_class)
    if single is not None:
        c, d = single
        frames = [f for f in (m.frame, comp.missed.frame, comp.extra.frame) if len(f)]
        yield (
            c,
            d,
            _Sequence(
                (m.frame, comp.missed.frame),
                (m.t_obj, comp.missed.t_obj),
                (m.frame, comp.extra.frame),
                (m.a_obj, comp.extra.a_obj),
                cand.frame,
                cand.t_obj,
                cand.a_obj,
                cand.sim,
                threshold(c),
                max(int(f.max()) for f in frames) + 1,
            ),
        )
        return
    gt_du = np.concatenate([m.du, comp.missed.du])
    gt_frame = np.concatenate([m.frame, comp.missed.frame])
    gt_obj = np.concatenate([m.t_obj, comp.missed.t_obj])
    tr_du = np.concatenate([m.du, comp.extra.du])
    tr_frame = np.concatenate([m.frame, comp.extra.frame])
    tr_obj = np.concatenate([m.a_obj, comp.extra.a_obj])
    gt_cls = t_class[gt_obj] if len(gt_obj) else gt_obj
    tr_cls = a_class[tr_obj] if len(tr_obj) else tr_obj
    p_cls = t_class[cand.t_obj] if len(cand.t_obj) else cand.t_obj
    same = p_cls == (a_class[cand.a_obj] if len(cand.a_obj) else cand.a_obj)
    last_frame: dict[int, int] = {}
    for du, f in ((gt_du, gt_frame), (tr_du, tr_frame)):
        for d in distinct_ints(du).tolist():
            last_frame[d] = max(last_frame.get(d, -1), int(f[du == d].max()))
    for c in distinct_ints(np.concatenate([gt_cls, tr_cls])).tolist():
        for d in distinct_ints(np.concatenate([gt_du[gt_cls == c], tr_du[tr_cls == c]])).tolist():
            g_sel, t_sel = (gt_cls == c) & (gt_du == d), (tr_cls == c) & (tr_du == d)
            p_sel = same & (p_cls == c) & (cand.du == d)
            g_frame, g_obj = _selected(g_sel, gt_frame, gt_obj)
            t_frame, t_obj = _selected(t_sel, tr_frame, tr_obj)
            p_frame, p_gt, p_tr, p_sim = _selected(p_sel, cand.frame, cand.t_obj, cand.a_obj, cand.sim)
            seq = _Sequence(
                (g_frame,), (g_obj,), (t_frame,), (t_obj,), p_frame, p_gt, p_tr, p_sim, threshold(c), last_frame[d] + 1
            )
            yield c, d, seq


def tracking_metrics(
    comp: Comparison,
    t_class: np.ndarray,
    a_class: np.ndarray,
    threshold: Callable[[int], float],
    class_names: list[str],
) -> tuple[TrackingMetrics, list[SwitchEvent]]:
    """`t_class[obj]` / `a_class[obj]`: class index of each truth / annotator object; `threshold(class)`: the
    similarity a pair needs to count (the class's match threshold). Returns the metrics and every ID switch."""
    per_class: dict[str, TrackingFigures] = {}
    total = _Sums()
    events: list[SwitchEvent] = []
    for c, group in itertools.groupby(_sequences(comp, t_class, a_class, threshold), key=lambda item: item[0]):
        sums = _Sums()
        for _, d, seq in group:
            seq_sums, seq_events, gt_ids, tr_ids = _sequence_sums(seq)
            sums += seq_sums
            events += [(d, f, int(gt_ids[g]), int(tr_ids[a]), int(tr_ids[b])) for f, g, a, b in seq_events]
        per_class[class_names[c]] = _figures(sums)
        total += sums
    combined = _figures(total)
    metrics = TrackingMetrics(
        **combined.model_dump(),
        classes=per_class,
        class_averaged=_class_averaged(list(per_class.values())) if per_class else None,
    )
    return metrics, sorted(events)
