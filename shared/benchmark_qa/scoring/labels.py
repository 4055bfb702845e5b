"""Read an Encord label row (dict or JSON bytes) straight into compact numpy columns.

No LabelRowV2 objects: a 10,000-frame video is one pass over the frame dicts. Geometry stays in Encord's
normalised 0-1 coordinates here; pixel-aware measures scale by the data unit's width/height later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from benchmark_qa.scoring.errors import LabelRowError
from benchmark_qa.scoring.ontology import SHAPE_FAMILY, AttributeNode, Ontology

Answer = str | frozenset[str] | float
# Encord data types whose labels are keyed by frame ("0", "1", ...); image types carry one frame per data unit.
FRAME_TYPES = frozenset({"video", "dicom", "nifti", "pdf"})
IMAGE_TYPES = frozenset({"image", "img_group"})
RANGE_TYPES = frozenset({"audio", "plain_text"})
VISIBILITY = {"invisible": 0, "occluded": 1, "selfOccluded": 1, "visible": 2}


@dataclass(slots=True)
class DataUnit:
    hash: str
    title: str
    sequence: int
    width: float | None
    height: float | None


@dataclass(slots=True)
class LabelObject:
    """One Encord object instance (objectHash); across frames of a video this is a track."""

    hash: str
    class_index: int
    answers: dict[str, Answer] = field(default_factory=dict)  # attribute featureHash -> answer
    dynamic: dict[str, list[tuple[np.ndarray, Answer]]] = field(default_factory=dict)  # per-frame answers


@dataclass(slots=True)
class Annotations:
    """All per-frame annotations of one shape family, as columns. `geom` is family specific."""

    du: np.ndarray  # int32 data-unit index
    frame: np.ndarray  # int64 frame
    obj: np.ndarray  # int32 index into LabelSet.objects
    geom: list[Any]
    boxes: np.ndarray | None = None  # box family: (n, 5) x, y, w, h, theta
    rotated: np.ndarray | None = None  # box family: bool

    def __len__(self) -> int:
        return len(self.obj)


@dataclass(slots=True)
class LabelClassification:
    hash: str
    class_index: int
    frames: np.ndarray  # (k, 2) inclusive frame ranges
    answers: dict[str, Answer]


@dataclass(slots=True)
class LabelSet:
    label_hash: str
    data_hash: str
    data_type: str
    units: list[DataUnit]
    objects: list[LabelObject]
    families: dict[str, Annotations]
    classifications: list[LabelClassification]


class _Builder:
    def __init__(self) -> None:
        self.du: list[int] = []
        self.frame: list[int] = []
        self.obj: list[int] = []
        self.geom: list[Any] = []
        self.boxes: list[tuple[float, float, float, float, float]] = []
        self.rotated: list[bool] = []

    def build(self, family: str) -> Annotations:
        ann = Annotations(
            np.asarray(self.du, dtype=np.int32),
            np.asarray(self.frame, dtype=np.int64),
            np.asarray(self.obj, dtype=np.int32),
            self.geom,
        )
        if family == "box":
            ann.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 5)
            ann.rotated = np.asarray(self.rotated, dtype=bool)
        return ann


def _points(raw: Any, object_hash: str, key: str) -> np.ndarray:
    """Encord point maps {"0": {x, y}, ...} (or lists of {x, y}) -> (k, 2) array in index order."""
    if isinstance(raw, Mapping):
        items = [raw[k] for k in sorted(raw, key=int)]
    elif isinstance(raw, list):
        items = raw
    else:
        raise LabelRowError(f"object {object_hash}: field {key!r} must be a map or list of points")
    try:
        return np.array([(float(p["x"]), float(p["y"])) for p in items], dtype=np.float64).reshape(-1, 2)
    except (KeyError, TypeError, ValueError) as exc:
        raise LabelRowError(f"object {object_hash}: field {key!r} has a point without numeric x/y") from exc


def _polygon(raw: Mapping[str, Any], object_hash: str) -> list[list[np.ndarray]]:
    polygons = raw.get("polygons")
    if polygons:
        out = []
        try:
            for polygon in polygons:
                rings = [np.asarray(ring, dtype=np.float64).reshape(-1, 2) for ring in polygon]
                out.append([r for r in rings if len(r) >= 3])
        except (TypeError, ValueError) as exc:
            raise LabelRowError(f"object {object_hash}: field 'polygons' must be [[[x1, y1, x2, y2, ...]]]") from exc
        return [p for p in out if p]
    if "polygon" not in raw:
        raise LabelRowError(f"object {object_hash}: polygon without 'polygons' or 'polygon'")
    ring = _points(raw["polygon"], object_hash, "polygon")
    return [[ring]] if len(ring) >= 3 else []


def _geometry(shape: str, raw: Mapping[str, Any], object_hash: str) -> Any:
    try:
        if shape == "polygon":
            return _polygon(raw, object_hash)
        if shape == "polyline":
            return _points(raw["polyline"], object_hash, "polyline")
        if shape == "point":
            return _points(raw["point"], object_hash, "point")[:1]
        if shape == "skeleton":
            nodes = raw["skeleton"]
            items = [nodes[k] for k in sorted(nodes, key=int)] if isinstance(nodes, Mapping) else list(nodes)
            names = tuple(str(n.get("name", i)) for i, n in enumerate(items))
            xy = np.array([(float(n["x"]), float(n["y"])) for n in items], dtype=np.float64).reshape(-1, 2)
            vis = np.array([_visibility(n) for n in items], dtype=np.int8)
            return names, xy, vis
        if shape == "bitmask":
            mask = raw["bitmask"]
            return (
                int(mask.get("top", 0)),
                int(mask.get("left", 0)),
                int(mask["width"]),
                int(mask["height"]),
                str(mask["rleString"]),
            )
    except KeyError as exc:
        raise LabelRowError(f"object {object_hash}: {shape} is missing field {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:
        raise LabelRowError(f"object {object_hash}: malformed {shape} geometry ({exc})") from exc
    raise LabelRowError(f"object {object_hash}: unsupported shape {shape!r}")


def _visibility(node: Mapping[str, Any]) -> int:
    # Same precedence as the SDK: invisible, occluded, selfOccluded, visible; absent means visible.
    for key in ("invisible", "occluded", "selfOccluded", "visible"):
        if node.get(key):
            return VISIBILITY[key]
    value = node.get("visibility")
    return VISIBILITY.get(str(value), 2) if value else 2


def _ranges(raw: Any, owner: str, key: str = "range") -> np.ndarray:
    try:
        arr = np.asarray(raw, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        raise LabelRowError(f"{owner}: field {key!r} must be [[start, end], ...]") from exc
    return arr


def parse_answer(node: AttributeNode, raw: Any, owner: str) -> Answer | None:
    answers = raw.get("answers")
    if node.kind == "text":
        return None if answers is None else str(answers)
    if node.kind == "numeric":
        try:
            return None if answers in (None, "") else float(answers)
        except (TypeError, ValueError) as exc:
            raise LabelRowError(f"{owner}: numeric attribute {node.name!r} has answer {answers!r}") from exc
    if not isinstance(answers, list):
        raise LabelRowError(f"{owner}: attribute {node.name!r} field 'answers' must be a list of options")
    hashes = [str(a.get("featureHash")) for a in answers if isinstance(a, Mapping)]
    if node.kind == "radio":
        return hashes[0] if hashes else None
    return frozenset(hashes)


def _answers(ontology: Ontology, entries: Any, owner: str) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for entry in entries or []:
        node = ontology.attribute_by_hash.get(str(entry.get("featureHash")))
        if node is None:  # archived attribute or stale answer: nothing to compare it with
            continue
        value = parse_answer(node, entry, owner)
        if value is not None:
            out[node.hash] = value
    return out


def read_label_row(ontology: Ontology, row: Mapping[str, Any] | bytes | str) -> LabelSet:
    """Parse one label row. Bytes are decoded with orjson; the dict is released as soon as columns are built."""
    data: Any = orjson.loads(row) if isinstance(row, bytes | str) else row
    if not isinstance(data, Mapping):
        raise LabelRowError("label row must be a JSON object")
    for key in ("data_type", "data_units"):
        if key not in data:
            raise LabelRowError(f"label row {data.get('label_hash')!r} has no {key!r} field")
    data_type = str(data["data_type"]).lower()
    units: list[DataUnit] = []
    objects: list[LabelObject] = []
    object_index: dict[str, int] = {}
    builders: dict[str, _Builder] = {}
    classes = ontology.object_by_hash

    def new_object(object_hash: str, feature_hash: str) -> int:
        cls = classes.get(feature_hash)
        if cls is None:
            raise LabelRowError(f"object {object_hash}: featureHash {feature_hash!r} is not an object of the ontology")
        object_index[object_hash] = len(objects)
        objects.append(LabelObject(object_hash, cls.index))
        return len(objects) - 1

    def builder(family: str) -> _Builder:
        b = builders.get(family)
        if b is None:
            b = builders[family] = _Builder()
        return b

    box = builder("box")
    box_du, box_frame, box_obj, box_boxes, box_rot = box.du, box.frame, box.obj, box.boxes, box.rotated

    def add_frame(du: int, frame: int, frame_objects: Any) -> None:
        for o in frame_objects:
            try:
                object_hash = o["objectHash"]
                shape = o["shape"]
                idx = object_index.get(object_hash)
                if idx is None:
                    idx = new_object(object_hash, o["featureHash"])
                if shape == "bounding_box":
                    b = o["boundingBox"]
                    box_boxes.append((b["x"], b["y"], b["w"], b["h"], 0.0))
                    box_rot.append(False)
                elif shape == "rotatable_bounding_box":
                    b = o["rotatableBoundingBox"]
                    box_boxes.append((b["x"], b["y"], b["w"], b["h"], b.get("theta", 0.0)))
                    box_rot.append(True)
                else:
                    family = SHAPE_FAMILY.get(shape)
                    if family is None or family in ("box", "range"):
                        raise LabelRowError(f"object {object_hash}: unsupported shape {shape!r}")
                    fb = builder(family)
                    fb.geom.append(_geometry(shape, o, object_hash))
                    fb.du.append(du)
                    fb.frame.append(frame)
                    fb.obj.append(idx)
                    continue
            except KeyError as exc:
                where = o.get("objectHash", "?") if isinstance(o, Mapping) else "?"
                raise LabelRowError(f"object {where} on frame {frame}: missing field {exc.args[0]!r}") from exc
            except TypeError as exc:
                where = o.get("objectHash", "?") if isinstance(o, Mapping) else "?"
                raise LabelRowError(f"object {where} on frame {frame}: malformed ({exc})") from exc
            box_du.append(du)
            box_frame.append(frame)
            box_obj.append(idx)

    frame_classifications: dict[str, list[int]] = {}
    for du_index, (unit_hash, unit) in enumerate(dict(data["data_units"]).items()):
        width, height = unit.get("width"), unit.get("height")
        sequence = int(unit.get("data_sequence", du_index) or 0)
        units.append(
            DataUnit(
                str(unit.get("data_hash", unit_hash)),
                str(unit.get("data_title", "")),
                sequence,
                float(width) if width else None,
                float(height) if height else None,
            )
        )
        labels = unit.get("labels") or {}
        if data_type in IMAGE_TYPES:
            add_frame(du_index, sequence, labels.get("objects", []))
            for c in labels.get("classifications", []) or []:
                frame_classifications.setdefault(str(c.get("classificationHash")), []).append(sequence)
        elif data_type in FRAME_TYPES:
            for key, frame_data in labels.items():
                try:
                    frame = int(key)
                except ValueError:
                    continue  # non-frame keys (scene metadata) carry no labels
                add_frame(du_index, frame, frame_data.get("objects", []))
                for c in frame_data.get("classifications", []) or []:
                    frame_classifications.setdefault(str(c.get("classificationHash")), []).append(frame)
        elif data_type not in RANGE_TYPES:
            raise LabelRowError(f"label row {data.get('label_hash')!r}: unsupported data_type {data_type!r}")

    object_answers = data.get("object_answers") or {}
    if data_type in RANGE_TYPES:
        rb = builder("range")
        for object_hash, entry in object_answers.items():
            if entry.get("spaces") or "range" not in entry:
                continue
            if "featureHash" not in entry:
                raise LabelRowError(f"object {object_hash}: range object without 'featureHash'")
            idx = new_object(str(entry.get("objectHash", object_hash)), str(entry["featureHash"]))
            rb.du.append(0)
            rb.frame.append(0)
            rb.obj.append(idx)
            rb.geom.append(_ranges(entry["range"], f"object {object_hash}"))
    for object_hash, entry in object_answers.items():
        idx = object_index.get(str(entry.get("objectHash", object_hash)))
        if idx is not None:  # orphaned answers of deleted objects are ignored, as the SDK does
            objects[idx].answers = _answers(ontology, entry.get("classifications"), f"object {object_hash}")
    for object_hash, entry in (data.get("object_actions") or {}).items():
        idx = object_index.get(str(entry.get("objectHash", object_hash)))
        if idx is None:
            continue
        dynamic = objects[idx].dynamic
        for action in entry.get("actions", []) or []:
            node = ontology.attribute_by_hash.get(str(action.get("featureHash")))
            if node is None:
                continue
            value = parse_answer(node, action, f"object {object_hash}")
            if value is not None:
                ranges = _ranges(action.get("range", []), f"object {object_hash} action {node.name!r}")
                dynamic.setdefault(node.hash, []).append((ranges, value))

    classifications: list[LabelClassification] = []
    for class_hash, entry in (data.get("classification_answers") or {}).items():
        owner = f"classification {class_hash}"
        cls = ontology.classification_by_hash.get(str(entry.get("featureHash")))
        if cls is None:
            raise LabelRowError(f"{owner}: featureHash {entry.get('featureHash')!r} is not a classification")
        if "range" in entry:
            frames = _ranges(entry["range"], owner).astype(np.int64)
        else:  # older rows list classifications per frame only
            listed = sorted(set(frame_classifications.get(str(class_hash), [])))
            frames = np.array([(f, f) for f in listed], dtype=np.int64).reshape(-1, 2)
        if len(frames) == 0:
            continue
        classifications.append(
            LabelClassification(str(class_hash), cls.index, frames, _answers(ontology, entry.get("classifications"), owner))
        )

    families = {name: b.build(name) for name, b in builders.items()}
    return LabelSet(
        str(data.get("label_hash", "")),
        str(data.get("data_hash", "")),
        data_type,
        units,
        objects,
        families,
        classifications,
    )
