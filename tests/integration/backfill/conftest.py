"""The backfill's offline app (the template's stack on moto, its functions run by the Docker-free invoker, the
Encord double) and the steps both backfill modules share: fill the bucket, register the manifests, check each
object was registered exactly once."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from benchmark_qa_local.encord_double import DoubleState
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.offline import OfflineApp, offline_app


class App(OfflineApp):
    pass


def _seed(state: DoubleState) -> StandardSetup:
    return seed_standard_setup(state, benchmark_items=0, production_items=0)


@contextmanager
def _offline(monkeypatch: pytest.MonkeyPatch, *, moto_process: bool) -> Iterator[App]:
    quick = {"RegisterFunction": {"ENCORD_BACKOFF_FACTOR": "0"}}
    stack_name = f"bf-{uuid.uuid4().hex[:8]}"
    with offline_app(App, _seed, stack_name=stack_name, env_vars=quick, moto_process=moto_process) as app:
        for name, value in app.stack.env().items():
            monkeypatch.setenv(name, value)
        yield app


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    with _offline(monkeypatch, moto_process=False) as app:
        yield app


@pytest.fixture
def soak_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """moto in a process of its own for the long run: its memory apart from the test's, a second core when one
    is free (docs/backfill.md, "The local stack at backfill scale")."""
    with _offline(monkeypatch, moto_process=True) as app:
        yield app


def upload(app: App, files: dict[str, bytes], *, notify: bool) -> None:
    """The bucket as it was before benchmark-qa. With `notify`, their notifications wait in IngestQueue (a test
    that plays the live path seeing the same objects delivers them); without, the bucket's notifications are
    off while it is filled (moto emulates each in this process: it is what makes large uploads slow)."""
    s3 = app.stack.boto3_client("s3")
    saved = s3.get_bucket_notification_configuration(Bucket=app.bucket)
    saved.pop("ResponseMetadata", None)
    if not notify:
        s3.put_bucket_notification_configuration(Bucket=app.bucket, NotificationConfiguration={})
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=app.bucket, Key=item[0], Body=item[1]), files.items()))
    s3.put_bucket_notification_configuration(Bucket=app.bucket, NotificationConfiguration=saved)


def register_all(app: App, rounds: int = 200) -> None:
    """What AWS does over time for the manifests: deliver RegisterQueue, fire the poller, until all are done."""
    repository = app.uploads
    for _ in range(rounds):
        app.pump.drain(function="RegisterFunction")
        app.pump.fire_schedule("RegisterFunction")
        if not any(repository.manifests_with_status(s) for s in ("written", "starting", "uploading")):
            return
    raise AssertionError("manifests not registered")


def check_exactly_once(app: App, files: dict[str, bytes]) -> Counter[str]:
    records = {r.key: r for r in app.uploads.all_objects()}
    assert set(records) == set(files), "every object has its record"
    statuses = Counter(r.status for r in records.values())
    media = {k for k in files if files[k] and not k.endswith((".json", "_READY"))}
    assert {k for k, r in records.items() if r.status == "registered"} == media
    assert {k for k, r in records.items() if r.status == "skipped"} == {
        k for k in files if k.endswith(".json") or (not files[k] and not k.endswith("_READY"))
    }
    with app.double.locked() as state:
        urls = Counter(url for item in state.storage_items.values() for url in item.urls)
        linked = Counter(u.backing_item_uuid for u in state.data_units.values() if u.backing_item_uuid)
    assert len(urls) == len(media)
    assert set(urls.values()) == {1}, "no file is in Encord twice"
    assert set(linked.values()) == {1}, "no item is linked to a dataset twice"
    return statuses
