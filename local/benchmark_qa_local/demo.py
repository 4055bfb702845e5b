"""The offline demo (`make demo`): the Benchmark QA workflow on the embedded local stack and the Encord double.

Every step runs the template's own functions through the Docker-free invoker, fed by the event-source pump
as SQS and EventBridge Scheduler would feed them in AWS:

  1. upload sample files of every data type into the upload bucket
  2. ManifestFunction turns the S3 notifications into Encord import manifests
  3. RegisterFunction starts Encord upload jobs; its scheduled poller links the items to the datasets
  4. the ground truth of every benchmark image is labelled in the Benchmark Project
  5. RouteFunction (the "Benchmark Task?" agent) sends benchmark tasks YES to the consensus block, the rest NO
  6. week 1: six simulated annotators with known error profiles label their branches of half the benchmark tasks
     and submit; the editor's timer records the time each spent (what Encord's `list_time_spent` reports);
     ScoreFunction's scheduled run scores every branch against the ground truth and archives the tasks
  7. week 2: the same for the other half, but one annotator (`drifts@`) has become careless: looser boxes, most
     small objects missed, Weather answered without looking; the next scheduled ScoreFunction run scores them
  8. four ground-truth labels were planted wrong, and the audit must flag exactly those images
  9. ReportFunction runs the drift monitor (the stack's DriftWarmup is DEMO_DRIFT_WARMUP, not the default 20: the
     demo has 20 tasks per annotator), joins the time to the scores and publishes the leaderboard (HTML, CSV,
     JSON) into the reports bucket; the demo fetches it, prints it, and checks that its ranking recovers the five
     stable annotators' order and that it marks drift on `drifts@` only, dated in week 2

Everything Encord sees goes through the real SDK (docs/simulation.md for the annotators).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO
from unittest import mock

from benchmark_qa.agreement_report import TaskAgreement
from benchmark_qa.leaderboard import Leaderboard
from benchmark_qa.leaderboard.publish import fetch_latest
from benchmark_qa.leaderboard.quality import DriftMark
from benchmark_qa.leaderboard.text import render_text
from benchmark_qa.store.quality import FlagRecord, QualityRepository
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import ObjectRecord

from benchmark_qa_local import samples
from benchmark_qa_local.cli.status import render_table
from benchmark_qa_local.encord_double import DoubleState
from benchmark_qa_local.encord_double.analytics import record_time_spent
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.offline import OfflineApp, offline_app
from benchmark_qa_local.simulation import (
    EXPECTED_ORDER,
    Scene,
    annotate,
    demo_ontology,
    image_indices,
    seconds_on,
    write_ground_truth,
)
from benchmark_qa_local.simulation.annotate import CONSENSUS_ANNOTATE
from benchmark_qa_local.simulation.drift_stream import DRIFTS, drifting_team
from benchmark_qa_local.simulation.planted_errors import PlantedError, plant_errors

Print = Callable[[str], None]

DEMO_SEED = 101  # ground truth and annotator errors are deterministic for a seed (docs/simulation.md)
BENCHMARK_IMAGES = 20  # the leaderboard ranks annotators from 20 scored tasks on (DEFAULT_MIN_TASKS)
REPORT_PATH = Path("out/leaderboard.html")
# Wrong ground truth planted on purpose (docs/annotator-quality.md): kinds the audit finds on every image with the
# five demo annotators (a nudged box or a flipped attribute is found 70-80% of the time, tests/unit/ground_truth_audit).
PLANTED_ERRORS = 4
DEMO_PLANTED_KINDS = ("wrong_class", "spurious_object", "missing_object", "wrong_weather")
HOURLY_RATE = "30"  # AnnotatorHourlyRate of the demo's stack, so the report shows the cost per correct object
# The demo's team labels in two weeks, each scored by its own ScoreFunction run; `drifts@` degrades in week 2.
WEEKS = 2
DRIFTING = next(email for email in drifting_team(1) if email.startswith(f"{DRIFTS.name}@"))
# DriftWarmup of the demo's stack (the template parameter users set; default 20): each annotator's first 8 scored
# tasks set their baseline, so 20 tasks leave 12 to chart. A baseline from 8 tasks is noisier than from 20: fine for
# a demo with one seed, not a recommendation (docs/annotator-quality.md).
DEMO_DRIFT_WARMUP = "8"

# Sample uploads: every data type of Encord's import spec, both datasets, sidecars, and one bad file.
CT = "1.2.826.0.1.3680043.8.498.1"  # the demo's DICOM series UID
SAMPLE_FILES: dict[str, bytes] = {
    "benchmark/street scene 1.jpg": samples.jpeg("1"),
    "benchmark/street scene 1.jpg.meta.json": json.dumps(
        {"title": "Street scene 1", "clientMetadata": {"split": "benchmark", "weather": "rain"}}
    ).encode(),
    "benchmark/café crossing.png": samples.png("2"),
    "benchmark/highway.mp4": samples.mp4("benchmark"),
    "benchmark/image-groups/parking lot/cam1.jpg": samples.jpeg("g1"),
    "benchmark/image-groups/parking lot/cam2.jpg": samples.jpeg("g2"),
    "benchmark/image-groups/parking lot/_READY": b"",
    "benchmark/dicom/Chest CT/slice10.dcm": samples.dicom(CT, 10, description="Chest CT"),
    "benchmark/dicom/Chest CT/slice2.dcm": samples.dicom(CT, 2, description="Chest CT"),
    "benchmark/dicom/Chest CT/slice1.dcm": samples.dicom(CT, 1, description="Chest CT"),
    "benchmark/dicom/Chest CT/_READY": b"",
    "production/frames/0001.jpg": samples.jpeg("p1"),
    "production/frames/0002.jpg": samples.jpeg("p2"),
    "production/frames/0003.jpg": samples.jpeg("p3"),
    "production/drive.mp4": samples.mp4("production"),
    "production/drive.mp4.meta.json": json.dumps(
        {"keyFrames": [0, 30, 60], "clientMetadata": {"city": "Lyon"}}
    ).encode(),
    "production/call.wav": samples.wav(),
    "production/contract.pdf": samples.pdf(),
    "production/notes.txt": samples.text(),
    "production/brain.nii.gz": samples.nifti(),
    "production/image-sequences/dashcam/f1.jpg": samples.jpeg("s1"),
    "production/image-sequences/dashcam/f2.jpg": samples.jpeg("s2"),
    "production/image-sequences/dashcam/_READY": b"",
    "production/readme.docx": samples.docx(),
}
# More benchmark images: the simulated annotators label images, and the ranking needs enough tasks.
SAMPLE_FILES |= {f"benchmark/scenes/scene {n:02d}.jpg": samples.jpeg(str(n)) for n in range(3, BENCHMARK_IMAGES + 1)}


@dataclass
class DemoWorld(OfflineApp):
    report_path: Path = REPORT_PATH
    truth: dict[str, Scene] = field(default_factory=dict)
    leaderboard: Leaderboard | None = None
    planted: list[PlantedError] = field(default_factory=list)
    flags: list[FlagRecord] = field(default_factory=list)
    week_scored: dict[int, str] = field(default_factory=dict)  # week -> when its ScoreFunction run started (ISO)

    @property
    def planted_found(self) -> bool:
        """Every planted mistake has a flag on its image, and no other image has one (docs/annotator-quality.md)."""
        planted = {p.data_hash for p in self.planted}
        flagged = {r.flag.data_hash for r in self.flags}
        return bool(planted) and flagged == planted

    @property
    def reports_bucket(self) -> str:
        return self.stack.physical_id("ReportsBucket")

    @property
    def ranking_recovered(self) -> bool:
        """The five stable annotators are ranked in their true order (`drifts@`, good then bad, may fall anywhere)."""
        ranked = [row.annotator.split("@")[0] for row in self.leaderboard.ranked] if self.leaderboard else []
        return [name for name in ranked if name in EXPECTED_ORDER] == list(EXPECTED_ORDER)

    @property
    def drift_marks(self) -> list[DriftMark]:
        quality = self.leaderboard.quality if self.leaderboard else None
        return quality.drift if quality else []

    @property
    def drift_found(self) -> bool:
        """The report marks drift on `drifts@` alone, raised by a week-2 task (docs/annotator-quality.md)."""
        week2 = self.week_scored.get(2)
        marks = self.drift_marks
        return (
            week2 is not None
            and bool(marks)
            and {m.annotator for m in marks} == {DRIFTING}
            and all(m.alarm_at >= week2 for m in marks)
        )

    def week_truth(self, week: int) -> dict[str, Scene]:
        """The benchmark images labelled in `week`: the images in title order, cut into WEEKS equal runs."""
        order = image_indices(self.truth)
        size = -(-len(order) // WEEKS)
        return {h: s for h, s in self.truth.items() if (week - 1) * size <= order[h] < week * size}

    def stage_counts(self) -> dict[str, int]:
        """Stage role (its title; "Consensus 1 Annotate" for the block's first stage) -> Production tasks in it."""
        roles = self.setup.stage_roles()
        with self.double.locked() as state:
            project = state.projects[self.setup.production_project_hash]
            return dict(Counter(roles[t.stage_uuid] for t in project.tasks.values()))

    def objects(self) -> list[ObjectRecord]:
        return sorted(self.uploads.all_objects(), key=lambda r: r.key)


def upload_samples(world: DemoWorld, say: Print) -> None:
    s3 = world.stack.boto3_client("s3")
    for key, body in SAMPLE_FILES.items():
        s3.put_object(Bucket=world.bucket, Key=key, Body=body)
    say(f"uploaded {len(SAMPLE_FILES)} files to s3://{world.bucket}/ (benchmark/ and production/)")


def make_manifests(world: DemoWorld, say: Print) -> None:
    report = world.pump.drain(function="ManifestFunction")
    say(f"ManifestFunction: {report.invocations} invocation(s), {report.successes} message(s) processed")
    # Groups close on their _READY marker; anything still open would close on the sweep's schedule.
    world.pump.fire_schedule("ManifestFunction").raise_for_error()
    s3 = world.stack.boto3_client("s3")
    listing = s3.list_objects_v2(Bucket=world.bucket, Prefix="manifests/").get("Contents", [])
    for entry in sorted(listing, key=lambda e: e["Key"]):
        document = json.loads(s3.get_object(Bucket=world.bucket, Key=entry["Key"])["Body"].read())
        kinds = {k: len(v) for k, v in document.items() if isinstance(v, list)}
        say(f"  {entry['Key']}: {kinds}")
    if listing:
        first = sorted(listing, key=lambda e: e["Key"])[0]["Key"]
        body = s3.get_object(Bucket=world.bucket, Key=first)["Body"].read()
        say(f"  {first}:\n" + json.dumps(json.loads(body), indent=2))


def register(world: DemoWorld, say: Print, rounds: int = 20) -> None:
    for _ in range(rounds):
        world.pump.drain()
        world.pump.fire_schedule("RegisterFunction").raise_for_error()
        statuses = {r.status for r in world.objects() if r.role in ("item", "group_member")}
        if statuses <= {"registered", "failed", "skipped"}:
            break
    say("status of every uploaded object (benchmark-qa status):")
    say(render_table(world.objects()))
    with world.double.locked() as state:
        for dataset in state.datasets.values():
            units = [u for u in state.data_units.values() if u.dataset_hash == dataset.dataset_hash]
            say(f"Encord dataset '{dataset.title}': {len(units)} data unit(s)")
            for unit in sorted(units, key=lambda u: u.title):
                say(f"  {unit.data_type:<8} {unit.title}")


def label_ground_truth(world: DemoWorld, say: Print) -> None:
    def plant(truth: dict[str, Scene]) -> dict[str, Scene]:
        written, world.planted = plant_errors(truth, PLANTED_ERRORS, DEMO_SEED, kinds=DEMO_PLANTED_KINDS)
        return written

    world.truth = write_ground_truth(world.client(), world.setup, DEMO_SEED, saved_as=plant)
    objects = sum(len(scene.objects) for scene in world.truth.values())
    say(f"Benchmark Project: ground truth saved for {len(world.truth)} images ({objects} objects)")
    for error in world.planted:
        say(f"  planted a wrong ground truth on {error.data_title}: {error.kind}")


def _say_stages(world: DemoWorld, say: Print) -> None:
    say(
        "Production Project tasks per stage: " + ", ".join(f"{t}: {n}" for t, n in sorted(world.stage_counts().items()))
    )


def route(world: DemoWorld, say: Print) -> None:
    _say_stages(world, say)
    summary = world.pump.fire_schedule("RouteFunction").raise_for_error()
    say(f"RouteFunction: {summary.get('counts')}")
    _say_stages(world, say)


def simulate_annotators(world: DemoWorld, say: Print, week: int) -> None:
    annotators = drifting_team(week)
    saved = annotate(world.client(), world.setup, world.week_truth(week), annotators, DEMO_SEED)
    for email, profile in annotators.items():
        labelled = sum(1 for by_annotator in saved.values() if email in by_annotator)
        say(f"  {email:<40} labelled {labelled} tasks  ({profile.description})")
    say("benchmark tasks of other data types wait in the consensus annotate stage (the simulation labels images only)")
    _say_stages(world, say)


def editor_time(world: DemoWorld, say: Print, week: int) -> None:
    """The editor's timer, which no SDK call writes: each annotator's seconds on each benchmark task of `week`, as
    Encord's time spent (`Project.list_time_spent`) will report them to ReportFunction."""
    annotators = drifting_team(week)
    truth = world.week_truth(week)
    today = datetime.now(UTC).date()
    seconds: dict[str, int] = defaultdict(int)
    with world.double.locked() as state:
        project = state.projects[world.setup.production_project_hash]
        stage = world.setup.production_stages[CONSENSUS_ANNOTATE]  # by uuid: both block stages are "Consensus 1"
        for task in project.tasks.values():
            scene = truth.get(task.data_hash)
            for sub in task.subtasks:
                profile = annotators.get(sub.annotator)
                if scene is None or profile is None:
                    continue
                spent = seconds_on(scene, profile, DEMO_SEED, annotator=sub.annotator)
                record_time_spent(state, project.project_hash, task.uuid, sub.annotator, spent, today, stage)
                seconds[sub.annotator] += spent
    for annotator, total in sorted(seconds.items()):
        say(f"  {annotator:<40} {total / 60:5.1f} min in the editor")


def score(world: DemoWorld, say: Print, week: int) -> None:
    world.week_scored[week] = datetime.now(UTC).isoformat(timespec="milliseconds")
    summary = world.pump.fire_schedule("ScoreFunction").raise_for_error()
    say(f"ScoreFunction: {summary['stage_tasks']} tasks in review, mode {summary['mode']}: {summary['counts']}")
    drained = world.pump.drain()
    if drained.invocations:
        say(f"ScoreWorkerFunction: {drained.invocations} invocation(s), DLQ depth {drained.dlq_depth}")
    scores = world.scores
    errors = scores.errors()
    say(f"results in DynamoDB: {len(list(scores.results()))}; open scoring errors: {len(errors)}")
    for error in errors[:5]:
        say(f"  {error['task_uuid']}: {error['reason']}")
    _say_stages(world, say)


def ground_truth_audit(world: DemoWorld, say: Print) -> None:
    quality = QualityRepository(state_table(world.stack.physical_id("StateTable"), world.stack.region))
    world.flags = quality.flags()
    say(f"suspect ground truth: {len(world.flags)} flag(s) on {len({r.flag.data_hash for r in world.flags})} image(s)")
    for record in world.flags:
        say(f"  [{record.flag.kind}] {record.flag.message}")
    say(f"every planted mistake found, nothing else flagged: {'yes' if world.planted_found else 'NO'}")
    agreement = sum(quality.agreements(), TaskAgreement())
    say(f"agreement without ground truth over {agreement.tasks} tasks (Krippendorff's alpha; AC1 for answers):")
    for name, sums in sorted(agreement.shapes_by_class.items()):
        say(f"  shapes of {name:<12} alpha {_fmt(sums.alpha)}  ({sums.units} objects)")
    say(f"  object classes       alpha {_fmt(agreement.classes.alpha.alpha)}  AC1 {_fmt(agreement.classes.ac1.ac1)}")
    for path, nominal in sorted(agreement.answers.items()):
        say(f"  {path:<20} alpha {_fmt(nominal.alpha.alpha)}  AC1 {_fmt(nominal.ac1.ac1)}")


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def leaderboard(world: DemoWorld, say: Print) -> None:
    published = world.pump.fire_schedule("ReportFunction").raise_for_error()
    say(
        f"ReportFunction published s3://{published['bucket']}/{published['latest']['html']} (and .csv, .json; a "
        f"dated copy under reports/); {published['time_entries']} task times joined from Encord"
    )
    files = fetch_latest(world.stack.boto3_client("s3"), world.reports_bucket, world.report_path.parent / "report")
    board = Leaderboard.model_validate_json(files["json"].read_text(encoding="utf-8"))
    world.leaderboard = board
    say(render_text(board).rstrip())
    world.report_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(files["html"], world.report_path)
    say(f"HTML report: {world.report_path.resolve()}")
    say("simulated annotators, best first: " + " > ".join(EXPECTED_ORDER))
    verdict = "yes" if world.ranking_recovered else "NO"
    say(f"the leaderboard recovers the annotators' true order: {verdict}")
    if board.quality is not None:
        q = board.quality
        say(
            f"its quality section: {len(q.flags)} suspect ground-truth flag(s), agreement on {len(q.agreement)} "
            f"measure(s), {len(q.drift)} drift mark(s)"
        )
    for mark in world.drift_marks:
        say(
            f"  drift: {mark.annotator} ({mark.stream}) changed at {mark.changed_at}, alarm {mark.tasks_to_alarm} "
            f"task(s) later; mean {mark.baseline_mean:.3f} -> {mark.recent_mean:.3f}"
        )
    say(f"week 2 was scored from {world.week_scored.get(2)}; {DRIFTING} drifted then")
    say(f"the report marks drift on {DRIFTING} only, raised in week 2: {'yes' if world.drift_found else 'NO'}")


STEPS: list[tuple[str, Callable[[DemoWorld, Print], None]]] = [
    ("upload sample files", upload_samples),
    ("S3 uploads -> Encord import manifests", make_manifests),
    ("manifests -> Encord upload jobs -> datasets", register),
    ("ground truth in the Benchmark Project", label_ground_truth),
    ('routing: the "Benchmark Task?" agent stage', route),
    ("week 1: simulated annotators label half the benchmark tasks", partial(simulate_annotators, week=1)),
    ("the time they spent, as Encord's editor measures it", partial(editor_time, week=1)),
    ("consensus scoring against the ground truth (ScoreFunction's scheduled run)", partial(score, week=1)),
    (f"week 2: the other half; {DRIFTING} has become careless", partial(simulate_annotators, week=2)),
    ("the time they spent", partial(editor_time, week=2)),
    ("consensus scoring, the next scheduled run", partial(score, week=2)),
    ("ground-truth audit and agreement without ground truth", ground_truth_audit),
    ("the annotator leaderboard, published by the stack", leaderboard),
]


def _seed(state: DoubleState) -> StandardSetup:
    """The standard projects with the simulated annotators and their ontology, no data yet (the demo uploads it)."""
    return seed_standard_setup(
        state, annotators=list(drifting_team(1)), benchmark_items=0, production_items=0, ontology=demo_ontology()
    )


def run(
    say: Print = print,
    report_path: Path = REPORT_PATH,
    function_logs: IO[str] | None = None,
    hold: Callable[[DemoWorld], None] | None = None,
) -> DemoWorld:
    """Run every step on the double and a stack wired to it; `function_logs` receives the functions' own log
    lines (stderr when None). With $AWS_ENDPOINT_URL set, the stack is created in the moto server running there
    (`benchmark-qa stack`) instead of one of its own. `hold(world)` runs last, while both still run (--keep)."""
    stack_name = f"bqa-demo-{uuid.uuid4().hex[:6]}"
    with offline_app(
        DemoWorld,
        _seed,
        stack_name=stack_name,
        log_stream=function_logs,
        parameters={"AnnotatorHourlyRate": HOURLY_RATE, "DriftWarmup": DEMO_DRIFT_WARMUP},
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
    ) as world:
        world.report_path = report_path
        # The demo's own reads (status, scores) go to the same moto as the functions, until the stack stops.
        with mock.patch.dict(os.environ, world.stack.env()):
            say(f"local stack: moto at {world.stack.endpoint_url}; Encord double at {world.double.url}")
            for number, (title, step) in enumerate(STEPS, start=1):
                say(f"\n[{number}/{len(STEPS)}] {title}")
                step(world, say)
            if hold is not None:
                hold(world)
        return world
