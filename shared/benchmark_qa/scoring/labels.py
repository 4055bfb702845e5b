"""Read an Encord label row (dict or JSON bytes) straight into compact numpy columns.

No LabelRowV2 objects: a 10,000-frame video is one pass over its frames (typed structs from bytes, typed_row, or
dicts). Geometry stays in Encord's
normalised 0-1 coordinates here; pixel-aware measures scale by the data unit's width/height later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import orjson

from benchmark_qa.collector import paused_gc
from benchmark_qa.scoring import box_rows
from benchmark_qa.scoring.errors import LabelRowError
from benchmark_qa.scoring.ontology import SHAPE_FAMILY, AttributeNode, Ontology
from benchmark_qa.scoring.streaming import SplitRow, split_frames
from benchmark_qa.scoring.typed_row import (
    FrameTypeError,
    astuple,
    decode,
    decode_frames,
    decode_head,
    fields,
    is_raw,
    is_typed,
    to_plain,
)

Answer = str | frozenset[str] | float
# Encord data types whose labels are keyed by frame ("0", "1", ...); image types carry one frame per data unit.
FRAME_TYPES = frozenset({"video", "dicom", "nifti", "pdf"})
IMAGE_TYPES = frozenset({"image", "img_group"})
RANGE_TYPES = frozenset({"audio", "plain_text"})
_STREAM_FROM_BYTES = 4_000_000  # rows above this size are parsed frame batch by frame batch
VISIBILITY = {"invisible": 0, "occluded": 1, "selfOccluded": 1, "visible": 2}


@dataclass(slots=True)
class DataUnit:
    hash: str
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
    not_scored: dict[str, int] = field(default_factory=dict)  # shape -> annotations the engine cannot score


class _Builder:
    def __init__(self) -> None:
        self.du: list[int] = []
        self.frame: list[int] = []
        self.obj: list[int] = []
        self.obj_chunks: list[np.ndarray] = []  # object indices of box_chunks, in order before `obj`
        self.geom: list[Any] = []
        self.boxes: list[tuple[float, float, float, float]] = []
        self.box_chunks: list[np.ndarray] = []  # (k, 4) arrays of earlier boxes, in order before `boxes`
        self.boxes_before = 0  # boxes held in box_chunks
        self.thetas: list[tuple[int, float]] = []  # (position among all boxes, theta) of rotatable boxes only
        self.runs: list[tuple[int, int, int]] = []  # boxes: (du, frame, count) per frame, expanded in build()

    def build(self, family: str) -> Annotations:
        if self.runs:
            runs = np.asarray(self.runs, dtype=np.int64).reshape(-1, 3)
            du = np.repeat(runs[:, 0], runs[:, 2]).astype(np.int32)
            frame = np.repeat(runs[:, 1], runs[:, 2])
        else:
            du, frame = np.asarray(self.du, dtype=np.int32), np.asarray(self.frame, dtype=np.int64)
        self.flush_boxes()
        obj = np.concatenate(self.obj_chunks, dtype=np.int32) if self.obj_chunks else np.zeros(0, dtype=np.int32)
        ann = Annotations(du, frame, obj, self.geom)
        if family == "box":
            n = self.boxes_before
            boxes = np.zeros((n, 5))
            if self.box_chunks:
                np.concatenate(self.box_chunks, out=boxes[:, :4])
            rotated = np.zeros(n, dtype=bool)
            if self.thetas:
                where, theta = zip(*self.thetas, strict=True)
                boxes[list(where), 4] = theta
                rotated[list(where)] = True
            ann.boxes, ann.rotated = boxes, rotated
        return ann

    def flush_boxes(self) -> None:
        """The lists so far into chunks (boxes and object indices), so chunks can follow them in order."""
        if self.boxes:
            self.box_chunks.append(_float_columns(self.boxes))
            self.boxes_before += len(self.boxes)
            self.boxes.clear()
        if self.obj:
            self.obj_chunks.append(np.asarray(self.obj, dtype=np.int32))
            self.obj.clear()

    def add_box_chunk(self, chunk: np.ndarray, obj: np.ndarray) -> None:
        self.flush_boxes()
        self.box_chunks.append(chunk)
        self.obj_chunks.append(obj)
        self.boxes_before += len(chunk)


def _float_columns(rows: list[tuple[float, float, float, float]]) -> np.ndarray:
    """(n, 4) float64 array of x, y, w, h tuples. fromiter over the flattened tuples is twice as fast as
    np.asarray on a list of tuples; anything fromiter refuses (None, nested values) goes through np.asarray,
    whose conversions are the reference."""
    try:
        return np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=4 * len(rows)).reshape(-1, 4)
    except (TypeError, ValueError):
        return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


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


def _geometry(shape: str, raw: Mapping[str, Any], object_hash: str) -> Any:  # noqa: PLR0911
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
        if shape == "circle":  # primary semi-axis r (a fraction of the width) and its ratio `stretch`
            c = raw["circle"]
            r = float(c["r"])
            return (
                "circle",
                float(c["x"]),
                float(c["y"]),
                r,
                r * float(c.get("stretch", 1.0)),
                float(c.get("theta", 0)),
            )
        if shape == "ellipse":  # rx a fraction of the width, ry of the height
            e = raw["ellipse"]
            return ("ellipse", float(e["x"]), float(e["y"]), float(e["rx"]), float(e["ry"]), float(e.get("theta", 0)))
        if shape == "cuboid_2d":
            return _cuboid_faces(raw["cuboid_2d"])
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


def _cuboid_faces(raw: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(front, back) faces of a 2-D cuboid, as the SDK reads them (encord/objects/coordinates.py,
    cuboid_2d_coordinates_from_dict): the back face is the front moved by `offset`, or pulled towards the
    `vanishingPoint` to `scaleRatio` of its size."""
    front = np.asarray(raw["front"], dtype=np.float64).reshape(-1, 2)
    if "offset" in raw and raw["offset"] is not None:
        off = raw["offset"]
        return front, front + np.array([float(off["x"]), float(off["y"])])
    vp = raw["vanishingPoint"]
    point = np.array([float(vp["x"]), float(vp["y"])])
    return front, point + (front - point) * float(raw["scaleRatio"])


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


_XYWH = itemgetter("x", "y", "w", "h")


@dataclass(frozen=True, slots=True)
class _Fields:
    """How a batch of frames is read: JSON dicts (keys) or typed_row structs (attributes)."""

    objects: Callable[[Any], Any]
    classifications: Callable[[Any], Any]
    shape: Callable[[Any], Any]
    object_hash: Callable[[Any], Any]
    feature_hash: Callable[[Any], Any]  # no exception when absent: a value that is not a str
    box: Callable[[Any], Any]
    box_values: Callable[[Any], Any]  # the box -> x, y, w, h


_PLAIN = _Fields(
    objects=lambda d: d.get("objects", []),
    classifications=lambda d: d.get("classifications"),
    shape=itemgetter("shape"),
    object_hash=itemgetter("objectHash"),
    feature_hash=lambda o: o.get("featureHash"),
    box=itemgetter("boundingBox"),
    box_values=_XYWH,
)
_TYPED = _Fields(
    objects=attrgetter("objects"),
    classifications=attrgetter("classifications"),
    shape=attrgetter("shape"),
    object_hash=attrgetter("objectHash"),
    feature_hash=attrgetter("featureHash"),
    box=attrgetter("boundingBox"),
    box_values=astuple,
)
# Frames decoded, read and freed at a time (~380 KB of JSON on the benchmark video): the structs stay few and in
# cache, and the allocator reuses their memory batch after batch instead of faulting in a whole row's (about 30,000
# fewer page faults on the benchmark's first call). A batch the box path cannot take goes to the plain reader alone.
_TYPED_FRAMES_PER_BATCH = 100


class _RowReader:
    """One pass over a label-row dict; `read()` returns the columns."""

    def __init__(
        self,
        ontology: Ontology,
        data: Mapping[str, Any],
        split: SplitRow | None = None,
        boxes_only: bool = False,
        box_row: box_rows.BoxRow | None = None,
    ) -> None:
        self.ontology = ontology
        self.box_row = box_row  # frames read by the compiled reader (data holds their labels as {})
        self.box_row_index: list[int] = []  # the compiled reader's object id -> index into objects
        self.boxes_only = boxes_only  # frames decoded with box-only types (typed_row)
        self.classes = tuple(o.hash for o in ontology.objects)
        self.data = data
        self.split = split  # frame labels still as bytes, parsed batch by batch
        self.split_index = 0
        self.data_type = str(data["data_type"]).lower()
        self.units: list[DataUnit] = []
        self.objects: list[LabelObject] = []
        self.object_index: dict[str, int] = {}
        self.builders: dict[str, _Builder] = {"box": _Builder()}
        self.frame_classifications: dict[str, list[int]] = {}
        self.not_scored: dict[str, int] = {}  # shape -> annotations (object x frame) the engine cannot score

    def new_object(self, object_hash: str, feature_hash: str) -> int:
        cls = self.ontology.object_by_hash.get(feature_hash)
        if cls is None:
            known = ", ".join(f"{o.name} ({o.hash})" for o in self.ontology.objects)
            raise LabelRowError(
                f"object {object_hash}: featureHash {feature_hash!r} is not an object of the ontology; it has: {known}"
            )
        # a copy: a string kept from a decoded row would keep the allocator's arena of ~1 MB around it (and with
        # objects new all along a long video, most of the row's memory) from being given back
        object_hash = object_hash.encode().decode()
        self.object_index[object_hash] = len(self.objects)
        self.objects.append(LabelObject(object_hash, cls.index))
        return len(self.objects) - 1

    def builder(self, family: str) -> _Builder:
        b = self.builders.get(family)
        if b is None:
            b = self.builders[family] = _Builder()
        return b

    def add_frame(self, du: int, frame: int, frame_data: Mapping[str, Any]) -> None:
        """One frame's objects and classifications: a frame of plain boxes as a batch of one, anything else (and
        any malformed object) object by object, with its precise errors."""
        if not self.add_box_frames(du, [frame], [frame_data]):
            self.add_frame_slowly(du, frame, frame_data.get("objects", []))
            self.note_classifications(frame_data, frame)

    def add_frame_slowly(self, du: int, frame: int, frame_objects: Any) -> None:
        box = self.builders["box"]
        boxes, thetas, box_obj = box.boxes, box.thetas, box.obj
        index, new_object = self.object_index, self.new_object
        before = len(box_obj)
        for o in frame_objects:
            try:
                object_hash = o["objectHash"]
                shape = o["shape"]
                idx = index.get(object_hash)
                if idx is None:
                    idx = new_object(object_hash, o["featureHash"])
                if shape == "bounding_box":
                    boxes.append(_XYWH(o["boundingBox"]))
                    box_obj.append(idx)
                elif shape == "rotatable_bounding_box":
                    b = o["rotatableBoundingBox"]
                    thetas.append((box.boxes_before + len(boxes), float(b.get("theta", 0.0))))
                    boxes.append(_XYWH(b))
                    box_obj.append(idx)
                else:
                    self.add_other(du, frame, idx, shape, o, object_hash)
            except KeyError as exc:
                where = o.get("objectHash", "?") if isinstance(o, Mapping) else "?"
                raise LabelRowError(f"object {where} on frame {frame}: missing field {exc.args[0]!r}") from exc
            except TypeError as exc:
                where = o.get("objectHash", "?") if isinstance(o, Mapping) else "?"
                raise LabelRowError(f"object {where} on frame {frame}: malformed ({exc})") from exc
        added = len(box_obj) - before
        if added:
            self.check_box_values(frame, boxes[-added:], box_obj[-added:])
            box.runs.append((du, frame, added))

    def check_box_values(self, frame: int, added: list[Any], obj: list[int]) -> None:
        """A coordinate numpy cannot read as a number ("w": "wide") named with its object here, where the hash is
        known, not as a bare ValueError when the boxes become columns."""
        try:
            _float_columns(added)
        except (TypeError, ValueError):
            for values, idx in zip(added, obj, strict=True):
                try:
                    np.asarray(values, dtype=np.float64)
                except (TypeError, ValueError) as exc:
                    raise LabelRowError(
                        f"object {self.objects[idx].hash} on frame {frame}: boundingBox x, y, w, h must be numbers, "
                        f"got {values!r}"
                    ) from exc

    def add_other(self, du: int, frame: int, idx: int, shape: str, o: Any, object_hash: str) -> None:
        family = SHAPE_FAMILY.get(shape)
        if family is None or family in ("box", "range"):
            # a shape without a similarity (3-D cuboid, segmentation, one newer than this engine): counted, and
            # left out of every other figure, so the rest of the row is still scored
            self.not_scored[str(shape)] = self.not_scored.get(str(shape), 0) + 1
            return
        fb = self.builder(family)
        fb.geom.append(_geometry(shape, o, object_hash))
        fb.du.append(du)
        fb.frame.append(frame)
        fb.obj.append(idx)

    def read_units(self) -> None:
        for du_index, (unit_hash, unit) in enumerate(dict(self.data["data_units"]).items()):
            width, height = unit.get("width"), unit.get("height")
            sequence = int(unit.get("data_sequence", du_index) or 0)
            self.units.append(
                DataUnit(
                    str(unit.get("data_hash", unit_hash)),
                    sequence,
                    float(width) if width else None,
                    float(height) if height else None,
                )
            )
            labels = unit.get("labels") or {}
            if self.split is not None and "labels" in unit:
                for batch in self.split.frames(self.split_index):
                    self.add_frames(du_index, batch)
                self.split_index += 1
            elif self.data_type in IMAGE_TYPES:
                self.add_frame(du_index, sequence, labels)
            elif self.data_type in FRAME_TYPES and self.box_row is not None:
                self.add_box_row(du_index, self.box_row)
            elif self.data_type in FRAME_TYPES:
                self.add_frames(du_index, labels)
            elif self.data_type not in RANGE_TYPES:
                label_hash = self.data.get("label_hash")
                raise LabelRowError(f"label row {label_hash!r}: unsupported data_type {self.data_type!r}")

    def add_box_row(self, du_index: int, row: box_rows.BoxRow) -> None:
        """One data unit's frames as the compiled reader read them: its new objects registered in order of first
        sighting, with new_object's checks and errors, as add_box_frames() does; then its frame classifications,
        noted as note_classifications() notes them; then its columns."""
        start = row.units[du_index - 1, 2:].tolist() if du_index else (0, 0, 0, 0)
        runs_from, boxes_from, objects_from, classes_from = start
        runs_to, boxes_to, objects_to, classes_to = row.units[du_index, 2:].tolist()
        for object_hash, feature_hash in row.objects[objects_from:objects_to]:
            self.box_row_index.append(self.new_object(object_hash, feature_hash))
        noted = self.frame_classifications
        for frame, class_hash in row.classifications[classes_from:classes_to]:
            noted.setdefault(class_hash, []).append(frame)
        if boxes_to > boxes_from:
            index = np.asarray(self.box_row_index, dtype=np.int32)
            box = self.builders["box"]
            box.add_box_chunk(row.boxes[boxes_from:boxes_to], index[row.ids[boxes_from:boxes_to]])
            frames, counts = row.runs[runs_from:runs_to].T.tolist()
            box.runs.extend(zip(repeat(du_index), frames, counts, strict=False))

    def add_frames(self, du_index: int, labels: Mapping[str, Any]) -> None:
        frames: list[int] = []
        datas: list[Any] = []
        for key, frame_data in labels.items():
            try:
                frame = int(key)
            except ValueError:
                continue  # non-frame keys (scene metadata) carry no labels
            frames.append(frame)
            datas.append(frame_data)
        if datas and (is_raw(datas[0]) or is_typed(datas[0])):
            self.add_typed_frames(du_index, frames, datas)
        elif not self.add_box_frames(du_index, frames, datas):
            for frame, frame_data in zip(frames, datas, strict=True):
                self.add_frame(du_index, frame, frame_data)

    def add_typed_frames(self, du_index: int, frames: list[int], datas: list[Any]) -> None:
        """Frames decoded by typed_row (or still raw JSON, decoded here), batch by batch: a batch of plain boxes
        straight into the columns; any other batch back to JSON values for the plain reader, with the same
        results and errors."""
        step = _TYPED_FRAMES_PER_BATCH
        for start in range(0, len(frames), step):
            batch_frames, batch = frames[start : start + step], datas[start : start + step]
            if is_raw(batch[0]):
                batch = decode_frames(batch, self.classes, self.boxes_only)
            if not self.add_box_frames(du_index, batch_frames, batch, _TYPED):
                if self.boxes_only and any(o.shape != "bounding_box" for d in batch for o in getattr(d, "objects", ())):
                    raise _OtherShapes
                self.add_frames(du_index, dict(zip(map(str, batch_frames), map(to_plain, batch), strict=True)))

    def add_box_frames(self, du_index: int, frames: list[int], datas: list[Any], fields: _Fields | None = None) -> bool:
        """add_frames() for a batch of frames whose objects are all plain boxes (the common case on long videos):
        one set of C-level map() calls for the whole batch instead of one per frame. Returns False, having added
        nothing, for anything else; the caller then goes frame by frame. New objects are registered and frame
        classifications noted in the same order, with the same errors, as frame-by-frame reading."""
        f = fields or _PLAIN
        try:
            frame_objects = list(map(f.objects, datas))
            counts = list(map(len, frame_objects))
            flat = list(chain.from_iterable(frame_objects))
            shapes = list(map(f.shape, flat))
            if not flat or shapes.count("bounding_box") != len(shapes):
                return False
            hashes = list(map(f.object_hash, flat))
            ids = np.fromiter(map(self.object_index.get, hashes, repeat(-1)), np.int64, len(hashes))
            # straight into a float array: the batch's objects and numbers are freed with it
            coords = np.fromiter(chain.from_iterable(map(f.box_values, map(f.box, flat))), np.float64, 4 * len(flat))
            classified = {k: f.classifications(d) for k, d in enumerate(datas) if f.classifications(d)}
            missing = np.flatnonzero(ids < 0).tolist()
            new: dict[str, int] = {}  # objects not known before the batch: hash -> position of its first object
            for k in missing:
                new.setdefault(hashes[k], k)
            if any(not isinstance(f.feature_hash(flat[k]), str) for k in new.values()):
                return False  # a new object without its class: the per-object path names it
        except (KeyError, TypeError, ValueError, AttributeError):
            return False  # frame by frame, with its precise errors and np.asarray's conversions
        for object_hash, k in new.items():  # in order of first sighting, as frame-by-frame reading registers them
            self.new_object(object_hash, f.feature_hash(flat[k]))
        if missing:
            ids[missing] = list(map(self.object_index.__getitem__, map(hashes.__getitem__, missing)))
        for k, classifications in classified.items():
            self.note_classifications({"classifications": classifications}, frames[k])
        box = self.builders["box"]
        box.add_box_chunk(coords.reshape(-1, 4), ids.astype(np.int32))
        box.runs.extend((du_index, fr, n) for fr, n in zip(frames, counts, strict=True) if n)
        return True

    def note_classifications(self, labels: Mapping[str, Any], frame: int) -> None:
        for c in labels.get("classifications", []) or []:
            self.frame_classifications.setdefault(str(c.get("classificationHash")), []).append(frame)

    def read_range_objects(self) -> None:
        """Audio and text objects live in object_answers with a "range", not in data units."""
        rb = self.builder("range")
        for object_hash, entry in (self.data.get("object_answers") or {}).items():
            if entry.get("spaces") or "range" not in entry:
                continue
            if "featureHash" not in entry:
                raise LabelRowError(f"object {object_hash}: range object without 'featureHash'")
            idx = self.new_object(str(entry.get("objectHash", object_hash)), str(entry["featureHash"]))
            rb.du.append(0)
            rb.frame.append(0)
            rb.obj.append(idx)
            rb.geom.append(_ranges(entry["range"], f"object {object_hash}"))

    def read_answers(self) -> None:
        ontology = self.ontology
        for object_hash, entry in (self.data.get("object_answers") or {}).items():
            found = self.object_index.get(str(entry.get("objectHash", object_hash)))
            if found is not None:  # orphaned answers of deleted objects are ignored, as the SDK does
                self.objects[found].answers = _answers(ontology, entry.get("classifications"), f"object {object_hash}")
        for object_hash, entry in (self.data.get("object_actions") or {}).items():
            found = self.object_index.get(str(entry.get("objectHash", object_hash)))
            if found is None:
                continue
            dynamic = self.objects[found].dynamic
            for action in entry.get("actions", []) or []:
                node = ontology.attribute_by_hash.get(str(action.get("featureHash")))
                if node is None:
                    continue
                value = parse_answer(node, action, f"object {object_hash}")
                if value is not None:
                    ranges = _ranges(action.get("range", []), f"object {object_hash} action {node.name!r}")
                    dynamic.setdefault(node.hash, []).append((ranges, value))

    def read_classifications(self) -> list[LabelClassification]:
        out: list[LabelClassification] = []
        for class_hash, entry in (self.data.get("classification_answers") or {}).items():
            owner = f"classification {class_hash}"
            cls = self.ontology.classification_by_hash.get(str(entry.get("featureHash")))
            if cls is None:
                raise LabelRowError(f"{owner}: featureHash {entry.get('featureHash')!r} is not a classification")
            if "range" in entry:
                frames = _ranges(entry["range"], owner).astype(np.int64)
            else:  # older rows list classifications per frame only
                listed = sorted(set(self.frame_classifications.get(str(class_hash), [])))
                frames = np.array([(f, f) for f in listed], dtype=np.int64).reshape(-1, 2)
            if len(frames) == 0:
                continue
            answers = _answers(self.ontology, entry.get("classifications"), owner)
            out.append(LabelClassification(str(class_hash), cls.index, frames, answers))
        return out

    def read(self) -> LabelSet:
        self.read_units()
        if self.data_type in RANGE_TYPES:
            self.read_range_objects()
        self.read_answers()
        classifications = self.read_classifications()
        families = {name: b.build(name) for name, b in self.builders.items()}
        return LabelSet(
            str(self.data.get("label_hash", "")),
            str(self.data.get("data_hash", "")),
            self.data_type,
            self.units,
            self.objects,
            families,
            classifications,
            self.not_scored,
        )


def read_label_row(ontology: Ontology, row: Mapping[str, Any] | bytes | str, compiled: bool = True) -> LabelSet:
    """Parse one label row. Bytes of a row of plain boxes are read by the compiled reader (box_rows) unless
    `compiled` is False; others are decoded by typed_row (msgspec), or with orjson when the types refuse them. The
    decoded row is released as soon as its columns are built."""
    with paused_gc():
        split = None
        if isinstance(row, str):
            row = row.encode()
        typed = None
        if isinstance(row, bytes):
            typed = (_read_box_row(ontology, row) if compiled else None) or _read_typed(ontology, row)
        if typed is not None:
            return typed
        if isinstance(row, bytes) and len(row) > _STREAM_FROM_BYTES:
            split = split_frames(row)
            if split is not None and str(split.head.get("data_type", "")).lower() not in FRAME_TYPES:
                split = None
        data: Any = split.head if split is not None else orjson.loads(row) if isinstance(row, bytes) else row
        if not isinstance(data, Mapping):
            raise LabelRowError("label row must be a JSON object")
        for key in ("data_type", "data_units"):
            if key not in data:
                raise LabelRowError(f"label row {data.get('label_hash')!r} has no {key!r} field")
        return _RowReader(ontology, data, split).read()


class _OtherShapes(Exception):
    """A row decoded with box-only types holds an object of another shape (whose geometry was not kept)."""


def _read_box_row(ontology: Ontology, row: bytes) -> LabelSet | None:
    """The row by the compiled reader, or None where it declines. The rest of the row (its labels values cut
    out) is small, and decoded as it always is."""
    boxes = box_rows.read(row)
    if boxes is None:
        return None
    head = decode_head(boxes.head())
    if head is None or str(head.data_type).lower() not in FRAME_TYPES or len(head.data_units) != len(boxes.units):
        return None
    return _RowReader(ontology, _head(head), box_row=boxes).read()


def _read_typed(ontology: Ontology, row: bytes) -> LabelSet | None:
    """The row by typed decoding (box-only types where the ontology has only box classes), or None. A frame-keyed
    row's frames are decoded batch by batch as they are read."""
    classes = tuple(o.hash for o in ontology.objects)
    boxes_only = bool(classes) and all(o.shape == "bounding_box" for o in ontology.objects)
    head = decode_head(row)
    if head is None:
        return None
    if str(head.data_type).lower() in FRAME_TYPES:
        try:
            try:
                return _RowReader(ontology, _head(head), boxes_only=boxes_only).read()
            except _OtherShapes:
                return _RowReader(ontology, _head(head)).read()
        except FrameTypeError:
            return None
    typed = decode(row, classes, boxes_only)
    if typed is not None and boxes_only:
        try:
            return _RowReader(ontology, _head(typed), boxes_only=True).read()
        except _OtherShapes:
            typed = decode(row, classes)
    return None if typed is None else _RowReader(ontology, _head(typed)).read()


def _head(row: Any) -> dict[str, Any]:
    """The typed row as the mapping the reader walks; frames stay typed (add_frames reads them in batches)."""
    head = fields(row)
    head["data_units"] = {key: fields(unit) for key, unit in row.data_units.items()}
    return head
