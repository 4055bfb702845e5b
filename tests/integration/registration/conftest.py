"""The deployed shape, offline: the template's stack on moto server, its functions run by the Docker-free
invoker, SQS and schedules driven by the event-source pump, and Encord answered by the double."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from benchmark_qa.bucket import S3Bucket
from benchmark_qa.encord.registration import Destination, ManifestScope, Registrar
from benchmark_qa.ingest.items import Dataset
from benchmark_qa.ingest.url_scope import UploadScope
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import ObjectRecord, UploadsRepository
from benchmark_qa_local import samples
from benchmark_qa_local.encord_double import DoubleState
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.offline import OfflineApp, offline_app

pytestmark = pytest.mark.integration


class App(OfflineApp):
    def upload(self, key: str, body: bytes | None = None, content_type: str | None = None) -> None:
        body = samples.for_key(key) if body is None else body  # ingest types files by their first bytes
        extra = {"ContentType": content_type} if content_type else {}
        self.stack.boto3_client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, **extra)


def _seed(state: DoubleState) -> StandardSetup:
    return seed_standard_setup(state, benchmark_items=0, production_items=0)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    quick = {"RegisterFunction": {"ENCORD_BACKOFF_FACTOR": "0"}}
    # moto keeps state per process: a stack name per test keeps tests apart.
    with offline_app(App, _seed, stack_name=f"bqa-{uuid.uuid4().hex[:8]}", env_vars=quick) as app:
        for name, value in app.stack.env().items():  # the test's own boto3 calls reach the same moto
            monkeypatch.setenv(name, value)
        yield app


def repository(app: App) -> UploadsRepository:
    return UploadsRepository(state_table(app.stack.physical_id("StateTable")))


def objects(app: App) -> dict[str, ObjectRecord]:
    return {r.key: r for r in repository(app).all_objects()}


def run_until_registered(app: App, rounds: int = 40) -> None:
    """What AWS does over time: deliver queued messages, fire the poller's schedule, until nothing is left."""
    for _ in range(rounds):
        app.pump.drain()
        app.pump.fire_schedule("RegisterFunction")
        statuses = {r.status for r in objects(app).values() if r.role in ("item", "group_member")}
        if statuses <= {"registered", "failed", "skipped"}:
            app.pump.drain()
            return
    raise AssertionError(f"not registered after {rounds} rounds: {Counter(r.status for r in objects(app).values())}")


def storage_urls(app: App) -> Counter[str]:
    with app.double.locked() as state:
        return Counter(url for item in state.storage_items.values() for url in item.urls)


def registrar(app: App, **kwargs: Any) -> Registrar:
    """RegisterFunction's Registrar, in this process (the SDK against the double, boto3 against the stack)."""
    setup = app.setup
    destination = Destination(setup.folder_uuid, setup.benchmark_dataset_hash)
    scope = UploadScope(
        bucket=app.bucket,
        region="us-east-1",
        prefixes={Dataset.BENCHMARK: "benchmark", Dataset.PRODUCTION: "production"},
    )
    return Registrar(
        app.client(),
        repository(app),
        S3Bucket(app.bucket),
        integration_id=setup.integration_hash,
        destinations={Dataset.BENCHMARK: destination, Dataset.PRODUCTION: destination},
        scope=ManifestScope("manifests", scope),
        **kwargs,
    )


def clock(seconds: list[float]) -> Callable[[], float]:
    """The time an invocation has left at each look: these values, then the last one for ever."""
    left = iter(seconds)
    return lambda: next(left, seconds[-1])
