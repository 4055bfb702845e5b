"""Issue 11, deliverable 7: the whole app under faults and kills, checked against ground truth at the end.

One offline app (template stack on moto server, functions run by the invoker, Encord double over HTTP). A seeded
script of S3 events: uploads, re-uploads, deletes of the object or of an old version, duplicates and late
redeliveries of S3's own notifications, bad inputs (messages and objects); ManifestFunction, RegisterFunction,
RouteFunction, ScoreFunction and ScoreWorkerFunction run as AWS would run them (the pump delivers, redelivers,
fires schedules) while Encord answers 20% of requests with 429/5xx or drops the connection, and 20% of the
invocations are killed right after one of their external calls (benchmark_qa_local.kills). Two ingest consumers
take the same messages at once, and two score writers write the same results at once.

Then the invariants, against the bucket and the double's state (not the app's own counters):
- `benchmark-qa status --audit` (benchmark_qa_local.audit): every object version in exactly one manifest, or
  skipped/failed/deleted with a reason; nothing stuck;
- no Encord item created twice (storage items and data units per URL, in the double);
- every (task, annotator) result written once; aggregates equal the sum of stored results;
- routing's audit equals the moves: every task left the agent stage once, to where its audit record says;
  no run left running, no lock held.

The default gate runs a few hundred events; `make soak` runs SOAK_EVENTS (default 10,000) with SOAK_SEED.
The table is printed (pytest -s) and quoted in docs/soak.md."""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from benchmark_qa.bucket import S3Bucket
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.pipeline import BadMessage, Ingest, parse_notification
from benchmark_qa.store.routing import RoutingRepository, lock_pk
from benchmark_qa.store.scores import aggregate_results
from benchmark_qa.store.table import state_table
from benchmark_qa_local import samples
from benchmark_qa_local.audit import Auditor
from benchmark_qa_local.encord_double import DoubleState, FaultConfig, FaultKind, FaultRule
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.event_sources import EventSourcePump, SqsSource
from benchmark_qa_local.invoker import InvocationResult, Invoker
from benchmark_qa_local.kills import KillPlan
from benchmark_qa_local.offline import OfflineApp, offline_app

from tests.integration.consensus_scoring.conftest import PRECISE, SLOPPY, put_in_review
from tests.integration.consensus_scoring.test_scoring import precise_and_sloppy

pytestmark = pytest.mark.integration

PROGRESS = bool(os.environ.get("SOAK_PROGRESS"))  # a line per round on stderr, for the long run
SEED = int(os.environ.get("SOAK_SEED", "11"))
GATE_EVENTS = 200
SOAK_EVENTS = int(os.environ.get("SOAK_EVENTS", "10000"))
KILL_PROBABILITY = FAULT_PROBABILITY = 0.2
ROUND = 40  # events between two deliveries of IngestQueue
ROUNDS_MAX = 25  # schedule firings a phase may need before it is declared stuck


@dataclass
class Tally:
    events: Counter[str] = field(default_factory=Counter)  # what the script did, by kind
    bad_inputs: int = 0
    invocations: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # failed invocations by function (kills among them)
    seconds: dict[str, float] = field(default_factory=dict)  # by phase

    @property
    def total(self) -> int:
        return sum(self.events.values())


class App(OfflineApp):
    pass


class RecordingPump(EventSourcePump):
    """The pump, keeping a copy of every IngestQueue message body it delivered (for duplicates and late
    redeliveries, which SQS and S3 both produce)."""

    delivered: list[str]

    def _receive(self, source: SqsSource) -> list[dict[str, Any]]:
        messages = super()._receive(source)
        if source.queue_logical_id == "IngestQueue":
            self.delivered.extend(m["Body"] for m in messages)
        return messages


class CountingInvoker(Invoker):
    """Arms the kill plan around every invocation and counts outcomes."""

    plan: KillPlan
    tally: Tally

    def invoke(self, logical_id: str, event: Any, *, cold: bool = False) -> InvocationResult:
        with self.plan.armed(logical_id, "sqs" if isinstance(event, dict) and "Records" in event else "schedule"):
            result = super().invoke(logical_id, event, cold=cold)
        self.tally.invocations[logical_id] += 1
        if not result.ok:
            self.tally.errors[f"{logical_id}: {result.error and result.error.get('errorType')}"] += 1
        return result


def _seed(tasks: int) -> Any:
    def seed(state: DoubleState) -> StandardSetup:
        state.settings.page_size = 50
        return seed_standard_setup(state, annotators=(PRECISE, SLOPPY), benchmark_items=tasks, production_items=tasks)

    return seed


@pytest.fixture(
    params=[
        pytest.param(GATE_EVENTS, marks=pytest.mark.timeout(900)),  # minutes on a busy machine, not seconds
        pytest.param(
            SOAK_EVENTS, marks=[pytest.mark.soak, pytest.mark.timeout(int(os.environ.get("SOAK_TIMEOUT", "21600")))]
        ),
    ],
    ids=lambda n: f"{n}-events",
)
def events(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def soak(monkeypatch: pytest.MonkeyPatch, events: int) -> Iterator[tuple[App, KillPlan, Tally]]:
    quick = {"ENCORD_BACKOFF_FACTOR": "0"}
    env = {
        # Time passes between two firings of a schedule on AWS; here the next firing comes at once, so what waits
        # for a crashed invocation's work to age (2 and 5 minutes) is taken over by the next sweep or poll.
        "ManifestFunction": {"GROUP_QUIET_SECONDS": "0", "RECOVER_AFTER_SECONDS": "0"},
        "RegisterFunction": {**quick, "RESTART_AFTER_SECONDS": "0"},
        # A dead run's lock is taken over once it expires: a second here, which the run waits out (let_lock_expire).
        "RouteFunction": {**quick, "LOCK_SECONDS": "1"},
        "ScoreFunction": {**quick, "SCORE_BATCH_SIZE": "10"},
        "ScoreWorkerFunction": dict(quick),
    }
    tasks = max(10, events // 50)
    plan, tally = KillPlan(seed=SEED, probability=KILL_PROBABILITY), Tally()
    with offline_app(App, _seed(tasks), stack_name=f"soak-{uuid.uuid4().hex[:8]}", env_vars=env) as app:
        for name, value in app.stack.env().items():
            monkeypatch.setenv(name, value)
        invoker = CountingInvoker(stack=app.stack, env_vars=env, log_stream=open(os.devnull, "w"))  # noqa: SIM115
        invoker.plan, invoker.tally = plan, tally
        pump = RecordingPump(app.stack, invoker)
        pump.delivered = []
        app.invoker, app.pump = invoker, pump
        with plan.installed():
            yield app, plan, tally


# ---------------------------------------------------------------------------------------------- the script
BAD_MESSAGES = [
    "not json {",
    json.dumps({"no": "records"}),
    json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "someone-else"}}}]}),
    json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}),
    json.dumps({"Records": "nope"}),
    json.dumps([1, 2, 3]),
]
BAD_KEYS = [
    "benchmark/../production/escape.jpg",
    "benchmark/./dot.jpg",
    "benchmark/notes/readme.docx",
    "production/" + "k" * 1000 + ".jpg",
    "benchmark/unknown.xyz",
]


class Script:
    """The seeded sequence of S3 events (and what SQS does to their notifications)."""

    def __init__(self, app: App, pump: RecordingPump, tally: Tally, rng: random.Random) -> None:
        self.app, self.pump, self.tally, self.rng = app, pump, tally, rng
        self.s3 = app.stack.boto3_client("s3")
        self.sqs = app.stack.boto3_client("sqs")
        self.queue = app.stack.physical_id("IngestQueue")
        self.keys: list[str] = []
        self.versions: dict[str, list[str]] = {}
        self.groups: dict[str, int] = {}

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.50 or not self.keys:
            self.upload_new()
        elif roll < 0.60:
            self.upload_again()
        elif roll < 0.67:
            self.delete(old_version=self.rng.random() < 0.3)
        elif roll < 0.80:
            self.redeliver(late=self.rng.random() < 0.4)
        elif roll < 0.90:
            self.group_member()
        else:
            self.bad_input()

    def put(self, key: str, body: bytes) -> None:
        version = self.s3.put_object(Bucket=self.app.bucket, Key=key, Body=body)["VersionId"]
        self.versions.setdefault(key, []).append(version)

    def upload_new(self) -> None:
        dataset = self.rng.choice(("benchmark", "production"))
        extension = self.rng.choice((".jpg", ".jpg", ".png", ".txt"))
        key = f"{dataset}/soak/{len(self.keys):06d}{extension}"
        self.put(key, samples.for_key(key) + str(self.rng.random()).encode())
        self.keys.append(key)
        self.tally.events["upload"] += 1

    def upload_again(self) -> None:
        key = self.rng.choice(self.keys)
        self.put(key, samples.for_key(key) + str(self.rng.random()).encode())
        self.tally.events["re-upload"] += 1

    def delete(self, *, old_version: bool) -> None:
        key = self.rng.choice(self.keys)
        versions = self.versions.get(key, [])
        if old_version and len(versions) > 1:
            self.s3.delete_object(Bucket=self.app.bucket, Key=key, VersionId=versions.pop(0))
            self.tally.events["delete of an old version"] += 1
        else:
            self.s3.delete_object(Bucket=self.app.bucket, Key=key)
            self.tally.events["delete"] += 1

    def redeliver(self, *, late: bool) -> None:
        delivered = self.pump.delivered
        if not delivered:
            return self.upload_new()
        body = delivered[self.rng.randrange(len(delivered))] if late else delivered[-1]
        self.sqs.send_message(QueueUrl=self.queue, MessageBody=body)
        self.tally.events["late redelivery" if late else "duplicate"] += 1
        return None

    def group_member(self) -> None:
        """A file of an image group; some groups are closed by their ready marker, the rest by the sweep."""
        name = f"g{self.rng.randrange(max(1, len(self.keys) // 20 + 1)):04d}"
        group = f"{self.rng.choice(('benchmark', 'production'))}/image-groups/{name}"
        count = self.groups[group] = self.groups.get(group, 0) + 1
        key = f"{group}/frame-{count:03d}.jpg"
        self.put(key, samples.for_key(key) + str(self.rng.random()).encode())
        self.tally.events["group member"] += 1
        if self.rng.random() < 0.3:
            self.put(f"{group}/_READY", b"")
            self.tally.events["group ready marker"] += 1

    def bad_input(self) -> None:
        self.tally.bad_inputs += 1
        if self.rng.random() < 0.5:
            self.sqs.send_message(QueueUrl=self.queue, MessageBody=self.rng.choice(BAD_MESSAGES))
            self.tally.events["bad message"] += 1
        else:
            key = self.rng.choice(BAD_KEYS)
            self.put(key, samples.for_key(key) + str(self.rng.random()).encode())
            self.tally.events["bad object"] += 1


def deliver_at_once_to_two_consumers(app: App, bodies: list[str]) -> None:
    """SQS delivers a message to two consumers at once now and then (at-least-once): two ingest runs of the same
    notifications, in two threads, against the same table and bucket."""
    layout = Layout(group_quiet_seconds=0)

    def consume() -> None:
        ingest = Ingest(app.uploads, S3Bucket(app.bucket), layout, app.stack.region)
        for body in bodies:
            try:
                events = parse_notification(body, bucket=app.bucket)
            except BadMessage:
                continue
            for event in events:
                ingest.accept(event)
        ingest.flush()

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ---------------------------------------------------------------------------------------------- the phases
def ingest_and_register(app: App, tally: Tally, events: int, rng: random.Random) -> None:
    pump = app.pump
    assert isinstance(pump, RecordingPump)
    script = Script(app, pump, tally, rng)
    while tally.total < events:
        if PROGRESS:
            print(f"soak progress: {tally.total} events, {dict(tally.invocations)}", file=sys.stderr, flush=True)
        for _ in range(ROUND):
            script.step()
        if rng.random() < 0.2 and pump.delivered:
            deliver_at_once_to_two_consumers(app, pump.delivered[-ROUND:])
            tally.events["concurrent delivery"] += 1
        pump.drain(function="ManifestFunction")
        if rng.random() < 0.3:
            pump.fire_schedule("ManifestFunction", "Sweep")
        pump.drain(function="RegisterFunction")
        pump.fire_schedule("RegisterFunction")
        pump.fire_schedule("RouteFunction")  # registered items become tasks that routing takes while uploads go on
        let_lock_expire(app)
    uploads = app.uploads
    for _ in range(ROUNDS_MAX):
        pump.drain()
        pump.fire_schedule("ManifestFunction", "Sweep")
        pump.drain()
        pump.fire_schedule("RegisterFunction")
        busy = [s for s in ("written", "starting", "uploading", "claimed") if uploads.manifests_with_status(s)]
        waiting = [r for r in uploads.all_objects() if r.status in ("pending", "claimed", "in_manifest")]
        if not busy and not waiting:
            return


def let_lock_expire(app: App) -> None:
    """A routing run that died holds the project's lock until it expires (LOCK_SECONDS, 1 here); on AWS the next
    schedule comes minutes later. Waits until it has expired, so what the next run does never depends on speed."""
    table = state_table(app.stack.physical_id("StateTable"), app.stack.region)
    item = table.get_item(Key={"pk": lock_pk(app.setup.production_project_hash), "sk": "LOCK"}).get("Item")
    if item:
        time.sleep(max(0.0, int(str(item["expires_at"])) + 1.05 - time.time()))


def route(app: App) -> None:
    """Until the agent stage is empty and the last run has settled (no run `running`, no lock held)."""
    agent = app.setup.production_stages["Benchmark Task?"]
    routing = RoutingRepository(state_table(app.stack.physical_id("StateTable"), app.stack.region))
    project = app.setup.production_project_hash
    for _ in range(ROUNDS_MAX):
        app.pump.fire_schedule("RouteFunction")
        let_lock_expire(app)
        with app.double.locked() as state:
            staged = any(t.stage_uuid == agent for t in state.projects[project].tasks.values())
        running = any(r.get("status") == "running" for r in routing.runs(project))
        if not staged and not running and routing.lock_owner(project) is None:
            return


def score(app: App) -> dict[str, str]:
    with app.double.locked() as state:
        roles = app.setup.stage_roles()
        tasks = state.projects[app.setup.production_project_hash].tasks.values()
        images = {h for h, u in state.data_units.items() if u.data_type == "image"}  # the seeded rows are boxes
        consensus = [
            t.data_hash for t in tasks if roles[t.stage_uuid] == "Consensus 1 Annotate" and t.data_hash in images
        ]
        seeded = put_in_review(state, app.setup, consensus, branches=precise_and_sloppy(app))  # type: ignore[arg-type]
    review = app.setup.production_stages["Consensus 1"]
    for _ in range(ROUNDS_MAX):
        app.pump.fire_schedule("ScoreFunction")
        app.pump.drain()
        with app.double.locked() as state:
            tasks = state.projects[app.setup.production_project_hash].tasks.values()
            if not any(t.stage_uuid == review for t in tasks):
                break
    return seeded.tasks


def write_results_twice_at_once(app: App) -> int:
    """Two score writers with the same results at once (a redelivered worker message beside the first)."""
    results = list(app.scores.results())[:20]

    def write() -> None:
        for result in results:
            app.scores.put_result(result)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(results)


# ---------------------------------------------------------------------------------------------- the checks
@dataclass
class Violations:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)

    def table(self, tally: Tally, plan: KillPlan, faults: int, events: int) -> str:
        rows = [
            ("events", tally.total),
            ("bad inputs", tally.bad_inputs),
            ("Encord faults", faults),
            ("kills", plan.total),
            ("lost", len(self.lost)),
            ("duplicated", len(self.duplicated)),
            ("unexplained", len(self.unexplained)),
        ]
        lines = [
            f"soak: {events} events asked, seed {SEED}, kills {KILL_PROBABILITY:.0%} of invocations, "
            f"Encord faults {FAULT_PROBABILITY:.0%} of requests",
            "| " + " | ".join(n for n, _ in rows) + " |",
            "|" + "---|" * len(rows),
            "| " + " | ".join(f"{v:,}" for _, v in rows) + " |",
            "events by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.events.items())),
            "invocations: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.invocations.items())),
            "failed invocations: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.errors.items())),
            "seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in tally.seconds.items()),
            f"kill sites: {len(plan.kills)} distinct",
        ]
        lines += [f"  {n:>4}  {site}" for site, n in plan.kills.most_common()]
        lines += ["calls:"] + [f"  {n:>6}  {site}" for site, n in plan.calls.most_common()]
        for kind in ("lost", "duplicated", "unexplained"):
            lines += [f"  {kind}: {v}" for v in getattr(self, kind)[:50]]
        return "\n".join(lines)


def _rounded(value: Any) -> Any:
    """Sums of floats in another order differ in the last bits."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _where(app: App, key: str) -> str:
    """The manifest (and group) of a key's records, for a finding's detail."""
    notes = []
    for record in app.uploads.object_versions(app.bucket, key):
        manifest = app.uploads.get_manifest(record.manifest_id) if record.manifest_id else {}
        notes.append(
            f"{record.status} v{record.version[:8]} manifest {record.manifest_id}: "
            + ", ".join(f"{k}={manifest.get(k)}" for k in ("status", "attempts", "reason", "job_id") if k in manifest)
        )
    return " [" + "; ".join(notes) + "]"


def check(app: App, seeded: dict[str, str]) -> Violations:
    found = Violations()
    # Ingest and registration: the audit, judged as if an hour had passed (nothing may be in flight any more).
    report = Auditor(
        state_table(app.stack.physical_id("StateTable"), app.stack.region),
        app.stack.boto3_client("s3"),
        app.bucket,
        ["benchmark", "production"],
        now=datetime.now(UTC) + timedelta(hours=2),
        grace=timedelta(0),
    ).run()
    for finding in report.findings:
        getattr(found, finding.kind).append(f"ingest: {finding.key[:80]}: {finding.detail}{_where(app, finding.key)}")
    bad = app.uploads.bad_messages()
    found.unexplained += [f"ingest: bad message without a reason: {b}" for b in bad if not b.get("reason")]
    # No Encord item created twice: one storage item and one data unit per URL.
    records = {r.key: r for r in app.uploads.all_objects() if r.status == "registered"}
    with app.double.locked() as state:
        items = Counter(url for item in state.storage_items.values() for url in item.urls)
        units = Counter((u.dataset_hash, u.file_link) for u in state.data_units.values() if u.file_link)
        item_uuids = set(state.storage_items)
        found.duplicated += [f"encord: {n} storage items for {url}" for url, n in items.items() if n > 1]
        found.duplicated += [f"encord: {n} data units for {link}" for (_, link), n in units.items() if n > 1]
        found.lost += [
            f"encord: {key} registered as item {(r.encord or {}).get('item_uuid')}, which Encord does not have"
            for key, r in records.items()
            if r.encord and r.encord.get("item_uuid") and r.encord["item_uuid"] not in item_uuids
        ]
        project = state.projects[app.setup.production_project_hash]
        roles = app.setup.stage_roles()
        where = {t.uuid: roles[t.stage_uuid] for t in project.tasks.values()}
        benchmark = app.setup.benchmark_dataset_hash
        is_benchmark = {t.uuid: state.data_units[t.data_hash].dataset_hash == benchmark for t in project.tasks.values()}
    # Routing: every task left the agent stage, and its audit says where it went; no run running, no lock held.
    routing = RoutingRepository(state_table(app.stack.physical_id("StateTable"), app.stack.region))
    for task, stage in where.items():
        if stage == "Benchmark Task?":
            found.lost.append(f"routing: task {task} still in the agent stage")
            continue
        history = routing.task_history(task)
        routed = [r for r in history if r.outcome == "routed"]
        expected = "YES" if is_benchmark[task] else "NO"
        if not routed:
            audited = [r.outcome for r in history]
            found.unexplained.append(f"routing: task {task} moved to {stage}, audited {audited or 'nowhere'}")
        elif len(routed) > 1:
            found.duplicated.append(f"routing: task {task} has {len(routed)} 'routed' records")
        elif routed[0].decision.upper() != expected:
            found.unexplained.append(f"routing: task {task} audited {routed[0].decision}, is {expected}")
    for run in routing.runs(app.setup.production_project_hash):
        if run.get("status") == "running":
            found.unexplained.append(f"routing: run {run.get('run_id', run.get('pk'))} left running")
    owner = routing.lock_owner(app.setup.production_project_hash)
    if owner:
        found.unexplained.append(f"routing: run lock still held by {owner}")
    # Scoring: every (task, annotator) once; aggregates equal the sum of the stored results.
    results = list(app.scores.results())
    written = Counter((r.task_uuid, r.annotator) for r in results)
    found.duplicated += [f"scoring: {k} written {n} times" for k, n in written.items() if n > 1]
    expected_keys = {(t, a) for t in seeded for a in (PRECISE, SLOPPY)}
    found.lost += [f"scoring: no result for {k}" for k in sorted(expected_keys - set(written))]
    stored = {a.annotator: _rounded(a.model_dump()) for a in app.scores.aggregates()}
    for want in aggregate_results(results):
        have, summed = stored.get(want.annotator, {}), _rounded(want.model_dump())
        # the latest result's time, where the in-memory fold keeps the last one it folded
        summed["last_scored_at"] = max(r.scored_at for r in results if r.annotator == want.annotator)
        differ = sorted(k for k in summed if have.get(k) != summed[k])
        found.unexplained += [
            f"scoring: aggregate {k} of {want.annotator} is {str(have.get(k))[:120]}, the results sum to "
            f"{str(summed[k])[:120]}"
            for k in differ
        ]
    found.unexplained += [f"scoring: error left {e}" for e in app.scores.errors()]
    return found


def test_nothing_lost_duplicated_or_unexplained_under_faults_and_kills(
    soak: tuple[App, KillPlan, Tally], events: int
) -> None:
    app, plan, tally = soak
    rng = random.Random(SEED)
    app.double.configure_faults(
        FaultConfig(
            seed=SEED,
            rules=[
                FaultRule(endpoint="*", status=429, retry_after=0, probability=FAULT_PROBABILITY / 2),
                FaultRule(endpoint="*", status=502, probability=FAULT_PROBABILITY / 4),
                FaultRule(endpoint="*", kind=FaultKind.DROP, probability=FAULT_PROBABILITY / 4),
            ],
        )
    )

    started = time.perf_counter()
    ingest_and_register(app, tally, events, rng)
    tally.seconds["ingest and registration"] = time.perf_counter() - started
    route(app)
    tally.seconds["routing"] = time.perf_counter() - started - sum(tally.seconds.values())
    seeded = score(app)
    tally.seconds["scoring"] = time.perf_counter() - started - sum(tally.seconds.values())
    tally.events["concurrent result writes"] += write_results_twice_at_once(app)
    faults = sum(app.double.faults.fired.values())
    app.double.clear_faults()
    found = check(app, seeded)

    print("\n" + found.table(tally, plan, faults, events))
    assert plan.total > 0, "kills happened"
    assert faults > 0, "Encord faults happened"
    assert tally.bad_inputs > 0
    assert (found.lost, found.duplicated, found.unexplained) == ([], [], [])
