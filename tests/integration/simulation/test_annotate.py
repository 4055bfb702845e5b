"""Ground truth and simulated annotators written into the double through the real SDK, then scored."""

from __future__ import annotations

import itertools
import statistics
from typing import Any

import pytest
from benchmark_qa.scoring import Ontology, score_label_rows
from benchmark_qa_local.encord_double import EncordDouble, labels
from benchmark_qa_local.simulation import (
    EXPECTED_ORDER,
    Profile,
    annotate,
    annotator_label_row,
    demo_ontology,
    image_indices,
    label_row_dict,
    write_ground_truth,
)
from encord import Project
from encord.workflow import ConsensusAnnotationStage, ConsensusReviewStage

from tests.integration.encord_double.conftest import make_client, route_benchmark_to_consensus

from .conftest import seed_demo

pytestmark = pytest.mark.integration


def _read(project: Project, data_hash: str, branch: str) -> dict[str, Any]:
    [row] = project.list_label_rows_v2(data_hashes=[data_hash], branch_name=branch)
    assert row.label_hash is not None
    row.initialise_labels()
    result: dict[str, Any] = row.to_encord_dict()
    return result


def test_ground_truth_is_saved_on_the_benchmark_main_branch(double, client, setup):
    truth = write_ground_truth(client, setup, seed=1)

    assert set(truth) == set(setup.benchmark_data_hashes)
    benchmark = client.get_project(setup.benchmark_project_hash)
    ontology = Ontology.from_dict(demo_ontology())
    for data_hash, scene in truth.items():
        stored = _read(benchmark, data_hash, "main")
        assert set(stored["object_answers"]) == {o.object_hash for o in scene.objects}
        assert score_label_rows(ontology, label_row_dict(scene, author="x"), stored).score == pytest.approx(1.0)
    # Production rows are untouched: the truth lives only in the Benchmark Project.
    production = double.state.projects[setup.production_project_hash]
    assert production.label_rows == {}


def test_ground_truth_does_not_depend_on_the_random_data_hashes(double, annotators):
    first = seed_demo(double, annotators, 3)
    with EncordDouble() as other_double:
        second = seed_demo(other_double, annotators, 3)
        truth_b = write_ground_truth(make_client(other_double), second, seed=4)
    truth_a = write_ground_truth(make_client(double), first, seed=4)
    by_title = {s.data_title: s.objects for s in truth_b.values()}
    assert {s.data_title: s.objects for s in truth_a.values()} == by_title


def test_annotate_fills_every_branch_and_moves_tasks_to_consensus_review(double, client, setup, annotators):
    truth = write_ground_truth(client, setup, seed=2)
    project = route_benchmark_to_consensus(client, setup)

    saved = annotate(client, setup, truth, annotators, seed=2)

    annotate_stage = project.workflow.get_stage(
        uuid=setup.production_stages["Consensus 1 Annotate"], type_=ConsensusAnnotationStage
    )
    assert list(annotate_stage.get_tasks()) == []
    review = project.workflow.get_stage(uuid=setup.production_stages["Consensus 1"], type_=ConsensusReviewStage)
    tasks = list(review.get_tasks())
    assert sorted(str(t.data_hash) for t in tasks) == sorted(setup.benchmark_data_hashes)
    indices = image_indices(truth)
    for task in tasks:
        data_hash = str(task.data_hash)
        assert sorted(str(o.annotator) for o in task.options) == sorted(annotators)
        for option in task.options:
            annotator = str(option.annotator)
            assert option.label_hash is not None
            stored = _read(project, data_hash, option.label_branch_name)
            expected = annotator_label_row(
                truth[data_hash], annotators[annotator], 2, annotator=annotator, image_index=indices[data_hash]
            )
            assert stored["object_answers"] == expected["object_answers"]
            assert stored["classification_answers"].keys() == expected["classification_answers"].keys()
            boxes = {o["objectHash"]: o["boundingBox"] for o in stored["data_units"][data_hash]["labels"]["objects"]}
            want = {o["objectHash"]: o["boundingBox"] for o in expected["data_units"][data_hash]["labels"]["objects"]}
            assert boxes.keys() == want.keys()
            for key, box in want.items():
                assert boxes[key] == pytest.approx(box)
            assert set(stored["object_answers"]) == set(saved[data_hash][annotator]["object_answers"])
    # The production (non-benchmark) tasks were not touched.
    for data_hash in setup.production_data_hashes:
        assert not any(
            r.data_hash == data_hash for r in double.state.projects[project.project_hash].label_rows.values()
        )


def test_one_client_per_annotator_is_accepted(double, setup, annotators):
    clients = {email: make_client(double) for email in annotators}
    truth = write_ground_truth(
        clients[next(iter(annotators))], setup, seed=3, data_hashes=setup.benchmark_data_hashes[:2]
    )
    route_benchmark_to_consensus(clients[next(iter(annotators))], setup)

    saved = annotate(clients, setup, truth, annotators, seed=3)

    assert set(saved) == set(truth)
    assert all(set(per_annotator) == set(annotators) for per_annotator in saved.values())
    # Benchmark tasks without truth stay in the annotation stage, untouched.
    project = double.state.projects[setup.production_project_hash]
    stage = setup.production_stages["Consensus 1 Annotate"]
    assert sum(t.stage_uuid == stage for t in project.tasks.values()) == len(setup.benchmark_data_hashes) - 2


def test_an_annotator_without_a_profile_fails_before_anything_is_written(double, client, setup, annotators):
    truth = write_ground_truth(client, setup, seed=1)
    route_benchmark_to_consensus(client, setup)
    partial: dict[str, Profile] = dict(list(annotators.items())[1:])

    with pytest.raises(KeyError, match="without a profile"):
        annotate(client, setup, truth, partial, seed=1)

    project = double.state.projects[setup.production_project_hash]
    assert all(r.branch_name == "main" for r in project.label_rows.values())
    assert labels.branch_names(project) == ["main"]


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_scores_recover_the_known_order_of_the_annotators(client, setup, annotators, seed):
    """The key property: score each annotator's branch rows, as read back through the SDK, against the truth
    rows of the Benchmark Project; the mean over the ten tasks ranks the profiles in `EXPECTED_ORDER`."""
    truth = write_ground_truth(client, setup, seed=seed)
    project = route_benchmark_to_consensus(client, setup)
    annotate(client, setup, truth, annotators, seed=seed)

    ontology = Ontology.from_dict(demo_ontology())
    benchmark = client.get_project(setup.benchmark_project_hash)
    review = project.workflow.get_stage(uuid=setup.production_stages["Consensus 1"], type_=ConsensusReviewStage)
    scores: dict[str, list[float]] = {email: [] for email in annotators}
    for task in review.get_tasks():
        gt = _read(benchmark, str(task.data_hash), "main")
        for option in task.options:
            labels_row = _read(project, str(task.data_hash), option.label_branch_name)
            scores[str(option.annotator)].append(score_label_rows(ontology, gt, labels_row).score)

    assert all(len(s) == len(setup.benchmark_data_hashes) == 10 for s in scores.values())
    means = {annotators[email].name: statistics.mean(s) for email, s in scores.items()}
    ranking = tuple(sorted(means, key=lambda name: -means[name]))
    assert ranking == EXPECTED_ORDER, means
    ordered = [means[name] for name in EXPECTED_ORDER]
    assert min(a - b for a, b in itertools.pairwise(ordered)) > 0.03, means  # a clear order, not a coin toss
