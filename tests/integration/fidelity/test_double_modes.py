"""The double's behaviours where Encord's sources are silent or only give a limit, and the product under each:
page tokens as cursors or offsets, bundle limits answered with 413, consensus branch names."""

from __future__ import annotations

from typing import Literal

import pytest
from benchmark_qa.encord.routing import Outcome, run_routing
from benchmark_qa_local.encord_double import EncordDouble
from encord import EncordUserClient
from encord.exceptions import PayloadTooLargeError
from encord.workflow.stages.agent import AgentStage
from encord.workflow.stages.consensus_annotation import ConsensusAnnotationStage

from tests.integration.encord_double.conftest import make_client, route_benchmark_to_consensus
from tests.integration.routing.conftest import router_for, seed, stage_of

pytestmark = pytest.mark.integration

Tokens = Literal["cursor", "offset"]


def tokens(double: EncordDouble, mode: Tokens) -> None:
    with double.locked() as state:
        state.settings.task_page_tokens = mode


@pytest.mark.parametrize("mode", ["cursor", "offset"])
def test_the_agent_routes_every_task_whatever_the_page_tokens_mean(
    double: EncordDouble, client: EncordUserClient, mode: Tokens
) -> None:
    setup = seed(double, benchmark=7, production=11, page_size=3)
    tokens(double, mode)
    report = run_routing(router_for(client, setup), trigger="test")
    assert report.status == "finished"
    assert {t.outcome for t in report.tasks} == {Outcome.ROUTED}
    where = stage_of(double, setup)
    assert {where[h] for h in setup.benchmark_data_hashes} == {"Consensus 1 Annotate"}
    assert {where[h] for h in setup.production_data_hashes} == {"Annotate 1"}


@pytest.mark.parametrize(("mode", "skipped"), [("cursor", 0), ("offset", 3)])
def test_acting_while_paging_skips_tasks_when_tokens_are_offsets(
    double: EncordDouble, client: EncordUserClient, mode: Tokens, skipped: int
) -> None:
    """What the docs' script and an unfiltered runner do: act on each task while paging the stage. With offset
    tokens, each moved task shifts the queue under the next page: of 9 tasks in pages of 3, the second page is
    tasks 7-9 and tasks 4-6 are never seen."""
    setup = seed(double, benchmark=0, production=9, page_size=3)
    tokens(double, mode)
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    for task in stage.get_tasks():
        task.proceed(pathway_name="NO")
    assert list(stage_of(double, setup).values()).count("Benchmark Task?") == skipped


def test_bundles_above_the_limit_are_413_and_the_products_batches_fit(double: EncordDouble) -> None:
    setup = seed(double, benchmark=0, production=12)
    with double.locked() as state:
        state.settings.max_actions_per_request = 5
    client = make_client(double, max_retries=0)
    project = client.get_project(setup.production_project_hash)
    stage = project.workflow.get_stage(name="Benchmark Task?", type_=AgentStage)

    def six_in_one_bundle() -> None:
        with project.create_bundle(bundle_size=6) as bundle:
            for task in list(stage.get_tasks())[:6]:
                task.proceed(pathway_name="NO", bundle=bundle)

    with pytest.raises(PayloadTooLargeError):
        six_in_one_bundle()
    assert set(stage_of(double, setup).values()) == {"Benchmark Task?"}

    router = router_for(client, setup)
    router._batch_size = 5
    report = run_routing(router, trigger="test")
    assert report.status == "finished"
    assert report.action_requests == 3


def test_consensus_branches_are_named_as_encord_names_them(double: EncordDouble, client: EncordUserClient) -> None:
    setup = seed(double, benchmark=2, production=0)
    project = route_benchmark_to_consensus(client, setup)
    annotate = project.workflow.get_stage(
        uuid=setup.production_stages["Consensus 1 Annotate"], type_=ConsensusAnnotationStage
    )
    branches = [sub.label_branch_name for task in annotate.get_tasks() for sub in task.subtasks]
    assert len(branches) == 2 * len(setup.annotators)
    assert all(b.startswith("encord-") for b in branches)
    assert len(set(branches)) == len(branches)


@pytest.mark.parametrize(
    ("data_type", "frames", "data_units"),
    [("img_group", 3, 3), ("video", 4, 1), ("dicom", 5, 1), ("image", 1, 1)],
)
def test_label_rows_have_the_data_units_encord_gives_each_data_type(
    double: EncordDouble, client: EncordUserClient, data_type: str, frames: int, data_units: int
) -> None:
    """An image group is one data unit per image; a video and a DICOM series one data unit labelled by frame."""
    from benchmark_qa_local.encord_double.datasets import add_data_unit
    from benchmark_qa_local.encord_double.labels import put_label_row
    from benchmark_qa_local.encord_double.state import DataUnit

    setup = seed(double, benchmark=0, production=0)
    with double.locked() as state:
        unit = add_data_unit(
            state,
            DataUnit(
                dataset_hash=setup.benchmark_dataset_hash,
                title=f"a {data_type}",
                data_type=data_type,
                frames=frames,
                fps=25.0 if data_type == "video" else None,
            ),
        )
        put_label_row(state, setup.benchmark_project_hash, unit.data_hash)
    [row] = client.get_project(setup.benchmark_project_hash).list_label_rows_v2(data_hashes=[unit.data_hash])
    row.initialise_labels()
    body = row.to_encord_dict()
    assert len(body["data_units"]) == data_units
    if data_type == "img_group":
        assert sorted(int(u["data_sequence"]) for u in body["data_units"].values()) == [0, 1, 2]
        assert len(row.get_frame_views()) == 3
