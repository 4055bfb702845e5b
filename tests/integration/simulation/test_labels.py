"""Offline properties of the generated rows: they parse with the SDK and the engine, and are reproducible."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from benchmark_qa.scoring import Ontology, score_label_rows
from benchmark_qa_local.simulation import (
    PROFILES,
    annotator_label_row,
    demo_ontology,
    demo_ontology_structure,
    generate_scene,
    is_small,
    label_row_dict,
)
from benchmark_qa_local.simulation.ontology import CLASSES, VEHICLES
from encord.objects import LabelRowV2, Option
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.ontology import Ontology as SdkOntology
from encord.orm.label_row import LabelRowMetadata
from encord.orm.ontology import Ontology as OrmOntology

TITLES = [f"benchmark-{i:04d}.jpg" for i in range(20)]


def _sdk_row(labels: dict[str, Any]) -> LabelRowV2:
    """Parse offline, as section D of the SDK reference shows: no project client needed."""
    now = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
    orm = OrmOntology(
        title="demo", structure=demo_ontology_structure(), ontology_hash="onto", created_at=now, last_edited_at=now
    )
    meta = LabelRowMetadata.from_dict(
        {
            "label_hash": "lh",
            "branch_name": "main",
            "created_at": now.isoformat(),
            "last_edited_at": now.isoformat(),
            "data_hash": labels["data_hash"],
            "dataset_hash": "ds",
            "dataset_title": "ds",
            "data_title": labels["data_title"],
            "data_type": "IMAGE",
            "data_link": "s3://x",
            "label_status": "LABELLED",
            "annotation_task_status": "QUEUED",
            "is_shadow_data": False,
            "number_of_frames": 1,
            "width": 1920,
            "height": 1080,
            "spaces": {},
        }
    )
    row = LabelRowV2(meta, None, SdkOntology(orm, None))  # type: ignore[arg-type]  # offline: no clients
    row.from_labels_dict(labels)
    return row


def test_ground_truth_is_deterministic_and_has_mixed_sizes():
    scenes = [generate_scene(f"h{i}", title, seed=7) for i, title in enumerate(TITLES)]
    assert scenes == [generate_scene(f"h{i}", title, seed=7) for i, title in enumerate(TITLES)]
    assert scenes != [generate_scene(f"h{i}", title, seed=8) for i, title in enumerate(TITLES)]
    for scene in scenes:
        assert 3 <= len(scene.objects) <= 8
        smalls = [is_small(o.box) for o in scene.objects]
        assert any(smalls)
        assert not all(smalls)
        for obj in scene.objects:
            assert obj.cls in CLASSES
            assert (obj.occluded is not None) == (obj.cls in VEHICLES)
            assert obj.box.x >= 0
            assert obj.box.x + obj.box.w <= 1
            assert obj.box.y >= 0
            assert obj.box.y + obj.box.h <= 1
    assert {o.cls for s in scenes for o in s.objects} == set(CLASSES)
    assert {s.weather for s in scenes} == {"sunny", "rain"}


def test_ground_truth_rows_parse_with_the_sdk_and_the_engine():
    ontology = Ontology.from_dict(demo_ontology())
    for i, title in enumerate(TITLES[:5]):
        scene = generate_scene(f"h{i}", title, seed=3)
        labels = label_row_dict(scene, author="gt@x")
        row = _sdk_row(labels)
        instances = row.get_object_instances()
        assert sorted(o.object_hash for o in instances) == sorted(o.object_hash for o in scene.objects)
        by_hash = {o.object_hash: o for o in scene.objects}
        for instance in instances:
            truth = by_hash[instance.object_hash]
            assert instance.object_name == truth.cls
            box = instance.get_annotation(0).coordinates
            assert isinstance(box, BoundingBoxCoordinates)
            assert box.top_left_x == pytest.approx(truth.box.x)
            assert box.width == pytest.approx(truth.box.w)
            if truth.cls in VEHICLES:
                [attribute] = instance.ontology_item.attributes
                answer = instance.get_answer(attribute)
                assert isinstance(answer, Option)
                assert answer.label == ("yes" if truth.occluded else "no")
        [weather] = row.get_classification_instances()
        answer = weather.get_answer()
        assert isinstance(answer, Option)
        assert answer.label == scene.weather
        report = score_label_rows(ontology, labels, labels)
        assert report.score == pytest.approx(1.0)
        assert report.objects.detection.tp == len(scene.objects)


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))
def test_every_profile_parses_and_is_deterministic(profile):
    ontology = Ontology.from_dict(demo_ontology())
    scene = generate_scene("h", TITLES[1], seed=5)
    labels = annotator_label_row(scene, profile, seed=5, image_index=1)
    assert labels == annotator_label_row(scene, profile, seed=5, image_index=1)
    row = _sdk_row(labels)
    assert len(row.get_object_instances()) == len(labels["object_answers"])
    assert len(row.get_classification_instances()) == 1
    # The annotator's hashes are its own: only geometry links its objects to the truth.
    assert not set(labels["object_answers"]) & {o.object_hash for o in scene.objects}
    report = score_label_rows(ontology, label_row_dict(scene, author="gt@x"), labels)
    assert 0.0 < report.score <= 1.0


def test_profiles_make_their_own_kind_of_error():
    scene = generate_scene("h", TITLES[2], seed=11)
    made = {name: annotator_label_row(scene, p, seed=11) for name, p in PROFILES.items()}
    objects = {name: row["data_units"]["h"]["labels"]["objects"] for name, row in made.items()}
    n_small = sum(is_small(o.box) for o in scene.objects)
    assert len(objects["precise"]) == len(scene.objects)
    assert len(objects["misses-small"]) >= len(scene.objects) - n_small
    assert len(objects["misses-small"]) < len(scene.objects)
    assert len(objects["sloppy-boxes"]) == len(scene.objects)
    truth_classes = sorted(o.cls for o in scene.objects)
    assert sorted(o["name"] for o in objects["sloppy-boxes"]) == truth_classes
    assert sorted(o["name"] for o in objects["wrong-attributes"]) == truth_classes
