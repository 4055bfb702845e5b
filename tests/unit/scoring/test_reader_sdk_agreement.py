"""The fast reader agrees with the SDK's own LabelRowV2 parsing on every fixture (built offline, no HTTP)."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest
from benchmark_qa.scoring import Ontology, typed_row
from benchmark_qa.scoring.errors import LabelRowError
from benchmark_qa.scoring.labels import LabelSet, read_label_row
from benchmark_qa_local.sdk_rows import offline_label_row
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import MODALITIES, load

FILES = [f"{m}.{side}.json" for m in MODALITIES for side in ("truth", "labels")]


def sdk_row(structure: dict[str, Any], row: dict[str, Any]) -> Any:
    return offline_label_row(structure, row, frames=1000)


def sdk_coordinates(coords: Any) -> Any:  # noqa: PLR0911 - one return per coordinate class reads best flat
    """SDK coordinates -> the reader's representation (normalised)."""
    from encord.objects.bitmask import BitmaskCoordinates
    from encord.objects.coordinates import (
        AudioCoordinates,
        BoundingBoxCoordinates,
        PointCoordinate,
        PolygonCoordinates,
        PolylineCoordinates,
        RotatableBoundingBoxCoordinates,
        SkeletonCoordinates,
        TextCoordinates,
    )

    if isinstance(coords, RotatableBoundingBoxCoordinates):
        return ("box", [coords.top_left_x, coords.top_left_y, coords.width, coords.height, coords.theta])
    if isinstance(coords, BoundingBoxCoordinates):
        return ("box", [coords.top_left_x, coords.top_left_y, coords.width, coords.height, 0.0])
    if isinstance(coords, PolygonCoordinates):
        return ("polygon", [[[(p.x, p.y) for p in ring] for ring in poly] for poly in coords.polygons])
    if isinstance(coords, PolylineCoordinates):
        return ("polyline", [(p.x, p.y) for p in coords.values])
    if isinstance(coords, PointCoordinate):
        return ("point", [(coords.x, coords.y)])
    if isinstance(coords, SkeletonCoordinates):
        vis = {None: 2, "visible": 2, "invisible": 0, "occluded": 1, "selfOccluded": 1}
        return (
            "skeleton",
            [(v.name, v.x, v.y, vis[v.visibility.value if v.visibility else None]) for v in coords.values],
        )
    if isinstance(coords, BitmaskCoordinates):
        d = coords.to_dict()
        return ("bitmask", (d["top"], d["left"], d["width"], d["height"], d["rleString"]))
    if isinstance(coords, AudioCoordinates | TextCoordinates):
        return ("range", [(r.start, r.end) for r in coords.range])
    raise AssertionError(f"unexpected coordinates {type(coords)}")


def ours(ls: LabelSet) -> dict[tuple[str, int], Any]:
    out: dict[tuple[str, int], Any] = {}
    for family, ann in ls.families.items():
        for k in range(len(ann)):
            obj = ls.objects[int(ann.obj[k])]
            frame = int(ann.frame[k])
            if family == "box":
                assert ann.boxes is not None
                value: Any = ("box", ann.boxes[k].tolist())
            elif family == "polygon":
                value = ("polygon", [[[tuple(p) for p in ring.tolist()] for ring in poly] for poly in ann.geom[k]])
            elif family in ("polyline", "point"):
                value = (family, [tuple(p) for p in ann.geom[k].tolist()])
            elif family == "skeleton":
                names, xy, vis = ann.geom[k]
                value = (
                    "skeleton",
                    [(n, x, y, int(v)) for n, (x, y), v in zip(names, xy.tolist(), vis.tolist(), strict=True)],
                )
            elif family == "bitmask":
                value = ("bitmask", ann.geom[k])
            else:
                value = ("range", [tuple(r) for r in ann.geom[k].tolist()])
            out[(obj.hash, frame)] = value
    return out


def sdk_answers(instance: Any) -> dict[str, Any]:
    """Static answers by attribute featureHash, in the reader's representation."""
    from encord.objects.attributes import ChecklistAttribute, RadioAttribute, TextAttribute

    out: dict[str, Any] = {}
    stack = list(instance.ontology_item.attributes)
    while stack:
        attr = stack.pop()
        if attr.dynamic:
            continue
        try:
            value = instance.get_answer(attr)
        except Exception:  # the SDK raises for attributes under an unchosen option
            value = None
        if value is None or value == []:
            pass
        elif isinstance(attr, RadioAttribute):
            out[attr.feature_node_hash] = value.feature_node_hash
        elif isinstance(attr, ChecklistAttribute):
            out[attr.feature_node_hash] = frozenset(o.feature_node_hash for o in value)
        elif isinstance(attr, TextAttribute):
            out[attr.feature_node_hash] = value
        for option in getattr(attr, "options", []):
            stack.extend(getattr(option, "nested_options", []) or [])
    return out


def classes(ontology: Ontology) -> tuple[str, ...]:
    return tuple(o.hash for o in ontology.objects)


def columns(ls: LabelSet) -> Any:
    """Everything a LabelSet holds, as plain values: two readers agree when these are equal."""
    families = {
        name: (
            ann.du.tolist(),
            ann.frame.tolist(),
            ann.obj.tolist(),
            None if ann.boxes is None else ann.boxes.tolist(),
            None if ann.rotated is None else ann.rotated.tolist(),
            repr(ann.geom),
        )
        for name, ann in ls.families.items()
        if len(ann)
    }
    objects = [(o.hash, o.class_index, o.answers, repr(o.dynamic)) for o in ls.objects]
    classes = [(c.hash, c.class_index, c.frames.tolist(), c.answers) for c in ls.classifications]
    units = [(u.hash, u.sequence, u.width, u.height) for u in ls.units]
    return (ls.label_hash, ls.data_hash, ls.data_type, units, objects, families, classes, ls.not_scored)


@pytest.mark.parametrize("name", FILES)
def test_reader_matches_sdk(name: str, structure: dict[str, Any], ontology: Ontology) -> None:
    raw = load(name)
    row = sdk_row(structure, raw)
    canonical = row.to_encord_dict()
    # the fixture and the SDK's own canonical serialisation, each as a dict and as JSON bytes (typed decoding)
    for source in (raw, canonical, orjson.dumps(raw), orjson.dumps(canonical)):
        if isinstance(source, bytes):
            assert typed_row.decode(source, classes(ontology)) is not None, "the typed decoder must read every fixture"
        ls = read_label_row(ontology, source)
        mine = ours(ls)
        theirs: dict[tuple[str, int], Any] = {}
        for instance in row.get_object_instances():
            for annotation in instance.get_annotations():
                theirs[(instance.object_hash, annotation.frame)] = sdk_coordinates(annotation.coordinates)
        assert set(mine) == set(theirs)
        for key, (kind, value) in theirs.items():
            got_kind, got = mine[key]
            assert got_kind == kind, key
            if kind == "bitmask":
                assert got == value
            elif kind == "skeleton":
                assert [(n, v) for n, _, _, v in got] == [(n, v) for n, _, _, v in value]
                np.testing.assert_allclose([g[1:3] for g in got], [v[1:3] for v in value])
            else:
                np.testing.assert_allclose(
                    np.asarray(got, dtype=float).ravel()
                    if kind != "polygon"
                    else np.concatenate([np.ravel(r) for p in got for r in p]),
                    np.asarray(value, dtype=float).ravel()
                    if kind != "polygon"
                    else np.concatenate([np.ravel(r) for p in value for r in p]),
                )
        by_hash = {o.hash: o for o in ls.objects}
        for instance in row.get_object_instances():
            assert by_hash[instance.object_hash].answers == sdk_answers(instance), instance.object_hash
            assert ontology.objects[by_hash[instance.object_hash].class_index].hash == instance.feature_hash
        sdk_classes = {c.classification_hash: c for c in row.get_classification_instances()}
        assert {c.hash for c in ls.classifications} == set(sdk_classes)
        for c in ls.classifications:
            sdk = sdk_classes[c.hash]
            if sdk.is_range_only():  # audio / text: the range itself, not frames
                frames = sorted(f for r in sdk.range_list for f in range(r.start, r.end + 1))
            else:
                frames = sorted(a.frame for a in sdk.get_annotations())
            ours_frames = sorted(f for s, e in c.frames.tolist() for f in range(s, e + 1))
            assert ours_frames == frames
            assert c.answers == sdk_answers(sdk)


def test_dynamic_answers_match_sdk(structure: dict[str, Any], ontology: Ontology) -> None:
    raw = load("video.labels.json")
    row = sdk_row(structure, raw)
    ls = read_label_row(ontology, raw)
    damage = ontology.objects[0].all_attributes["damage"]
    instance = next(i for i in row.get_object_instances() if i.object_hash == "anVCarA1")
    answers = instance.get_answer(instance.ontology_item.attributes[1], is_dynamic=True)
    sdk = {
        frame: frozenset(o.feature_node_hash for o in a.answer)
        for a in answers
        for r in a.ranges
        for frame in range(r.start, r.end + 1)
    }
    obj = next(o for o in ls.objects if o.hash == "anVCarA1")
    mine = {
        int(f): v
        for ranges, v in obj.dynamic[damage.hash]
        for s, e in ranges.tolist()
        for f in range(int(s), int(e) + 1)
    }
    assert mine == sdk
    assert mine[3] == frozenset({"optscr01"})


def test_streaming_reader_matches_dict_reader(ontology: Ontology, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large frame-keyed rows are cut into frame batches on the bytes; braces, brackets and escaped quotes
    inside strings must not confuse the cut."""
    import json

    import benchmark_qa.scoring.labels as labels_module
    from benchmark_qa.scoring import streaming

    raw = load("video.labels.json")
    for frame in raw["data_units"]["vid00001"]["labels"].values():
        for obj in frame["objects"]:
            obj["createdBy"] = 'a "{[quoted]}" \\\\ name }'
    monkeypatch.setattr(labels_module, "_STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(streaming, "_FRAMES_PER_BATCH", 3)
    encoded = json.dumps(raw, indent=1).encode()
    split = streaming.split_frames(encoded)
    assert split is not None
    assert len(split.batches[0]) == 3  # 8 frames in batches of 3
    assert split.head["data_units"]["vid00001"]["labels"] == {}
    streamed = read_label_row(ontology, encoded, compiled=False)
    plain = read_label_row(ontology, raw)
    assert ours(streamed) == ours(plain)
    assert [o.hash for o in streamed.objects] == [o.hash for o in plain.objects]
    assert [o.dynamic.keys() for o in streamed.objects] == [o.dynamic.keys() for o in plain.objects]
    assert streaming.split_frames(b'{"a": "unbalanced \\" quote}') is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(alphabet='ab{}[]"\\ :,\n', max_size=12), min_size=1, max_size=12),
    st.integers(1, 4),
    st.booleans(),
)
def test_frame_split_is_json_exact(texts: list[str], batch: int, indent: bool) -> None:
    """Whatever the strings hold, the frame batches parse back to exactly the frames of the row."""
    import json

    from benchmark_qa.scoring import streaming

    frames = {
        str(i): {"objects": [{"name": text, "k": {"v": [text]}}], "classifications": []} for i, text in enumerate(texts)
    }
    row = {
        "data_type": "video",
        "title": texts[0],
        "data_units": {"du": {"data_hash": "du", "labels": frames}},
        "z": {"labels": texts[-1]},
    }
    encoded = json.dumps(row, indent=1 if indent else None).encode()
    old = streaming._FRAMES_PER_BATCH
    streaming._FRAMES_PER_BATCH = batch
    try:
        split = streaming.split_frames(encoded)
    finally:
        streaming._FRAMES_PER_BATCH = old
    assert split is not None
    assert split.head == {**row, "data_units": {"du": {"data_hash": "du", "labels": {}}}}
    merged: dict[str, Any] = {}
    for chunk in split.frames(0):
        merged.update(chunk)
    assert merged == frames


@pytest.mark.parametrize("name", FILES)
def test_typed_decoding_reads_what_the_dict_reader_reads(name: str, ontology: Ontology) -> None:
    raw = load(name)
    assert columns(read_label_row(ontology, orjson.dumps(raw), compiled=False)) == columns(
        read_label_row(ontology, raw)
    )


def test_typed_decoding_falls_back_to_the_plain_reader(ontology: Ontology, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the types refuse (a coordinate sent as a string, a box that is null) is read, or refused with the
    object and field named, exactly as the dict reader does; a frame of other shapes goes through it too."""
    import benchmark_qa.scoring.labels as labels_module

    raw = load("video.labels.json")
    frames = raw["data_units"]["vid00001"]["labels"]
    first = next(o for f in frames.values() for o in f["objects"] if o["shape"] == "bounding_box")
    first["boundingBox"]["x"] = str(first["boundingBox"]["x"])  # numpy reads it; the types do not
    assert typed_row.decode(orjson.dumps(raw), classes(ontology)) is None
    assert columns(read_label_row(ontology, orjson.dumps(raw), compiled=False)) == columns(
        read_label_row(ontology, raw)
    )
    first["boundingBox"] = None
    assert (
        typed_row.decode(orjson.dumps(raw), classes(ontology)) is not None
    )  # null fits the types: the batch is refused later
    with pytest.raises(LabelRowError, match=first["objectHash"]):
        read_label_row(ontology, orjson.dumps(raw), compiled=False)
    with pytest.raises(LabelRowError, match=first["objectHash"]):
        read_label_row(ontology, raw)
    # a class the ontology does not have, a shape newer than the reader: plain JSON, with the plain reader's answer
    first["boundingBox"] = {"x": 0.1, "y": 0.1, "w": 0.1, "h": 0.1}
    known, first["featureHash"] = first["featureHash"], "notAClass"
    assert typed_row.decode(orjson.dumps(raw), classes(ontology)) is None
    with pytest.raises(LabelRowError, match=rf"{first['objectHash']}.*notAClass"):
        read_label_row(ontology, orjson.dumps(raw), compiled=False)
    first["featureHash"], first["shape"] = known, "hologram"
    assert typed_row.decode(orjson.dumps(raw), classes(ontology)) is None
    assert read_label_row(ontology, orjson.dumps(raw), compiled=False).not_scored == {"hologram": 1}
    # batches of one frame: boxes-only frames typed, the others through the plain reader, in the same order
    monkeypatch.setattr(labels_module, "_TYPED_FRAMES_PER_BATCH", 1)
    raw = load("video.truth.json")
    assert columns(read_label_row(ontology, orjson.dumps(raw), compiled=False)) == columns(
        read_label_row(ontology, raw)
    )


def test_a_frame_the_types_refuse_after_frames_already_read_sends_the_whole_row_to_the_plain_reader(
    ontology: Ontology, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames are decoded batch by batch as they are read: a frame that does not fit the types, late in the row,
    still gives exactly what the plain reader reads (nothing of the batches before it is kept twice or lost)."""
    import benchmark_qa.scoring.labels as labels_module

    monkeypatch.setattr(labels_module, "_TYPED_FRAMES_PER_BATCH", 1)
    raw = load("video.labels.json")
    head = typed_row.decode_head(orjson.dumps(raw))
    assert head is not None
    assert all(typed_row.is_raw(f) for u in head.data_units.values() for f in u.labels.values())
    frames = raw["data_units"]["vid00001"]["labels"]
    last = [o for f in frames.values() for o in f["objects"] if o["shape"] == "bounding_box"][-1]
    last["boundingBox"]["w"] = str(last["boundingBox"]["w"])
    assert columns(read_label_row(ontology, orjson.dumps(raw), compiled=False)) == columns(
        read_label_row(ontology, raw)
    )
    last["boundingBox"] = None
    with pytest.raises(LabelRowError, match=last["objectHash"]):
        read_label_row(ontology, orjson.dumps(raw), compiled=False)


def test_typed_decoding_reads_every_shape_on_video_frames(ontology: Ontology) -> None:
    """Every shape issue 9 added (circle, ellipse, 2-D cuboid; 3-D cuboid and segmentation not scored) with
    rotated boxes, polygons, masks and skeletons on the frames of a video: typed bytes and dicts agree."""
    from tests.fixtures.scoring.generate import bbox, data_unit, frame_object, label_row, rbox

    def shape(object_hash: str, kind: str, geometry: dict[str, Any]) -> dict[str, Any]:
        return frame_object(object_hash, "Car", kind, geometry) | {"shape": kind}

    front = [0.1, 0.1, 0.3, 0.1, 0.3, 0.3, 0.1, 0.3]
    others = [
        shape("gtCirc", "circle", {"circle": {"x": 0.5, "y": 0.5, "r": 0.1, "stretch": 1.5, "theta": 10.0}}),
        shape("gtElli", "ellipse", {"ellipse": {"x": 0.3, "y": 0.4, "rx": 0.1, "ry": 0.2, "theta": 30.0}}),
        shape("gtCub2", "cuboid_2d", {"cuboid_2d": {"front": front, "offset": {"x": 0.05, "y": -0.05}}}),
        shape("gtCub3", "cuboid", {"cuboid": {"position": [0, 0, 0], "orientation": [0, 0, 0], "size": [1, 1, 1]}}),
        shape("gtSegm", "segmentation", {"segmentation": "abc"}),
        rbox("gtRbox", 0.1, 0.2, 0.3, 0.2, 15.0),
    ]
    frames = {
        "0": {"objects": [bbox("gtBox", "Car", 0.6, 0.6, 0.2, 0.2)], "classifications": []},
        "1": {"objects": [bbox("gtBox", "Car", 0.6, 0.6, 0.2, 0.2), *others], "classifications": []},
        "2": {"objects": [bbox("gtBox", "Car", 0.61, 0.6, 0.2, 0.2), bbox("gtNew", "Car", 0, 0, 0.1, 0.1)]},
    }
    unit = data_unit("vid00001", "video/mp4", 0, frames, 200, 100)
    row = label_row("video", "vid00001", "lbT", [unit])
    typed = read_label_row(ontology, orjson.dumps(row), compiled=False)
    assert columns(typed) == columns(read_label_row(ontology, row))
    assert typed.not_scored == {"cuboid": 1, "segmentation": 1}
    assert set(typed.families) >= {"box", "ellipse", "cuboid_2d"}


def test_box_only_ontology_decodes_without_other_geometry(structure: dict[str, Any]) -> None:
    """An ontology of box classes decodes frames without room for other geometry; a row that still holds another
    shape is decoded again with it, and both read as the dict reader reads them."""
    from tests.fixtures.scoring.generate import bbox, data_unit, label_row, polygon

    car = next(o for o in structure["objects"] if o["shape"] == "bounding_box")
    boxes = Ontology.from_dict({"objects": [car], "classifications": []})
    frames = {str(f): {"objects": [bbox("gtBox", car["name"], 0.1 * f, 0.1, 0.2, 0.2)]} for f in range(3)}
    row = label_row("video", "vid00001", "lbT", [data_unit("vid00001", "video/mp4", 0, frames, 200, 100)])
    encoded = orjson.dumps(row)
    assert typed_row.decode(encoded, classes(boxes), boxes_only=True) is not None
    assert columns(read_label_row(boxes, encoded, compiled=False)) == columns(read_label_row(boxes, row))
    odd = polygon("gtPoly", [[[0.1, 0.1, 0.4, 0.1, 0.4, 0.4]]]) | {"featureHash": car["featureNodeHash"]}
    frames["1"]["objects"].append(odd)
    encoded = orjson.dumps(row)
    typed = read_label_row(boxes, encoded, compiled=False)
    assert columns(typed) == columns(read_label_row(boxes, row))
    assert len(typed.families["polygon"]) == 1
