"""The integer-column shortcuts (ordering.py, and the table lookups of the engine and tracking) return exactly
what the numpy calls they replace return, on random columns with ties, negative values, empty columns and ranges
too wide for their tables (where they fall back to numpy)."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_qa.scoring import comparison, engine, tracking
from benchmark_qa.scoring.ordering import common_ints, contains, distinct_ints, lexsort_ints, union_sorted

DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32]


def _column(rng: np.random.Generator, n: int, low: int, high: int, dtype: type) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(max(low, info.min), min(high, info.max), n, endpoint=True).astype(dtype)


@pytest.mark.parametrize("seed", range(12))
def test_lexsort_ints_is_numpys_lexsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    keys = []
    for _ in range(int(rng.integers(1, 5))):
        dtype = DTYPES[int(rng.integers(len(DTYPES)))]
        low, high = [(0, 3), (-5, 5), (0, 10_000), (-(2**40), 2**40), (0, 1)][int(rng.integers(5))]
        keys.append(_column(rng, n, low, high, dtype))
    if seed % 3 == 0 and n:
        keys.append(rng.random(n) < 0.5)  # a bool key
    np.testing.assert_array_equal(lexsort_ints(tuple(keys)), np.lexsort(tuple(keys)))


def test_lexsort_ints_falls_back_where_the_folded_key_would_overflow_or_a_key_is_not_integer() -> None:
    rng = np.random.default_rng(0)
    wide = rng.integers(-(2**62), 2**62, 300)
    small = rng.integers(0, 3, 300)  # many ties: the input order decides among them
    for keys in ((small, wide), (wide, small), (wide, wide), (rng.random(300), small), (small,)):
        np.testing.assert_array_equal(lexsort_ints(keys), np.lexsort(keys))


@pytest.mark.parametrize("seed", range(10))
def test_distinct_and_common_ints_are_numpys_unique_and_intersect1d(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for dtype in DTYPES:
        for low, high in [(0, 20), (0, 100_000_000), (-10, 10), (0, 0)]:
            a = _column(rng, int(rng.integers(0, 300)), low, high, dtype)
            b = _column(rng, int(rng.integers(0, 300)), low, high, dtype)
            for got, want in (
                (distinct_ints(a), np.unique(a)),
                (common_ints(a, b), np.intersect1d(a, b)),
                (union_sorted(np.sort(a), np.sort(b)), np.union1d(a, b)),
                (union_sorted(a, b), np.union1d(a, b)),  # not sorted: still the union, only slower
                (contains(np.sort(b), a), np.isin(a, b)),
            ):
                np.testing.assert_array_equal(got, want)
                assert got.dtype == want.dtype
    mixed = (np.array([3, 1, 2], dtype=np.int32), np.array([2, 3, 9], dtype=np.int64))
    np.testing.assert_array_equal(common_ints(*mixed), np.intersect1d(*mixed))
    np.testing.assert_array_equal(union_sorted(*mixed), np.union1d(*mixed))


@pytest.mark.parametrize("seed", range(6))
def test_flat_cells_are_numpys_nonzero(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(0, 7, 3))
    mask = rng.random(shape) < [0.0, 0.1, 0.5, 1.0][seed % 4]
    for got, want in zip(comparison._cells(np.flatnonzero(mask), mask.shape), np.nonzero(mask), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(6))
def test_box_grid_holds_each_groups_indices_in_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 6, 40)
    counts[0] = 5
    order = rng.permutation(int(counts.sum()))
    starts = np.cumsum(counts) - counts
    idx = comparison._grid(order, starts, counts, 5)
    boxes = rng.random((int(counts.sum()), 5))
    fill = (-1.0, -2.0, 0.0, 0.0)
    arr = comparison._fill(boxes, idx, idx < 0, np.empty((len(counts), 5, 5)), fill)
    for g, (start, count) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
        src = order[start : start + count]
        np.testing.assert_array_equal(idx[g], [*src, *[-1] * (5 - count)])
        np.testing.assert_array_equal(arr[g], [*boxes[src, :4], *[fill] * (5 - count)])


@pytest.mark.parametrize("seed", range(6))
def test_track_positions_are_searchsorted(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = np.unique(rng.integers(0, [30, 5_000, 10**9][seed % 3], 25))
    inside = ids[rng.integers(0, len(ids), 200)]
    outside = rng.integers(0, int(ids.max()) + 3, 200)  # values that are no id: the search's answer
    for values in (inside, outside, inside[:0], np.array([int(ids.max()) + 1])):
        np.testing.assert_array_equal(tracking._positions(ids, values), np.searchsorted(ids, values))
    np.testing.assert_array_equal(tracking._positions(ids[:0], inside), np.searchsorted(ids[:0], inside))


def test_take_is_the_list_of_each_indexed_value() -> None:
    rng = np.random.default_rng(0)
    names = [f"object{k}" for k in range(7)]
    for index in (rng.integers(0, 7, 50), np.full(30, 4), np.zeros(0, dtype=np.int64), np.array([6])):
        got = engine._take(names, index)
        assert got == [names[i] for i in index.tolist()]
        assert all(a is names[i] for a, i in zip(got, index.tolist(), strict=True))  # the same str objects


@pytest.mark.parametrize("seed", range(8))
def test_contains_is_numpys_isin_on_int64_columns_dense_and_sparse(seed: int) -> None:
    """contains() answers from a presence table where the sorted column's range is small, by binary search
    otherwise: both are np.isin, with keys below, inside and above the range."""
    rng = np.random.default_rng(seed)
    for low, high in [(0, 50), (-30, 30), (10**6, 10**6 + 5_000), (0, 2**40), (-(2**62), 2**62)]:
        ordered = np.sort(rng.integers(low, high, int(rng.integers(1, 300)), endpoint=True))
        span = high - low
        keys = rng.integers(max(low - span // 4, -(2**63)), min(high + span // 4, 2**63 - 1), 500, endpoint=True)
        keys[::7] = ordered[rng.integers(0, len(ordered), len(keys[::7]))]  # many hits, ties included
        got = contains(ordered, keys)
        np.testing.assert_array_equal(got, np.isin(keys, ordered))
        assert got.dtype == np.bool_
