"""Krippendorff's alpha and Gwet's AC1 against the `krippendorff` package and worked examples from the literature."""

from __future__ import annotations

import math
import random
from typing import Any

import krippendorff
import numpy as np
import pytest
from benchmark_qa.agreement import (
    ABSENT,
    AC1Sums,
    AlphaSums,
    Shape,
    ac1_of_categories,
    alpha_by_definition,
    alpha_of_categories,
    ratings_table,
)
from hypothesis import given, settings
from hypothesis import strategies as st

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers x 12 units example; also
# `cac.raw4raters` in Gwet's irrCAC package (README of kgwet/irrCAC). None = not rated.
KRIPPENDORFF_2011: list[list[int | None]] = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
# irrCAC's cac.raw4raters is the same table with rater 3 and 4 of units 11-12 laid out differently:
CAC_RAW4RATERS: list[list[int | None]] = [
    [1, 1, None, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [None, 5, 5, 5],
    [None, None, 1, 1],
    [None, None, 3, None],
]


def _units(by_coder: list[list[int | None]]) -> list[list[int]]:
    return [[v for c in by_coder if (v := c[u]) is not None] for u in range(len(by_coder[0]))]


def _matrix(by_coder: list[list[int | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in by_coder], dtype=float)


def test_krippendorff_2011_worked_example() -> None:
    # The paper's results: nominal 0.743, interval 0.849.
    units = _units(KRIPPENDORFF_2011)
    assert alpha_of_categories(units).alpha == pytest.approx(0.743, abs=5e-4)
    assert alpha_by_definition(units, lambda a, b: float(a != b)) == pytest.approx(0.743, abs=5e-4)
    assert alpha_by_definition(units, lambda a, b: (a - b) ** 2) == pytest.approx(0.849, abs=5e-4)


def test_irrcac_raw4raters_worked_example() -> None:
    # Gwet's irrCAC README: AC1 0.77544 (pa 0.8181818, pe 0.1903212), Krippendorff's alpha 0.74342, 5 categories.
    units = [[v for v in row if v is not None] for row in CAC_RAW4RATERS]
    ac1 = ac1_of_categories(units, options=5)
    assert ac1.percent_agreement == pytest.approx(0.8181818, abs=1e-7)
    assert ac1.chance == pytest.approx(0.1903212, abs=1e-7)
    assert ac1.ac1 == pytest.approx(0.77544, abs=5e-6)
    assert alpha_of_categories(units).alpha == pytest.approx(0.74342, abs=5e-6)


def test_irrcac_distribution_of_six_raters() -> None:
    # irrCAC README, distrib.6raters: AC1 0.4448007 (pa 0.5511111, pe 0.1914815), alpha 0.4204384; q = 5.
    table = [
        [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
        [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
        [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    ]  # fmt: skip
    units = [[k for k, count in enumerate(row) for _ in range(count)] for row in table]
    ac1 = ac1_of_categories(units, options=5)
    assert ac1.percent_agreement == pytest.approx(0.5511111, abs=1e-7)
    assert ac1.chance == pytest.approx(0.1914815, abs=1e-7)
    assert ac1.ac1 == pytest.approx(0.4448007, abs=1e-7)
    assert alpha_of_categories(units).alpha == pytest.approx(0.4204384, abs=1e-7)


def test_irrcac_two_raters_contingency_table() -> None:
    # irrCAC README, cont3x3abstractors: AC1 0.8493305, Krippendorff's alpha 0.7972585.
    table = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]
    units = [[a, b] for a, row in enumerate(table) for b, count in enumerate(row) for _ in range(count)]
    assert ac1_of_categories(units, options=3).ac1 == pytest.approx(0.8493305, abs=1e-7)
    assert alpha_of_categories(units).alpha == pytest.approx(0.7972585, abs=1e-7)


def test_ac1_survives_the_kappa_paradox() -> None:
    # 2 raters agree on 95 of 100 units, nearly all "no": alpha is near zero, AC1 stays high (INCEpTION #6155).
    units = [["no", "no"]] * 95 + [["no", "yes"]] * 5
    matrix = np.array([[0.0] * 100, [0.0] * 95 + [1.0] * 5])
    alpha = alpha_of_categories(units).alpha
    assert alpha == pytest.approx(float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")))
    assert alpha is not None
    assert alpha < 0
    # p_a = 0.95, pi_no = 0.975, p_e = 2 * 0.975 * 0.025 = 0.04875: AC1 = 0.90125 / 0.95125
    assert ac1_of_categories(units, options=2).ac1 == pytest.approx(0.90125 / 0.95125)


ratings = st.lists(
    st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=2, max_size=5).filter(
        lambda u: sum(v is not None for v in u) >= 2
    ),
    min_size=2,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(ratings)
def test_nominal_alpha_matches_the_krippendorff_package(units_with_gaps: list[list[int | None]]) -> None:
    width = max(len(u) for u in units_with_gaps)
    matrix = np.array(
        [[np.nan if i >= len(u) or u[i] is None else u[i] for u in units_with_gaps] for i in range(width)],
        dtype=float,
    )
    units = [[v for v in u if v is not None] for u in units_with_gaps]
    ours = alpha_of_categories(units).alpha
    if len({v for u in units for v in u}) < 2:
        assert ours is None  # no variation: alpha is undefined
        return
    theirs = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert ours == pytest.approx(float(theirs), abs=1e-9)
    assert alpha_by_definition(units, lambda a, b: float(a != b)) == pytest.approx(float(theirs), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(ratings)
def test_interval_alpha_by_definition_matches_the_package(units_with_gaps: list[list[int | None]]) -> None:
    units = [[v for v in u if v is not None] for u in units_with_gaps]
    if len({v for u in units for v in u}) < 2:
        return
    width = max(len(u) for u in units_with_gaps)
    matrix = np.array(
        [[np.nan if i >= len(u) or u[i] is None else u[i] for u in units_with_gaps] for i in range(width)],
        dtype=float,
    )
    theirs = krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval")
    assert alpha_by_definition(units, lambda a, b: float((a - b) ** 2)) == pytest.approx(float(theirs), abs=1e-9)


def _spatial_case(rng: random.Random) -> tuple[list[list[object]], dict[tuple[object, object], float]]:
    """Units of shapes and ABSENT marks with random within-unit similarities."""
    units: list[list[object]] = []
    sims: dict[tuple[object, object], float] = {}
    for u in range(rng.randint(2, 12)):
        unit: list[object] = []
        for c in range(rng.randint(2, 5)):
            unit.append(ABSENT if rng.random() < 0.3 else Shape((u, c)))
        shapes = [v for v in unit if isinstance(v, Shape)]
        for i, a in enumerate(shapes):
            for b in shapes[i + 1 :]:
                sims[(a, b)] = sims[(b, a)] = rng.choice([0.0, 0.5, rng.random(), 1.0])
        units.append(unit)
    return units, sims


@pytest.mark.parametrize("seed", range(40))
def test_spatial_alpha_matches_the_package_with_a_custom_distance(seed: int) -> None:
    units, sims = _spatial_case(random.Random(seed))
    domain: list[object] = [ABSENT, *(v for u in units for v in u if isinstance(v, Shape))]
    index: dict[object, int] = {v: i for i, v in enumerate(domain)}
    distance = np.ones((len(domain), len(domain)))
    np.fill_diagonal(distance, 0.0)
    for (a, b), s in sims.items():
        distance[index[a], index[b]] = 1.0 - s
    counts = np.zeros((len(units), len(domain)))
    for u, unit in enumerate(units):
        for v in unit:
            counts[u, index[v]] += 1

    def distance_of(v1: Any, v2: Any, i1: Any, i2: Any, n_v: Any, dtype: Any = np.float64) -> Any:
        return np.asarray(distance[i1, i2], dtype=dtype)

    metric: Any = distance_of  # krippendorff's DistanceMetric protocol: value-domain indices -> distances

    sums = AlphaSums()
    for unit in units:
        sums.add_unit(unit, lambda a, b: sims[(a, b)])
    variation = sums.expected
    if variation is None or variation <= 0:
        assert sums.alpha is None
        return
    theirs = float(
        krippendorff.alpha(value_counts=counts, value_domain=list(range(len(domain))), level_of_measurement=metric)
    )
    assert sums.alpha == pytest.approx(theirs, abs=1e-9)
    brute = alpha_by_definition(
        units,
        lambda a, b: (
            0.0
            if a == b and not isinstance(a, Shape)
            else (1.0 - sims[(a, b)] if (a, b) in sims else (0.0 if a is b else 1.0))
        ),
    )
    assert sums.alpha == pytest.approx(brute, abs=1e-9)


def test_sums_add_across_tasks() -> None:
    rng = random.Random(7)
    tasks = [[[rng.choice("abc") for _ in range(rng.randint(2, 4))] for _ in range(10)] for _ in range(3)]
    whole = alpha_of_categories([u for t in tasks for u in t])
    parts = AlphaSums()
    for t in tasks:
        parts = parts + alpha_of_categories(t)
    assert parts.alpha == pytest.approx(whole.alpha)
    ac1_whole = ac1_of_categories([u for t in tasks for u in t], options=3)
    ac1_parts = AC1Sums(options=3)
    for t in tasks:
        ac1_parts = ac1_parts + ac1_of_categories(t, options=3)
    assert ac1_parts.ac1 == pytest.approx(ac1_whole.ac1)


def test_no_evidence_is_none_not_zero() -> None:
    assert AlphaSums().alpha is None
    assert alpha_of_categories([["a"], ["b"]]).alpha is None  # nothing pairable
    assert alpha_of_categories([["a", "a"], ["a", "a"]]).alpha is None  # no variation
    assert AC1Sums().ac1 is None
    assert ratings_table([{"x": 1, "y": None}]) == [[1]]
    assert math.isclose(ac1_of_categories([["a", "a"], ["b", "b"]], options=2).ac1 or 0, 1.0)
