"""Small label rows of the standard ontology (a "Box" bounding box and a "Quality" radio classification) for
tests: the ground truth and two annotators' versions of it, as the SDK's `to_encord_dict()` gives them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TIMESTAMP = "Tue, 24 Nov 2026 12:00:00 UTC"
TRUTH_AUTHOR = "truth@benchmark-qa.local"

Box = tuple[float, float, float, float]  # x, y, w, h (0-1)
TRUTH_BOXES: tuple[Box, ...] = ((0.10, 0.10, 0.20, 0.20), (0.50, 0.50, 0.25, 0.30), (0.70, 0.10, 0.15, 0.15))


def precise_boxes() -> list[Box]:
    return [(x + 0.002, y - 0.002, w, h) for x, y, w, h in TRUTH_BOXES]


def sloppy_boxes() -> list[Box]:
    """One box missed, one far off, one loose."""
    (x0, y0, w0, h0), (x1, y1, w1, h1), _ = TRUTH_BOXES
    return [(x0 + 0.05, y0 + 0.05, w0 + 0.04, h0), (x1 + 0.3, y1 - 0.4, w1, h1)]


def label_row(
    structure: dict[str, Any],
    data_hash: str,
    boxes: Sequence[Box],
    quality: str | None,
    *,
    author: str = TRUTH_AUTHOR,
    feature_hash: str | None = None,
) -> dict[str, Any]:
    """The labels of one image. `feature_hash` overrides the boxes' class, e.g. with one the ontology does not
    have. Object and classification hashes carry the author, so the truth row's hashes are its own."""
    box_class = structure["objects"][0]
    classification = structure["classifications"][0]
    attribute = classification["attributes"][0]
    objects = [
        {
            "objectHash": f"{data_hash[:4]}{author[:3]}{i:02d}",
            "featureHash": feature_hash or box_class["featureNodeHash"],
            "name": box_class["name"],
            "value": box_class["name"].lower(),
            "color": box_class.get("color", "#FF0000"),
            "shape": "bounding_box",
            "createdAt": TIMESTAMP,
            "createdBy": author,
            "confidence": 1.0,
            "manualAnnotation": True,
            "objectNumber": i + 1,
            "boundingBox": {"x": x, "y": y, "w": w, "h": h},
        }
        for i, (x, y, w, h) in enumerate(boxes)
    ]
    answers: dict[str, Any] = {}
    if quality is not None:
        option = next(o for o in attribute["options"] if o["label"] == quality)
        class_hash = f"cls{author[:3]}01"
        answers[class_hash] = {
            "classificationHash": class_hash,
            "featureHash": classification["featureNodeHash"],
            "classifications": [
                {
                    "name": attribute["name"],
                    "value": attribute["name"].lower(),
                    "featureHash": attribute["featureNodeHash"],
                    "answers": [
                        {"name": option["label"], "value": option["value"], "featureHash": option["featureNodeHash"]}
                    ],
                    "manualAnnotation": True,
                }
            ],
            "range": [[0, 0]],
            "createdBy": author,
            "createdAt": TIMESTAMP,
            "confidence": 1.0,
            "manualAnnotation": True,
        }
    return {
        "data_units": {
            data_hash: {
                "data_hash": data_hash,
                "data_title": "x.jpg",
                "data_link": "s3://benchmark-qa-demo/x.jpg",
                "data_type": "image/jpeg",
                "data_sequence": 0,
                "width": 1920,
                "height": 1080,
                "labels": {"objects": objects, "classifications": []},
            }
        },
        "object_answers": {o["objectHash"]: {"objectHash": o["objectHash"], "classifications": []} for o in objects},
        "classification_answers": answers,
        "object_actions": {},
    }
