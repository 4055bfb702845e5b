"""Fixtures for driving the Encord double with the real SDK. Copy `double`, `setup` and `make_client` into
other test folders (or import `make_client` and `route_benchmark_to_consensus` from here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from benchmark_qa.encord.budget import TimeBudget
from benchmark_qa_local.encord_double import (
    DoubleState,
    EncordDouble,
    FaultConfig,
    FaultKind,
    FaultRule,
    KeyPair,
    generate_key_pair,
)
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from encord import EncordUserClient, Project
from encord.http.constants import RequestsSettings
from encord.workflow import AgentStage

pytestmark = pytest.mark.integration


def make_client(
    double: EncordDouble | str, *, max_retries: int = 2, key: KeyPair | None = None, register: bool = True
) -> EncordUserClient:
    """An unmodified SDK client signed with a fresh key the double knows (unless `register=False`), or with
    `key`. `double` may be a URL for a double in another process (then pass its `key`).
    backoff_factor 0 keeps retries after injected 429/5xx instant."""
    if key is None:
        if isinstance(double, str):
            raise ValueError("A remote double needs the key it was seeded with")
        key = double.register_key() if register else generate_key_pair()
    url = double if isinstance(double, str) else double.url
    settings = RequestsSettings(
        max_retries=max_retries,
        backoff_factor=0.0,
        connection_retries=1,
        connect_timeout=5,
        read_timeout=10,
        write_timeout=10,
    )
    return EncordUserClient.create_with_ssh_private_key(key.private_openssh, domain=url, requests_settings=settings)


def faulted_task_pages(rate: float, seed: int = 11) -> FaultConfig:
    """Each page read of a stage's tasks fails with about 3 x `rate`: a 429 (Retry-After 1), a 502, or the answer lost
    after it was read (the rules are drawn one after the other, so two may fire on one read)."""
    listing = "v2 GET */tasks"
    return FaultConfig(
        seed=seed,
        rules=[
            FaultRule(endpoint=listing, status=429, retry_after=1, probability=rate),
            FaultRule(endpoint=listing, status=502, probability=rate),
            FaultRule(endpoint=listing, kind=FaultKind.DROP, probability=rate),
        ],
    )


class Invocation:
    """What is left of a Lambda invocation, and the sleeps its TimeBudget asked for (recorded, never slept), so no
    test of Encord's waits depends on the machine's speed."""

    def __init__(self, left: float, *, attempts: int = 4, backoff: float = 1.0) -> None:
        self.left = left
        self.attempts = attempts
        self.backoff = backoff
        self.slept: list[float] = []

    def budget(self) -> TimeBudget:
        return TimeBudget(
            lambda: self.left,
            reserve_seconds=10,
            request_seconds=5,
            attempts=self.attempts,
            backoff=self.backoff,
            sleep=self.sleep,
        )

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.left -= seconds


def route_benchmark_to_consensus(client: EncordUserClient, setup: StandardSetup) -> Project:
    """Stands in for the routing agent: every benchmark task in "Benchmark Task?" goes YES (one bundle)."""
    project = client.get_project(setup.production_project_hash)
    stage = project.workflow.get_stage(name="Benchmark Task?", type_=AgentStage)
    with project.create_bundle() as bundle:
        for task in stage.get_tasks(dataset_hash=setup.benchmark_dataset_hash):
            task.proceed(pathway_name="YES", bundle=bundle)
    return project


@pytest.fixture
def double() -> Iterator[EncordDouble]:
    with EncordDouble(DoubleState()) as running:
        yield running


@pytest.fixture
def setup(double: EncordDouble) -> StandardSetup:
    with double.locked() as state:
        return seed_standard_setup(state)


@pytest.fixture
def client(double: EncordDouble) -> EncordUserClient:
    return make_client(double)
