"""Signature checks and fault injection, as the SDK experiences them."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import requests
from benchmark_qa_local.encord_double import FaultConfig, FaultKind, FaultRule, generate_key_pair
from benchmark_qa_local.encord_double.faults import FaultInjector
from encord.exceptions import (
    AuthenticationError,
    InvalidArgumentsError,
    RateLimitExceededError,
    UnknownException,
)
from encord.workflow import AgentStage

from .conftest import make_client

PROJECT = "v2 GET projects/{project}"
ACTIONS = "v2 POST projects/{project}/workflow/stages/{stage}/actions"
DATASET = "v1 dataset GET"


def test_unknown_key_is_rejected_on_v2_and_v1(double, setup):
    stranger = make_client(double, register=False)
    with pytest.raises(AuthenticationError):
        stranger.get_project(setup.production_project_hash)
    with pytest.raises(AuthenticationError):
        stranger.get_dataset(setup.production_dataset_hash)


def test_tampered_v1_signature_is_an_authentication_error(double, setup):
    key = double.register_key()
    other = generate_key_pair()
    body = json.dumps({"query_type": "dataset", "query_method": "GET", "values": {"uid": None, "payload": {}}})
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key

    signer = load_ssh_private_key(other.private_openssh.encode(), None)
    signature = signer.sign(hashlib.sha256(body.encode()).digest())  # type: ignore[call-arg]
    reply = requests.post(
        f"{double.url}/public",
        data=body,
        headers={
            "Authorization": f"{key.public_hex}:{signature.hex()}",  # known key, wrong signer
            "ResourceType": "dataset",
            "ResourceID": setup.production_dataset_hash,
        },
        timeout=5,
    )
    assert reply.status_code == 200
    assert reply.json()["response"] == ["AUTHENTICATION_ERROR"]


def test_signature_checks_can_be_disabled(double, setup):
    with double.locked() as state:
        state.settings.verify_signatures = False
    stranger = make_client(double, register=False)
    assert stranger.get_project(setup.production_project_hash).title == "Production Project"


def test_429_then_success(double, client, setup):
    double.add_fault(FaultRule(endpoint=PROJECT, status=429, retry_after=0, times=1))
    assert client.get_project(setup.production_project_hash).title == "Production Project"
    assert double.counts.get(PROJECT) == 2


def test_v1_429_then_success(double, client, setup):
    double.add_fault(FaultRule(endpoint=DATASET, status=429, retry_after=0, times=1))
    assert client.get_dataset(setup.production_dataset_hash, include_data_rows=False).title == "Production Dataset"
    assert double.counts.get(DATASET) == 2


def test_persistent_429_surfaces_as_rate_limit_error(double, client, setup):
    double.add_fault(FaultRule(endpoint=PROJECT, status=429, retry_after=0))
    with pytest.raises(RateLimitExceededError):
        client.get_project(setup.production_project_hash)
    assert double.counts.get(PROJECT) == 3  # first try + max_retries=2


def test_5xx_is_retried(double, client, setup):
    double.add_fault(FaultRule(endpoint="v2 GET *", status=503, times=2))
    assert client.get_project(setup.production_project_hash)
    assert double.counts.get(PROJECT) == 3


def test_dropped_response_after_apply_then_retry_sees_the_task_gone(double, client, setup):
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    task = next(iter(stage.get_tasks(data_hash=setup.production_data_hashes[0])))
    double.add_fault(FaultRule(endpoint=ACTIONS, kind=FaultKind.DROP, times=1))

    # The first POST is applied and its answer lost; the SDK's retry then finds the task gone (400).
    with pytest.raises(InvalidArgumentsError):
        task.proceed(pathway_name="NO")

    assert double.counts.get(ACTIONS) == 2
    project = double.state.projects[setup.production_project_hash]
    moved = next(t for t in project.tasks.values() if t.data_hash == setup.production_data_hashes[0])
    assert project.workflow.stage(moved.stage_uuid).title == "Annotate 1"


def test_error_status_after_apply(double, client, setup):
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    task = next(iter(stage.get_tasks(data_hash=setup.production_data_hashes[1])))
    double.add_fault(FaultRule(endpoint=ACTIONS, kind=FaultKind.AFTER_APPLY, status=504, times=1))

    with pytest.raises(UnknownException):  # 504 is not in the SDK's retry list
        task.proceed(pathway_name="NO")

    assert list(stage.get_tasks(data_hash=setup.production_data_hashes[1])) == []


def test_latency(double, client, setup):
    double.add_fault(FaultRule(endpoint=PROJECT, kind=FaultKind.LATENCY, latency_seconds=0.3, times=1))
    start = time.perf_counter()
    client.get_project(setup.production_project_hash)
    assert time.perf_counter() - start >= 0.3


def test_probabilistic_faults_are_reproducible_with_a_seed():
    def run() -> list[bool]:
        injector = FaultInjector()
        injector.configure(FaultConfig(seed=42, rules=[FaultRule(endpoint="v2 *", probability=0.5)]))
        return [bool(injector.pick("v2 GET projects/{project}")) for _ in range(200)]

    first = run()
    assert first == run()
    assert 60 < sum(first) < 140
    injector = FaultInjector()
    injector.configure(FaultConfig(rules=[FaultRule(endpoint="v1 *", times=2)]))
    assert [bool(injector.pick(e)) for e in ("v2 GET x", "v1 dataset GET", "v1 a", "v1 b")] == [
        False,
        True,
        True,
        False,
    ]


def test_control_endpoints(double, client, setup):
    client.get_project(setup.production_project_hash)
    counts = requests.get(f"{double.url}/_double/counts", timeout=5).json()
    assert counts[PROJECT] == 1

    config = {"seed": 1, "rules": [{"endpoint": PROJECT, "kind": "status", "status": 500, "times": 1}]}
    assert requests.post(f"{double.url}/_double/faults", json=config, timeout=5).status_code == 200
    client.get_project(setup.production_project_hash)
    assert requests.get(f"{double.url}/_double/counts", timeout=5).json()[PROJECT] == 3
    requests.delete(f"{double.url}/_double/counts", timeout=5)
    assert requests.get(f"{double.url}/_double/counts", timeout=5).json() == {}

    dumped = requests.get(f"{double.url}/_double/state", timeout=5).json()
    assert setup.production_project_hash in dumped["projects"]
    dumped["projects"][setup.production_project_hash]["title"] = "Renamed"
    assert requests.post(f"{double.url}/_double/state", json=dumped, timeout=5).status_code == 200
    assert client.get_project(setup.production_project_hash).title == "Renamed"
    bad = requests.post(f"{double.url}/_double/state", json={"projects": 3}, timeout=5)
    assert bad.status_code == 400
