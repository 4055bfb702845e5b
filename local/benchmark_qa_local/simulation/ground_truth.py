"""Deterministic ground truth for image data units: 3-8 boxes of mixed sizes, classes, attributes, weather.

Every image has at least one small and one large object, so "misses small objects" always costs something
and never everything. Boxes barely overlap one another, so matching a sloppy or swapped box is never ambiguous
and score differences come from the profile, not from crowded scenes.
"""

from __future__ import annotations

import random

from .ontology import CAR, PEDESTRIAN, TRUCK, VEHICLES, WEATHER_OPTIONS
from .scene import DEFAULT_HEIGHT, DEFAULT_WIDTH, Box, Scene, SceneObject, new_hash, stable_seed

MIN_OBJECTS, MAX_OBJECTS = 3, 8
# Normalised area below which an object counts as small: about 70x70 px on a 1920x1080 image.
SMALL_AREA = 0.0025
_CLASSES, _CLASS_WEIGHTS = (CAR, TRUCK, PEDESTRIAN), (0.45, 0.25, 0.30)
_MAX_OVERLAP = 0.05  # IoU allowed between two truth boxes


def is_small(box: Box) -> bool:
    return box.area < SMALL_AREA


def _size(rng: random.Random, cls: str, small: bool, aspect: float) -> tuple[float, float]:
    """(w, h) normalised; pedestrians are tall, vehicles wide. `aspect` = width / height of the image in pixels."""
    ratio = rng.uniform(2.0, 2.8) if cls == PEDESTRIAN else rng.uniform(0.5, 0.8)  # height / width in pixels
    # Areas: small well under SMALL_AREA, the rest well over it, so the split is unambiguous after jitter.
    area = rng.uniform(0.0006, 0.0016) if small else rng.uniform(0.008, 0.05)
    w = (area / (ratio * aspect)) ** 0.5  # from area = w * h and h = ratio * w * aspect
    h = area / w
    return min(w, 0.6), min(h, 0.8)


def _place(rng: random.Random, w: float, h: float, placed: list[Box]) -> Box | None:
    for _ in range(50):
        box = Box(rng.uniform(0.01, 0.99 - w), rng.uniform(0.01, 0.99 - h), w, h)
        if all(box.iou(other) <= _MAX_OVERLAP for other in placed):
            return box
    return None


def generate_scene(
    data_hash: str,
    data_title: str,
    seed: int,
    *,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
) -> Scene:
    """The truth of one image. It depends only on (`seed`, `data_title`), not on the data hash, which the
    double draws at random: re-seeding the double with the same seed gives the same truth."""
    rng = random.Random(stable_seed("ground-truth", seed, data_title))
    count = rng.randint(MIN_OBJECTS, MAX_OBJECTS)
    n_small = min(max(1, round(count * rng.uniform(0.2, 0.45))), count - 1)
    # Large boxes are placed first (they are the hard ones to fit); small ones always find room.
    sizes = [False] * (count - n_small) + [True] * n_small
    objects: list[SceneObject] = []
    placed: list[Box] = []
    for small in sizes:
        cls = rng.choices(_CLASSES, weights=_CLASS_WEIGHTS)[0]
        box = _place(rng, *_size(rng, cls, small, width / height), placed)
        if box is None:  # crowded image: fewer objects rather than overlapping ones
            continue
        placed.append(box)
        occluded = rng.random() < 0.35 if cls in VEHICLES else None
        objects.append(SceneObject(new_hash(rng), cls, box, occluded))
    weather = rng.choice(WEATHER_OPTIONS)
    return Scene(data_hash, data_title, tuple(objects), weather, new_hash(rng), width, height)
