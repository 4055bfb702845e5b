"""The report's quality section: what the scorer and the drift monitor recorded about the benchmark itself and
about annotators over time (docs/annotator-quality.md), read from the QualityRepository:

* suspect ground truth: every ground-truth audit flag with its evidence and review status;
* agreement without ground truth: Krippendorff's alpha per object class (shapes), and alpha with Gwet's AC1 for
  the object classes and for each attribute or classification, summed over every consensus task;
* drift marks: when (the task the change is dated to) and where (which stream: the task score or a class) an
  annotator changed, as the drift monitor found it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from benchmark_qa.store.quality import QualityRepository


class FlagRow(BaseModel):
    flag_id: str
    kind: str
    status: str = Field(description="open | truth_wrong | truth_right (after a review)")
    task_uuid: str
    data_hash: str
    data_unit: str
    frames: str = Field(description="first-last frame")
    subject: str = Field(description="the truth class, or the attribute path")
    truth_value: str | None = None
    consensus_value: str | None = None
    annotators: int
    against_truth: list[str]
    with_truth: list[str]
    agreement_with_truth: float | None = None
    agreement_with_each_other: float | None = None
    message: str


class AgreementRow(BaseModel):
    measure: str = Field(description="'shapes of <class>', 'object classes' or an attribute / classification path")
    units: int = Field(description="objects (or answers) labelled by at least two annotators")
    alpha: float | None = Field(None, description="Krippendorff's alpha; None with too little variation")
    ac1: float | None = Field(None, description="Gwet's AC1 (categories only)")


class DriftMark(BaseModel):
    annotator: str
    stream: str = Field(description="'score' (the task score) or 'class:<name>' (that class's F1 per task)")
    changed_at: str = Field(description="scored_at of the first task after the change")
    changed_task: str = Field(description="task uuid of that task")
    alarm_at: str = Field(description="scored_at of the task that raised the alarm")
    tasks_to_alarm: int
    baseline_mean: float
    recent_mean: float


class QualitySection(BaseModel):
    flags: list[FlagRow] = Field(default_factory=list)
    agreement_tasks: int = 0
    agreement: list[AgreementRow] = Field(default_factory=list)
    drift: list[DriftMark] = Field(default_factory=list)


def _split(key: str) -> tuple[str, str]:
    """A stream point's key, `<scored_at>#<task uuid>`, as (scored_at, task uuid)."""
    when, _, task = key.rpartition("#")
    return when, task


def read_quality(quality: QualityRepository) -> QualitySection:
    from benchmark_qa.agreement_report import TaskAgreement

    flags = [
        FlagRow(
            flag_id=r.flag.flag_id,
            kind=r.flag.kind,
            status=r.status,
            task_uuid=r.task_uuid,
            data_hash=r.flag.data_hash,
            data_unit=r.flag.data_unit,
            frames=f"{r.flag.frame_first}-{r.flag.frame_last}",
            subject=r.flag.path or r.flag.truth_class or "",
            truth_value=r.flag.truth_value,
            consensus_value=r.flag.consensus_value,
            annotators=r.flag.annotators,
            against_truth=r.flag.against_truth,
            with_truth=r.flag.with_truth,
            agreement_with_truth=r.flag.agreement_with_truth,
            agreement_with_each_other=r.flag.agreement_with_each_other,
            message=r.flag.message,
        )
        for r in sorted(quality.flags(), key=lambda r: (r.flag.data_hash, r.flag.flag_id))
    ]
    total = sum(quality.agreements(), TaskAgreement())
    agreement = [
        AgreementRow(measure=f"shapes of {name}", units=sums.units, alpha=sums.alpha)
        for name, sums in sorted(total.shapes_by_class.items())
    ]
    agreement.append(
        AgreementRow(
            measure="object classes",
            units=total.classes.alpha.units,
            alpha=total.classes.alpha.alpha,
            ac1=total.classes.ac1.ac1,
        )
    )
    agreement += [
        AgreementRow(measure=path, units=sums.alpha.units, alpha=sums.alpha.alpha, ac1=sums.ac1.ac1)
        for path, sums in sorted(total.answers.items())
    ]
    drift = []
    for annotator, event in sorted(quality.drift_events(), key=lambda pair: (pair[0], pair[1].alarm_key)):
        changed_at, changed_task = _split(event.change_key)
        drift.append(
            DriftMark(
                annotator=annotator,
                stream=event.stream,
                changed_at=changed_at,
                changed_task=changed_task,
                alarm_at=_split(event.alarm_key)[0],
                tasks_to_alarm=event.alarm_index - event.change_index + 1,
                baseline_mean=event.baseline_mean,
                recent_mean=event.recent_mean,
            )
        )
    return QualitySection(flags=flags, agreement_tasks=total.tasks, agreement=agreement, drift=drift)
