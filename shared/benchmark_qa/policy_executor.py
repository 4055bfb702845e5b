"""Carrying out the annotator policy (benchmark_qa.annotator_policy, docs/annotator-quality.md) after each report:
the leaderboard's rows and the drift events become standings, the policy decides, and each decision is recorded
once (POLICY#<annotator> / <rule>#<episode>, the audit record) before anything is done; what was done is written
back onto it (`outcomes`). A re-run finds the record and does nothing, so nobody is told twice.

* alarm_topic: one SNS message to the stack's AlarmTopic (who, which rule, why, what was and was not done).
* encord_issue: not sent. Encord issues hang on workflow tasks (encord/workflow/stages/*.py: `issues` on
  annotation, review, consensus and agent stage tasks only); scored benchmark tasks are archived (Complete), where
  SDK 0.1.211 has none. Recorded as `unavailable` so the audit record says so.
* remove_from_project: `Project.remove_users([email])` (SDK 0.1.211, encord/project.py:390, POST
  projects/{p}/users/bulk-delete), only when the policy's `dry_run` is false *and* the rule lists the action;
  otherwise recorded as `dry_run`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from benchmark_qa.annotator_policy import AnnotatorPolicy, Decision, Standing, evaluate
from benchmark_qa.store.quality import PolicyRecord

if TYPE_CHECKING:
    from benchmark_qa.leaderboard.model import Leaderboard
    from benchmark_qa.store.quality import QualityRepository

ENCORD_ISSUE_UNAVAILABLE = (
    "unavailable: Encord issues attach to workflow tasks and the annotator's scored tasks are archived (Complete)"
)


def standings(board: Leaderboard, quality: QualityRepository) -> list[Standing]:
    """Each annotator on the leaderboard: tasks, mean score and its lower 95% bound, and their drift alarms."""
    alarms: dict[str, list[str]] = {}
    for annotator, event in quality.drift_events():
        alarms.setdefault(annotator, []).append(f"{event.stream}#{event.alarm_key}")
    return [
        Standing(
            annotator=row.annotator,
            tasks=row.tasks,
            mean=row.score.value,
            low=row.score.low,
            drift_alarms=alarms.get(row.annotator, []),
            latest_task=row.worst[0].task_uuid if row.worst else None,
        )
        for row in board.annotators
    ]


def _episodes(decisions: Sequence[Decision], quality: QualityRepository) -> tuple[list[Decision], set[tuple[str, str]]]:
    """low_score is one episode while it holds: started once (its start time is the episode key), ended when the
    annotator is no longer below; drift decisions are keyed by their alarm already."""
    active = {(d.annotator, d.rule) for d in decisions if d.episode == "active"}
    kept = []
    for d in decisions:
        if d.episode != "active":
            kept.append(d)
            continue
        started = quality.start_episode(d.annotator, d.rule)
        if started is not None:
            kept.append(d.model_copy(update={"episode": started}))
    return kept, active


def enforce(
    policy: AnnotatorPolicy,
    board: Leaderboard,
    quality: QualityRepository,
    *,
    publish: Callable[[str, str], None] | None,
    remove_users: Callable[[list[str]], None] | None,
) -> list[PolicyRecord]:
    """Decide, record and act. `publish(subject, message)` reaches the alarm topic; `remove_users(emails)` is the
    SDK's Project.remove_users on the Production Project (None: not configured, recorded as an error)."""
    current = standings(board, quality)
    decisions, active = _episodes(evaluate(policy, current), quality)
    for s in current:  # a low-score episode ends when the annotator is no longer below the line
        for rule in policy.rules:
            if rule.when == "low_score" and (s.annotator, rule.name) not in active:
                quality.end_episode(s.annotator, rule.name)
    done = []
    for decision in decisions:
        record = PolicyRecord(decision=decision)
        if not quality.add_decision(record):
            continue  # decided (and acted on) before
        record.outcomes = _act(decision, publish, remove_users)
        quality.set_outcomes(decision, record.outcomes)
        done.append(record)
    return done


def _act(
    decision: Decision,
    publish: Callable[[str, str], None] | None,
    remove_users: Callable[[list[str]], None] | None,
) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    for action in decision.actions:
        if decision.dry_run:
            outcomes[action] = "dry_run"
            continue
        try:
            if remove_users is None:
                raise RuntimeError("no Production Project is configured")
            remove_users([decision.annotator])
            outcomes[action] = "done"
        except Exception as error:  # recorded on the audit record and in the alarm message
            outcomes[action] = f"error: {type(error).__name__}: {error}"
    for channel in decision.notify:
        if channel == "encord_issue":
            outcomes[channel] = ENCORD_ISSUE_UNAVAILABLE
            continue
        if publish is None:
            outcomes[channel] = "error: no alarm topic is configured"
            continue
        message: dict[str, object] = {"annotator": decision.annotator, "rule": decision.rule}
        message |= {"reason": decision.reason, "dry_run": decision.dry_run}
        message["actions"] = {a: outcomes[a] for a in decision.actions}
        try:
            publish(f"benchmark-qa: {decision.rule} for {decision.annotator}"[:100], json.dumps(message, indent=1))
            outcomes[channel] = "done"
        except Exception as error:
            outcomes[channel] = f"error: {type(error).__name__}: {error}"
    return outcomes


def sns_publisher(sns: Any, topic_arn: str) -> Callable[[str, str], None]:
    def publish(subject: str, message: str) -> None:
        sns.publish(TopicArn=topic_arn, Subject=subject, Message=message)

    return publish
