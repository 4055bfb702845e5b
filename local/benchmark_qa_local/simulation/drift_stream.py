"""Simulated annotators whose quality changes midway: score streams the drift detector is measured on, and the
drifting member of the demo's team (docs/annotator-quality.md). Each task is a fresh truth image scored with the
real engine."""

from __future__ import annotations

from dataclasses import replace

from benchmark_qa.scoring import Ontology, score_label_rows

from .ground_truth import generate_scene
from .ontology import demo_ontology
from .profiles import PROFILES, Profile, annotator_label_row, demo_annotators
from .scene import label_row_dict

# A precise annotator gone careless: loose boxes and most small objects missed.
DEGRADED = replace(
    PROFILES["precise"],
    name="degraded",
    description="precise, then loose and missing small objects",
    jitter=0.12,
    miss_small=0.6,
)
# The demo's sixth annotator: as precise as `precise` in its first week, careless from its second week on (DEGRADED's
# looser boxes and missed small objects, and the Weather answered without looking). Same name both weeks, so the
# same e-mail. The drop is larger than DEGRADED's alone on purpose: the demo's baseline holds a planted wrong ground
# truth every annotator scores badly on, which widens each baseline's sigma (docs/annotator-quality.md). Boxes stay
# close enough to match, so the ground-truth audit still has a quorum on the week-2 images.
DRIFTS = replace(PROFILES["precise"], name="drifts", description="precise in week 1, careless in week 2")
DRIFTS_CARELESS = replace(DEGRADED, name=DRIFTS.name, description=DRIFTS.description, flip_weather=0.7)


def drifting_team(week: int) -> dict[str, Profile]:
    """The demo's team in `week` (1, 2, ...): the five stable profiles (`EXPECTED_ORDER`) and `drifts`, who is
    precise in week 1 and careless from week 2 on."""
    return demo_annotators((*PROFILES.values(), DRIFTS if week == 1 else DRIFTS_CARELESS))


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
