"""Simulated annotators: error profiles with a known true order of quality, applied to a truth `Scene`.

Each profile has one dominant kind of error, sized so that the engine's overall score
(`(PQ + 0.5 * attributes + classifications) / 2.5`, docs/scoring.md) puts them in `EXPECTED_ORDER`, with
gaps far wider than the task-to-task noise over ten tasks. See docs/simulation.md for the measured margins.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .ground_truth import is_small
from .ontology import CAR, TRUCK, VEHICLES, WEATHER_OPTIONS
from .scene import Box, Scene, SceneObject, label_row_dict, new_hash, stable_seed

_SWAP = {CAR: TRUCK, TRUCK: CAR}
_MIN_SIDE = 0.002  # normalised; a jittered box never collapses


@dataclass(frozen=True)
class Profile:
    """How one simulated annotator errs. Rates are probabilities per object (per image for weather)."""

    name: str
    description: str
    jitter: float = 0.0  # std-dev of each box edge, as a fraction of the box's own width / height
    miss_small: float = 0.0  # chance of leaving out an object smaller than SMALL_AREA
    swap_car_truck: float = 0.0  # chance of labelling a Car as Truck or a Truck as Car
    flip_occluded: float = 0.0  # chance of the wrong "Occluded" answer on a vehicle
    flip_weather: float = 0.0  # chance of the wrong "Weather" answer on the image


PRECISE = Profile("precise", "tight boxes, right classes and answers", jitter=0.015)
MISSES_SMALL = Profile(
    "misses-small", "precise, but leaves out most small objects", jitter=0.015, miss_small=0.85
)
WRONG_ATTRIBUTES = Profile(
    "wrong-attributes",
    "precise boxes and classes, careless answers to Occluded and Weather",
    jitter=0.015,
    flip_occluded=0.6,
    flip_weather=0.5,
)
CONFUSES_CAR_TRUCK = Profile(
    "confuses-car-truck", "precise boxes, but often swaps Car and Truck", jitter=0.015, swap_car_truck=0.6
)
SLOPPY_BOXES = Profile("sloppy-boxes", "right classes and answers, loose boxes", jitter=0.22)

PROFILES: dict[str, Profile] = {
    p.name: p for p in (PRECISE, MISSES_SMALL, WRONG_ATTRIBUTES, CONFUSES_CAR_TRUCK, SLOPPY_BOXES)
}
# Best first: the ranking the leaderboard must recover.
EXPECTED_ORDER: tuple[str, ...] = tuple(PROFILES)
ANNOTATOR_DOMAIN = "benchmark-qa.local"


def demo_annotators(profiles: Sequence[Profile] = tuple(PROFILES.values())) -> dict[str, Profile]:
    """One annotator email per profile (`precise@benchmark-qa.local`, ...), in the order given; pass the keys
    as `annotators=` to `seed_standard_setup`."""
    return {f"{p.name}@{ANNOTATOR_DOMAIN}": p for p in profiles}


def _jitter(rng: random.Random, box: Box, amount: float) -> Box:
    if amount <= 0:
        return box
    left = box.x + rng.gauss(0.0, amount) * box.w
    right = box.x + box.w + rng.gauss(0.0, amount) * box.w
    top = box.y + rng.gauss(0.0, amount) * box.h
    bottom = box.y + box.h + rng.gauss(0.0, amount) * box.h
    left, right = sorted((min(max(left, 0.0), 1.0), min(max(right, 0.0), 1.0)))
    top, bottom = sorted((min(max(top, 0.0), 1.0), min(max(bottom, 0.0), 1.0)))
    # Keep a minimal size inside the image, as an editor would.
    w, h = max(right - left, _MIN_SIDE), max(bottom - top, _MIN_SIDE)
    return Box(min(left, 1.0 - w), min(top, 1.0 - h), w, h)


def simulate_scene(truth: Scene, profile: Profile, seed: int, *, annotator: str = "") -> Scene:
    """What `profile` labels on `truth`. Deterministic in (`seed`, `annotator`, profile, image title), and
    independent of the order in which images are labelled. Object and classification hashes are the
    annotator's own, as in Encord, so nothing links them to the truth but geometry."""
    rng = random.Random(stable_seed("annotator", seed, annotator or profile.name, profile.name, truth.data_title))
    objects: list[SceneObject] = []
    for obj in truth.objects:
        # Draw every decision for every object, so one profile's rates do not shift another's random stream.
        miss, swap, flip, box = rng.random(), rng.random(), rng.random(), _jitter(rng, obj.box, profile.jitter)
        if is_small(obj.box) and miss < profile.miss_small:
            continue
        cls = _SWAP[obj.cls] if obj.cls in _SWAP and swap < profile.swap_car_truck else obj.cls
        occluded = obj.occluded
        if cls in VEHICLES:
            occluded = bool(occluded)
            if flip < profile.flip_occluded:
                occluded = not occluded
        else:
            occluded = None
        objects.append(SceneObject(new_hash(rng), cls, box, occluded))
    weather = truth.weather
    if rng.random() < profile.flip_weather:
        weather = next(w for w in WEATHER_OPTIONS if w != truth.weather)
    return Scene(truth.data_hash, truth.data_title, tuple(objects), weather, new_hash(rng), truth.width, truth.height)


def annotator_label_row(
    truth: Scene,
    profile: Profile,
    seed: int,
    *,
    annotator: str = "",
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """GT + profile + seed -> the annotator's label-row dict (see `label_row_dict` for `base`)."""
    scene = simulate_scene(truth, profile, seed, annotator=annotator)
    return label_row_dict(scene, author=annotator or f"{profile.name}@{ANNOTATOR_DOMAIN}", base=base)
