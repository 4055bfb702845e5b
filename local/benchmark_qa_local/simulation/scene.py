"""What one image shows (or what an annotator says it shows), and its rendering as an Encord label-row dict.

Ground truth and simulated annotators both produce a `Scene`; only `label_row_dict` knows the wire format
(section D of the SDK reference): boxes normalised 0-1 in `data_units[...].labels.objects`, object attributes
in `object_answers`, and the frame-level classification in `classification_answers` with `range: [[0, 0]]`
(without a range the SDK parses no classification at all).
"""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .ontology import OBJECTS, OCCLUDED, OCCLUDED_OPTIONS, VEHICLES, WEATHER, WEATHER_ATTRIBUTE, WEATHER_CLASSIFICATION

# A fixed timestamp in the SDK's own format keeps rendered rows reproducible.
TIMESTAMP = "Mon, 06 Jan 2025 09:00:00 UTC"
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1920, 1080


@dataclass(frozen=True)
class Box:
    """Axis-aligned box, normalised 0-1 (x, y = top-left corner)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return self.w * self.h

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class SceneObject:
    object_hash: str
    cls: str
    box: Box
    occluded: bool | None = None  # only vehicles answer "Occluded"


@dataclass(frozen=True)
class Scene:
    """One image data unit: its identity, its objects and its weather."""

    data_hash: str
    data_title: str
    objects: tuple[SceneObject, ...]
    weather: str
    classification_hash: str
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT


def stable_seed(*parts: object) -> int:
    """A seed derived from its parts with SHA-256, so it is the same in every process (unlike `hash()`)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def new_hash(rng: random.Random) -> str:
    """An 8-character hash like Encord's, drawn from the caller's RNG so runs are reproducible."""
    return f"{rng.getrandbits(32):08x}"


def _radio(attribute_name: str, attribute_hash: str, option_name: str, option_hash: str) -> dict[str, Any]:
    return {
        "name": attribute_name,
        "value": attribute_name.lower(),
        "featureHash": attribute_hash,
        "answers": [{"name": option_name, "value": option_name, "featureHash": option_hash}],
        "manualAnnotation": True,
    }


def _frame_object(obj: SceneObject, author: str, number: int) -> dict[str, Any]:
    feature = OBJECTS[obj.cls]
    return {
        "objectHash": obj.object_hash,
        "featureHash": feature.feature_hash,
        "name": feature.name,
        "value": feature.name.lower(),
        "color": feature.color,
        "shape": "bounding_box",
        "createdAt": TIMESTAMP,
        "createdBy": author,
        "lastEditedAt": TIMESTAMP,
        "lastEditedBy": author,
        "confidence": 1.0,
        "manualAnnotation": True,
        "objectNumber": number,
        "boundingBox": {"x": obj.box.x, "y": obj.box.y, "w": obj.box.w, "h": obj.box.h},
    }


def _object_answer(obj: SceneObject) -> dict[str, Any]:
    answers = []
    if obj.cls in VEHICLES and obj.occluded is not None:
        attribute, option = OCCLUDED[obj.cls], OCCLUDED_OPTIONS[obj.cls][obj.occluded]
        answers.append(_radio(attribute.name, attribute.feature_hash, option.name, option.feature_hash))
    return {"objectHash": obj.object_hash, "classifications": answers}


def _classification_answer(scene: Scene, author: str) -> dict[str, Any]:
    option = WEATHER[scene.weather]
    return {
        "classificationHash": scene.classification_hash,
        "featureHash": WEATHER_CLASSIFICATION.feature_hash,
        "classifications": [
            _radio(WEATHER_ATTRIBUTE.name, WEATHER_ATTRIBUTE.feature_hash, option.name, option.feature_hash)
        ],
        "range": [[0, 0]],
        "createdBy": author,
        "createdAt": TIMESTAMP,
        "lastEditedBy": author,
        "lastEditedAt": TIMESTAMP,
        "confidence": 1.0,
        "manualAnnotation": True,
    }


def _identity(scene: Scene) -> dict[str, Any]:
    """A stand-alone row identity for rows that are not read from a server first."""
    return {
        "label_hash": None,
        "branch_name": "main",
        "created_at": TIMESTAMP,
        "last_edited_at": TIMESTAMP,
        "data_hash": scene.data_hash,
        "dataset_hash": "",
        "dataset_title": "",
        "data_title": scene.data_title,
        "data_type": "image",
        "annotation_task_status": "QUEUED",
        "is_shadow_data": False,
        "label_status": "LABELLED",
        "spaces": {},
        "data_units": {
            scene.data_hash: {
                "data_hash": scene.data_hash,
                "data_title": scene.data_title,
                "data_link": f"s3://benchmark-qa-demo/{scene.data_title}",
                "data_type": "image/jpeg",
                "data_sequence": 0,
                "width": scene.width,
                "height": scene.height,
            }
        },
    }


def label_row_dict(scene: Scene, *, author: str, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The label-row dict of `scene`, accepted by `LabelRowV2.from_labels_dict` and the scoring engine.

    `base` is the row's own (empty) dict as the server returned it; its identity fields and data unit are kept,
    so the result can be loaded into that row and saved. Without it a stand-alone identity is made up.
    """
    row = copy.deepcopy(dict(base)) if base is not None else _identity(scene)
    units = row.get("data_units") or {}
    if len(units) != 1:
        raise ValueError(f"expected one image data unit, got {len(units)}")
    unit = next(iter(units.values()))
    unit["labels"] = {
        "objects": [_frame_object(obj, author, n) for n, obj in enumerate(scene.objects, start=1)],
        "classifications": [],
    }
    row["data_type"] = "image"
    row["object_answers"] = {obj.object_hash: _object_answer(obj) for obj in scene.objects}
    row["classification_answers"] = {scene.classification_hash: _classification_answer(scene, author)}
    row["object_actions"] = {}
    return row
