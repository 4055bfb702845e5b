"""End to end on every modality fixture, config validation, report schema, hints, CLI and import weight."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa.scoring import ConfigError, LabelRowError, Ontology, ScoreReport, ScoringConfig, score_label_rows

from .conftest import FIXTURES, MODALITIES, pair


@pytest.mark.parametrize("modality", MODALITIES)
def test_identical_rows_score_one(modality: str, ontology: Ontology) -> None:
    truth, _ = pair(modality)
    report = score_label_rows(ontology, truth, json.dumps(truth).encode())
    assert report.score == 1.0
    assert report.conflicts == []
    assert report.objects.detection.fn == 0
    assert report.objects.detection.fp == 0
    assert report.n > 0


def kinds(report: ScoreReport) -> set[str]:
    return {c.kind for c in report.conflicts}


def test_image_fixture_conflicts_and_counts(ontology: Ontology) -> None:
    report = score_label_rows(ontology, *pair("image"))
    assert kinds(report) == {
        "missing",
        "extra",
        "wrong_class",
        "low_overlap",
        "attribute_mismatch",
        "direction",
        "visibility",
    }
    wrong = next(c for c in report.conflicts if c.kind == "wrong_class")
    assert (wrong.truth_value, wrong.labels_value) == ("Car", "Truck")
    assert report.objects.classes["Car"].tp == 1
    assert report.objects.classes["Truck"].fn == 1
    conf = report.objects.confusion
    assert conf.counts[conf.truth.index("Car")][conf.labels.index("Truck")] == 1
    assert conf.counts[conf.truth.index("Truck")][conf.labels.index("unmatched")] == 1
    # nested attributes: a child counts only where the parent agrees
    attrs = report.object_attributes
    assert attrs["Building/kind"].total == 2
    assert attrs["Building/kind"].correct == 1
    assert attrs["Building/kind/house/floors"].total == 1  # only gtBldg01, whose parent matched
    assert attrs["Car/colour/red/shade"].correct == 0  # "drak" vs "dark": similarity 0.5 < 0.9
    assert report.classifications["caption"].correct == 1  # trailing "." is within text similarity 0.9
    assert report.classifications["tags"].correct == 0  # checklist Jaccard 0.5 < 1.0
    assert report.objects.localisation["polygon"].value == pytest.approx((1.0 + 0.92) / 2, abs=0.01)
    visibility = next(c for c in report.conflicts if c.kind == "visibility")
    assert visibility.path == "Person/l_foot"
    assert 0 <= report.score <= 1
    assert report.interval.low is not None
    assert report.interval.low <= report.score


def test_hints_never_reveal_truth(ontology: Ontology) -> None:
    for modality in MODALITIES:
        truth, labels = pair(modality)
        report = score_label_rows(ontology, truth, labels)
        secrets = {c.truth_hash for c in report.conflicts if c.truth_hash} | {
            c.truth_value for c in report.conflicts if c.kind == "attribute_mismatch" and c.truth_value
        }
        texts = [c.hint for c in report.conflicts] + report.hints()
        for text in texts:
            for secret in secrets:
                assert not re.search(rf"\b{re.escape(secret)}\b", text), (modality, secret, text)
    report = score_label_rows(ontology, *pair("image"))
    assert "confused Car and Truck on 1 frame" in report.hints(limit=20)


def test_every_modality_has_its_expected_disagreement(ontology: Ontology) -> None:
    expected = {
        "img_group": {"missing", "extra"},
        "video": {"id_switch", "missing", "attribute_mismatch"},
        "dicom": {"missing"},
        "nifti": {"missing"},
        "audio": {"missing", "extra", "attribute_mismatch"},
        "plain_text": {"attribute_mismatch"},
        "pdf": {"missing", "low_overlap"},  # the quarter-height Truck box is loose, not a miss plus an extra
    }
    for modality, want in expected.items():
        report = score_label_rows(ontology, *pair(modality))
        assert want <= kinds(report), modality
        assert 0.0 < report.score < 1.0


def test_video_dynamic_attributes_and_tracking(ontology: Ontology) -> None:
    report = score_label_rows(ontology, *pair("video"))
    damage = next(c for c in report.conflicts if c.path == "Car/damage" and c.frame == 3)
    assert (damage.truth_value, damage.labels_value) == ("dent", "scratch")
    assert report.tracking is not None
    assert report.tracking.id_switches == 2
    assert report.classifications["weather"].total == 8
    assert report.classifications["weather"].correct == 5


def test_audio_boundary_tolerance(ontology: Ontology) -> None:
    report = score_label_rows(ontology, *pair("audio"))
    first = [s for s, t in zip(report.matches.similarity, report.matches.truth_hash, strict=True) if t == "gtSpch01"]
    assert first == [1.0]  # 100 ms and 150 ms off: inside the 200 ms tolerance
    strict = ScoringConfig.load({"defaults": {"range_tolerance": 0}})
    strict_first = score_label_rows(ontology, *pair("audio"), strict).matches.similarity[0]
    assert strict_first == 901 / 1151  # closed intervals: [0, 1000] and [100, 1150] share 901 of 1151 ms


def test_class_threshold_override_changes_matching(ontology: Ontology) -> None:
    loose = score_label_rows(ontology, *pair("pdf"))
    assert loose.objects.classes["Truck"].fn == 1  # IoU 0.25 < 0.5
    config = ScoringConfig.load("classes:\n  Truck: {match: 0.2}\n")
    tight = score_label_rows(ontology, *pair("pdf"), config)
    assert tight.objects.classes["Truck"].tp == 1
    assert tight.parameters["classes"]["Truck"]["match"] == 0.2


def test_object_class_rules_do_not_reach_a_classification_of_the_same_name(structure: dict[str, Any]) -> None:
    renamed = {**structure, "objects": [{**structure["objects"][0], "name": "caption"}, *structure["objects"][1:]]}
    ontology = Ontology.from_dict(renamed)
    strict_objects = ScoringConfig.load({"classes": {"caption": {"text_similarity": 1.0}}})
    report = score_label_rows(ontology, *pair("image"), strict_objects)
    assert report.classifications["caption"].correct == 1  # the classification keeps the default 0.9
    strict = ScoringConfig.load({"classifications": {"caption": {"text_similarity": 1.0}}})
    assert score_label_rows(ontology, *pair("image"), strict).classifications["caption"].correct == 0


def test_empty_frames_agree(ontology: Ontology) -> None:
    truth, labels = pair("img_group")
    for unit in (*truth["data_units"].values(), *labels["data_units"].values()):
        if unit["data_sequence"] == 0:
            unit["labels"]["objects"] = []
    ignore = score_label_rows(ontology, truth, labels)
    agree = score_label_rows(ontology, truth, labels, ScoringConfig(empty_frames="agree"))
    assert agree.objects.empty_frames_agreed == 1
    assert agree.objects.detection.tp == ignore.objects.detection.tp + 1


def test_config_validation_names_the_culprit(ontology: Ontology) -> None:
    with pytest.raises(ConfigError, match=r"unknown object class 'Bus'.*Building, Car"):
        ScoringConfig.load({"classes": {"Bus": {"match": 0.6}}}).validate_against(ontology)
    with pytest.raises(ConfigError, match=r"unknown attribute 'color' of 'Car'.*colour"):
        ScoringConfig.load({"classes": {"Car": {"attributes": {"color": {}}}}}).validate_against(ontology)
    with pytest.raises(ConfigError, match=r"unknown skeleton node.*'nose'"):
        ScoringConfig.load({"classes": {"Person": {"node_sigmas": {"nose": 0.02}}}}).validate_against(ontology)
    with pytest.raises(ConfigError, match=r"unknown object class 'truck001'.*Truck"):  # rules are looked up by name
        ScoringConfig.load({"classes": {"truck001": {"match": 0.2}}}).validate_against(ontology)
    with pytest.raises(ConfigError, match=r"unknown classification 'clscapt1'.*caption"):
        ScoringConfig.load({"classifications": {"clscapt1": {"text_similarity": 0.5}}}).validate_against(ontology)
    with pytest.raises(ConfigError, match="invalid scoring config"):
        ScoringConfig.load({"defaults": {"match": 1.5}})
    ok = ScoringConfig.load('{"classes": {"Person": {"node_sigmas": {"head": 0.025}}}}').validate_against(ontology)
    assert ok.resolve("Person", "skeleton").node_sigmas == {"head": 0.025}


def test_malformed_row_names_object_and_field(ontology: Ontology) -> None:
    truth, labels = pair("image")
    del labels["data_units"]["img00001"]["labels"]["objects"][0]["boundingBox"]
    with pytest.raises(LabelRowError, match=r"anCar001.*boundingBox"):
        score_label_rows(ontology, truth, labels)


@pytest.mark.parametrize("modality", ["img_group", "video"])
def test_box_without_feature_hash_names_object_and_field(modality: str, ontology: Ontology) -> None:
    """A frame of plain boxes is read in one batch; a new object in it without featureHash still gets the
    per-object reader's message, not a bare KeyError."""
    truth, labels = pair(modality)
    unit = next(iter(labels["data_units"].values()))
    frame = unit["labels"] if modality == "img_group" else unit["labels"]["0"]
    assert {o["shape"] for o in frame["objects"]} == {"bounding_box"}
    object_hash = frame["objects"][0]["objectHash"]
    del frame["objects"][0]["featureHash"]
    with pytest.raises(LabelRowError, match=rf"{object_hash}.*featureHash"):
        score_label_rows(ontology, truth, labels)


@pytest.mark.parametrize("modality", ["image", "img_group", "video"])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_a_box_coordinate_that_is_not_a_number_names_the_object(
    modality: str, as_bytes: bool, ontology: Ontology
) -> None:
    """ "w": "wide" is the annotator's object's fault: the error names it, not a bare ValueError from numpy."""
    truth, labels = pair(modality)
    unit = next(iter(labels["data_units"].values()))
    frame = unit["labels"] if modality != "video" else unit["labels"]["0"]
    obj = frame["objects"][0]
    obj["boundingBox"]["w"] = "wide"
    row: Any = json.dumps(labels).encode() if as_bytes else labels
    with pytest.raises(LabelRowError, match=rf"{obj['objectHash']}.*boundingBox.*'wide'"):
        score_label_rows(ontology, truth, row)


def test_report_json_schema(ontology: Ontology) -> None:
    report = score_label_rows(ontology, *pair("image"))
    data: dict[str, Any] = json.loads(report.to_json())
    assert data["schema_version"] == "1.1"
    assert data["parameters"]["defaults"]["match"] == 0.5
    assert len(data["matches"]["similarity"]) == len(data["matches"]["truth_hash"]) == 9
    again = ScoreReport.model_validate(data)
    assert again.score == report.score
    counts = report.counts()
    assert counts["classes"]["Car"] == {
        "tp": 1,
        "fp": 1,
        "fn": 1,
        "similarity_sum": pytest.approx(report.objects.classes["Car"].similarity_sum),
    }
    assert counts["object_attributes"]["Car/plate"] == {"correct": 0, "total": 1}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from benchmark_qa_local.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "score", *args], capture_output=True, text=True, check=False)


def test_cli(tmp_path: Path) -> None:
    base = [
        "--ontology",
        str(FIXTURES / "ontology.json"),
        "--truth",
        str(FIXTURES / "video.truth.json"),
        "--labels",
        str(FIXTURES / "video.labels.json"),
    ]
    done = _cli(*base)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tracking"]["id_switches"] == 2
    table = _cli(*base, "--format", "table")
    assert table.returncode == 0
    assert "IDF1" in table.stdout
    report = score_label_rows(Ontology.from_dict(json.loads((FIXTURES / "ontology.json").read_text())), *pair("video"))
    weights = report.parameters["weights"]
    for name, component in report.components.items():  # every component with its value, weight and n
        row = f"{name:<18}{component.value:>8.3f}{weights[name]:>8.2f}{component.n:>8}"
        assert row in table.stdout
    assert f"score {report.score:.3f}" in table.stdout
    bad = tmp_path / "c.yaml"
    bad.write_text("classes:\n  Bus: {match: 0.7}\n")
    failed = _cli(*base, "--config", str(bad))
    assert failed.returncode == 2
    assert "Bus" in failed.stderr
    assert "Truck" in failed.stderr
    broken = tmp_path / "broken.json"
    row = json.loads((FIXTURES / "video.labels.json").read_text())
    row["data_units"]["vid00001"]["labels"]["0"]["objects"][0]["featureHash"] = "nope"
    broken.write_text(json.dumps(row))
    failed = _cli(*base[:4], "--labels", str(broken))
    assert failed.returncode == 2
    assert "anVCarB1" in failed.stderr
    assert "featureHash" in failed.stderr


def test_import_is_light() -> None:
    code = (
        "import sys, benchmark_qa.scoring as s; s.ScoringConfig; s.Ontology; "
        "print('scipy' in sys.modules, 'encord' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_cli_refuses_rows_of_different_data(tmp_path: Path) -> None:
    """A truth row and a label row of another data type, or of another data unit, are refused with a message that
    names both rows and exit 2 (they used to score 0.000 with exit 0)."""
    ontology = ["--ontology", str(FIXTURES / "ontology.json")]
    other_type = _cli(
        *ontology, "--truth", str(FIXTURES / "video.truth.json"), "--labels", str(FIXTURES / "image.labels.json")
    )
    assert other_type.returncode == 2
    assert "lbTruth3" in other_type.stderr
    assert "lbLabel1" in other_type.stderr
    assert "video" in other_type.stderr
    assert "image" in other_type.stderr
    assert "Traceback" not in other_type.stderr
    row = json.loads((FIXTURES / "video.labels.json").read_text())
    row["data_units"] = {"vidother": {**row["data_units"]["vid00001"], "data_hash": "vidother"}}
    row["data_hash"] = "vidother"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(row))
    other_unit = _cli(*ontology, "--truth", str(FIXTURES / "video.truth.json"), "--labels", str(other))
    assert other_unit.returncode == 2
    assert "share no data unit" in other_unit.stderr
    assert "vidother" in other_unit.stderr


def _frame_row(objects: list[dict[str, Any]], label_hash: str) -> dict[str, Any]:
    from tests.fixtures.scoring.generate import data_unit, label_row

    unit = data_unit("img00001", "image/png", 0, {"objects": objects, "classifications": []}, 200, 100)
    return label_row("image", "img00001", label_hash, [unit])


def _shape(object_hash: str, shape: str, geometry: dict[str, Any]) -> dict[str, Any]:
    from tests.fixtures.scoring.generate import frame_object

    return frame_object(object_hash, "Car", shape, geometry) | {"shape": shape}


def test_every_sdk_shape_is_scored_or_reported_not_scored(ontology: Ontology) -> None:
    """Circles and ellipses get their exact IoU, 2-D cuboids the mean IoU of their faces; a 3-D cuboid and a
    segmentation are counted as not scored, and the boxes of the same row are still scored (one ellipse used to
    fail the whole row)."""
    from tests.fixtures.scoring.generate import bbox

    circle = {"circle": {"x": 0.5, "y": 0.5, "r": 0.1, "stretch": 1.0, "theta": 0.0}}
    ellipse = {"ellipse": {"x": 0.3, "y": 0.4, "rx": 0.1, "ry": 0.2, "theta": 30.0}}
    cuboid_2d = {"cuboid_2d": {"front": [0.1, 0.1, 0.3, 0.1, 0.3, 0.3, 0.1, 0.3], "offset": {"x": 0.05, "y": -0.05}}}
    cuboid = {"cuboid": {"position": [0, 0, 0], "orientation": [0, 0, 0], "size": [1, 1, 1]}}
    truth = _frame_row(
        [
            bbox("gtBox", "Car", 0.6, 0.6, 0.2, 0.2),
            _shape("gtCirc", "circle", circle),
            _shape("gtElli", "ellipse", ellipse),
            _shape("gtCub2", "cuboid_2d", cuboid_2d),
            _shape("gtCub3", "cuboid", cuboid),
            _shape("gtSegm", "segmentation", {"segmentation": "abc"}),
        ],
        "lbT",
    )
    same = score_label_rows(ontology, truth, truth)
    assert same.score == 1.0
    assert set(same.objects.localisation) == {"box", "ellipse", "cuboid_2d", "all"}
    assert all(s.value == 1.0 for s in same.objects.localisation.values())
    assert {k: (v.truth, v.labels) for k, v in same.objects.not_scored.items()} == {
        "cuboid": (1, 1),
        "segmentation": (1, 1),
    }
    moved = json.loads(json.dumps(truth))
    objects = moved["data_units"]["img00001"]["labels"]["objects"]
    objects[1]["circle"]["x"] = 0.52  # 4 px right on a 200 px wide frame, radius 20 px
    objects[3]["cuboid_2d"]["offset"]["x"] = 0.06
    report = score_label_rows(ontology, truth, moved)
    sims = dict(zip(report.matches.truth_hash, report.matches.similarity, strict=True))
    d, r = 4.0, 20.0
    lens = 2 * r * r * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r * r - d * d)
    assert sims["gtCirc"] == pytest.approx(lens / (2 * math.pi * r * r - lens), rel=1e-12)
    assert sims["gtElli"] == 1.0
    assert sims["gtBox"] == 1.0
    # the back face moved 2 px of its 40 px width: front IoU 1, back IoU 38/42
    assert sims["gtCub2"] == pytest.approx((1 + 38 / 42) / 2, rel=1e-12)
