"""Routing against the Encord double (real SDK over HTTP) and the state table on moto server, built from
template.yaml by the local stack (tests/integration/local_stack), so the table cannot drift from the template."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmark_qa.encord.routing import Router, RoutingTarget
from benchmark_qa.store.routing import RoutingRepository
from benchmark_qa.store.table import state_table
from benchmark_qa_local.encord_double import DoubleState, EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.stack import LocalStack
from encord import EncordUserClient

from tests.integration.encord_double.conftest import make_client

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def double() -> Iterator[EncordDouble]:
    with EncordDouble(DoubleState()) as running:
        yield running


def seed(double: EncordDouble, *, benchmark: int, production: int, page_size: int = 100) -> StandardSetup:
    with double.locked() as state:
        state.settings.page_size = page_size
        return seed_standard_setup(state, benchmark_items=benchmark, production_items=production)


@pytest.fixture
def client(double: EncordDouble) -> EncordUserClient:
    return make_client(double)


def router_for(client: EncordUserClient, setup: StandardSetup, **target: str) -> Router:
    fields = {
        "project_hash": setup.production_project_hash,
        "benchmark_dataset_hash": setup.benchmark_dataset_hash,
        **target,
    }
    return Router(client, RoutingTarget(**fields))


def stage_of(double: EncordDouble, setup: StandardSetup) -> dict[str, str]:
    """data hash -> role of the stage its Production task is in (seed.StandardSetup.stage_roles)."""
    roles = setup.stage_roles()
    with double.locked() as state:
        project = state.projects[setup.production_project_hash]
        return {t.data_hash: roles[t.stage_uuid] for t in project.tasks.values()}


@pytest.fixture(scope="session")
def routing_stack() -> Iterator[LocalStack]:
    # moto state is per process: a stack name of its own keeps this session's resources apart from others'.
    with LocalStack(REPO / "template.yaml", stack_name=f"routing-{uuid.uuid4().hex[:8]}") as stack:
        yield stack


@pytest.fixture
def aws_env(routing_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    for name, value in routing_stack.env().items():
        monkeypatch.setenv(name, value)
    return routing_stack


@pytest.fixture
def repository(aws_env: LocalStack) -> RoutingRepository:
    return RoutingRepository(state_table(aws_env.physical_id("StateTable"), aws_env.region))
