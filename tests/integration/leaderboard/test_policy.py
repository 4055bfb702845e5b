"""The annotator policy on the local stack (moto, built from template.yaml) and the Encord double, through the
unmodified SDK: after each report ReportFunction records every decision once (the audit record), tells the alarm
topic, and removes an annotator from the Production Project only when the stack's PolicyDryRun is false *and* the
policy opts in to the action (docs/annotator-quality.md)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from benchmark_qa.store.quality import QualityRepository
from benchmark_qa.store.scores import AnnotatorResult
from benchmark_qa.store.table import state_table
from benchmark_qa_local.encord_double import DoubleState
from benchmark_qa_local.encord_double.seed import DEFAULT_ANNOTATORS, StandardSetup, seed_standard_setup
from benchmark_qa_local.offline import OfflineApp, offline_app

pytestmark = pytest.mark.integration

GOOD, POOR = DEFAULT_ANNOTATORS  # the Production Project's consensus annotators in the double
POLICY = """
dry_run: false
rules:
  - name: low-score
    when: low_score
    min_tasks: 20
    below: 0.5
    notify: [alarm_topic, encord_issue]
    actions: [remove_from_project]
"""


def _seed(state: DoubleState) -> StandardSetup:
    return seed_standard_setup(state, benchmark_items=1, production_items=1)


def _results(app: OfflineApp) -> None:
    for i in range(25):
        for annotator, score in ((GOOD, 0.9), (POOR, 0.3)):
            app.scores.put_result(
                AnnotatorResult(
                    project_hash=app.setup.production_project_hash,
                    task_uuid=f"task-{i:03d}",
                    data_hash=f"data-{i:03d}",
                    annotator=annotator,
                    branch_name=f"b-{annotator}",
                    label_hash=f"label-{annotator}-{i:03d}",
                    scored_at=f"2026-11-01T{i % 24:02d}:{i:02d}:00.000+00:00",
                    score=score,
                    interval_low=0.0,
                    interval_high=1.0,
                    n=10,
                )
            )


@pytest.fixture(params=["true", "false"], ids=["stack-dry-run", "stack-opted-in"])
def stack(request: pytest.FixtureRequest) -> Iterator[tuple[OfflineApp, bool]]:
    """The stack with PolicyDryRun true (the default) or false, and whether it is a dry run."""
    name = f"bqa-policy-{uuid.uuid4().hex[:6]}"
    parameters = {"AnnotatorPolicy": POLICY, "PolicyDryRun": request.param}
    with (
        offline_app(OfflineApp, _seed, stack_name=name, parameters=parameters) as app,
        mock.patch.dict(os.environ, app.stack.env()),
    ):
        _results(app)
        yield app, request.param == "true"


def _users(app: OfflineApp) -> set[str]:
    project: Any = app.client().get_project(app.setup.production_project_hash)
    return {u.user_email for u in project.list_users()}


def test_a_low_score_is_decided_once_and_acted_on_only_when_opted_in(stack: tuple[OfflineApp, bool]) -> None:
    app, dry_run = stack
    assert _users(app) == {GOOD, POOR}

    first = app.pump.fire_schedule("ReportFunction").raise_for_error()
    second = app.pump.fire_schedule("ReportFunction").raise_for_error()

    [decided] = first["policy_decisions"]
    assert decided["decision"]["annotator"] == POOR
    assert decided["decision"]["dry_run"] is dry_run
    assert decided["outcomes"]["alarm_topic"] == "done"
    assert decided["outcomes"]["encord_issue"].startswith("unavailable")
    assert decided["outcomes"]["remove_from_project"] == ("dry_run" if dry_run else "done")
    assert second["policy_decisions"] == [], "the episode is still on: nobody is told or removed twice"
    assert _users(app) == ({GOOD, POOR} if dry_run else {GOOD})
    quality = QualityRepository(state_table(app.stack.physical_id("StateTable"), app.stack.region))
    [record] = quality.decisions()
    assert record.outcomes == decided["outcomes"], "the audit record says what was done"
