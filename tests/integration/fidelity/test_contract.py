"""Encord's response shapes, written from the SDK's DTOs and Encord's docs (tests/fixtures/encord_contract, never
the double's output), replayed through the unmodified SDK and the product's own readers; and the double answering
the same calls with at least the same keys. An SDK upgrade that stops reading a shape fails the first half; a
double that drifts from the shapes fails the second."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import responses
from benchmark_qa.encord.actions import stage_views
from benchmark_qa.encord.consensus import ConsensusTarget, resolve_stages
from benchmark_qa.encord.projects import open_project
from benchmark_qa.encord.routing import RoutingTarget, resolve_stage
from benchmark_qa_local.encord_double import EncordDouble, generate_key_pair
from benchmark_qa_local.encord_double.seed import seed_standard_setup
from encord import EncordUserClient
from encord.exceptions import RateLimitExceededError
from encord.http.constants import RequestsSettings
from encord.orm.dataset import DataLinkDuplicatesBehavior, LongPollingStatus
from encord.workflow.stages.agent import AgentStage
from encord.workflow.stages.consensus_review import ConsensusReviewStage

from tests.integration.encord_double.conftest import make_client

pytestmark = pytest.mark.integration

SHAPES = Path(__file__).resolve().parents[2] / "fixtures" / "encord_contract"
DOMAIN = "https://api.encord.contract"
V2 = f"{DOMAIN}/v2/public"
PROJECT = "9f9f9f9f-0000-4000-8000-000000000004"
ONTOLOGY = "0c1b4f6e-0000-4000-8000-000000000001"
AGENT = "5a5a5a5a-0000-4000-8000-000000000005"
REVIEW = "7c7c7c7c-0000-4000-8000-000000000002"


def shape(name: str) -> Any:
    return json.loads((SHAPES / f"{name}.json").read_text())


@pytest.fixture
def replay() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{V2}/projects/{PROJECT}", json=shape("project"))
        mock.get(f"{V2}/ontologies/{ONTOLOGY}", json=shape("ontology"))
        yield mock


@pytest.fixture
def client() -> EncordUserClient:
    settings = RequestsSettings(max_retries=0, backoff_factor=0)
    return EncordUserClient.create_with_ssh_private_key(
        generate_key_pair().private_openssh, domain=DOMAIN, requests_settings=settings
    )


def test_a_project_with_a_shared_consensus_title_and_a_router_opens_and_resolves(
    replay: Any, client: EncordUserClient
) -> None:
    project = open_project(client, PROJECT)

    views = stage_views(project.workflow.stages)
    assert [v.kind for v in views if v.title == "Consensus 1"] == ["CONSENSUS_ANNOTATION", "CONSENSUS_REVIEW"]
    assert "PERCENTAGE_ROUTER" not in {v.kind for v in views}
    assert resolve_stage(views, RoutingTarget(PROJECT, "b")).pathways == {
        "YES": "6b6b6b6b-0000-4000-8000-000000000006",
        "NO": "6b6b6b6b-0000-4000-8000-000000000008",
    }
    review, archive = resolve_stages(views, ConsensusTarget(PROJECT, "b"))
    assert (review.uuid, archive and archive.title) == (REVIEW, "Archive")


def test_task_pages_parse_with_uuid_data_hashes_and_consensus_options(replay: Any, client: EncordUserClient) -> None:
    replay.get(f"{V2}/projects/{PROJECT}/workflow/stages/{AGENT}/tasks", json=shape("agent_tasks"))
    replay.get(f"{V2}/projects/{PROJECT}/workflow/stages/{REVIEW}/tasks", json=shape("consensus_review_tasks"))
    workflow = open_project(client, PROJECT).workflow

    [task] = workflow.get_stage(uuid=AGENT, type_=AgentStage).get_tasks()
    assert task.data_hash == UUID("dddddddd-0000-4000-8000-000000000001")
    [review] = workflow.get_stage(uuid=REVIEW, type_=ConsensusReviewStage).get_tasks()
    assert [(o.label_branch_name, o.label_hash) for o in review.options] == [
        ("encord-7c1d-a1", UUID("eeeeeeee-0000-4000-8000-000000000001")),
        ("encord-7c1d-a2", None),
    ]


def test_an_upload_job_result_parses(client: EncordUserClient) -> None:
    folder, job = "f0f0f0f0-0000-4000-8000-000000000001", "0b0b0b0b-0000-4000-8000-000000000001"
    with responses.RequestsMock() as mock:
        mock.get(f"{V2}/storage/folders/{folder}", json=folder_shape(folder))
        mock.get(f"{V2}/storage/folders/{folder}/data-upload-jobs/{job}", json=shape("upload_job_done"))
        state = client.get_storage_folder(folder).add_private_data_to_folder_get_result(UUID(job), timeout_seconds=0)
    assert state.status == LongPollingStatus.DONE
    assert [(str(i.item_uuid), i.name) for i in state.items_with_names] == [
        ("cccccccc-0000-4000-8000-000000000001", "cats/img001.jpg")
    ]
    assert state.unit_errors[0].object_urls == ["https://b.s3.us-east-1.amazonaws.com/dogs/img001.jpg"]


def folder_shape(folder: str) -> dict[str, Any]:
    """encord/orm/storage.py StorageFolder."""
    return {
        "uuid": folder,
        "parent": None,
        "name": "benchmark-qa",
        "description": "",
        "clientMetadata": None,
        "owner": "admin@example.com",
        "createdAt": "2026-11-24T12:00:00+00:00",
        "lastEditedAt": "2026-11-24T12:00:00+00:00",
        "userRole": "admin",
        "syncedDatasetHash": None,
        "pathToRoot": [],
    }


def v1_dataset(client: EncordUserClient, mock: responses.RequestsMock, dataset: str) -> Any:
    mock.post(
        f"{DOMAIN}/public",
        json={
            "status": 200,
            "response": {
                "dataset_hash": dataset,
                "title": "Benchmark Dataset",
                "description": "",
                "dataset_type": "AWS_S3",
                "backing_folder_uuid": None,
                "data_rows": [],
            },
        },
    )
    return client.get_dataset(dataset, include_data_rows=False)


def test_link_items_rows_and_the_v1_rate_limit_envelope(client: EncordUserClient) -> None:
    dataset = "d5e7a1c2-0000-4000-8000-000000000002"
    with responses.RequestsMock() as mock:
        encord_dataset = v1_dataset(client, mock, dataset)
        mock.replace(responses.POST, f"{DOMAIN}/public", json=shape("link_items"))
        [row] = encord_dataset.link_items(
            [UUID("cccccccc-0000-4000-8000-000000000001")], DataLinkDuplicatesBehavior.SKIP
        )
        assert (row.uid, str(row.backing_item_uuid)) == (
            "dddddddd-0000-4000-8000-000000000001",
            "cccccccc-0000-4000-8000-000000000001",
        )
        # Throttled inside the API: HTTP 200, no Retry-After, and the SDK does not retry it.
        mock.replace(responses.POST, f"{DOMAIN}/public", json=shape("rate_limit_envelope"))
        with pytest.raises(RateLimitExceededError) as raised:
            encord_dataset.list_data_rows(title_eq="x")
        assert raised.value.retry_after is None
        assert len(mock.calls) == 3


def test_a_429_carries_its_retry_after(replay: Any, client: EncordUserClient) -> None:
    replay.get(f"{V2}/projects/{PROJECT}/datasets", status=429, headers={"Retry-After": "60"}, json={})
    project = open_project(client, PROJECT)
    with pytest.raises(RateLimitExceededError) as raised:
        list(project.list_datasets())
    assert raised.value.retry_after == 60


def keys(value: Any) -> Any:
    """The key structure of a JSON value: dicts by key, lists by their first element."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return None


def missing(expected: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [path or "."]
        return [
            m
            for k, v in expected.items()
            for m in ([f"{path}.{k}"] if k not in actual else missing(v, actual[k], f"{path}.{k}"))
        ]
    if isinstance(expected, list) and expected:
        return missing(expected[0], actual[0], f"{path}[0]") if isinstance(actual, list) and actual else []
    return []


def test_the_double_answers_with_every_key_of_the_shapes(double: EncordDouble) -> None:
    import requests

    with double.locked() as state:
        state.settings.verify_signatures = False
        setup = seed_standard_setup(state, benchmark_items=1, production_items=0)
    client = make_client(double)
    project = client.get_project(setup.production_project_hash)
    agent = project.workflow.get_stage(name="Benchmark Task?", type_=AgentStage)
    base = f"{double.url}/v2/public"
    answers = {
        "project": requests.get(f"{base}/projects/{setup.production_project_hash}", timeout=10).json(),
        "ontology": requests.get(f"{base}/ontologies/{setup.ontology_hash}", timeout=10).json(),
        "agent_tasks": requests.get(
            f"{base}/projects/{setup.production_project_hash}/workflow/stages/{agent.uuid}/tasks", timeout=10
        ).json(),
    }
    for name, answer in answers.items():
        assert missing(keys(shape(name)), keys(answer)) == [], name
