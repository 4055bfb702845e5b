"""A generated team: scored results as ScoreWorkerFunction stores them, for a team of any size over any number of
days, without running the scorer. The leaderboard's browser tests (60 annotators, 90 days), `make bench`
(100,000 results) and the docs' pictures use it.

Every annotator has a skill and a speed; every benchmark item a difficulty. Each task is one item labelled by
`per_task` annotators on shift that day; a result's counts, breakdowns, conflicts and time follow its score,
so the rankings, size columns and confusion matrices the report draws have real structure. Some annotators have
a defining error (missing small objects, swapping Car and Truck, loose boxes, careless answers), as in the demo.
Names are long, realistic e-mail addresses, some very long, so wrapping is tested for real. Deterministic per seed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from benchmark_qa.leaderboard import EditorLinks, Leaderboard, assemble
from benchmark_qa.scoring.conflicts import Conflict
from benchmark_qa.store.scores import AnnotatorResult, AttributeCounts, ClassCounts, aggregate_results, day_of
from benchmark_qa.task_details import ChoiceCount, SizeCounts, TaskDetails

FIRST = ("amelia", "bogdan", "chiara", "dmitri", "esperanza", "fatima", "gunnar", "hiroshi", "ingrid", "jamal")
LAST = ("okonkwo-villanueva", "lindqvist", "de-la-fuente-garcia", "nakamura", "oyelaran", "castellanos", "weber")
VENDORS = ("annotation-vendor.example.com", "labelling-partners-international.example.org", "inhouse.example.net")
CLASSES = ("Car", "Truck", "Pedestrian", "Cyclist")
HABITS = ("", "", "", "misses-small", "confuses-car-truck", "loose-boxes", "careless-answers")
START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # a Monday
HOURLY_RATE = 25.0


@dataclass(frozen=True)
class Member:
    email: str
    skill: float  # mean task score before the item's difficulty
    seconds_per_object: float
    habit: str


def team(size: int, seed: int = 7) -> list[Member]:
    rng = random.Random(seed)
    members = []
    for k in range(size):
        first, last, vendor = rng.choice(FIRST), rng.choice(LAST), VENDORS[k % len(VENDORS)]
        local = f"{first}.{last}" + (f"-contractor-batch-{k:02d}" if k % 9 == 4 else f"{k:02d}")
        members.append(
            Member(
                email=f"{local}@{vendor}",
                skill=rng.uniform(0.55, 0.97),
                seconds_per_object=rng.uniform(4.0, 14.0),
                habit=HABITS[k % len(HABITS)],
            )
        )
    return members


def _details(rng: random.Random, habit: str, tp: int, fn: int, fp: int, score: float) -> TaskDetails:
    small_miss = fn if habit == "misses-small" else rng.randint(0, fn)
    sizes = {
        "small": SizeCounts(tp=max(tp // 4 - small_miss // 2, 0), fn=small_miss, fp=fp // 3),
        "medium": SizeCounts(tp=tp // 2, fn=max(fn - small_miss, 0), fp=fp - fp // 3),
        "large": SizeCounts(tp=tp - tp // 4 - tp // 2, fn=0, fp=0),
    }
    swaps = fn // 2 if habit == "confuses-car-truck" else 0
    confusion = {
        "Car": {"Car": tp // 2, "Truck": swaps, "unmatched": fn - swaps},
        "Truck": {"Truck": tp - tp // 2, "Car": swaps // 2},
        "unmatched": {"Car": fp},
    }
    wrong = round((1 - score) * 6) if habit == "careless-answers" else rng.randint(0, 1)
    choices = [ChoiceCount(path="Car/Occluded", truth="yes", labels="no", frames=wrong)] if wrong else []
    kinds = {
        "misses-small": "missing",
        "confuses-car-truck": "wrong_class",
        "loose-boxes": "low_overlap",
        "careless-answers": "attribute_mismatch",
    }
    worst = [
        Conflict(
            kind=kinds.get(habit, rng.choice(("missing", "extra", "low_overlap"))),
            severity="error",
            data_unit="unit",
            frame=rng.randint(0, 3),
            frame_last=3,
            frames=1,
            truth_hash=f"gt{k:06d}",
            labels_hash=f"an{k:06d}",
            truth_value="Car",
            labels_value="Truck" if habit == "confuses-car-truck" else "Car",
            similarity=round(rng.uniform(0.2, 0.6), 3),
            hint="",
        )
        for k in range(min(fn + fp, 4))
    ]
    return TaskDetails(
        confusion={t: {a: n for a, n in row.items() if n} for t, row in confusion.items()},
        sizes=sizes,
        choices=choices,
        worst=worst,
    )


def results(
    size: int = 60, days: int = 90, tasks_per_day: int = 40, per_task: int = 4, seed: int = 7
) -> Iterator[tuple[AnnotatorResult, float]]:
    """(result, seconds the annotator spent on it) for `days` days of `tasks_per_day` tasks of `per_task` each."""
    rng = random.Random(seed)
    members = team(size, seed)
    items = [f"{uuid.UUID(int=rng.getrandbits(128))}" for _ in range(max(tasks_per_day * days // 3, 1))]
    difficulty = {item: rng.uniform(0.0, 0.25) for item in items}
    title = {item: f"street scene {k:05d}.jpg" for k, item in enumerate(items)}
    for day in range(days):
        shift = rng.sample(members, k=max(per_task, int(len(members) * 0.6)))
        for t in range(tasks_per_day):
            item = rng.choice(items)
            task = str(uuid.UUID(int=rng.getrandbits(128)))
            at = START + timedelta(days=day, minutes=t * 7)
            for member in rng.sample(shift, k=min(per_task, len(shift))):
                score = min(max(member.skill - difficulty[item] + rng.gauss(0.0, 0.06), 0.0), 1.0)
                objects = rng.randint(4, 12)
                tp = round(objects * score)
                fn = objects - tp
                fp = max(0, round((1 - score) * objects * 0.5))
                result = AnnotatorResult(
                    project_hash="production-project",
                    task_uuid=task,
                    data_hash=item,
                    data_title=title[item],
                    annotator=member.email,
                    branch_name=f"consensus-{member.email}",
                    label_hash=str(uuid.UUID(int=rng.getrandbits(128))),
                    scored_at=at.isoformat(timespec="milliseconds"),
                    score=score,
                    interval_low=max(score - 0.1, 0.0),
                    interval_high=min(score + 0.1, 1.0),
                    n=objects,
                    classes={
                        "Car": ClassCounts(tp=tp // 2, fp=fp, fn=fn, similarity_sum=0.8 * (tp // 2)),
                        "Truck": ClassCounts(tp=tp - tp // 2, fp=0, fn=0, similarity_sum=0.8 * (tp - tp // 2)),
                    },
                    attributes={"Car/Occluded": AttributeCounts(correct=tp // 2, total=tp // 2 + fn // 2)},
                    conflict_totals={"missing": fn, "extra": fp} if fn or fp else {},
                    hints=[f"missed Car on {fn} frames"] if fn else [],
                    details=_details(rng, member.habit, tp, fn, fp, score),
                )
                seconds = (20 + member.seconds_per_object * objects) * rng.uniform(0.8, 1.2)
                yield result, seconds


def leaderboard(
    size: int, days: int = 90, tasks_per_day: int | None = None, per_task: int = 4, seed: int = 7
) -> Leaderboard:
    """The leaderboard of a generated team, with the time each result took joined as ReportFunction joins it."""
    generated = list(results(size, days, tasks_per_day or max(size * 2 // 3, 8), per_task, seed))
    aggregates = aggregate_results(r for r, _ in generated)
    seconds = {(r.annotator, r.key): s for r, s in generated}
    for aggregate in aggregates:
        for entry in aggregate.entries:
            entry.days = {
                day_of(entry.scored_at): seconds[(aggregate.annotator, f"{entry.task_uuid}#{entry.label_hash}")]
            }
    return assemble(
        aggregates,
        results={(r.annotator, r.key): r for r, _ in generated},
        links=EditorLinks("https://app.encord.com", "benchmark-project"),
        hourly_rate=HOURLY_RATE,
        generated_at=START + timedelta(days=days),
    )
