"""The ontology as the scorer needs it: classes by featureNodeHash, attribute trees with paths, skeleton nodes.

Read from the ontology "structure" editor JSON ({"objects": [...], "classifications": [...]}); no SDK objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from benchmark_qa.scoring.errors import OntologyError

AttributeKind = Literal["radio", "checklist", "text", "numeric"]

# Shapes grouped into families: only members of one family are ever compared with each other.
SHAPE_FAMILY: dict[str, str] = {
    "bounding_box": "box",
    "rotatable_bounding_box": "box",
    "polygon": "polygon",
    "bitmask": "bitmask",
    "polyline": "polyline",
    "point": "point",
    "skeleton": "skeleton",
    "audio": "range",
    "text": "range",
    "time_range": "range",
    "circle": "ellipse",
    "ellipse": "ellipse",
    "cuboid_2d": "cuboid_2d",
}
# codes are positions in this tuple (report columns store them): new families go at the end
FAMILIES: tuple[str, ...] = (
    "box",
    "polygon",
    "bitmask",
    "polyline",
    "point",
    "skeleton",
    "range",
    "ellipse",
    "cuboid_2d",
)
# Shapes the pinned SDK knows that have no similarity here: their objects are counted as "not scored" and left out
# of every other figure (a 3-D cuboid needs a point-cloud frame; a segmentation's RLE string has no documented
# layout in the SDK: encord/objects/coordinates.py maps Shape.SEGMENTATION to no coordinates class).
NOT_SCORED_SHAPES = frozenset({"cuboid", "segmentation"})


@dataclass(frozen=True, slots=True)
class OptionNode:
    hash: str
    label: str
    attributes: tuple[AttributeNode, ...]


@dataclass(frozen=True, slots=True)
class AttributeNode:
    """One attribute. `path` is relative to its class, e.g. "colour" or "colour/red/shade"."""

    hash: str
    name: str
    kind: AttributeKind
    dynamic: bool
    path: str
    options: tuple[OptionNode, ...]
    parent_option: str | None  # the option hash that must be chosen for this attribute to apply

    def option_label(self, option_hash: str) -> str:
        for option in self.options:
            if option.hash == option_hash:
                return option.label
        return option_hash


@dataclass(frozen=True, slots=True)
class ObjectClass:
    index: int
    hash: str
    name: str
    shape: str
    attributes: tuple[AttributeNode, ...]
    skeleton_nodes: tuple[str, ...] = ()
    all_attributes: dict[str, AttributeNode] = field(default_factory=dict)  # by path


@dataclass(frozen=True, slots=True)
class ClassificationClass:
    index: int
    hash: str
    name: str  # the top attribute's name: Encord classifications have no title of their own
    attributes: tuple[AttributeNode, ...]
    all_attributes: dict[str, AttributeNode] = field(default_factory=dict)


def _walk(nodes: tuple[AttributeNode, ...]) -> Iterator[AttributeNode]:
    for node in nodes:
        yield node
        for option in node.options:
            yield from _walk(option.attributes)


def _parse_attribute(raw: Mapping[str, Any], prefix: str, parent_option: str | None) -> AttributeNode:
    try:
        kind = str(raw["type"])
        name = str(raw["name"])
        node_hash = str(raw["featureNodeHash"])
    except KeyError as exc:
        raise OntologyError(f"ontology attribute {raw.get('name', '?')!r} has no {exc.args[0]!r}") from exc
    if kind not in ("radio", "checklist", "text", "numeric"):
        raise OntologyError(f"ontology attribute {name!r} has unknown type {kind!r}")
    path = f"{prefix}{name}"
    options = []
    for raw_option in raw.get("options", []) or []:
        label = str(raw_option.get("label", raw_option.get("value", "")))
        option_hash = str(raw_option["featureNodeHash"])
        nested = tuple(
            _parse_attribute(child, f"{path}/{label}/", option_hash) for child in raw_option.get("options", []) or []
        )
        options.append(OptionNode(option_hash, label, nested))
    return AttributeNode(node_hash, name, kind, bool(raw.get("dynamic", False)), path, tuple(options), parent_option)  # type: ignore[arg-type]


class Ontology:
    """Classes and attributes of one Encord ontology, indexed for the scorer."""

    def __init__(self, objects: list[ObjectClass], classifications: list[ClassificationClass]) -> None:
        self.objects = objects
        self.classifications = classifications
        self.object_by_hash = {o.hash: o for o in objects}
        self.classification_by_hash = {c.hash: c for c in classifications}
        # featureHash of any attribute -> the node (answers in label rows name attributes by this hash)
        self.attribute_by_hash: dict[str, AttributeNode] = {}
        owners: list[ObjectClass | ClassificationClass] = [*objects, *classifications]
        for owner in owners:
            for node in owner.all_attributes.values():
                self.attribute_by_hash[node.hash] = node

    @classmethod
    def from_dict(cls, structure: Mapping[str, Any]) -> Ontology:
        if not isinstance(structure, Mapping) or "objects" not in structure:
            raise OntologyError('ontology structure must be a dict with "objects" and "classifications"')
        templates: dict[str, tuple[str, ...]] = {}
        for entry in structure.get("skeleton_templates", []) or []:
            template = entry.get("template", entry)
            nodes = template.get("skeleton", {})
            names = tuple(str(nodes[k]["name"]) for k in sorted(nodes, key=int))
            for key in (template.get("feature_node_hash"), template.get("name")):
                if key:
                    templates[str(key)] = names
        objects: list[ObjectClass] = []
        for index, raw in enumerate(structure.get("objects", [])):
            try:
                name, node_hash, shape = str(raw["name"]), str(raw["featureNodeHash"]), str(raw["shape"])
            except KeyError as exc:
                raise OntologyError(f"ontology object #{index} has no {exc.args[0]!r}") from exc
            attributes = tuple(_parse_attribute(a, "", None) for a in raw.get("attributes", []) or [])
            nodes = templates.get(node_hash) or templates.get(name) or ()
            objects.append(
                ObjectClass(index, node_hash, name, shape, attributes, nodes, {n.path: n for n in _walk(attributes)})
            )
        classifications: list[ClassificationClass] = []
        for index, raw in enumerate(structure.get("classifications", []) or []):
            attributes = tuple(_parse_attribute(a, "", None) for a in raw.get("attributes", []) or [])
            if not attributes:
                raise OntologyError(f"ontology classification {raw.get('featureNodeHash')!r} has no attribute")
            classifications.append(
                ClassificationClass(
                    index,
                    str(raw["featureNodeHash"]),
                    attributes[0].name,
                    attributes,
                    {n.path: n for n in _walk(attributes)},
                )
            )
        return cls(objects, classifications)

    # by name only: scoring looks rules up by name, so a config keyed by featureNodeHash would pass and do nothing
    def object_named(self, name: str) -> ObjectClass | None:
        return next((obj for obj in self.objects if obj.name == name), None)

    def classification_named(self, name: str) -> ClassificationClass | None:
        return next((item for item in self.classifications if item.name == name), None)
