"""Carrying out the annotator policy (docs/annotator-quality.md) on the state table as template.yaml declares it
(in-process moto): a low-score episode notifies once while it lasts and again only after the annotator was back
above the line; each drift alarm is a decision of its own; nothing is done in Encord in dry run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from benchmark_qa.annotator_policy import AnnotatorPolicy, PolicyRule
from benchmark_qa.drift import DriftEvent
from benchmark_qa.leaderboard import build_leaderboard
from benchmark_qa.policy_executor import enforce
from benchmark_qa.store.quality import QualityRepository
from benchmark_qa_local.template import SamTemplate
from moto import mock_aws

from tests.unit.leaderboard.conftest import many

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


@pytest.fixture
def quality(monkeypatch: pytest.MonkeyPatch) -> Iterator[QualityRepository]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    declared = SamTemplate.load(TEMPLATE).properties("StateTable")
    with mock_aws():
        table: Any = boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName="state",
            BillingMode="PAY_PER_REQUEST",
            **{k: declared[k] for k in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes")},
        )
        yield QualityRepository(table)


def _board(poor_score: float) -> Any:
    return build_leaderboard([*many("good", 0.9, 25), *many("poor", poor_score, 25)])


def test_episodes_notify_once_each_and_dry_run_acts_on_nothing(quality: QualityRepository) -> None:
    policy = AnnotatorPolicy(
        rules=[
            PolicyRule(name="low", when="low_score", min_tasks=20, below=0.5, actions=["remove_from_project"]),
            PolicyRule(name="drift", when="drift", min_tasks=1),
        ]
    )
    sent: list[str] = []
    removed: list[list[str]] = []

    def run(poor_score: float) -> list[tuple[str, str]]:
        records = enforce(
            policy, _board(poor_score), quality, publish=lambda s, m: sent.append(s), remove_users=removed.append
        )
        return [(r.decision.annotator, r.decision.rule) for r in records]

    assert run(0.3) == [("poor", "low")]
    assert run(0.3) == [], "the episode goes on: nobody is told twice"
    assert run(0.8) == [], "back above the line: the episode ends"
    assert run(0.3) == [("poor", "low")], "below again: a new episode"
    event = DriftEvent(
        stream="score",
        alarm_index=30,
        alarm_key="2026-11-02T00:00:00Z#t30",
        change_index=27,
        change_key="2026-11-01T21:00:00Z#t27",
        baseline_mean=0.9,
        baseline_sigma=0.05,
        recent_mean=0.6,
        statistic=9.0,
    )
    quality.add_drift_event("good", event)
    assert run(0.3) == [("good", "drift")]
    assert len(sent) == 3
    assert removed == [], "dry run (the default) never calls Encord"
    records = {(r.decision.annotator, r.decision.rule, r.decision.episode): r for r in quality.decisions()}
    assert len(records) == 3
    assert all(r.outcomes.get("remove_from_project") in (None, "dry_run") for r in records.values())
