"""Agreement between annotators without ground truth: Krippendorff's alpha and Gwet's AC1 (docs/annotator-quality.md).

Pure: numbers in, numbers out. Both statistics are kept as *sums* (`AlphaSums`, `AC1Sums`) that add across
tasks, so a per-class or per-pair figure over a month is the sums of its tasks, never an average of alphas.

Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"), pairable-values form:

    alpha = 1 - D_o / D_e
    D_o = 1/n * sum_u 1/(m_u - 1) * sum_{i != j in u} delta(v_i, v_j)          (observed, within units)
    D_e = 1/(n (n - 1)) * sum_{i != j over all pairable values} delta(v_i, v_j)   (expected, any two values)

where a unit u holds the m_u >= 2 values coders gave it and n = sum m_u. Two kinds of value are supported,
which is what lets the sums add up across tasks:

* **categories** (class names, attribute answers, and the "absent" mark ABSENT): delta = 0 for equal categories,
  1 otherwise (the nominal metric);
* **shapes** (one annotator's object in one unit): within a unit delta = 1 - similarity (1 - IoU, 1 - OKS, 1 - range
  IoU, ...), given by the caller; a shape differs (delta = 1) from every value of every other unit, and from
  ABSENT. A shape is its own category, so D_e needs only the category counts and the within-unit sums.

Gwet's AC1 (Gwet 2008; Gwet 2014, Handbook ch. 2 and 5), multi-rater with missing ratings, unweighted:

    AC1 = (p_a - p_e) / (1 - p_e)
    p_a = 1/n2 * sum_{u: r_u >= 2} sum_k r_uk (r_uk - 1) / (r_u (r_u - 1))
    p_e = 1/(q - 1) * sum_k pi_k (1 - pi_k),   pi_k = 1/n1 * sum_{u: r_u >= 1} r_uk / r_u

with q the number of categories the question offers (the ontology's options), not only those seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

ABSENT = "<absent>"  # a coder saw the unit but gave it no value (e.g. drew no box where others did)


@dataclass(frozen=True)
class Shape:
    """One coder's object in one unit; equal only to itself (`key` makes it unique)."""

    key: Hashable


Value = Hashable  # a category (str, frozenset, number) or a Shape


# ---------------------------------------------------------------------------------------------- alpha
class AlphaSums(BaseModel):
    """Additive sums behind Krippendorff's alpha (see the module doc)."""

    units: int = 0  # units with at least two values
    n: int = 0  # pairable values
    observed: float = 0.0  # sum_u 1/(m_u - 1) * sum_{i != j in u} delta
    within_delta: float = 0.0  # sum_u sum_{i != j in u} delta
    within_pairs: int = 0  # sum_u m_u (m_u - 1)
    categories: dict[str, int] = Field(default_factory=dict)  # category -> values (pairable) in that category
    within_same: int = 0  # sum_u sum_c n_uc (n_uc - 1): ordered same-category pairs inside units

    def add_unit(self, values: Sequence[Value], similarity: Callable[[Value, Value], float] | None = None) -> None:
        """Add one unit. `similarity(a, b)` in [0, 1] is asked for pairs of two shapes only."""
        m = len(values)
        if m < 2:
            return  # a value nobody else rated is not pairable
        total = 0.0
        for i in range(m):
            for j in range(i + 1, m):
                total += 2.0 * _delta(values[i], values[j], similarity)
        self.units += 1
        self.n += m
        self.observed += total / (m - 1)
        self.within_delta += total
        self.within_pairs += m * (m - 1)
        counts = Counter(_category(v) for v in values if not isinstance(v, Shape))
        for category, count in counts.items():
            self.categories[category] = self.categories.get(category, 0) + count
            self.within_same += count * (count - 1)

    def __add__(self, other: AlphaSums) -> AlphaSums:
        categories = dict(self.categories)
        for k, v in other.categories.items():
            categories[k] = categories.get(k, 0) + v
        return AlphaSums(
            units=self.units + other.units,
            n=self.n + other.n,
            observed=self.observed + other.observed,
            within_delta=self.within_delta + other.within_delta,
            within_pairs=self.within_pairs + other.within_pairs,
            categories=categories,
            within_same=self.within_same + other.within_same,
        )

    @property
    def expected(self) -> float | None:
        """D_e: disagreement between two values drawn from anywhere."""
        n = self.n
        if n < 2:
            return None
        cross_pairs = n * (n - 1) - self.within_pairs
        cross_same = sum(c * (c - 1) for c in self.categories.values()) - self.within_same
        return (self.within_delta + cross_pairs - cross_same) / (n * (n - 1))

    @property
    def alpha(self) -> float | None:
        """None without evidence, or when every value is the same category (no variation: alpha undefined)."""
        expected = self.expected
        if expected is None or expected <= 0:
            return None
        return 1.0 - (self.observed / self.n) / expected


class AlphaTally:
    """`AlphaSums` being added up unit by unit, in plain attributes: a task adds hundreds of thousands of units and
    a pydantic attribute assignment costs about a microsecond. `sums()` is the model; a unit added here adds
    exactly what `AlphaSums.add_unit` adds for it (same float operations, same order, categories first seen
    first)."""

    __slots__ = ("categories", "n", "observed", "units", "within_delta", "within_pairs", "within_same")

    def __init__(self) -> None:
        self.units = 0
        self.n = 0
        self.observed = 0.0
        self.within_delta = 0.0
        self.within_pairs = 0
        self.categories: dict[str, int] = {}
        self.within_same = 0

    def add(self, m: int, total: float, category: str = "", count: int = 0) -> None:
        """One unit of m >= 2 values whose deltas sum to `total` (sum over i < j of 2 delta, in that order), with
        `count` values of one `category` and shapes for the rest."""
        self.units += 1
        self.n += m
        self.observed += total / (m - 1)
        self.within_delta += total
        self.within_pairs += m * (m - 1)
        if count:
            self.categories[category] = self.categories.get(category, 0) + count
            self.within_same += count * (count - 1)

    def add_categories(self, counts: Mapping[str, int]) -> None:
        """One unit of categories only, given as category -> values (first seen first); nothing below two."""
        m = sum(counts.values())
        if m < 2:
            return
        same = 0
        categories = self.categories
        for category, count in counts.items():
            categories[category] = categories.get(category, 0) + count
            same += count * (count - 1)
        # the nominal deltas are 0 and 1, so their sum (2 per unequal pair) is exact in any order
        self.add(m, float(m * (m - 1) - same))
        self.within_same += same

    def sums(self) -> AlphaSums:
        return AlphaSums(
            units=self.units,
            n=self.n,
            observed=self.observed,
            within_delta=self.within_delta,
            within_pairs=self.within_pairs,
            categories=self.categories,
            within_same=self.within_same,
        )


def category_counts(values: Iterable[Value]) -> dict[str, int]:
    """category -> values in it, first seen first (as `Counter` of the categories)."""
    counts: dict[str, int] = {}
    for value in values:
        category = _category(value)
        counts[category] = counts.get(category, 0) + 1
    return counts


def _category(value: Value) -> str:
    if isinstance(value, frozenset):
        return "{" + ",".join(sorted(map(str, value))) + "}"
    return str(value)


def _delta(a: Value, b: Value, similarity: Callable[[Value, Value], float] | None) -> float:
    if isinstance(a, Shape) and isinstance(b, Shape):
        if similarity is None:
            raise ValueError("two shapes in one unit need a similarity")
        return 1.0 - min(max(similarity(a, b), 0.0), 1.0)
    if isinstance(a, Shape) or isinstance(b, Shape):
        return 1.0
    return 0.0 if _category(a) == _category(b) else 1.0


def alpha_by_definition(units: Sequence[Sequence[Any]], distance: Callable[[Any, Any], float]) -> float | None:
    """Krippendorff's alpha straight from the definition, for any distance (interval: (a-b)^2, ...). O(n^2):
    for tests, worked examples and small per-task tables; the pipeline uses `AlphaSums`."""
    pairable = [list(u) for u in units if len(u) >= 2]
    n = sum(len(u) for u in pairable)
    if n < 2:
        return None
    observed = (
        sum(
            sum(distance(u[i], u[j]) for i in range(len(u)) for j in range(len(u)) if i != j) / (len(u) - 1)
            for u in pairable
        )
        / n
    )
    flat = [v for u in pairable for v in u]
    expected = sum(distance(flat[i], flat[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    if expected <= 0:
        return None
    return 1.0 - observed / expected


# ---------------------------------------------------------------------------------------------- AC1
class AC1Sums(BaseModel):
    """Additive sums behind Gwet's AC1 (see the module doc); `options` is q, the categories on offer."""

    options: int = 0
    n1: int = 0  # units with at least one rating
    n2: int = 0  # units with at least two ratings
    agreement: float = 0.0  # sum of per-unit agreement over n2 units
    shares: dict[str, float] = Field(default_factory=dict)  # category -> sum_u r_uk / r_u

    def add_unit(self, ratings: Sequence[Value]) -> None:
        r = len(ratings)
        if r == 0:
            return
        counts = Counter(_category(v) for v in ratings)
        self.n1 += 1
        for category, count in counts.items():
            self.shares[category] = self.shares.get(category, 0.0) + count / r
        if r >= 2:
            self.n2 += 1
            self.agreement += sum(c * (c - 1) for c in counts.values()) / (r * (r - 1))

    def __add__(self, other: AC1Sums) -> AC1Sums:
        shares = dict(self.shares)
        for k, v in other.shares.items():
            shares[k] = shares.get(k, 0.0) + v
        return AC1Sums(
            options=max(self.options, other.options),
            n1=self.n1 + other.n1,
            n2=self.n2 + other.n2,
            agreement=self.agreement + other.agreement,
            shares=shares,
        )

    @property
    def percent_agreement(self) -> float | None:
        return self.agreement / self.n2 if self.n2 else None

    @property
    def chance(self) -> float | None:
        q = max(self.options, len(self.shares))
        if not self.n1 or q < 2:
            return None
        return sum((s / self.n1) * (1 - s / self.n1) for s in self.shares.values()) / (q - 1)

    @property
    def ac1(self) -> float | None:
        pa, pe = self.percent_agreement, self.chance
        if pa is None or pe is None or pe >= 1:
            return None
        return (pa - pe) / (1 - pe)


class AC1Tally:
    """`AC1Sums` being added up in plain attributes (see `AlphaTally`)."""

    __slots__ = ("agreement", "n1", "n2", "options", "shares")

    def __init__(self, options: int = 0) -> None:
        self.options = options
        self.n1 = 0
        self.n2 = 0
        self.agreement = 0.0
        self.shares: dict[str, float] = {}

    def add_categories(self, counts: Mapping[str, int]) -> None:
        """One unit given as category -> ratings (first seen first), as `AC1Sums.add_unit`."""
        r = sum(counts.values())
        if r == 0:
            return
        self.n1 += 1
        shares = self.shares
        for category, count in counts.items():
            shares[category] = shares.get(category, 0.0) + count / r
        if r >= 2:
            self.n2 += 1
            self.agreement += sum(c * (c - 1) for c in counts.values()) / (r * (r - 1))

    def sums(self) -> AC1Sums:
        return AC1Sums(options=self.options, n1=self.n1, n2=self.n2, agreement=self.agreement, shares=self.shares)


# ---------------------------------------------------------------------------------------------- tables
def ratings_table(rows: Iterable[Mapping[str, Value | None]]) -> list[list[Value]]:
    """Units as lists of the values given, from rows of coder -> value (None: not rated)."""
    return [[v for v in row.values() if v is not None] for row in rows]


def alpha_of_categories(units: Iterable[Sequence[Value]]) -> AlphaSums:
    """Alpha of units of category values, through the tally task_agreement adds its units in."""
    tally = AlphaTally()
    for unit in units:
        tally.add_categories(category_counts(unit))
    return tally.sums()


def ac1_of_categories(units: Iterable[Sequence[Value]], options: int = 0) -> AC1Sums:
    tally = AC1Tally(options)
    for unit in units:
        tally.add_categories(category_counts(unit))
    return tally.sums()
