"""Assignment: optimal against brute force, fast path, class modes, ties and track continuity."""

from __future__ import annotations

import itertools

import numpy as np
from benchmark_qa.scoring.matching import assign, is_one_to_one
from hypothesis import given, settings
from hypothesis import strategies as st


def brute_force(sim: np.ndarray, cand: np.ndarray) -> tuple[int, float]:
    """Best (number of pairs, total similarity) over every one-to-one set of candidate pairs."""
    n, m = sim.shape
    best = (0, 0.0)
    for k in range(min(n, m), 0, -1):
        for rows in itertools.combinations(range(n), k):
            for cols in itertools.permutations(range(m), k):
                if all(cand[r, c] for r, c in zip(rows, cols, strict=True)):
                    total = float(sum(sim[r, c] for r, c in zip(rows, cols, strict=True)))
                    best = max(best, (k, total))
        if best[0] == k:
            return best
    return best


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**31 - 1), st.floats(0.0, 0.9))
def test_assignment_is_optimal(n: int, m: int, seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    sim = np.round(rng.random((n, m)), 2)
    cand = sim >= threshold
    rows, cols = assign(sim, cand, np.ones((n, m), bool), "class_agnostic")
    assert len(set(rows.tolist())) == len(rows)
    assert len(set(cols.tolist())) == len(cols)
    assert all(cand[r, c] for r, c in zip(rows, cols, strict=True))
    k, total = brute_force(sim, cand)
    assert len(rows) == k
    assert abs(float(sim[rows, cols].sum()) - total) < 1e-9


def test_fast_path_is_the_candidate_set() -> None:
    sim = np.array([[0.9, 0.0, 0.1], [0.0, 0.6, 0.0]])
    cand = sim >= 0.5
    assert is_one_to_one(cand)
    rows, cols = assign(sim, cand, np.ones_like(cand), "class_agnostic")
    assert rows.tolist() == [0, 1]
    assert cols.tolist() == [0, 1]


def test_class_modes() -> None:
    # truth 0 overlaps annotator 0 (other class, 0.9) and annotator 1 (same class, 0.8)
    sim = np.array([[0.9, 0.8]])
    cand = sim >= 0.5
    same = np.array([[False, True]])
    agnostic = assign(sim, cand, same, "class_agnostic")
    assert agnostic[1].tolist() == [0]
    assert assign(sim, cand, same, "class_aware")[1].tolist() == [1]
    assert assign(sim, cand, same, "two_stage")[1].tolist() == [1]
    # two_stage still pairs across classes when no same-class partner exists
    assert assign(sim, cand, np.array([[False, False]]), "two_stage")[1].tolist() == [0]
    assert assign(sim, cand, np.array([[False, False]]), "class_aware")[1].tolist() == []


def test_last_frames_pairs_are_kept_before_the_rest_is_matched() -> None:
    sim = np.full((2, 2), 0.7)
    cand = sim >= 0.5
    rows, cols = assign(sim, cand, np.ones_like(cand), "class_agnostic")
    assert cols[np.argsort(rows)].tolist() == [0, 1]  # the solver's (scipy's) tie rule: the first free column
    keep = np.array([[False, True], [True, False]])  # last frame paired them the other way round
    rows, cols = assign(sim, cand, np.ones_like(cand), "class_agnostic", keep)
    assert cols[np.argsort(rows)].tolist() == [1, 0]
    # CLEAR-MOT: a still-valid pair is kept even where breaking it would allow one pair more (motmetrics and
    # TrackEval do the same); "most pairs first" would pair 0-1 and 1-0 instead
    sim = np.array([[0.9, 0.6], [0.6, 0.0]])
    cand = sim >= 0.5
    keep = np.array([[True, False], [False, False]])
    for mode in ("class_agnostic", "class_aware", "two_stage"):
        rows, cols = assign(sim, cand, np.ones_like(cand), mode, keep)
        assert (rows.tolist(), cols.tolist()) == ([0], [0])
    rows, cols = assign(sim, cand, np.ones_like(cand), "class_agnostic")
    assert (rows.tolist(), cols.tolist()) == ([0, 1], [1, 0])
