"""Settings models: the one reader of os.environ. Each function validates its model at cold start, so a
missing or malformed variable fails fast with the variable's name."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Literal, TypeVar

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from benchmark_qa.ingest.layout import Layout

if TYPE_CHECKING:
    from benchmark_qa.scoring import ScoringConfig


class _Env(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)


class StoreSettings(_Env):
    state_table: str = Field(description="DynamoDB table holding objects, manifests, jobs, routing and scores")
    aws_region: str = Field("us-east-1", validation_alias="AWS_REGION")


class LayoutSettings(_Env, Layout):  # type: ignore[misc]
    """The bucket layout conventions, each overridable by an environment variable of the same name."""


class IngestSettings(StoreSettings):
    upload_bucket: str
    recover_after_seconds: int = Field(
        120, ge=0, description="a claimed manifest or waiting single this old is the sweep's (its batch crashed)"
    )

    def layout(self) -> Layout:
        layout: Layout = load(LayoutSettings)
        return layout


class EncordSettings(_Env):
    encord_domain: str = "https://api.encord.com"
    encord_key_secret: str = Field(description="Secrets Manager id of the Encord SSH private key")
    encord_timeout_seconds: float = Field(20.0, gt=0, description="per-request timeout, below the Lambda's")
    encord_max_retries: int = Field(3, ge=0)
    encord_backoff_factor: float = Field(1.0, ge=0)


class RegistrationSettings(StoreSettings, EncordSettings):
    upload_bucket: str
    manifest_prefix: str = "manifests"
    # What a manifest's URLs may name (ingest/url_scope.py): keys of the upload bucket under these prefixes.
    benchmark_prefix: str = Field("benchmark", min_length=1)
    production_prefix: str = Field("production", min_length=1)
    multi_region_access_point_arn: str | None = Field(None, description="URLs through this access point instead")
    integration_id: str = Field(
        "", description="Encord cloud integration that can read the bucket; empty until it exists: registration waits"
    )
    benchmark_folder_uuid: str = Field(min_length=1)
    production_folder_uuid: str = Field(min_length=1)
    benchmark_dataset_hash: str = Field(min_length=1)
    production_dataset_hash: str = Field(min_length=1)
    restart_after_seconds: int = Field(300, ge=0, description="a start left unfinished this long is run again")

    @field_validator("multi_region_access_point_arn", mode="before")
    @classmethod
    def _blank_arn_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class RoutingSettings(StoreSettings, EncordSettings):
    production_project_hash: str = Field(min_length=1)  # empty (the template's default) fails at cold start
    benchmark_dataset_hash: str = Field(min_length=1)
    agent_stage: str = "Benchmark Task?"
    yes_pathway: str = "YES"
    no_pathway: str = "NO"
    dry_run: bool = Field(False, description="record the decisions without acting on any task")
    lock_seconds: int = Field(900, gt=0, description="a run's lock expires after this; keep it above the timeout")
    action_batch_size: int = Field(1000, ge=1, le=1000, description="pathway actions per bundled request")
    webhook_secret: str | None = Field(None, description="Secrets Manager id of the agent-stage webhook secret")
    webhook_max_skew_seconds: int = Field(300, gt=0, description="accepted age of a webhook's timestamp")


class ScoringSettings(StoreSettings, EncordSettings):
    production_project_hash: str = Field(min_length=1)
    benchmark_project_hash: str = Field(min_length=1, description="project holding the ground truth")
    review_stage: str = Field("Consensus 1", min_length=1, description="consensus review stage to score")
    archive_stage: str = Field("Archive", min_length=1, description="where `archive` moves scored tasks")
    after_scoring: Literal["reject", "archive", "none"] = "archive"
    comment_feedback: bool = Field(False, description="comment each annotator's hints on the Encord task")
    score_queue_url: str | None = Field(None, description="ScoreQueue; without it the schedule scores inline")
    scoring_config: str | None = Field(None, description="ScoringConfig as YAML or JSON text (docs/scoring.md)")
    score_batch_size: int = Field(50, ge=1, le=100, description="tasks per fan-out message and per bulk fetch")
    score_inline_max_tasks: int = Field(100, ge=0, description="a stage this small is scored by the schedule itself")
    ground_truth_audit: bool = Field(True, description="agreement and the ground-truth audit on every scored task")
    exclude_suspect_truth: bool = Field(False, description="leave flagged objects out of scores until reviewed")
    _engine_config: ScoringConfig | None = PrivateAttr(None)

    @field_validator("score_queue_url", "scoring_config", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _parse_scoring_config(self) -> ScoringSettings:
        if self.scoring_config is not None:
            # Parsed once, at cold start, naming the problem; the ontology check comes on first use.
            self._engine_config = engine_config(self.scoring_config)
        return self

    def engine_config(self) -> ScoringConfig | None:
        """SCORING_CONFIG as the engine's ScoringConfig (None: the engine's defaults)."""
        return self._engine_config


class ReportSettings(StoreSettings, EncordSettings):
    """ReportFunction: renders the leaderboard into the reports bucket (docs/leaderboard.md)."""

    reports_bucket: str = Field(min_length=1, description="private, versioned bucket the reports are written to")
    min_tasks: int = Field(20, ge=1, description="scored tasks an annotator needs before being ranked")
    hourly_rate: float | None = Field(None, ge=0, description="annotators' hourly rate, for the cost per object")
    currency: str = Field("USD", min_length=1, max_length=8)
    production_project_hash: str | None = Field(None, description="read time spent from it; empty: no time")
    benchmark_project_hash: str | None = Field(None, description="for links to the ground truth")
    time_lookback_days: int = Field(7, ge=1, le=90, description="days of Encord time spent read on every run")
    drift_monitor: bool = Field(True, description="run the drift monitor before each report")
    drift_per_class: bool = Field(False, description="also chart each class's F1 (reads every result)")
    drift_warmup: int = Field(20, ge=3, description="tasks that set each annotator's own baseline")
    drift_threshold: float = Field(8.0, gt=0.0, description="CUSUM alarm threshold h, in baseline sigmas")
    annotator_policy: str = Field("", description="the policy as YAML or JSON text; empty: notify only, dry run")
    policy_dry_run: bool = Field(True, description="the stack's switch: true keeps every policy in dry run")
    alarm_topic_arn: str = Field("", description="where policy notifications go")

    @field_validator("annotator_policy")
    @classmethod
    def _policy_parses(cls, value: str) -> str:
        from benchmark_qa.annotator_policy import load_policy

        load_policy(value)  # a bad policy fails at cold start, naming the field
        return value

    @field_validator("hourly_rate", "production_project_hash", "benchmark_project_hash", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def engine_config(text: str) -> ScoringConfig:
    from benchmark_qa.scoring import ConfigError, ScoringConfig

    try:
        return ScoringConfig.load(text if "\n" in text else text + "\n")  # one line is text, never a file path
    except ConfigError as error:
        raise ValueError(f"SCORING_CONFIG: {error}") from None


S = TypeVar("S", bound=BaseSettings)


@cache
def load(model: type[S]) -> S:
    """Validate the environment against `model` once per process (cold start)."""
    return model()
