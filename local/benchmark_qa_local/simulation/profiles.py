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
    seconds_per_object: float = 8.0  # editor time per truth object (what Encord's time spent measures)


PRECISE = Profile("precise", "tight boxes, right classes and answers", jitter=0.015, seconds_per_object=12.0)
MISSES_SMALL = Profile(
    "misses-small", "precise, but leaves out most small objects", jitter=0.015, miss_small=0.9, seconds_per_object=7.0
)
WRONG_ATTRIBUTES = Profile(
    "wrong-attributes",
    "precise boxes and classes, careless answers to Occluded and Weather",
    jitter=0.015,
    flip_occluded=0.8,
    flip_weather=0.6,
    seconds_per_object=6.0,
)
CONFUSES_CAR_TRUCK = Profile(
    "confuses-car-truck",
    "precise boxes, but often swaps Car and Truck",
    jitter=0.015,
    swap_car_truck=0.55,
    seconds_per_object=9.0,
)
SLOPPY_BOXES = Profile("sloppy-boxes", "right classes and answers, loose boxes", jitter=0.25, seconds_per_object=4.0)
TASK_OVERHEAD_SECONDS = 20.0  # opening the task, checking the weather, submitting

PROFILES: dict[str, Profile] = {
    p.name: p for p in (PRECISE, MISSES_SMALL, CONFUSES_CAR_TRUCK, SLOPPY_BOXES, WRONG_ATTRIBUTES)
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


def _pick(rng: random.Random, candidates: Sequence[int], rate: float) -> set[int]:
    """`rate` of `candidates`, rounded at random (so the expected count is exact): an image with four vehicles
    and a 0.6 swap rate gets two or three swaps, never zero or four. This keeps the realised error rate close to
    the nominal one on a ten-image demo."""
    count = min(len(candidates), int(len(candidates) * rate + rng.random()))
    return set(rng.sample(list(candidates), count))


def _weather_flipped(rng: random.Random, rate: float, image_index: int | None) -> bool:
    """With an index, images are stratified along a sequence with a random phase: any n consecutive indices
    see floor(n * rate) or ceil(n * rate) flips. Without one, an independent draw."""
    if image_index is None:
        return rng.random() < rate
    phase = rng.random()
    return int((image_index + 1) * rate + phase) > int(image_index * rate + phase)


def simulate_scene(
    truth: Scene, profile: Profile, seed: int, *, annotator: str = "", image_index: int | None = None
) -> Scene:
    """What `profile` labels on `truth`. Deterministic in (`seed`, `annotator`, profile, image title,
    `image_index`). Per-object errors are spread evenly within the image; the per-image weather error is spread
    evenly across images when `image_index` (the image's position among the tasks labelled) is given.
    Object and classification hashes are the annotator's own, as in Encord, so nothing links them to the truth
    but geometry."""
    rng = random.Random(stable_seed("annotator", seed, annotator or profile.name, profile.name, truth.data_title))
    phase_rng = random.Random(stable_seed("weather-phase", seed, annotator or profile.name, profile.name))
    indices = range(len(truth.objects))
    vehicles = [i for i in indices if truth.objects[i].cls in VEHICLES]
    missed = _pick(rng, [i for i in indices if is_small(truth.objects[i].box)], profile.miss_small)
    swapped = _pick(rng, vehicles, profile.swap_car_truck)
    flipped = _pick(rng, vehicles, profile.flip_occluded)
    objects: list[SceneObject] = []
    for i, obj in enumerate(truth.objects):
        box = _jitter(rng, obj.box, profile.jitter)  # drawn for every object so the stream does not shift
        if i in missed:
            continue
        cls = _SWAP[obj.cls] if i in swapped else obj.cls
        occluded = (bool(obj.occluded) != (i in flipped)) if cls in VEHICLES else None
        objects.append(SceneObject(new_hash(rng), cls, box, occluded))
    weather = truth.weather
    if _weather_flipped(phase_rng if image_index is not None else rng, profile.flip_weather, image_index):
        weather = next(w for w in WEATHER_OPTIONS if w != truth.weather)
    return Scene(truth.data_hash, truth.data_title, tuple(objects), weather, new_hash(rng), truth.width, truth.height)


def seconds_on(truth: Scene, profile: Profile, seed: int, *, annotator: str = "") -> int:
    """The editor time `profile` spends on `truth` (deterministic, within 15% of its nominal speed)."""
    rng = random.Random(stable_seed("time", seed, annotator or profile.name, truth.data_title))
    nominal = TASK_OVERHEAD_SECONDS + profile.seconds_per_object * len(truth.objects)
    return max(1, round(nominal * rng.uniform(0.85, 1.15)))


def annotator_label_row(
    truth: Scene,
    profile: Profile,
    seed: int,
    *,
    annotator: str = "",
    image_index: int | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """GT + profile + seed -> the annotator's label-row dict (see `label_row_dict` for `base`)."""
    scene = simulate_scene(truth, profile, seed, annotator=annotator, image_index=image_index)
    return label_row_dict(scene, author=annotator or f"{profile.name}@{ANNOTATOR_DOMAIN}", base=base)
