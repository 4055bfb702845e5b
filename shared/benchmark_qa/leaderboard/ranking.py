"""Honest ranking: annotators are compared pairwise on the benchmark items both labelled, and only differences
the data shows survive.

* Test: the exact two-sided sign test on the shared items (an item's score is the annotator's mean over their
  tasks on it). It asks only "who scored higher on each item both labelled", so it needs no assumption about
  how scores are distributed, and it reads in plain words: "A scored higher on 18 of 20 shared items".
  Items where both scored the same are left out (as the test prescribes).
* Many pairs are tested at once, so p-values are corrected with Holm's step-down method: the chance that any
  difference shown is a fluke stays below `alpha` (5%) for the whole page.
* Rank = 1 + the number of annotators shown to be better, directly or through a chain (A > B and B > C means
  A > C). Annotators who cannot be told apart therefore share a rank, and two annotators with the same rank are
  never shown to differ (docs/leaderboard.md). Ties: the sign test, the ranks and the order are deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from benchmark_qa.leaderboard.model import PairComparison, RankGroup

ALPHA = 0.05


def sign_test(first_higher: int, second_higher: int) -> float:
    """Exact two-sided p-value of the sign test: P(|X - n/2| >= |k - n/2|) for X ~ Binomial(n, 1/2)."""
    n = first_higher + second_higher
    if n == 0:
        return 1.0
    k = min(first_higher, second_higher)
    # log C(n, j) for j = 0..k by the running product C(n, j) = C(n, j - 1) * (n - j + 1) / j
    j = np.arange(1, k + 1, dtype=np.float64)
    log_terms = np.concatenate([[0.0], np.cumsum(np.log((n - j + 1) / j))]) - n * math.log(2.0)
    top = float(log_terms.max())
    tail = math.exp(top) * float(np.exp(log_terms - top).sum())
    return min(1.0, 2.0 * tail)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (monotone, capped at 1), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: (p_values[i], i))
    adjusted = [0.0] * m
    running = 0.0
    for position, i in enumerate(order):
        running = max(running, min(1.0, (m - position) * p_values[i]))
        adjusted[i] = running
    return adjusted


def compare_pairs(
    items: Mapping[str, Mapping[str, float]], names: Sequence[str], alpha: float = ALPHA
) -> list[PairComparison]:
    """Every pair of `names` (in that order) with at least one shared item, tested and Holm-corrected.
    `items` maps annotator -> item (data hash) -> mean score on it."""
    index = sorted({item for name in names for item in items.get(name, {})})
    position = {item: k for k, item in enumerate(index)}
    scores = np.full((len(names), len(index)), np.nan)
    for row, name in enumerate(names):
        for item, value in items.get(name, {}).items():
            scores[row, position[item]] = value
    present = ~np.isnan(scores)
    raw: list[tuple[str, str, int, int, int, int]] = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            shared = present[i] & present[j]
            if not shared.any():
                continue
            diff = scores[i, shared] - scores[j, shared]
            tie = np.abs(diff) <= 1e-9  # float noise is a tie, not a win
            higher, lower = int(((diff > 0) & ~tie).sum()), int(((diff < 0) & ~tie).sum())
            raw.append((names[i], names[j], int(shared.sum()), higher, lower, int(tie.sum())))
    p_values = [sign_test(a, b) for _, _, _, a, b, _ in raw]
    adjusted = holm(p_values)
    out = []
    for (first, second, shared_n, a, b, ties), p, q in zip(raw, p_values, adjusted, strict=True):
        better = (first if a > b else second) if q < alpha else None
        out.append(
            PairComparison(
                first=first,
                second=second,
                shared_items=shared_n,
                first_higher=a,
                second_higher=b,
                ties=ties,
                p_value=p,
                p_adjusted=q,
                better=better,
            )
        )
    return out


def ranks(names: Sequence[str], comparisons: Sequence[PairComparison]) -> dict[str, int]:
    """1 + the number of annotators shown to be better, through chains of shown differences."""
    k = {name: i for i, name in enumerate(names)}
    above = np.zeros((len(names), len(names)), dtype=bool)  # above[i, j]: i is shown to be better than j
    for c in comparisons:
        if c.better is not None:
            worse = c.second if c.better == c.first else c.first
            above[k[c.better], k[worse]] = True
    for middle in range(len(names)):  # transitive closure (Warshall)
        above |= above[:, [middle]] & above[[middle], :]
    np.fill_diagonal(above, False)
    return {name: 1 + int(above[:, k[name]].sum()) for name in names}


def _list(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def groups(order: Sequence[str], rank_of: Mapping[str, int], comparisons: Sequence[PairComparison]) -> list[RankGroup]:
    """The annotators of each rank, with what the data does and does not show about them, in plain words."""
    tested = {frozenset((c.first, c.second)) for c in comparisons}
    out: list[RankGroup] = []
    for rank in sorted(set(rank_of.values())):
        members = [n for n in order if rank_of[n] == rank]
        if len(members) == 1:
            inside = ""
        else:
            pairs = [frozenset((a, b)) for i, a in enumerate(members) for b in members[i + 1 :]]
            untested = sum(1 for pair in pairs if pair not in tested)
            inside = (
                "They cannot be told apart: no difference among them is shown on the benchmark items they share"
                + (f" ({untested} of the {len(pairs)} pairs share no item)." if untested else ".")
                + " "
            )
        others = f"{rank - 1} other annotator{'s' if rank > 2 else ''}"
        chain = "(directly, or through a chain of shown differences)"
        if rank == 1:
            outside = "No annotator is shown to be better."
        elif len(members) > 1:
            outside = f"Each is shown to be worse than {others} {chain}."
        else:
            outside = f"Shown to be worse than {others} {chain}."
        out.append(RankGroup(rank=rank, annotators=members, words=f"Rank {rank}: {_list(members)}. {inside}{outside}"))
    return out
