"""The routing script of Encord's Benchmark QA docs (benchmark_routing.py.txt beside this file: the docs' text,
indentation restored, nothing else changed), run against the double with only its three constants filled in.

It cannot route a task, for two reasons that are properties of the real SDK 0.1.211, not of the double:

1. `for data_row in benchmark_dataset`: the SDK's `Dataset` has no `__iter__` (encord/dataset.py), so the script
   stops with `TypeError: 'Dataset' object is not iterable` before any task is touched.
2. With that line reading `benchmark_dataset.data_rows` instead, `task.data_hash` is a `uuid.UUID`
   (encord/workflow/stages/agent.py:60, `AgentTask.data_hash: UUID`) while `data_row.uid` is a `str`
   (encord/orm/dataset.py:292-294), so `task.data_hash in benchmark_data_hashes` is never true: every task, the
   benchmark ones too, goes NO, and no annotator is ever scored.

docs/routing.md tells users of the script why benchmark-qa's agent exists."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from benchmark_qa_local.encord_double import EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup
from encord import EncordUserClient
from encord.http.constants import RequestsSettings

from tests.integration.routing.conftest import seed, stage_of

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).with_name("benchmark_routing.py.txt")


@pytest.fixture
def setup(double: EncordDouble) -> StandardSetup:
    return seed(double, benchmark=3, production=4)


@pytest.fixture
def script(double: EncordDouble, setup: StandardSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The script with its constants filled in. The script leaves the SDK's domain at its default
    (https://api.encord.com), so the client it creates is pointed at the double: the one redirection, the
    equivalent of DNS, made at the SDK's constructor without touching the script."""
    key = tmp_path / "encord.key"
    key.write_text(double.register_key().private_openssh)
    original = EncordUserClient.create_with_ssh_private_key

    def to_the_double(**kwargs: object) -> EncordUserClient:
        settings = RequestsSettings(max_retries=1, backoff_factor=0.0)
        return original(domain=double.url, requests_settings=settings, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(EncordUserClient, "create_with_ssh_private_key", staticmethod(to_the_double))
    return (
        SCRIPT.read_text()
        .replace('"<project_hash>"', repr(setup.production_project_hash))
        .replace('"<benchmark_dataset_hash>"', repr(setup.benchmark_dataset_hash))
        .replace('"<private_key_path>"', repr(str(key)))
    )


def run(source: str) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(source, str(SCRIPT), "exec"), namespace)
    return namespace


def test_as_published_it_stops_before_routing_anything(double: EncordDouble, setup: StandardSetup, script: str) -> None:
    with pytest.raises(TypeError, match="'Dataset' object is not iterable"):
        run(script)
    assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}


def test_with_data_rows_it_sends_every_task_no(double: EncordDouble, setup: StandardSetup, script: str) -> None:
    fixed = script.replace("for data_row in benchmark_dataset}", "for data_row in benchmark_dataset.data_rows}")
    assert fixed != script

    namespace = run(fixed)

    hashes = namespace["benchmark_data_hashes"]
    assert isinstance(hashes, set)
    assert hashes == set(setup.benchmark_data_hashes)
    assert all(type(h) is str for h in hashes)
    task = namespace["task"]
    assert type(task.data_hash) is UUID  # type: ignore[attr-defined]
    where = stage_of(double, setup)
    assert {where[h] for h in setup.benchmark_data_hashes} == {"Annotate 1"}, "benchmark tasks went NO"
    assert {where[h] for h in setup.production_data_hashes} == {"Annotate 1"}
