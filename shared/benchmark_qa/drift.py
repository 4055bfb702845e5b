"""Drift detection: has an annotator's quality changed? A one-sided CUSUM chart per annotator (and per class) on
the stream of their task scores, in the order the tasks were scored (docs/annotator-quality.md).

Each stream is judged against the annotator's *own* baseline: the mean and standard deviation of their first
`warmup` tasks (the deviation floored at `sigma_floor`, because a very steady annotator's deviation can be
near zero). Then, task by task (Page 1954; Montgomery, "Introduction to Statistical Quality Control", 9.1):

    z_t = (baseline_mean - score_t) / sigma          how far below their own normal this task is, in sigmas
    S_t = max(0, S_{t-1} + z_t - k)                  k = `allowance` (0.5: tuned to a drop of 2k = 1 sigma)
    alarm when S_t > h                               h = `threshold` (8)

With k = 0.5 and h = 8 on normally distributed scores with a known baseline, the average run length between
false alarms is about 19,000 tasks (Siegmund's approximation) and a drop of one sigma is caught after about 16
tasks; a baseline estimated from 20 tasks raises false alarms more often, so docs/annotator-quality.md gives what the
simulated annotators measured (1 false alarm in 15,000 stable tasks; a 0.98 -> 0.84 drop caught in 1-4 tasks).

The change is dated at the task after S was last 0 before the alarm (the CUSUM change-point estimate). After
an alarm the chart restarts with a new baseline from the next `warmup` tasks, so a second change is found too.
Pure: a list of scores in, events out.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean, pstdev

from pydantic import BaseModel, Field


class DriftSettings(BaseModel):
    warmup: int = Field(20, ge=3, description="tasks that set the annotator's own baseline")
    allowance: float = Field(0.5, ge=0.0, description="k, in baseline sigmas")
    threshold: float = Field(8.0, gt=0.0, description="h, in baseline sigmas")
    sigma_floor: float = Field(0.05, gt=0.0, description="smallest sigma used, in score units")


class Point(BaseModel):
    """One task of a stream: its key (scored_at#task uuid), and the value (a score in [0, 1])."""

    key: str
    value: float


class DriftEvent(BaseModel):
    stream: str = Field(description="'score' or 'class:<name>'")
    alarm_index: int
    alarm_key: str
    change_index: int
    change_key: str
    baseline_mean: float
    baseline_sigma: float
    recent_mean: float = Field(description="mean of the values from the change to the alarm")
    statistic: float


class DriftStatus(BaseModel):
    stream: str
    tasks: int
    baseline_mean: float | None = None
    baseline_sigma: float | None = None
    statistic: float = Field(0.0, description="current S in sigmas; an alarm fires above the threshold")
    events: list[DriftEvent] = Field(default_factory=list)

    @property
    def drifting(self) -> bool:
        """The latest alarm has not been followed by a full new baseline yet."""
        return bool(self.events) and self.baseline_mean is None


def cusum(stream: str, points: Sequence[Point], settings: DriftSettings | None = None) -> DriftStatus:
    settings = settings or DriftSettings()
    status = DriftStatus(stream=stream, tasks=len(points))
    warm: list[float] = []
    mean = sigma = 0.0
    s = 0.0
    last_zero = 0
    for i, point in enumerate(points):
        if len(warm) < settings.warmup:
            warm.append(point.value)
            if len(warm) == settings.warmup:
                mean, sigma = fmean(warm), max(pstdev(warm), settings.sigma_floor)
                status.baseline_mean, status.baseline_sigma = mean, sigma
                s, last_zero = 0.0, i + 1
            continue
        s = max(0.0, s + (mean - point.value) / sigma - settings.allowance)
        if s == 0.0:
            last_zero = i + 1
        if s > settings.threshold:
            change = min(last_zero, i)
            status.events.append(
                DriftEvent(
                    stream=stream,
                    alarm_index=i,
                    alarm_key=point.key,
                    change_index=change,
                    change_key=points[change].key,
                    baseline_mean=mean,
                    baseline_sigma=sigma,
                    recent_mean=fmean(p.value for p in points[change : i + 1]),
                    statistic=s,
                )
            )
            warm, s = [], 0.0
            status.baseline_mean = status.baseline_sigma = None
    status.statistic = s
    return status
