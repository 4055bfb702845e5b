"""Identity metrics for video tracks (an objectHash across frames is a track).

CLEAR-MOT (Bernardin & Stiefelhagen 2008): MOTA = 1 - (FN + FP + IDSW) / truth detections, MOTP = mean
similarity of matches; an ID switch is a truth track whose matched annotator track differs from the one it was
last matched to. Fragmentations: times a truth track's matched stretch is interrupted and later resumed.
IDF1 (Ristani et al. 2016): one global track-to-track assignment maximising IDTP (frames where the pair overlaps
above the match threshold); IDF1 = 2 IDTP / (truth + annotator detections).
HOTA (Luiten et al. 2021, TrackEval's algorithm): per alpha in 0.05..0.95, DetA = TP / (TP + FN + FP),
AssA = mean over TPs of the pair's association IoU, HOTA_alpha = sqrt(DetA * AssA); HOTA = mean over alpha.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from benchmark_qa.scoring.assignment import linear_sum_assignment
from benchmark_qa.scoring.comparison import Columns, Comparison
from benchmark_qa.scoring.metrics import Stat, stat

ALPHAS = np.arange(0.05, 0.99, 0.05)


class TrackingMetrics(BaseModel):
    truth_tracks: int
    labels_tracks: int
    truth_detections: int
    labels_detections: int
    id_switches: int
    fragmentations: int
    mota: float = Field(description="1 - (FN + FP + IDSW) / truth detections; can be negative")
    motp: float | None
    idtp: int
    idfp: int
    idfn: int
    idf1: float | None
    idf1_interval: Stat = Field(description="IDF1 as a proportion of (truth + annotator detections) / 2")
    hota: float | None
    deta: float | None
    assa: float | None
    loca: float | None
    hota_tp: list[int] = Field(description="per alpha 0.05..0.95, for summing across videos")
    hota_fn: list[int]
    hota_fp: list[int]
    hota_assa_weighted: list[float] = Field(description="per alpha: AssA x TP (sum, then divide by summed TP)")


def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True) for non-negative integers: by counting when the values are small
    (object and track indices), in linear time; by sorting otherwise."""
    if len(values) and values.min() >= 0 and int(values.max()) < max(4 * len(values), 1 << 16):
        present = np.bincount(values) > 0
        ids = np.flatnonzero(present)
        dense = np.cumsum(present) - 1
        return ids.astype(values.dtype), dense[values]
    ids, inverse = np.unique(values, return_inverse=True)
    return ids, inverse


def _key(c: Columns) -> np.ndarray:
    return (c.du.astype(np.int64) << 40) | c.frame.astype(np.int64)


def id_switch_events(matches: Columns) -> list[tuple[int, int, int, int, int]]:
    """(du, frame, truth obj, previous annotator obj, new annotator obj) for each switch."""
    order = np.lexsort((matches.frame, matches.t_obj, matches.du))
    t, a, f, d = matches.t_obj[order], matches.a_obj[order], matches.frame[order], matches.du[order]
    if len(t) < 2:
        return []
    switch = (t[1:] == t[:-1]) & (d[1:] == d[:-1]) & (a[1:] != a[:-1])
    idx = np.nonzero(switch)[0]
    return [(int(d[i + 1]), int(f[i + 1]), int(t[i + 1]), int(a[i]), int(a[i + 1])) for i in idx]


def _fragmentations(comp: Comparison) -> int:
    frames = np.concatenate([comp.matches.frame, comp.missed.frame])
    objs = np.concatenate([comp.matches.t_obj, comp.missed.t_obj])
    tracked = np.concatenate([np.ones(len(comp.matches.frame), bool), np.zeros(len(comp.missed.frame), bool)])
    if len(objs) == 0:
        return 0
    order = np.lexsort((frames, objs))
    objs, tracked = objs[order], tracked[order]
    starts = tracked & np.concatenate([[True], (objs[1:] != objs[:-1]) | ~tracked[:-1]])
    runs = np.bincount(objs[starts], minlength=int(objs.max()) + 1)
    return int(np.clip(runs - 1, 0, None).sum())


def _lsa_max(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return linear_sum_assignment(-score)


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
    _, col_first = np.unique(col[best], return_index=True)
    dup_col = np.ones(len(best), dtype=bool)
    dup_col[col_first] = False  # columns chosen by more than one row
    bad_frames = np.unique(frame[best][dup_col])
    solved = ~np.isin(frame, bad_frames)
    keep = best[~np.isin(frame[best], bad_frames)]
    return idx[keep], solved


def _hota_assignment(
    key: np.ndarray, cg: np.ndarray, ca: np.ndarray, score: np.ndarray, frow: np.ndarray, fcol: np.ndarray
) -> np.ndarray:
    """Indices of the candidate pairs chosen per frame (max total score). Frames whose pairs are already
    one-to-one keep them all; only the others go through the solver. `frow` / `fcol` number the distinct
    (frame, truth track) and (frame, annotator track) of the pairs."""
    ambiguous_pair = (np.bincount(frow)[frow] > 1) | (np.bincount(fcol)[fcol] > 1)
    # an isolated pair (alone in its row and column) is always chosen; only the ambiguous pairs of a frame
    # go to the solver, and they are few
    parts = [np.nonzero(~ambiguous_pair)[0]]
    amb = np.nonzero(ambiguous_pair)[0]
    for row_ids, col_ids in ((frow, fcol), (fcol, frow)):
        if len(amb) == 0:
            break
        chosen, solved = _argmax_if_optimal(amb, row_ids[amb], col_ids[amb], key[amb], score[amb])
        parts.append(chosen)
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
        rr, cc = _lsa_max(mat)
        chosen = pick[rr, cc]
        parts.append(chosen[chosen >= 0])
        start = end
    return np.sort(np.concatenate(parts))


def _hota_sums(
    cand: Columns, cg: np.ndarray, ca: np.ndarray, gt_count: np.ndarray, tr_count: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per alpha: TP, sum over TPs of the pair's association IoU (AssA x TP), sum of TP similarity."""
    ng, na = len(gt_count), len(tr_count)
    n_alpha = len(ALPHAS)
    hota_tp = np.zeros(n_alpha, dtype=np.int64)
    assa_w = np.zeros(n_alpha)
    loca_sum = np.zeros(n_alpha)
    if not len(cg):
        return hota_tp, assa_w, loca_sum
    key = _key(cand)
    # step 1: global alignment from per-frame similarity normalised by the frame's row and column sums
    _, row_id = np.unique(key * (ng + 1) + cg, return_inverse=True)
    _, col_id = np.unique(key * (na + 1) + ca, return_inverse=True)
    row_sum = np.bincount(row_id, weights=cand.sim)[row_id]
    col_sum = np.bincount(col_id, weights=cand.sim)[col_id]
    denom = row_sum + col_sum - cand.sim
    scaled = np.where(denom > 1e-12, cand.sim / np.where(denom > 1e-12, denom, 1.0), 0.0)
    potential = np.zeros((ng, na))
    np.add.at(potential, (cg, ca), scaled)
    alignment = potential / (gt_count[:, None] + tr_count[None, :] - potential)
    # step 2: per frame, assignment on alignment x similarity
    sel = _hota_assignment(key, cg, ca, alignment[cg, ca] * cand.sim, row_id, col_id)
    sg, sa, ss = cg[sel], ca[sel], cand.sim[sel]
    pairs, pair_id = _unique_inverse(sg * na + sa)
    pair_gt, pair_tr = gt_count[pairs // na], tr_count[pairs % na]
    for k, alpha in enumerate(ALPHAS):
        ok = ss >= alpha - 1e-10
        hota_tp[k] = int(ok.sum())
        if not ok.any():
            continue
        mc = np.bincount(pair_id[ok], minlength=len(pairs)).astype(np.float64)
        assa_w[k] = float((mc * mc / np.maximum(pair_gt + pair_tr - mc, 1.0)).sum())
        loca_sum[k] = float(ss[ok].sum())
    return hota_tp, assa_w, loca_sum


def tracking_metrics(comp: Comparison, match_threshold: np.ndarray, t_class: np.ndarray) -> TrackingMetrics:
    """`match_threshold[class]` and `t_class[truth obj]` decide which candidate pairs count for IDTP."""
    m, cand = comp.matches, comp.candidates
    gt_obj = np.concatenate([m.t_obj, comp.missed.t_obj])
    tr_obj = np.concatenate([m.a_obj, comp.extra.a_obj])
    gt_dets, tr_dets = len(gt_obj), len(tr_obj)
    gt_ids, gt_inv = _unique_inverse(gt_obj)
    tr_ids, tr_inv = _unique_inverse(tr_obj)
    gt_count = np.bincount(gt_inv, minlength=len(gt_ids)).astype(np.float64)
    tr_count = np.bincount(tr_inv, minlength=len(tr_ids)).astype(np.float64)
    switches = len(id_switch_events(m))
    fn, fp = len(comp.missed.t_obj), len(comp.extra.a_obj)
    mota = 1.0 - (fn + fp + switches) / gt_dets if gt_dets else 0.0
    motp = float(m.sim.mean()) if len(m.sim) else None

    # candidate pairs as compact track indices
    cg = np.searchsorted(gt_ids, cand.t_obj)
    ca = np.searchsorted(tr_ids, cand.a_obj)
    ng, na = len(gt_ids), len(tr_ids)

    # IDF1
    idtp = 0
    if len(cg) and ng and na:
        ok = cand.sim >= match_threshold[t_class[cand.t_obj]] - 1e-12
        counts = np.zeros((ng, na))
        np.add.at(counts, (cg[ok], ca[ok]), 1.0)
        r, c = _lsa_max(counts)
        idtp = int(counts[r, c].sum())
    idf1 = 2 * idtp / (gt_dets + tr_dets) if gt_dets + tr_dets else None

    # HOTA
    hota_tp, assa_w, loca_sum = _hota_sums(cand, cg, ca, gt_count, tr_count)
    hota_fn = gt_dets - hota_tp
    hota_fp = tr_dets - hota_tp
    with np.errstate(divide="ignore", invalid="ignore"):
        deta_a = np.where(hota_tp + hota_fn + hota_fp > 0, hota_tp / np.maximum(hota_tp + hota_fn + hota_fp, 1), 0.0)
        assa_a = np.where(hota_tp > 0, assa_w / np.maximum(hota_tp, 1), 0.0)
        loca_a = np.where(hota_tp > 0, loca_sum / np.maximum(hota_tp, 1), 0.0)
    hota_a = np.sqrt(deta_a * assa_a)
    has = gt_dets + tr_dets > 0
    return TrackingMetrics(
        truth_tracks=ng,
        labels_tracks=na,
        truth_detections=gt_dets,
        labels_detections=tr_dets,
        id_switches=switches,
        fragmentations=_fragmentations(comp),
        mota=mota,
        motp=motp,
        idtp=idtp,
        idfp=tr_dets - idtp,
        idfn=gt_dets - idtp,
        idf1=idf1,
        idf1_interval=stat(2 * idtp, gt_dets + tr_dets, (gt_dets + tr_dets) / 2),
        hota=float(hota_a.mean()) if has else None,
        deta=float(deta_a.mean()) if has else None,
        assa=float(assa_a.mean()) if has else None,
        loca=float(loca_a.mean()) if has else None,
        hota_tp=hota_tp.tolist(),
        hota_fn=hota_fn.tolist(),
        hota_fp=hota_fp.tolist(),
        hota_assa_weighted=assa_w.tolist(),
    )
