"""Optimal one-to-one assignment between truth and annotator objects of one frame.

Minimum-cost assignment (`assignment.linear_sum_assignment`, the engine's own solver) on cost 1 - similarity over
the candidate pairs (similarity >= threshold), most pairs first. On video, last frame's pairs that are still
candidates are kept before the rest is matched (CLEAR-MOT continuity, Bernardin & Stiefelhagen 2008, as motmetrics
and TrackEval do). When the candidate matrix is already one-to-one, the answer is the candidate set itself and the
solver is skipped. Inputs are sorted by objectHash by the caller, so ties resolve the same way on every run.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from benchmark_qa.scoring.assignment import linear_sum_assignment

Mode = Literal["class_aware", "class_agnostic", "two_stage"]
_NO = 1e6  # cost of a non-candidate pair: never chosen over a candidate


def is_one_to_one(cand: np.ndarray) -> bool:
    return bool((cand.sum(axis=1) <= 1).all() and (cand.sum(axis=0) <= 1).all())


def _solve(sim: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not cand.any():
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    if is_one_to_one(cand):
        rows, cols = np.nonzero(cand)
        return rows, cols
    # only rows / columns with a candidate take part: keeps the solver's matrix small
    rsel = np.nonzero(cand.any(axis=1))[0]
    csel = np.nonzero(cand.any(axis=0))[0]
    sub = cand[np.ix_(rsel, csel)]
    cost = np.where(sub, 1.0 - sim[np.ix_(rsel, csel)], _NO)
    r, c = linear_sum_assignment(cost)
    keep = sub[r, c]
    return rsel[r[keep]], csel[c[keep]]


def assign(
    sim: np.ndarray,
    cand: np.ndarray,
    same_class: np.ndarray,
    mode: Mode,
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (rows, cols) maximising the number of pairs, then total similarity, among candidates, under the class
    mode:
    class_aware   only same-class pairs;
    class_agnostic any pair in the shape family (the label is judged afterwards);
    two_stage     same-class pairs first, then cross-class pairs among the leftovers, so a good same-class
                  match is never outbid by a slightly better overlap with another class.
    `keep`: last frame's pairs (a one-to-one mask); those still allowed are fixed before anything else is matched."""
    allowed = cand & same_class if mode == "class_aware" else cand
    fixed_r, fixed_c = np.nonzero(keep & allowed) if keep is not None else (np.zeros(0, np.intp),) * 2
    if len(fixed_r):
        cand = cand.copy()
        cand[fixed_r, :] = False
        cand[:, fixed_c] = False
    if mode == "class_aware":
        rows, cols = _solve(sim, cand & same_class)
    elif mode == "class_agnostic" or is_one_to_one(cand):
        rows, cols = _solve(sim, cand)
    else:
        r1, c1 = _solve(sim, cand & same_class)
        rest = cand.copy()
        rest[r1, :] = False
        rest[:, c1] = False
        r2, c2 = _solve(sim, rest)
        rows, cols = np.concatenate([r1, r2]), np.concatenate([c1, c2])
    rows, cols = np.concatenate([fixed_r, rows]), np.concatenate([fixed_c, cols])
    order = np.argsort(rows, kind="stable")
    return rows[order], cols[order]
