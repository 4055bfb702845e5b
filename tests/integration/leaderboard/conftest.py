"""Scored results in the state table of the local stack (moto server, built from template.yaml), written through
ScoresRepository.put_result as ScoreWorkerFunction writes them, for `benchmark-qa report` to read back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from benchmark_qa.scoring.conflicts import Conflict
from benchmark_qa.store.scores import AnnotatorResult, AttributeCounts, ClassCounts, ScoresRepository
from benchmark_qa.store.table import state_table
from benchmark_qa.task_details import SizeCounts, TaskDetails
from benchmark_qa_local.stack import LocalStack

REPO = Path(__file__).resolve().parents[3]
MIN_TASKS = 5
DAYS = ("2025-03-03", "2025-03-04", "2025-03-05")
# Three annotators with clearly different scores (ranked), and one with too few tasks (listed, not ranked).
SCORES = {"alice@example.com": 0.9, "bob@example.com": 0.6, "carol@example.com": 0.3}
NEWCOMER = ("newcomer@example.com", 0.8, 2)


@dataclass(frozen=True)
class Seeded:
    table: str
    results: list[AnnotatorResult]  # what the table holds, once each
    open_errors: int


def scored(annotator: str, score: float, at: str, index: int, item: int) -> AnnotatorResult:
    """A result whose counts follow its score, so every ranking and breakdown is ordered like the scores. The
    annotators label the same benchmark items (`item`), so they are compared on them."""
    hits = round(score * 10)
    return AnnotatorResult(
        project_hash="production",
        task_uuid=f"task-{index:03d}",
        data_hash=f"data-{item:03d}",
        data_title=f"scene {item:03d}.jpg",
        annotator=annotator,
        branch_name=f"consensus-{annotator}",
        label_hash=f"label-{annotator}-{index:03d}",
        scored_at=at,
        score=score,
        interval_low=max(score - 0.1, 0.0),
        interval_high=min(score + 0.1, 1.0),
        n=10,
        classes={
            "Car": ClassCounts(tp=hits, fp=10 - hits, fn=10 - hits, similarity_sum=0.8 * hits),
            "Bus": ClassCounts(tp=1, fp=0 if score > 0.5 else 1, fn=0, similarity_sum=0.7),
        },
        attributes={"Car/colour": AttributeCounts(correct=hits, total=10)},
        conflict_totals={"missing": 10 - hits, "extra": (10 - hits) // 2},
        hints=[f"missed Car on {10 - hits} frames"] if hits < 10 else [],
        details=TaskDetails(
            confusion={"Car": {"Car": hits, "unmatched": 10 - hits}},
            sizes={"small": SizeCounts(tp=hits // 2, fn=10 - hits)},
            worst=[
                Conflict(
                    kind="missing",
                    severity="error",
                    data_unit=f"data-{item:03d}",
                    frame=0,
                    frame_last=0,
                    frames=1,
                    truth_hash=f"gt-{item:03d}",
                    labels_hash=None,
                    truth_value="Car",
                    labels_value=None,
                    hint="a Car was not labelled",
                )
            ]
            if hits < 10
            else [],
        ),
    )


def seed(repository: ScoresRepository) -> tuple[list[AnnotatorResult], int]:
    results: list[AnnotatorResult] = []
    index = 0
    for annotator, score in SCORES.items():
        for k in range(2 * MIN_TASKS):
            index += 1
            results.append(scored(annotator, score, f"{DAYS[k % len(DAYS)]}T1{k % 10}:00:00.000+00:00", index, k))
    name, score, count = NEWCOMER
    for k in range(count):
        index += 1
        results.append(scored(name, score, f"{DAYS[-1]}T12:00:00.000+00:00", index, k))
    for r in results:
        assert repository.put_result(r) is True
    assert repository.put_result(results[0]) is False, "a repeat adds nothing"
    repository.record_error("task-broken", reason="no ground-truth label row", annotator="carol@example.com")
    return results, 1


@pytest.fixture(scope="module")
def aws_env() -> Iterator[LocalStack]:
    """The stack, with its endpoint, region and dummy credentials in the environment: the CLI's own boto3 calls
    reach it through AWS_ENDPOINT_URL, as they would on a developer's machine."""
    # moto state is per process: a stack name of its own keeps these resources apart from other modules'.
    stack = LocalStack(REPO / "template.yaml", stack_name=f"leaderboard-{uuid.uuid4().hex[:8]}")
    with stack, pytest.MonkeyPatch.context() as patch:
        for name, value in stack.env().items():
            patch.setenv(name, value)
        patch.delenv("STATE_TABLE", raising=False)
        yield stack


@pytest.fixture(scope="module")
def seeded(aws_env: LocalStack) -> Seeded:
    name = aws_env.physical_id("StateTable")
    results, errors = seed(ScoresRepository(state_table(name)))
    return Seeded(table=name, results=results, open_errors=errors)
