"""Optimal rectangular assignment (minimum total cost), numpy only.

The shortest-augmenting-path algorithm of Jonker & Volgenant in Crouse's rectangular form (D. F. Crouse, "On
implementing 2D rectangular assignment algorithms", IEEE TAES 2016), the one scipy's `linear_sum_assignment`
implements. It lives here so the Lambda layer does not ship scipy (120 MB) for one function.

Rows are augmented one at a time along a shortest path in reduced costs (Dijkstra over the columns, vectorised
per step), with dual variables kept so reduced costs stay non-negative. Every choice follows scipy's order
(columns scanned in the same "remaining" order, among equally short paths a free column wins), so on the same
matrix the result is the same, ties included; it is deterministic in any case: no randomness, no hashing.
"""

from __future__ import annotations

import numpy as np

__all__ = ["linear_sum_assignment"]

_LIST_COLUMNS = 128  # measured crossover of the two scans (about 150-200 columns)
_INF = float("inf")


def linear_sum_assignment(cost: np.ndarray, maximize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a minimum-cost (maximum with `maximize`) assignment of min(n, m) pairs of an (n, m)
    matrix, rows ascending. `+inf` (`-inf` when maximising) marks a forbidden pair; NaN, the opposite infinity
    and a matrix with no complete assignment are ValueErrors, as in scipy."""
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"expected a matrix (2-d array), got a {c.ndim}-d array")
    if c.size == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    transpose = c.shape[1] < c.shape[0]
    if transpose:  # the algorithm augments every row, so it needs rows <= columns
        c = c.T
    if maximize:
        c = -c
    if np.isnan(c).any() or np.isneginf(c).any():
        raise ValueError("matrix contains invalid numeric entries")
    # Python lists beat numpy's per-call overhead on the small per-frame matrices; numpy wins on wide ones
    col4row = _solve_lists(c) if c.shape[1] <= _LIST_COLUMNS else _solve_arrays(np.ascontiguousarray(c))
    if transpose:
        order = np.argsort(col4row, kind="stable")
        return col4row[order], order.astype(np.intp)
    return np.arange(len(col4row), dtype=np.intp), col4row


def _solve_lists(cost: np.ndarray) -> np.ndarray:
    """The algorithm with a scalar scan, for small matrices. Same steps, same order as `_solve_arrays`."""
    nr, nc = cost.shape
    rows = cost.tolist()
    u = [0.0] * nr
    v = [0.0] * nc
    col4row = [-1] * nr
    row4col = [-1] * nc
    path = [-1] * nc
    for cur_row in range(nr):
        shortest = [_INF] * nc
        remaining = list(range(nc - 1, -1, -1))
        visited_rows = [cur_row]
        visited_cols: list[int] = []
        min_val = 0.0
        i = cur_row
        sink = -1
        while sink == -1:
            lowest = _INF
            index = -1
            row, ui = rows[i], u[i]
            for it, j in enumerate(remaining):
                reduced = min_val + row[j] - ui - v[j]  # same operation order as scipy: same rounding
                if reduced < shortest[j]:
                    path[j] = i
                    shortest[j] = reduced
                s = shortest[j]
                if s < lowest or (s == lowest and row4col[j] == -1):  # a free column wins a tie
                    lowest = s
                    index = it
            if lowest == _INF:
                raise ValueError("cost matrix is infeasible")
            min_val = lowest
            j = remaining[index]
            if row4col[j] == -1:
                sink = j
            else:
                i = row4col[j]
                visited_rows.append(i)
            visited_cols.append(j)
            remaining[index] = remaining[-1]
            remaining.pop()
        u[cur_row] += min_val
        for r in visited_rows[1:]:
            u[r] += min_val - shortest[col4row[r]]
        for j in visited_cols:
            v[j] -= min_val - shortest[j]
        j = sink
        while True:
            i = path[j]
            row4col[j] = i
            col4row[i], j = j, col4row[i]
            if i == cur_row:
                break
    return np.asarray(col4row, dtype=np.intp)


def _solve_arrays(cost: np.ndarray) -> np.ndarray:
    """The algorithm with the column scan vectorised, for wide matrices."""
    nr, nc = cost.shape
    u = np.zeros(nr)
    v = np.zeros(nc)
    col4row = np.full(nr, -1, dtype=np.intp)
    row4col = np.full(nc, -1, dtype=np.intp)
    path = np.full(nc, -1, dtype=np.intp)
    for cur_row in range(nr):
        sink, min_val, shortest, visited_rows, visited_cols = _shortest_path(cost, u, v, row4col, path, cur_row)
        # dual update keeps every reduced cost >= 0 and the augmenting path's at 0
        u[cur_row] += min_val
        if len(visited_rows) > 1:
            others = np.asarray(visited_rows[1:], dtype=np.intp)
            u[others] += min_val - shortest[col4row[others]]
        cols = np.asarray(visited_cols, dtype=np.intp)
        v[cols] -= min_val - shortest[cols]
        # flip the path's edges back to cur_row
        j = sink
        while True:
            i = int(path[j])
            row4col[j] = i
            col4row[i], j = j, int(col4row[i])
            if i == cur_row:
                break
    return col4row


def _shortest_path(
    cost: np.ndarray, u: np.ndarray, v: np.ndarray, row4col: np.ndarray, path: np.ndarray, cur_row: int
) -> tuple[int, float, np.ndarray, list[int], list[int]]:
    """Dijkstra from cur_row over reduced costs to the nearest free column (the sink); fills `path`.
    `remaining` keeps scipy's scan order (reversed, swap-remove) so ties resolve the same way."""
    nc = cost.shape[1]
    shortest = np.full(nc, np.inf)
    remaining = np.arange(nc - 1, -1, -1, dtype=np.intp)
    num_remaining = nc
    visited_rows = [cur_row]
    visited_cols: list[int] = []
    min_val = 0.0
    i = cur_row
    while True:
        rem = remaining[:num_remaining]
        reduced = min_val + cost[i, rem] - u[i] - v[rem]  # same operation order as scipy: same rounding
        shorter = reduced < shortest[rem]
        if shorter.any():
            path[rem[shorter]] = i
            shortest[rem[shorter]] = reduced[shorter]
        dist = shortest[rem]
        lowest = float(dist.min())
        if lowest == np.inf:
            raise ValueError("cost matrix is infeasible")
        at_lowest = np.flatnonzero(dist == lowest)
        free = at_lowest[row4col[rem[at_lowest]] == -1]
        # scipy's tie rule: the last free column among the nearest, else the first nearest
        index = int(free[-1]) if len(free) else int(at_lowest[0])
        min_val = lowest
        j = int(rem[index])
        visited_cols.append(j)
        if row4col[j] == -1:
            return j, min_val, shortest, visited_rows, visited_cols
        i = int(row4col[j])
        visited_rows.append(i)
        num_remaining -= 1
        remaining[index] = remaining[num_remaining]
