"""The offline demo (`make demo`): the Benchmark QA workflow on the embedded local stack and the Encord double.

Every step runs the template's own functions through the Docker-free invoker, fed by the event-source pump
as SQS and EventBridge Scheduler would feed them in AWS:

  1. upload sample files of every data type into the upload bucket
  2. ManifestFunction turns the S3 notifications into Encord import manifests
  3. RegisterFunction starts Encord upload jobs; its scheduled poller links the items to the datasets
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import ObjectRecord, UploadsRepository

from benchmark_qa_local.encord_double import DoubleState, EncordDouble, KeyPair
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.stack import LocalStack

Print = Callable[[str], None]

# Sample uploads: every data type of Encord's import spec, both datasets, sidecars, and one bad file.
SAMPLE_FILES: dict[str, bytes] = {
    "benchmark/street scene 1.jpg": b"\xff\xd8jpeg-1",
    "benchmark/street scene 1.jpg.meta.json": json.dumps(
        {"title": "Street scene 1", "clientMetadata": {"split": "benchmark", "weather": "rain"}}
    ).encode(),
    "benchmark/café crossing.png": b"\x89PNGpng-2",
    "benchmark/highway.mp4": b"mp4-benchmark",
    "benchmark/image-groups/parking lot/cam1.jpg": b"g1",
    "benchmark/image-groups/parking lot/cam2.jpg": b"g2",
    "benchmark/image-groups/parking lot/_READY": b"",
    "benchmark/dicom/Chest CT/slice10.dcm": b"dicom-10",
    "benchmark/dicom/Chest CT/slice2.dcm": b"dicom-2",
    "benchmark/dicom/Chest CT/slice1.dcm": b"dicom-1",
    "benchmark/dicom/Chest CT/_READY": b"",
    "production/frames/0001.jpg": b"p1",
    "production/frames/0002.jpg": b"p2",
    "production/frames/0003.jpg": b"p3",
    "production/drive.mp4": b"mp4-production",
    "production/drive.mp4.meta.json": json.dumps(
        {"keyFrames": [0, 30, 60], "clientMetadata": {"city": "Lyon"}}
    ).encode(),
    "production/call.wav": b"RIFFwav",
    "production/contract.pdf": b"%PDF-1.7",
    "production/notes.txt": b"plain text",
    "production/brain.nii.gz": b"nifti",
    "production/image-sequences/dashcam/f1.jpg": b"s1",
    "production/image-sequences/dashcam/f2.jpg": b"s2",
    "production/image-sequences/dashcam/_READY": b"",
    "production/readme.docx": b"not importable",
}


@dataclass
class DemoWorld:
    stack: LocalStack
    invoker: Invoker
    pump: EventSourcePump
    double: EncordDouble
    setup: StandardSetup
    key: KeyPair

    @property
    def bucket(self) -> str:
        return self.stack.physical_id("UploadBucket")

    @property
    def uploads(self) -> UploadsRepository:
        return UploadsRepository(state_table(self.stack.physical_id("StateTable"), self.stack.region))

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
    for record in world.objects():
        detail = record.reason or ""
        if record.status == "registered" and record.encord:
            detail = f"data {record.encord.get('data_hash')}"
        say(f"  {record.status:<11} {record.key:<48} {detail}")
    counts = Counter(r.status for r in world.objects())
    say("  " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    with world.double.locked() as state:
        for dataset in state.datasets.values():
            units = [u for u in state.data_units.values() if u.dataset_hash == dataset.dataset_hash]
            say(f"Encord dataset '{dataset.title}': {len(units)} data unit(s)")
            for unit in sorted(units, key=lambda u: u.title):
                say(f"  {unit.data_type:<8} {unit.title}")


STEPS: list[tuple[str, Callable[[DemoWorld, Print], None]]] = [
    ("upload sample files", upload_samples),
    ("S3 uploads -> Encord import manifests", make_manifests),
    ("manifests -> Encord upload jobs -> datasets", register),
]


def build_world(stack_name: str | None = None) -> tuple[DemoWorld, Callable[[], None]]:
    """Start the double and the stack wired to it; returns the world and a function that stops both."""
    double = EncordDouble(DoubleState()).start()
    with double.locked() as state:
        setup = seed_standard_setup(state, benchmark_items=0, production_items=0)
    key = double.register_key()
    stack = LocalStack(
        parameters={
            "EncordDomain": double.url,
            "EncordIntegrationId": setup.integration_hash,
            "BenchmarkFolderUuid": setup.folder_uuid,
            "ProductionFolderUuid": setup.folder_uuid,
            "BenchmarkDatasetHash": setup.benchmark_dataset_hash,
            "ProductionDatasetHash": setup.production_dataset_hash,
            "ProductionProjectHash": setup.production_project_hash,
        },
        secret_values={"EncordKeySecret": key.private_openssh},
        stack_name=stack_name or f"bqa-demo-{uuid.uuid4().hex[:6]}",
    ).start()
    # The demo's own reads (status, manifests) go to the same moto as the functions.
    os.environ.update(stack.env())
    invoker = Invoker(stack=stack)
    world = DemoWorld(stack, invoker, EventSourcePump(stack, invoker), double, setup, key)

    def stop() -> None:
        stack.stop()
        double.stop()

    return world, stop


def run(say: Print = print) -> DemoWorld:
    world, stop = build_world()
    try:
        say(f"local stack: moto at {world.stack.endpoint_url}; Encord double at {world.double.url}")
        for number, (title, step) in enumerate(STEPS, start=1):
            say(f"\n[{number}/{len(STEPS)}] {title}")
            step(world, say)
        return world
    finally:
        stop()
