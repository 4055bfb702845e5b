"""Simulated annotators and ground truth for the offline demo (docs/simulation.md).

Order of use: `seed_standard_setup(state, annotators=list(demo_annotators()), ontology=demo_ontology(), ...)`
-> `write_ground_truth(client, setup, seed)` -> route benchmark tasks to "Consensus 1 Annotate" (elsewhere)
-> `annotate(client, setup, truth, demo_annotators(), seed)` -> score the branches (elsewhere).

Modules: ontology (the demo ontology), scene (scene model and label-row rendering), ground_truth, profiles
(error profiles and `EXPECTED_ORDER`), annotate (writes through the SDK).
"""

from .annotate import annotate, image_indices, write_ground_truth
from .ground_truth import SMALL_AREA, generate_scene, is_small
from .ontology import demo_ontology, demo_ontology_structure
from .profiles import (
    EXPECTED_ORDER,
    PROFILES,
    Profile,
    annotator_label_row,
    demo_annotators,
    seconds_on,
    simulate_scene,
)
from .scene import Box, Scene, SceneObject, label_row_dict

__all__ = [
    "EXPECTED_ORDER",
    "PROFILES",
    "SMALL_AREA",
    "Box",
    "Profile",
    "Scene",
    "SceneObject",
    "annotate",
    "annotator_label_row",
    "demo_annotators",
    "demo_ontology",
    "demo_ontology_structure",
    "generate_scene",
    "image_indices",
    "is_small",
    "label_row_dict",
    "seconds_on",
    "simulate_scene",
    "write_ground_truth",
]
