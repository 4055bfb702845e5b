"""Scoring parameters: one pydantic model, loadable from YAML or JSON, validated against the ontology.

Thresholds resolve most-specific first: attribute > class > shape > defaults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchmark_qa.scoring.errors import ConfigError
from benchmark_qa.scoring.ontology import Ontology

ShapeName = Literal[
    "bounding_box",
    "rotatable_bounding_box",
    "polygon",
    "polyline",
    "point",
    "skeleton",
    "bitmask",
    "audio",
    "text",
    "time_range",
    "circle",
    "ellipse",
    "cuboid_2d",
]
_Unit = Field(default=None, ge=0.0, le=1.0)


class AttributeRule(BaseModel):
    """How one attribute's answers are compared."""

    model_config = ConfigDict(extra="forbid")
    text_similarity: float | None = _Unit  # normalised edit-distance similarity needed for a text answer
    checklist_jaccard: float | None = _Unit  # Jaccard needed for a checklist answer to count as correct
    numeric_tolerance: float | None = Field(default=None, ge=0.0)


class Thresholds(AttributeRule):
    """Geometry thresholds; every field is optional so a level only overrides what it names."""

    match: float | None = _Unit  # similarity (IoU, OKS, line or range similarity) needed to pair two objects
    low_overlap: float | None = _Unit  # a matched pair below this is a "low_overlap" conflict
    oks_sigma: float | None = Field(default=None, gt=0.0)
    node_sigmas: dict[str, float] | None = None  # skeleton: per-node sigma by node name
    polyline_tolerance: float | None = Field(default=None, gt=0.0)  # sigma as a fraction of sqrt(width*height)
    direction: float | None = _Unit  # reversed - forward line similarity above this is a direction conflict
    range_tolerance: float | None = Field(default=None, ge=0.0)  # boundary slack: ms (audio) or chars (text)


class ClassRule(Thresholds):
    attributes: dict[str, AttributeRule] = Field(default_factory=dict)  # by path, e.g. "colour/red/shade"


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objects: float = Field(default=1.0, ge=0.0)
    attributes: float = Field(default=0.5, ge=0.0)
    classifications: float = Field(default=1.0, ge=0.0)


DEFAULTS = Thresholds(
    match=0.5,
    low_overlap=0.75,
    oks_sigma=0.09,
    polyline_tolerance=0.02,
    direction=0.1,
    text_similarity=0.9,
    checklist_jaccard=1.0,
    numeric_tolerance=0.0,
)
RANGE_TOLERANCE = {"audio": 200.0, "plain_text": 2.0}  # ms, chars


class Resolved(BaseModel):
    """Thresholds with every field filled in, for one class."""

    match: float
    low_overlap: float
    oks_sigma: float
    node_sigmas: dict[str, float]
    polyline_tolerance: float
    direction: float
    range_tolerance: float | None
    text_similarity: float
    checklist_jaccard: float
    numeric_tolerance: float


class ScoringConfig(BaseModel):
    """Everything that changes a score. Embedded verbatim in every report."""

    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = 1
    mode: Literal["class_aware", "class_agnostic", "two_stage"] = "two_stage"
    track_continuity: bool = True  # video: keep last frame's pairs when still valid (CLEAR-MOT)
    empty_frames: Literal["ignore", "agree"] = "ignore"  # "agree": a frame both leave empty counts as a hit
    oks_min_area_fraction: float = Field(default=0.01, gt=0.0, le=1.0)
    # Encord audio / text ranges [start, end]: closed integer intervals, as the SDK's IntegerRangeSet treats them
    # (docs/scoring.md, "Ranges"); "exclusive" reads them as [start, end) should an export ever differ
    range_end: Literal["inclusive", "exclusive"] = "inclusive"
    defaults: Thresholds = Field(default_factory=DEFAULTS.model_copy)
    shapes: dict[ShapeName, Thresholds] = Field(default_factory=dict)
    classes: dict[str, ClassRule] = Field(default_factory=dict)
    classifications: dict[str, ClassRule] = Field(default_factory=dict)
    weights: Weights = Field(default_factory=Weights)
    max_conflicts: int = Field(default=5000, ge=0)

    @classmethod
    def load(cls, source: str | Path | dict[str, Any]) -> ScoringConfig:
        """From a dict, a path to a .yaml/.json file, or YAML/JSON text."""
        if isinstance(source, dict):
            data: Any = source
        else:
            text = str(source)
            path = Path(text) if isinstance(source, Path) or "\n" not in text else None
            if path is not None and len(text) < 4096 and path.is_file():
                text = path.read_text(encoding="utf-8")
            elif isinstance(source, Path):
                raise ConfigError(f"config file {source} does not exist")
            try:
                data = json.loads(text) if text.lstrip().startswith("{") else _yaml(text)
            except ValueError as exc:
                raise ConfigError(f"config is neither valid JSON nor YAML: {exc}") from exc
            if data is None:
                data = {}
        if not isinstance(data, dict):
            raise ConfigError("config must be a mapping")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"invalid scoring config: {exc}") from exc

    def validate_against(self, ontology: Ontology) -> ScoringConfig:
        """Raise ConfigError naming any class, attribute or skeleton node the ontology does not have."""
        for name, rule in self.classes.items():
            obj = ontology.object_named(name)
            if obj is None:
                known = ", ".join(sorted(o.name for o in ontology.objects)) or "(none)"
                raise ConfigError(f"config names unknown object class {name!r}; the ontology has: {known}")
            _check_attributes(name, rule, set(obj.all_attributes))
            if rule.node_sigmas:
                if obj.shape != "skeleton":
                    raise ConfigError(f"config sets node_sigmas on {name!r}, which is a {obj.shape}, not a skeleton")
                unknown = sorted(set(rule.node_sigmas) - set(obj.skeleton_nodes))
                if unknown:
                    raise ConfigError(
                        f"config names unknown skeleton node(s) {unknown} of {name!r}; it has: "
                        + ", ".join(obj.skeleton_nodes)
                    )
        for name, rule in self.classifications.items():
            item = ontology.classification_named(name)
            if item is None:
                known = ", ".join(sorted(c.name for c in ontology.classifications)) or "(none)"
                raise ConfigError(f"config names unknown classification {name!r}; the ontology has: {known}")
            _check_attributes(name, rule, set(item.all_attributes))
        return self

    def resolve(self, class_name: str | None, shape: str, data_type: str = "image") -> Resolved:
        """Thresholds of an object class; `class_name` None for a classification (defaults and shape level only:
        a classification's own rules are applied by attribute_rule, and an object class of the same name must
        not leak into it)."""
        merged: dict[str, Any] = DEFAULTS.model_dump()
        by_class = self.classes.get(class_name) if class_name is not None else None
        for level in (self.defaults, self.shapes.get(shape), by_class):  # type: ignore[call-overload]
            if level is not None:
                merged.update({k: v for k, v in level.model_dump(exclude={"attributes"}).items() if v is not None})
        if merged.get("node_sigmas") is None:
            merged["node_sigmas"] = {}
        if merged.get("range_tolerance") is None:
            merged["range_tolerance"] = RANGE_TOLERANCE.get(data_type, 0.0)
        return Resolved.model_validate(merged)

    def attribute_rule(self, class_name: str, path: str, base: Resolved, classification: bool = False) -> AttributeRule:
        rules = (self.classifications if classification else self.classes).get(class_name)
        out = AttributeRule(
            text_similarity=base.text_similarity,
            checklist_jaccard=base.checklist_jaccard,
            numeric_tolerance=base.numeric_tolerance,
        )
        if rules is not None:
            if classification:
                out = out.model_copy(
                    update=rules.model_dump(include=set(AttributeRule.model_fields), exclude_none=True)
                )
            override = rules.attributes.get(path)
            if override is not None:
                out = out.model_copy(update=override.model_dump(exclude_none=True))
        return out


def _check_attributes(owner: str, rule: ClassRule, known: set[str]) -> None:
    for path in rule.attributes:
        if path not in known:
            listing = ", ".join(sorted(known)) or "(none)"
            raise ConfigError(f"config names unknown attribute {path!r} of {owner!r}; it has: {listing}")


def _yaml(text: str) -> Any:
    import yaml  # only when a YAML config is actually read

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc


__all__ = ["AttributeRule", "ClassRule", "Resolved", "ScoringConfig", "Thresholds", "Weights"]
