"""The double seeded with the demo ontology and one consensus annotator per simulation profile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from benchmark_qa_local.encord_double import DoubleState, EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from benchmark_qa_local.simulation import Profile, demo_annotators, demo_ontology
from encord import EncordUserClient

from tests.integration.encord_double.conftest import make_client

pytestmark = pytest.mark.integration

BENCHMARK_ITEMS = 10


@pytest.fixture
def annotators() -> dict[str, Profile]:
    return demo_annotators()


@pytest.fixture
def double() -> Iterator[EncordDouble]:
    with EncordDouble(DoubleState()) as running:
        yield running


def seed_demo(double: EncordDouble, annotators: dict[str, Profile], benchmark_items: int) -> StandardSetup:
    with double.locked() as state:
        return seed_standard_setup(
            state,
            annotators=list(annotators),
            benchmark_items=benchmark_items,
            production_items=2,
            ontology=demo_ontology(),
        )


@pytest.fixture
def setup(double: EncordDouble, annotators: dict[str, Profile]) -> StandardSetup:
    return seed_demo(double, annotators, BENCHMARK_ITEMS)


@pytest.fixture
def client(double: EncordDouble) -> EncordUserClient:
    return make_client(double)
