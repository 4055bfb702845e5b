"""Typed decoding of a label row's JSON bytes (msgspec): only the fields the reader uses are built, as slotted
structs; every other field (names, colours, timestamps, creators) is skipped without becoming a Python object,
and a shape or a class (featureHash) is one of a known set of strings, so it is not a new string either.

On a 10,000-frame video this builds ~7 objects per box where a dict parser builds ~25, which is most of the
parse time. A row that does not fit these types (a number sent as a string, a missing field, a class the
ontology does not have, a shape newer than this list) is not an error here: `decode()` returns None and the
reader parses the row as plain JSON, which accepts what the SDK accepts and names the offending object and field.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from msgspec.structs import astuple

__all__ = [
    "UNSET",
    "Box",
    "FrameTypeError",
    "astuple",
    "decode",
    "decode_frames",
    "decode_head",
    "fields",
    "is_raw",
    "is_typed",
    "to_plain",
]

# every Shape of the SDK (encord/objects/common.py); a row with another shape is read as plain JSON
SHAPES = (
    "bounding_box", "polygon", "point", "skeleton", "polyline", "rotatable_bounding_box", "bitmask", "audio",
    "time_range", "text", "cuboid", "cuboid_2d", "segmentation", "circle", "ellipse",
)  # fmt: skip
# where the shapes other than a plain box keep their geometry (read by the per-object reader, as JSON values)
GEOMETRY = (
    "rotatableBoundingBox", "polygon", "polygons", "polyline", "point", "skeleton", "circle", "ellipse",
    "cuboid_2d", "bitmask",
)  # fmt: skip


class Box(msgspec.Struct, gc=False):
    x: float
    y: float
    w: float
    h: float


@lru_cache(maxsize=16)
def _frame_type(object_classes: tuple[str, ...], boxes_only: bool) -> Any:
    """A frame whose objects' featureHash is one of the ontology's object classes (Encord's camelCase field
    names): an object of another class does not fit, and the plain reader names it. With `boxes_only` (an
    ontology of box classes) frame objects keep no other geometry: a quarter less to build and free."""
    feature: Any = Literal.__getitem__(object_classes) if object_classes else str
    shape: Any = Literal.__getitem__(SHAPES)
    frame_object = msgspec.defstruct(
        "FrameObject",
        [
            ("objectHash", str),
            ("shape", shape),
            ("featureHash", feature | UnsetType, UNSET),
            ("boundingBox", Box | UnsetType | None, UNSET),
            *[(name, Any, UNSET) for name in ([] if boxes_only else GEOMETRY)],
        ],
        gc=False,
    )
    return msgspec.defstruct(
        "Frame",
        [("objects", list[frame_object], []), ("classifications", list[Any], [])],  # type: ignore[valid-type]
        gc=False,
    )


def _row_type(labels: Any) -> Any:
    data_unit = msgspec.defstruct(
        "DataUnit",
        [
            ("data_hash", str | UnsetType, UNSET),
            ("data_sequence", Any, UNSET),
            ("width", Any, UNSET),
            ("height", Any, UNSET),
            ("labels", labels | UnsetType, UNSET),
        ],
        gc=False,
    )
    return msgspec.defstruct(
        "LabelRow",
        [
            ("data_type", str),
            ("data_units", dict[str, data_unit]),  # type: ignore[valid-type]
            *[
                (name, Any, UNSET)
                for name in ("label_hash", "data_hash", "object_answers", "object_actions", "classification_answers")
            ],
        ],
        gc=False,
    )


@lru_cache(maxsize=16)
def _decoder(object_classes: tuple[str, ...], boxes_only: bool) -> msgspec.json.Decoder[Any]:
    """The whole row: frame-keyed types' labels {"0": frame, ...}; image types' {"objects": [...], ...}."""
    frame = _frame_type(object_classes, boxes_only)
    return msgspec.json.Decoder(_row_type(dict[str, frame | list[Any]]))  # type: ignore[valid-type]


_HEAD = msgspec.json.Decoder(_row_type(dict[str, msgspec.Raw]))


def decode(raw: bytes, object_classes: tuple[str, ...], boxes_only: bool = False) -> Any | None:
    """The typed row, or None when the bytes do not fit the types (the reader then parses them as plain JSON).
    With `boxes_only` an object of another shape has lost its geometry: read the row again without it."""
    try:
        return _decoder(object_classes, boxes_only).decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def decode_head(raw: bytes) -> Any | None:
    """The typed row with each data unit's labels left as raw JSON values (`msgspec.Raw`, views of `raw`): a
    frame-keyed row's frames are then decoded batch by batch (`decode_frames`), so the structs being built,
    read and freed stay few and in cache instead of the whole row's at once. None when the bytes do not fit."""
    try:
        return _HEAD.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


class FrameTypeError(Exception):
    """A frame that does not fit the types (the reader then parses the whole row as plain JSON)."""


def decode_frames(frames: list[msgspec.Raw], object_classes: tuple[str, ...], boxes_only: bool = False) -> list[Any]:
    decoder = _frame_decoder(object_classes, boxes_only)
    try:
        return list(map(decoder.decode, frames))
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise FrameTypeError(str(exc)) from exc


@lru_cache(maxsize=16)
def _frame_decoder(object_classes: tuple[str, ...], boxes_only: bool) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(_frame_type(object_classes, boxes_only))


def is_raw(value: Any) -> bool:
    return isinstance(value, msgspec.Raw)


def fields(value: Any) -> dict[str, Any]:
    """A decoded struct's fields that the JSON had."""
    return {name: v for name in value.__struct_fields__ if (v := getattr(value, name)) is not UNSET}


def is_typed(value: Any) -> bool:
    return isinstance(value, msgspec.Struct)


def to_plain(value: Any) -> Any:
    """Structs back to JSON values (absent fields left out), for the per-object reader."""
    return msgspec.to_builtins(value)
