"""Label rows and branches through list_label_rows_v2 / initialise_labels / save."""

from __future__ import annotations

import pytest
from benchmark_qa_local.encord_double import labels
from benchmark_qa_local.encord_double.seed import StandardSetup
from encord import EncordUserClient, Project
from encord.exceptions import ResourceNotFoundError
from encord.objects import LabelRowV2, Object
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.workflow import ConsensusAnnotationStage, ConsensusReviewStage

from .conftest import route_benchmark_to_consensus

LABELROW_GET = "v1 labelrow GET"
LABELROW_PUT = "v1 labelrow PUT"
LABELROW_POST = "v1 labelrow POST"
METADATA = "v1 labelrowmetadata GET"


def _annotate(project: Project, data_hash: str, branch: str, x: float) -> LabelRowV2:
    """A simulated annotator: open the branch row (created on first use), draw one box, save."""
    [row] = project.list_label_rows_v2(data_hashes=[data_hash], branch_name=branch)
    row.initialise_labels()
    box = project.ontology_structure.get_child_by_title("Box", type_=Object)
    instance = box.create_instance()
    instance.set_for_frames(BoundingBoxCoordinates(height=0.2, width=0.2, top_left_x=x, top_left_y=0.1), frames=0)
    row.add_object_instance(instance)
    row.save()
    return row


def _consensus_ready(client: EncordUserClient, setup: StandardSetup) -> Project:
    project = route_benchmark_to_consensus(client, setup)
    annotate = project.workflow.get_stage(
        uuid=setup.production_stages["Consensus 1 Annotate"], type_=ConsensusAnnotationStage
    )
    for parent in annotate.get_tasks():
        for i, sub in enumerate(parent.subtasks):
            _annotate(project, str(parent.data_hash), sub.label_branch_name, 0.1 * (i + 1))
            sub.submit()
    return project


def test_metadata_lists_uninitialised_main_rows_without_creating_them(double, client, setup):
    project = client.get_project(setup.production_project_hash)
    rows = project.list_label_rows_v2()
    assert len(rows) == 6
    assert {r.branch_name for r in rows} == {"main"}
    assert all(r.label_hash is None for r in rows)
    assert {r.data_type.value for r in rows} == {"image"}  # sent UPPER-case, parsed by the SDK
    assert double.state.projects[setup.production_project_hash].label_rows == {}


def test_annotators_write_branch_labels_through_the_sdk(double, client, setup):
    project = client.get_project(setup.production_project_hash)
    data_hash = setup.benchmark_data_hashes[0]
    double.counts.reset()

    row = _annotate(project, data_hash, "my-branch", 0.3)

    assert double.counts.get(LABELROW_PUT) == 1
    assert double.counts.get(LABELROW_POST) == 1
    stored = labels.find_row(double.state.projects[setup.production_project_hash], data_hash, "my-branch")
    assert stored is not None
    assert stored.label_hash == row.label_hash
    [again] = project.list_label_rows_v2(data_hashes=[data_hash], branch_name="my-branch")
    again.initialise_labels()
    [instance] = again.get_object_instances()
    assert instance.get_annotation(0).coordinates.top_left_x == pytest.approx(0.3)
    [main] = project.list_label_rows_v2(data_hashes=[data_hash])
    assert main.label_hash is None  # other branches untouched


def test_consensus_options_match_branch_rows_and_bundled_initialise_is_one_request(double, client, setup):
    project = _consensus_ready(client, setup)
    review = project.workflow.get_stage(uuid=setup.production_stages["Consensus 1"], type_=ConsensusReviewStage)
    batch = list(review.get_tasks())
    assert len(batch) == 3
    double.counts.reset()

    rows = project.list_label_rows_v2(data_hashes=[t.data_hash for t in batch], include_all_label_branches=True)
    by_branch = {(r.data_hash, r.branch_name): r for r in rows}
    pairs = [(o, by_branch[(str(t.data_hash), o.label_branch_name)]) for t in batch for o in t.options]
    with project.create_bundle(bundle_size=100) as bundle:
        for _, row in pairs:
            row.initialise_labels(bundle=bundle)

    assert len(pairs) == 6
    assert all(row.label_hash == str(option.label_hash) for option, row in pairs)
    assert double.counts.get(METADATA) == 1
    assert double.counts.get(LABELROW_GET) == 1  # 6 rows, one bundled request
    assert double.counts.get(LABELROW_PUT) == 0  # reading never creates rows
    assert all(len(row.get_object_instances()) == 1 for _, row in pairs)
    assert len(rows) == 9  # main (uninitialised) + 2 annotator branches per data unit


def test_branch_name_filter(client, setup):
    project = _consensus_ready(client, setup)
    review = project.workflow.get_stage(uuid=setup.production_stages["Consensus 1"], type_=ConsensusReviewStage)
    task = next(iter(review.get_tasks()))
    option = task.options[0]

    [row] = project.list_label_rows_v2(data_hashes=[task.data_hash], branch_name=option.label_branch_name)

    assert row.branch_name == option.label_branch_name
    assert row.label_hash == str(option.label_hash)


def test_ground_truth_rows_from_the_benchmark_project(double, client, setup):
    bench = client.get_project(setup.benchmark_project_hash)
    for i, data_hash in enumerate(setup.benchmark_data_hashes):
        _annotate(bench, data_hash, "main", 0.05 * (i + 1))
    double.counts.reset()

    gt = {r.data_hash: r for r in bench.list_label_rows_v2(data_hashes=list(setup.benchmark_data_hashes))}
    with bench.create_bundle(bundle_size=100) as bundle:
        for row in gt.values():
            row.initialise_labels(bundle=bundle)

    assert set(gt) == set(setup.benchmark_data_hashes)
    assert double.counts.get(LABELROW_GET) == 1
    xs = sorted(r.get_object_instances()[0].get_annotation(0).coordinates.top_left_x for r in gt.values())
    assert xs == pytest.approx([0.05, 0.1, 0.15])
    # The production project shares the data units but not the labels.
    prod = client.get_project(setup.production_project_hash)
    assert all(r.label_hash is None for r in prod.list_label_rows_v2(data_hashes=list(setup.benchmark_data_hashes)))


def test_seeded_label_row_dict_is_served(double, client, setup):
    data_hash = setup.benchmark_data_hashes[0]
    with double.locked() as state:
        row = labels.put_label_row(state, setup.benchmark_project_hash, data_hash, "seeded", None)
    project = client.get_project(setup.benchmark_project_hash)
    [listed] = project.list_label_rows_v2(data_hashes=[data_hash], branch_name="seeded")
    listed.initialise_labels()
    assert listed.label_hash == row.label_hash
    assert listed.get_object_instances() == []


def test_branch_name_with_all_branches_is_invalid(client, setup):
    from encord.exceptions import InvalidArgumentsError

    project = client.get_project(setup.production_project_hash)
    with pytest.raises(InvalidArgumentsError):
        project.list_label_rows_v2(include_all_label_branches=True, branch_name="x")


def test_unknown_label_hash_is_not_found_and_not_created(double, client, setup):
    project = client.get_project(setup.production_project_hash)
    with pytest.raises(ResourceNotFoundError):
        project._client.get_label_rows(["00000000-0000-0000-0000-000000000000"])
    assert double.state.projects[setup.production_project_hash].label_rows == {}


def test_list_branches(client: EncordUserClient, setup: StandardSetup) -> None:
    project = _consensus_ready(client, setup)
    branches = list(project.list_branches())
    assert branches[0] == "main"
    assert len(branches) == 1 + 3 * 2  # one branch per annotator per consensus task


def test_label_row_request_limit_is_the_sdk_multi_label_error(double, client, setup):
    from encord.exceptions import MultiLabelLimitError

    bench = client.get_project(setup.benchmark_project_hash)
    for data_hash in setup.benchmark_data_hashes:
        _annotate(bench, data_hash, "main", 0.1)
    with double.locked() as state:
        state.settings.label_rows_per_request = 2
    rows = bench.list_label_rows_v2()

    bundle = bench.create_bundle()
    for row in rows:
        row.initialise_labels(bundle=bundle, overwrite=True)
    with pytest.raises(MultiLabelLimitError) as caught:
        bundle.execute()
    assert caught.value.maximum_labels_allowed == 2

    with bench.create_bundle(bundle_size=2) as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle, overwrite=True)
    assert all(len(r.get_object_instances()) == 1 for r in rows)
