"""The deployed shape, offline: the template's stack on moto server, its functions run by the Docker-free
invoker, SQS and schedules driven by the event-source pump, and Encord answered by the double."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
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
