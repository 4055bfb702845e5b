"""Sorting and set operations on integer columns (frames, data units, object and track indices), with numpy's
results bit for bit but without its general-purpose cost on the hundreds of thousands of annotations of a long
video: several sort keys folded into one, and presence tables where the values are small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_FOLD_LIMIT = 2**62  # mixed-radix keys stay below this: no int64 overflow


def lexsort_ints(keys: Sequence[np.ndarray]) -> np.ndarray:
    """np.lexsort(keys) (the last key primary, ties in input order) for integer keys.

    The keys are folded into one mixed-radix int64 key ((k - min) * span of the keys before it) whose order is
    the keys' lexicographic order, then sorted with a stable argsort: one sort instead of one per key, and a fast
    one on columns that are already nearly in order (frames read in order). Falls back to np.lexsort where the
    folded key would not fit in int64 or a key is not integer."""
    if not len(keys) or not len(keys[0]) or any(k.dtype.kind not in "iub" for k in keys):
        return np.lexsort(keys)
    folded: np.ndarray | None = None
    span = 1
    for key in keys:  # least significant first
        low, high = int(key.min()), int(key.max())
        width = high - low + 1
        if span * width >= _FOLD_LIMIT:
            return np.lexsort(keys)
        part = key.astype(np.int64)  # a copy, so the steps below can be in place (no temporary per step)
        if low:
            part -= low
        if folded is None:
            folded = part
        else:
            part *= span
            folded += part
        span *= width
    assert folded is not None
    order: np.ndarray = np.argsort(folded, kind="stable")
    return order


def _dense(values: np.ndarray, extra: int = 0) -> bool:
    """Non-negative values small enough for a presence table of about their own size."""
    return bool(values.min() >= 0) and int(values.max()) <= 4 * (len(values) + extra) + 4096


def distinct_ints(values: np.ndarray) -> np.ndarray:
    """np.unique(values) for integers: a presence table where the values are small and non-negative."""
    if not len(values) or values.dtype.kind != "i" or not _dense(values):
        return np.unique(values)
    present = np.flatnonzero(np.bincount(values)).astype(values.dtype)
    return present


def common_ints(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.intersect1d(a, b) for integers of one dtype: presence tables where the values are small and
    non-negative."""
    if not len(a) or not len(b) or a.dtype != b.dtype or a.dtype.kind not in "iu":
        return np.intersect1d(a, b)
    if not (_dense(a, len(b)) and _dense(b, len(a))):
        return np.intersect1d(a, b)
    top = max(int(a.max()), int(b.max())) + 1
    in_a = np.zeros(top, dtype=bool)
    in_a[a] = True
    in_b = np.zeros(top, dtype=bool)
    in_b[b] = True
    in_a &= in_b
    return np.flatnonzero(in_a).astype(a.dtype)


def union_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.union1d(a, b) for arrays of one dtype; fast when each is ascending (a stable sort merges the two runs in
    one pass), right for any."""
    if a.dtype != b.dtype:
        return np.union1d(a, b)
    both = np.concatenate([a, b])
    both.sort(kind="stable")
    if len(both) < 2:
        return both
    first = np.empty(len(both), dtype=bool)
    first[0] = True
    np.not_equal(both[1:], both[:-1], out=first[1:])
    out: np.ndarray = both[first]
    return out


def contains(ordered: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """np.isin(keys, ordered) for an ascending array: one binary search per key instead of sorting both, or a
    presence table over ordered's range where that is small (int64 columns: frame keys of one data unit)."""
    if len(ordered) == 0:
        return np.zeros(len(keys), dtype=bool)
    low, high = int(ordered[0]), int(ordered[-1])
    if ordered.dtype == keys.dtype == np.int64 and high - low <= 4 * (len(ordered) + len(keys)) + 4096:
        table = np.zeros(high - low + 1, dtype=bool)
        table[ordered - low] = True
        at = np.clip(keys, low, high)  # low and high are members: a clipped key is found only if it was in range
        inside: np.ndarray = at == keys
        at -= low
        inside &= table[at]
        return inside
    at = np.minimum(np.searchsorted(ordered, keys), len(ordered) - 1)
    found: np.ndarray = ordered[at] == keys
    return found
