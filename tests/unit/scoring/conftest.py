"""Shared fixtures: the scoring ontology and the (truth, labels) label-row pairs of every modality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa.scoring import Ontology

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "scoring"
MODALITIES = ["image", "img_group", "video", "dicom", "nifti", "audio", "plain_text", "pdf"]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="session")
def structure() -> dict[str, Any]:
    return load("ontology.json")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def ontology(structure: dict[str, Any]) -> Ontology:
    return Ontology.from_dict(structure)


def pair(modality: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return load(f"{modality}.truth.json"), load(f"{modality}.labels.json")
