"""Acting on scores, by policy (docs/annotator-quality.md): when an annotator's evidence crosses a line the team
chose, tell someone, and (only if the team opted in, action by action) act in Encord.

A policy is YAML or JSON (the ANNOTATOR_POLICY setting):

    dry_run: true                 # Encord writes (issues, actions) are recorded, not made; the alarm topic is told
    manager: lead@example.com     # named in the Encord issue
    rules:
      - name: low-score
        when: low_score           # the lower 95% bound of the mean task score is below `below`
        min_tasks: 20             # ... once the annotator has this many scored benchmark tasks
        below: 0.6
        notify: [alarm_topic, encord_issue]
        actions: []               # opt in, e.g. [remove_from_project]
      - name: drift
        when: drift               # the drift detector raised an alarm (docs/annotator-quality.md)
        notify: [alarm_topic]

Pure: standings in, decisions out. A decision carries an *episode* key: `low_score` stays one episode while
the condition holds (one notification, however many runs see it); each drift alarm is an episode of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field, model_validator

Notify = Literal["alarm_topic", "encord_issue"]
Action = Literal["remove_from_project"]


class PolicyRule(BaseModel):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    when: Literal["low_score", "drift"]
    min_tasks: int = Field(20, ge=1)
    below: float | None = Field(None, ge=0.0, le=1.0, description="low_score: threshold on the lower bound")
    notify: list[Notify] = Field(default_factory=lambda: list[Notify](["alarm_topic"]))
    actions: list[Action] = Field(default_factory=list, description="Encord actions, each an explicit opt-in")

    @model_validator(mode="after")
    def _threshold(self) -> PolicyRule:
        if self.when == "low_score" and self.below is None:
            raise ValueError(f"rule {self.name!r}: when: low_score needs `below` (the lower bound to stay above)")
        return self


class AnnotatorPolicy(BaseModel):
    model_config = {"extra": "forbid"}

    dry_run: bool = True
    manager: str = Field("", description="who the Encord issue is addressed to")
    rules: list[PolicyRule] = Field(
        default_factory=lambda: [
            PolicyRule(name="low-score", when="low_score", min_tasks=20, below=0.5),
            PolicyRule(name="drift", when="drift", min_tasks=1),
        ]
    )

    @model_validator(mode="after")
    def _unique(self) -> AnnotatorPolicy:
        names = [r.name for r in self.rules]
        if len(names) != len(set(names)):
            raise ValueError(f"rule names must be unique, got {names}")
        return self


class Standing(BaseModel):
    """What the policy looks at for one annotator."""

    annotator: str
    tasks: int
    mean: float | None
    low: float | None = Field(description="lower bound of the 95% interval of the mean task score")
    drift_alarms: list[str] = Field(default_factory=list, description="episode keys of drift alarms (stream#key)")
    latest_task: str | None = Field(None, description="task uuid of the latest scored task")
    latest_data_hash: str | None = None


class Decision(BaseModel):
    annotator: str
    rule: str
    episode: str
    reason: str
    notify: list[Notify]
    actions: list[Action]
    dry_run: bool
    latest_task: str | None = None
    latest_data_hash: str | None = None


def evaluate(policy: AnnotatorPolicy, standings: Sequence[Standing]) -> list[Decision]:
    decisions = []
    for s in standings:
        for rule in policy.rules:
            if s.tasks < rule.min_tasks:
                continue
            if rule.when == "low_score":
                assert rule.below is not None
                if s.low is None or s.low >= rule.below:
                    continue
                episodes = [
                    (
                        "active",
                        f"the lower 95% bound of {s.annotator}'s mean task score is {s.low:.3f} "
                        f"(mean {s.mean:.3f} over {s.tasks} tasks), below {rule.below}",
                    )
                ]
            else:
                episodes = [
                    (key, f"{s.annotator}'s quality changed ({key}); see the drift marks in the report")
                    for key in s.drift_alarms
                ]
            decisions += [
                Decision(
                    annotator=s.annotator,
                    rule=rule.name,
                    episode=episode,
                    reason=reason,
                    notify=rule.notify,
                    actions=rule.actions,
                    dry_run=policy.dry_run,
                    latest_task=s.latest_task,
                    latest_data_hash=s.latest_data_hash,
                )
                for episode, reason in episodes
            ]
    return decisions


def load_policy(text: str | None) -> AnnotatorPolicy:
    """ANNOTATOR_POLICY as YAML or JSON text; empty: the default policy (dry run, notify only)."""
    import yaml

    if text is None or not text.strip():
        return AnnotatorPolicy()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"ANNOTATOR_POLICY is not YAML or JSON: {error}") from None
    try:
        return AnnotatorPolicy.model_validate(data or {})
    except ValueError as error:
        raise ValueError(f"ANNOTATOR_POLICY: {error}") from None
