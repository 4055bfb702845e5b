"""Score streams of simulated annotators whose quality changes (or not) after a given task: the data the drift
detector is measured on (docs/annotator-quality.md). Each task is a fresh truth image scored with the real engine."""

from __future__ import annotations

from dataclasses import replace

from benchmark_qa.scoring import Ontology, score_label_rows

from .ground_truth import generate_scene
from .ontology import demo_ontology
from .profiles import PROFILES, Profile, annotator_label_row
from .scene import label_row_dict

# The demo's drifting annotator: precise, then from `change_at` on, loose boxes and most small objects missed.
DEGRADED = replace(
    PROFILES["precise"],
    name="degraded",
    description="precise, then loose and missing small objects",
    jitter=0.12,
    miss_small=0.6,
)


def score_stream(
    before: Profile, after: Profile | None, tasks: int, change_at: int, seed: int, annotator: str = "sim"
) -> list[float]:
    """Task scores of an annotator labelling `tasks` images with `before`, and with `after` from task
    `change_at` on (None: never changes)."""
    ontology = Ontology.from_dict(demo_ontology())
    scores = []
    for i in range(tasks):
        scene = generate_scene(f"stream-{i}", f"stream {seed} {i}", seed)
        profile = after if after is not None and i >= change_at else before
        labels = annotator_label_row(scene, profile, seed, annotator=annotator, image_index=i)
        scores.append(score_label_rows(ontology, label_row_dict(scene, author="gt"), labels).score)
    return scores
