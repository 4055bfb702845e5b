"""Wrong ground truth, planted on purpose: the demo's check that the ground-truth audit finds real mistakes and
flags nothing else (docs/annotator-quality.md).

The annotators label the real scene; the Benchmark Project receives a copy with one planted mistake. Mistakes
are planted on large objects only, so every simulated annotator sees the object (misses-small leaves small ones
out on purpose, which would be a different story).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from .ground_truth import generate_scene, is_small
from .ontology import CAR, PEDESTRIAN, TRUCK, VEHICLES, WEATHER_OPTIONS
from .profiles import annotator_label_row, demo_annotators
from .scene import Box, Scene, SceneObject, label_row_dict, new_hash, stable_seed

KINDS = (
    "wrong_class",
    "spurious_object",
    "missing_object",
    "shifted_box",
    "nudged_box",
    "wrong_attribute",
    "wrong_weather",
)
_OTHER_CLASS = {CAR: TRUCK, TRUCK: CAR, PEDESTRIAN: CAR}
# What the audit is expected to report for each planted kind.
EXPECTED_FLAGS: dict[str, frozenset[str]] = {
    "wrong_class": frozenset({"class_disputed"}),
    "spurious_object": frozenset({"unconfirmed_object"}),
    "missing_object": frozenset({"missing_object"}),
    "shifted_box": frozenset({"unconfirmed_object", "missing_object"}),  # moved off: not matched at all
    "nudged_box": frozenset({"outline_disputed"}),  # moved a little: matched, but worse than the annotators agree
    "wrong_attribute": frozenset({"answer_disputed"}),
    "wrong_weather": frozenset({"answer_disputed"}),
}


@dataclass(frozen=True)
class PlantedError:
    data_hash: str
    data_title: str
    kind: str
    object_hash: str | None  # the truth object concerned (None: the weather, or a removed object)
    real_object_hash: str | None  # the real object the annotators see (missing_object, shifted_box)


def _large(scene: Scene, classes: tuple[str, ...] | None = None) -> list[int]:
    return [i for i, o in enumerate(scene.objects) if not is_small(o.box) and (classes is None or o.cls in classes)]


def _free_box(rng: random.Random, scene: Scene) -> Box | None:
    for _ in range(200):
        w, h = rng.uniform(0.08, 0.14), rng.uniform(0.08, 0.14)
        box = Box(rng.uniform(0.01, 0.99 - w), rng.uniform(0.01, 0.99 - h), w, h)
        if all(box.iou(o.box) == 0.0 for o in scene.objects):
            return box
    return None


def plant(scene: Scene, kind: str, seed: int) -> tuple[Scene, PlantedError] | None:
    """`scene` with one planted mistake of `kind`, or None when the scene has no object it can be planted on."""
    rng = random.Random(stable_seed("planted", seed, kind, scene.data_title))
    objects = list(scene.objects)
    where: str | None = None
    real: str | None = None
    if kind == "wrong_weather":
        weather = next(w for w in WEATHER_OPTIONS if w != scene.weather)
        return replace(scene, weather=weather), PlantedError(scene.data_hash, scene.data_title, kind, None, None)
    if kind == "spurious_object":
        box = _free_box(rng, scene)
        if box is None:
            return None
        extra = SceneObject(new_hash(rng), PEDESTRIAN, box)
        objects.append(extra)
        where = extra.object_hash
    else:
        candidates = _large(scene, VEHICLES if kind == "wrong_attribute" else None)
        if not candidates:
            return None
        i = rng.choice(candidates)
        obj = objects[i]
        if kind == "wrong_class":
            objects[i] = replace(
                obj, cls=_OTHER_CLASS[obj.cls], occluded=obj.occluded if _OTHER_CLASS[obj.cls] in VEHICLES else None
            )
            if objects[i].cls in VEHICLES and objects[i].occluded is None:
                objects[i] = replace(objects[i], occluded=False)
            where = obj.object_hash
        elif kind == "missing_object":
            del objects[i]
            real = obj.object_hash
        elif kind in ("shifted_box", "nudged_box"):
            # shifted: by 1.5 widths (no overlap with the real object); nudged: by 15% of the width (IoU ~0.74)
            dx = obj.box.w * (1.5 if kind == "shifted_box" else 0.15)
            x = obj.box.x + dx if obj.box.x + dx + obj.box.w < 0.99 else obj.box.x - dx
            objects[i] = replace(obj, box=Box(max(x, 0.0), obj.box.y, obj.box.w, obj.box.h))
            where = real = obj.object_hash
        elif kind == "wrong_attribute":
            objects[i] = replace(obj, occluded=not obj.occluded)
            where = obj.object_hash
        else:
            raise ValueError(f"unknown planted error {kind!r}; known: {', '.join(KINDS)}")
    return replace(scene, objects=tuple(objects)), PlantedError(scene.data_hash, scene.data_title, kind, where, real)


def plant_errors(
    truth: dict[str, Scene], count: int, seed: int, kinds: tuple[str, ...] = KINDS
) -> tuple[dict[str, Scene], list[PlantedError]]:
    """Plant `count` mistakes on `count` different images (kinds in turn, images in title order from a seeded
    start). Returns the scenes to save as ground truth and what was planted."""
    ordered = sorted(truth.values(), key=lambda s: (s.data_title, s.data_hash))
    if not ordered:
        return dict(truth), []
    start = random.Random(stable_seed("planted-start", seed)).randrange(len(ordered))
    written = dict(truth)
    planted: list[PlantedError] = []
    for step in range(len(ordered)):
        if len(planted) >= count:
            break
        scene = ordered[(start + step) % len(ordered)]
        outcome = plant(scene, kinds[len(planted) % len(kinds)], seed)
        if outcome is not None:
            written[scene.data_hash], error = outcome
            planted.append(error)
    return written, planted


def planted_task(
    data_hash: str, title: str, kind: str | None, seed: int
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], PlantedError | None] | None:
    """One consensus task on a generated scene: the ground truth's label-row dict with `kind` planted in it (None:
    the real scene), every demo annotator's branch of the real scene (annotator -> row), and what was planted; None
    when the scene has no object to plant `kind` on."""
    real = generate_scene(data_hash, title, seed)
    truth, planted = real, None
    if kind is not None:
        outcome = plant(real, kind, seed)
        if outcome is None:
            return None
        truth, planted = outcome
    branches = {
        email: annotator_label_row(real, profile, seed, annotator=email, image_index=i)
        for i, (email, profile) in enumerate(demo_annotators().items())
    }
    return label_row_dict(truth, author="gt"), branches, planted
