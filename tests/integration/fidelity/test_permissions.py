"""Users and roles on the double (per-key membership of projects, datasets, folders and integrations; 403 /
AUTHORISATION_ERROR for the rest; unknown integrations refused): the product's errors say what to check."""

from __future__ import annotations

import pytest
from benchmark_qa.encord.consensus import ConsensusReview, ConsensusSetupError, ConsensusTarget
from benchmark_qa.encord.routing import RoutingSetupError, run_routing
from benchmark_qa_local.encord_double import EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup
from benchmark_qa_local.encord_double.state import Membership
from encord import EncordUserClient
from encord.exceptions import AuthorisationError

from tests.integration.encord_double.conftest import make_client
from tests.integration.routing.conftest import router_for, seed, stage_of

pytestmark = pytest.mark.integration


def member_of(double: EncordDouble, setup: StandardSetup, **membership: list[str]) -> EncordUserClient:
    key = double.register_key()
    with double.locked() as state:
        state.memberships[key.public_hex] = Membership(**membership)
    return make_client(double, key=key)


def test_a_key_reaches_only_what_its_user_is_a_member_of(double: EncordDouble) -> None:
    setup = seed(double, benchmark=1, production=1)
    client = member_of(double, setup, projects=[setup.production_project_hash])
    client.get_project(setup.production_project_hash)
    with pytest.raises(AuthorisationError):
        client.get_project(setup.benchmark_project_hash)
    with pytest.raises(AuthorisationError):  # v1: the AUTHORISATION_ERROR envelope
        client.get_dataset(setup.benchmark_dataset_hash)
    with pytest.raises(AuthorisationError):
        client.get_storage_folder(setup.folder_uuid)


def test_routing_needs_only_the_production_project(double: EncordDouble) -> None:
    setup = seed(double, benchmark=2, production=2)
    report = run_routing(
        router_for(member_of(double, setup, projects=[setup.production_project_hash]), setup), trigger="t"
    )
    assert report.status == "finished"
    assert set(stage_of(double, setup).values()) == {"Consensus 1 Annotate", "Annotate 1"}

    outsider = member_of(double, setup, projects=[setup.benchmark_project_hash])
    with pytest.raises(
        RoutingSetupError, match="cannot be opened \\(AuthorisationError\\); check PRODUCTION_PROJECT_HASH"
    ):
        run_routing(router_for(outsider, setup), trigger="t")


def test_scoring_names_the_project_the_key_cannot_open(double: EncordDouble) -> None:
    setup = seed(double, benchmark=1, production=1)
    client = member_of(double, setup, projects=[setup.production_project_hash])
    review = ConsensusReview(client, ConsensusTarget(setup.production_project_hash, setup.benchmark_project_hash))
    with pytest.raises(
        ConsensusSetupError, match=f"project {setup.benchmark_project_hash} cannot be opened.*BENCHMARK_PROJECT_HASH"
    ):
        review.open()


def test_an_unknown_integration_is_refused_to_everyone(double: EncordDouble) -> None:
    setup = seed(double, benchmark=0, production=0)
    folder = make_client(double).get_storage_folder(setup.folder_uuid)
    manifest = {"images": [{"objectUrl": "https://b.s3.us-east-1.amazonaws.com/x.jpg"}]}
    with pytest.raises(AuthorisationError, match="not found or not accessible"):
        folder.add_private_data_to_folder_start("0e0e0e0e-0000-4000-8000-000000000000", manifest)
    assert folder.add_private_data_to_folder_start(setup.integration_hash, manifest)
    limited = member_of(double, setup, folders=[setup.folder_uuid], integrations=[]).get_storage_folder(
        setup.folder_uuid
    )
    with pytest.raises(AuthorisationError, match=f"integration {setup.integration_hash}"):
        limited.add_private_data_to_folder_start(setup.integration_hash, manifest)
