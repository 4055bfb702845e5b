"""The engine's own assignment solver against scipy (a dev-only dependency) and brute force, and proof that
scoring never imports scipy."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from benchmark_qa.scoring import Ontology, matching, score_label_rows, tracking
from benchmark_qa.scoring import assignment as solver
from benchmark_qa.scoring.assignment import linear_sum_assignment
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import linear_sum_assignment as scipy_lsa

from .conftest import FIXTURES, MODALITIES, pair

# few distinct values provoke ties; 1e6 is matching's "not a candidate" cost; inf is a forbidden pair
_VALUES = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1e6, -3.0, float("inf")])
_FLOATS = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


def _matrix(elements: st.SearchStrategy[float], side: int = 7) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=side), elements=elements
    )


def _scipy_or_none(cost: np.ndarray, maximize: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        r, c = scipy_lsa(cost, maximize=maximize)
    except ValueError:  # infeasible
        return None
    return np.asarray(r), np.asarray(c)


def _check_valid(cost: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    n, m = cost.shape
    assert len(rows) == len(cols) == min(n, m)
    assert len(set(rows.tolist())) == len(rows)
    assert len(set(cols.tolist())) == len(cols)
    assert rows.tolist() == sorted(rows.tolist())
    assert all(0 <= r < n for r in rows.tolist())
    assert all(0 <= c < m for c in cols.tolist())
    assert np.isfinite(cost[rows, cols]).all()


SCANS = pytest.mark.parametrize("scan", ["lists", "arrays"])


def _using(scan: str) -> Any:
    """Force one of the two column scans (the solver picks one by width), so both are checked."""
    return patch.object(solver, "_LIST_COLUMNS", 10**9 if scan == "lists" else -1)


@SCANS
@settings(max_examples=400, deadline=None)
@given(cost=st.one_of(_matrix(_VALUES), _matrix(_FLOATS)), maximize=st.booleans())
def test_matches_scipy(scan: str, cost: np.ndarray, maximize: bool) -> None:
    with _using(scan):
        _check_against_scipy(cost, maximize)


def _check_against_scipy(cost: np.ndarray, maximize: bool) -> None:
    if maximize:
        cost = np.where(np.isposinf(cost), -np.inf, cost)  # forbidden pairs when maximising
    expected = _scipy_or_none(cost, maximize)
    if expected is None:
        with pytest.raises(ValueError, match="infeasible"):
            linear_sum_assignment(cost, maximize=maximize)
        return
    rows, cols = linear_sum_assignment(cost, maximize=maximize)
    _check_valid(cost, rows, cols)
    assert cost[rows, cols].sum() == pytest.approx(cost[expected].sum(), rel=1e-12, abs=1e-9)
    # same algorithm, same scan order, same tie rule: the very same pairs, ties included
    assert rows.tolist() == expected[0].tolist()
    assert cols.tolist() == expected[1].tolist()


@SCANS
@settings(max_examples=300, deadline=None)
@given(cost=_matrix(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0, float("inf")]), side=5))
def test_optimal_against_brute_force(scan: str, cost: np.ndarray) -> None:
    with _using(scan):
        _check_against_brute_force(cost)


def _check_against_brute_force(cost: np.ndarray) -> None:
    n, m = cost.shape
    k = min(n, m)
    best = np.inf
    for rows in itertools.combinations(range(n), k):
        for cols in itertools.permutations(range(m), k):
            best = min(best, float(cost[list(rows), list(cols)].sum()))
    if k and not np.isfinite(best):
        with pytest.raises(ValueError, match="infeasible"):
            linear_sum_assignment(cost)
        return
    rows_, cols_ = linear_sum_assignment(cost)
    _check_valid(cost, rows_, cols_)
    assert float(cost[rows_, cols_].sum()) == pytest.approx(best if k else 0.0, abs=1e-9)


@SCANS
@pytest.mark.parametrize("shape", [(150, 200), (200, 150), (40, 300), (300, 40), (130, 130)])
def test_larger_matrices_match_scipy(scan: str, shape: tuple[int, int]) -> None:
    with _using(scan):
        _check_large(shape)


def _check_large(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    cost = 1.0 - rng.random(shape)
    cost[rng.random(shape) < 0.8] = 1e6  # sparse candidates, as in matching
    cost[:, ::7] = np.round(cost[:, ::7], 1)  # and some ties
    rows, cols = linear_sum_assignment(cost)
    expected = scipy_lsa(cost)
    _check_valid(cost, rows, cols)
    assert rows.tolist() == expected[0].tolist()
    assert cols.tolist() == expected[1].tolist()


def test_invalid_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="invalid"):
        linear_sum_assignment(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="invalid"):
        linear_sum_assignment(np.array([[0.0, -np.inf]]))
    with pytest.raises(ValueError, match="invalid"):
        linear_sum_assignment(np.array([[0.0, np.inf]]), maximize=True)
    with pytest.raises(ValueError, match="infeasible"):
        linear_sum_assignment(np.array([[np.inf, np.inf], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="2-d"):
        linear_sum_assignment(np.zeros(3))
    for shape in [(0, 0), (0, 3), (3, 0)]:
        rows, cols = linear_sum_assignment(np.zeros(shape))
        assert rows.shape == cols.shape == (0,)
        assert rows.dtype == cols.dtype == np.intp


@SCANS
def test_all_ties_are_deterministic(scan: str) -> None:
    with _using(scan):
        for cost in (np.zeros((6, 9)), np.zeros((9, 6)), np.ones((5, 5))):
            first = linear_sum_assignment(cost)
            for _ in range(3):
                again = linear_sum_assignment(cost.copy())
                assert again[0].tolist() == first[0].tolist()
                assert again[1].tolist() == first[1].tolist()
            assert first[1].tolist() == scipy_lsa(cost)[1].tolist()


# ----------------------------------------------------------------------------------------- engine level


def crowded_video(seed: int, frames: int = 12, per_frame: int = 6) -> tuple[dict[str, Any], dict[str, Any]]:
    """Boxes stacked on top of each other so every truth box overlaps several annotator boxes: the fast paths
    cannot decide and both the frame matcher and the track solvers run."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.35, (per_frame, 2))

    def row(prefix: str, jitter: float) -> dict[str, Any]:
        labels: dict[str, Any] = {}
        for f in range(frames):
            objects = []
            for k in range(per_frame):
                x, y = (base[k] + rng.normal(0, jitter, 2)).tolist()
                feature = "car00001" if k % 3 else "truck001"
                box = {"x": x, "y": y, "w": 0.2, "h": 0.2}
                objects.append(
                    {
                        "objectHash": f"{prefix}{k:06d}",
                        "featureHash": feature,
                        "shape": "bounding_box",
                        "boundingBox": box,
                    }
                )
            labels[str(f)] = {"objects": objects, "classifications": []}
        unit = {"data_hash": "v1", "data_title": "v", "width": 640, "height": 480, "labels": labels}
        return {"label_hash": prefix, "data_hash": "v1", "data_type": "video", "data_units": {"v1": unit}}

    return row("gt", 0.0), row("an", 0.01)


# the fixtures whose scoring calls the solver (track assignments); the others never reach it
@pytest.mark.parametrize("case", ["video", "dicom", "nifti", "crowded"])
def test_engine_reports_are_identical_with_scipy(
    case: str, ontology: Ontology, monkeypatch: pytest.MonkeyPatch
) -> None:
    truth, labels = crowded_video(3) if case == "crowded" else pair(case)
    ours = score_label_rows(ontology, truth, labels).to_json()
    calls: list[tuple[int, ...]] = []

    def reference(cost: np.ndarray, maximize: bool = False) -> tuple[np.ndarray, np.ndarray]:
        calls.append(cost.shape)
        r, c = scipy_lsa(cost, maximize=maximize)
        return np.asarray(r), np.asarray(c)

    monkeypatch.setattr(matching, "linear_sum_assignment", reference)
    monkeypatch.setattr(tracking, "linear_sum_assignment", reference)
    theirs = score_label_rows(ontology, truth, labels).to_json()
    assert calls
    assert ours == theirs
    if case == "crowded":
        assert len(calls) > 3


def test_scoring_never_imports_scipy(tmp_path: Any) -> None:
    truth, labels = crowded_video(5)
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    code = textwrap.dedent(
        f"""
        import importlib.abc, json, pathlib, sys

        class NoScipy(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "scipy" or name.startswith("scipy."):
                    raise ImportError("scipy is not in the Lambda layer")
                return None

        sys.meta_path.insert(0, NoScipy())
        from benchmark_qa.scoring import Ontology, score_label_rows
        from benchmark_qa.scoring import matching, tracking

        calls = []
        for module in (matching, tracking):
            def counted(cost, maximize=False, _solve=module.linear_sum_assignment, _name=module.__name__):
                calls.append(_name)
                return _solve(cost, maximize)
            module.linear_sum_assignment = counted
        ontology = Ontology.from_dict(json.loads(pathlib.Path({str(FIXTURES / "ontology.json")!r}).read_text()))
        tmp = pathlib.Path({str(tmp_path)!r})
        rows = [(tmp / "truth.json", tmp / "labels.json")]
        fixtures = pathlib.Path({str(FIXTURES)!r})
        rows += [(fixtures / f"{{m}}.truth.json", fixtures / f"{{m}}.labels.json") for m in {MODALITIES!r}]
        for t, a in rows:
            report = score_label_rows(ontology, t.read_bytes(), a.read_bytes())
            report.to_json()
        loaded = [m for m in sys.modules if m.split(".")[0] == "scipy"]
        print(json.dumps({{"scipy": loaded, "calls": sorted(set(calls))}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["scipy"] == []
    assert out["calls"] == ["benchmark_qa.scoring.matching", "benchmark_qa.scoring.tracking"]


def test_matching_with_unsolvable_looking_candidates_never_picks_a_non_candidate() -> None:
    # one truth row has no candidate at all: the 1e6 filler must not become a pair
    sim = np.array([[0.9, 0.8, 0.0], [0.85, 0.9, 0.0], [0.0, 0.0, 0.0]])
    cand = sim >= 0.5
    rows, cols = matching.assign(sim, cand, np.ones_like(cand), "class_agnostic")
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 0), (1, 1)]


def test_engine_reports_do_not_depend_on_the_hash_seed(tmp_path: Any) -> None:
    """Crowded videos (ties for the solvers) and every fixture score to the same bytes in two processes with
    different PYTHONHASHSEED, so set and string-keyed orders cannot leak into a report (within one process the
    same rows always score the same)."""
    pairs = [(str(FIXTURES / f"{m}.truth.json"), str(FIXTURES / f"{m}.labels.json")) for m in MODALITIES]
    for seed in (1, 2, 3):
        truth, labels = crowded_video(seed, frames=4, per_frame=5)
        (tmp_path / f"t{seed}.json").write_text(json.dumps(truth))
        (tmp_path / f"a{seed}.json").write_text(json.dumps(labels))
        pairs.append((str(tmp_path / f"t{seed}.json"), str(tmp_path / f"a{seed}.json")))
    code = textwrap.dedent(
        f"""
        import hashlib, json, pathlib
        from benchmark_qa.scoring import Ontology, score_label_rows

        ontology = Ontology.from_dict(json.loads(pathlib.Path({str(FIXTURES / "ontology.json")!r}).read_text()))
        for t, a in {pairs!r}:
            report = score_label_rows(ontology, pathlib.Path(t).read_bytes(), pathlib.Path(a).read_bytes())
            print(hashlib.sha256(report.to_json()).hexdigest())
        """
    )
    outputs = []
    for hash_seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split())
    assert len(outputs[0]) == len(pairs)
    assert outputs[0] == outputs[1]
