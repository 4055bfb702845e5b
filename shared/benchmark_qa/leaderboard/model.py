"""The leaderboard as data: what every rendering (HTML, CSV, JSON, text) shows. `Leaderboard.model_json_schema()`
documents the JSON file. docs/leaderboard.md explains every number in a manager's words.

Every ratio is the scoring engine's `Stat` (value, n, Wilson 95% interval); n = 0 means no evidence (no value).
Sections are separate fields, so a new section (ground-truth audit, agreement, drift) is a new field and a new
renderer entry, not a change to the existing ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from benchmark_qa.leaderboard.quality import QualitySection
from benchmark_qa.scoring.metrics import Stat

Bucket = Literal["day", "week", "month"]
Status = Literal["ranked", "not enough evidence"]
NOT_ENOUGH_EVIDENCE: Status = "not enough evidence"


class ClassRow(BaseModel):
    name: str
    tp: int
    fp: int
    fn: int
    precision: Stat
    recall: Stat
    f1: Stat
    localisation: Stat


class AttributeRow(BaseModel):
    path: str
    correct: int
    total: int
    accuracy: Stat


class TrendPoint(BaseModel):
    period: str = Field(description="first day of the bucket, YYYY-MM-DD (UTC)")
    score: Stat


class Count(BaseModel):
    name: str
    count: int


class ConfusionCell(BaseModel):
    """`count` objects of class `truth` in the benchmark were labelled `annotated` ('unmatched': missed / extra)."""

    truth: str
    annotated: str
    count: int


class SizeRow(BaseModel):
    """Detection by object size, COCO's areas in the frame's pixels: small < 32², medium < 96², large above."""

    size: str
    tp: int
    fp: int
    fn: int
    recall: Stat
    precision: Stat


class ChoiceRow(BaseModel):
    """A radio attribute: where the benchmark says `truth`, the annotator answered `answered`, on `frames` frames."""

    path: str
    truth: str
    answered: str
    frames: int


class TimeStats(BaseModel):
    """Time Encord measured on the annotator's scored tasks (`Project.list_time_spent`), joined to their scores."""

    tasks_timed: int = Field(0, description="scored tasks with a time from Encord")
    hours: float = 0.0
    minutes_per_task: float | None = Field(None, description="median over the timed tasks")
    tasks_per_hour: float | None = None
    score_timed: Stat | None = Field(None, description="mean task score of the timed tasks")
    correct_objects: int = Field(0, description="true positives on the timed tasks")
    cost_per_correct: float | None = Field(
        None, description="hours x hourly rate / correct objects, when a rate is set"
    )


class ConflictLink(BaseModel):
    """One disagreement behind a task's score, and where to see it in Encord."""

    kind: str
    severity: str
    frame: int
    frames: int
    subject: str = Field(description="the class, or the attribute path")
    truth: str | None = Field(None, description="the benchmark's class or answer (managers only; never in hints)")
    annotated: str | None = None
    similarity: float | None = None
    editor_url: str | None = Field(None, description="the task's frame in the Production Project's label editor")
    truth_url: str | None = Field(None, description="the same frame in the Benchmark Project (the ground truth)")


class WorstTask(BaseModel):
    task_uuid: str
    data_hash: str
    data_title: str
    scored_at: str
    score: float
    minutes: float | None = None
    editor_url: str | None = None
    conflicts: list[ConflictLink]


class AnnotatorRow(BaseModel):
    annotator: str
    rank: int | None = Field(description="1 + the number of annotators shown to be better; None: not enough evidence")
    status: Status
    tasks: int
    score: Stat
    precision: Stat
    recall: Stat
    f1: Stat
    localisation: Stat
    attributes: Stat
    tp: int
    fp: int
    fn: int
    better_than: int = Field(0, description="ranked annotators this one is shown to be better than")
    worse_than: int = Field(0, description="ranked annotators shown to be better than this one")
    not_distinguishable: int = Field(0, description="compared on shared items, no difference shown")
    not_compared: int = Field(0, description="ranked annotators with no shared item without a tie")
    classes: list[ClassRow]
    attribute_paths: list[AttributeRow]
    trend: list[TrendPoint]
    conflicts: list[Count] = Field(description="most frequent conflict kinds, with frames summed over tasks")
    hints: list[Count] = Field(description="hints most often given, with the number of tasks")
    confusion: list[ConfusionCell] = Field(default_factory=list)
    sizes: list[SizeRow] = Field(default_factory=list)
    choices: list[ChoiceRow] = Field(default_factory=list)
    time: TimeStats = Field(default_factory=TimeStats)
    worst: list[WorstTask] = Field(default_factory=list, description="lowest-scoring tasks, worst first")
    first_scored_at: str
    last_scored_at: str


class PairComparison(BaseModel):
    """Two ranked annotators on the benchmark items both labelled: an exact two-sided sign test (ties dropped),
    with Holm's correction over every pair tested."""

    first: str
    second: str
    shared_items: int
    first_higher: int
    second_higher: int
    ties: int
    p_value: float
    p_adjusted: float
    better: str | None = Field(None, description="the annotator shown to be better, or None")


class RankGroup(BaseModel):
    rank: int
    annotators: list[str]
    words: str


class Leaderboard(BaseModel):
    generated_at: str
    since: str | None
    min_tasks: int
    bucket: Bucket
    ranking_rule: str
    methods: dict[str, str]
    tasks: int = Field(description="scored (task, annotator) results behind the leaderboard")
    open_errors: int = Field(0, description="tasks that could not be scored and are waiting")
    notes: list[str] = Field(default_factory=list, description="inconsistencies between results and aggregates")
    periods: list[str] = Field(description="every trend bucket present, oldest first")
    team_trend: list[TrendPoint] = Field(default_factory=list, description="median of the annotators' period means")
    classes: list[str]
    annotators: list[AnnotatorRow]
    groups: list[RankGroup] = Field(default_factory=list, description="who can and cannot be told apart, in words")
    comparisons: list[PairComparison] = Field(default_factory=list)
    alpha: float = Field(0.05, description="family-wise error rate of the pairwise tests")
    hourly_rate: float | None = None
    currency: str = "USD"
    quality: QualitySection | None = Field(None, description="ground-truth flags, agreement and drift marks")

    @property
    def ranked(self) -> list[AnnotatorRow]:
        return [a for a in self.annotators if a.rank is not None]
