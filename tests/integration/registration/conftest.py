"""The deployed shape, offline: the template's stack on moto server, its functions run by the Docker-free
invoker, SQS and schedules driven by the event-source pump, and Encord answered by the double."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from benchmark_qa_local.encord_double import DoubleState, EncordDouble, KeyPair
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.stack import LocalStack

pytestmark = pytest.mark.integration


@dataclass
class App:
    stack: LocalStack
    invoker: Invoker
    pump: EventSourcePump
    double: EncordDouble
    setup: StandardSetup
    key: KeyPair

    @property
    def bucket(self) -> str:
        return self.stack.physical_id("UploadBucket")

    def upload(self, key: str, body: bytes = b"data", content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self.stack.boto3_client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, **extra)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    with EncordDouble(DoubleState()) as double:
        with double.locked() as state:
            setup = seed_standard_setup(state, benchmark_items=0, production_items=0)
        key = double.register_key()
        parameters = {
            "EncordDomain": double.url,
            "EncordIntegrationId": setup.integration_hash,
            "BenchmarkFolderUuid": setup.folder_uuid,
            "ProductionFolderUuid": setup.folder_uuid,
            "BenchmarkDatasetHash": setup.benchmark_dataset_hash,
            "ProductionDatasetHash": setup.production_dataset_hash,
        }
        # moto keeps state per process: a stack name per test keeps tests apart.
        stack = LocalStack(
            parameters=parameters,
            secret_values={"EncordKeySecret": key.private_openssh},
            stack_name=f"bqa-{uuid.uuid4().hex[:8]}",
        )
        with stack:
            for name, value in stack.env().items():  # the test's own boto3 calls reach the same moto
                monkeypatch.setenv(name, value)
            invoker = Invoker(stack=stack, env_vars={"RegisterFunction": {"ENCORD_BACKOFF_FACTOR": "0"}})
            yield App(stack, invoker, EventSourcePump(stack, invoker), double, setup, key)
