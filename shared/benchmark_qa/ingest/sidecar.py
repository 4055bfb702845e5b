"""Sidecar JSON (`<file>.meta.json`, or `_meta.json` in a group folder): title, clientMetadata, key frames
and the media metadata blocks of Encord's import spec (docs/layout.md shows an example).

Keys are accepted in the spec's camelCase (`clientMetadata`, `keyFrames`, `videoMetadata`) or in
snake_case. Unknown keys are rejected so that a typo never drops metadata silently.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from benchmark_qa.ingest.items import DataType
from benchmark_qa.ingest.layout import Layout


class SidecarError(ValueError):
    """A sidecar that cannot be used. The message names the key, the problem and what to do."""

    def __init__(self, key: str, problem: str, fix: str = "fix the sidecar JSON and upload it again") -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}; {fix}")


# The *Metadata blocks mirror the SDK's CustomerProvided*Metadata classes (encord orm/storage.py,
# summarised in /work/shared/reference/encord-sdk.md section E); the import JSON spells them in snake_case.
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class VideoMetadata(_Strict):
    fps: float = Field(gt=0)
    duration: float = Field(gt=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    file_size: int = Field(ge=0)
    mime_type: str = Field(min_length=1)


class ImageMetadata(_Strict):
    mime_type: str = Field(min_length=1)
    file_size: int = Field(ge=0)
    height: int = Field(gt=0)
    width: int = Field(gt=0)


class AudioMetadata(_Strict):
    duration: float = Field(gt=0)
    file_size: int = Field(ge=0)
    mime_type: str = Field(min_length=1)
    sample_rate: int = Field(gt=0)
    bit_depth: int = Field(gt=0)
    codec: str = Field(min_length=1)
    num_channels: int = Field(gt=0)


class Sidecar(_Strict):
    title: str | None = Field(None, min_length=1)
    client_metadata: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("clientMetadata", "client_metadata")
    )
    # Frame indices; sorted and de-duplicated so equal sidecars give equal manifests.
    key_frames: list[Annotated[int, Field(ge=0, strict=True)]] | None = Field(
        None, validation_alias=AliasChoices("keyFrames", "key_frames")
    )
    video_metadata: VideoMetadata | None = Field(None, validation_alias=AliasChoices("videoMetadata", "video_metadata"))
    image_metadata: ImageMetadata | None = Field(None, validation_alias=AliasChoices("imageMetadata", "image_metadata"))
    audio_metadata: AudioMetadata | None = Field(None, validation_alias=AliasChoices("audioMetadata", "audio_metadata"))

    @field_validator("key_frames")
    @classmethod
    def _sorted_unique(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else sorted(set(value))

    def fits(self, data_type: DataType) -> list[str]:
        """Fields that make no sense for `data_type` (empty when the sidecar fits)."""
        wrong = []
        if self.key_frames is not None and data_type is not DataType.VIDEO:
            wrong.append("keyFrames (videos only)")
        if self.video_metadata is not None and data_type is not DataType.VIDEO:
            wrong.append("videoMetadata (videos only)")
        if self.image_metadata is not None and data_type is not DataType.IMAGE:
            wrong.append("imageMetadata (single images only)")
        if self.audio_metadata is not None and data_type is not DataType.AUDIO:
            wrong.append("audioMetadata (audio only)")
        return wrong


def check_fits(sidecar: Sidecar, data_type: DataType, key: str) -> None:
    wrong = sidecar.fits(data_type)
    if wrong:
        raise SidecarError(
            key,
            f"sets {', '.join(wrong)} but describes a {data_type.value}",
            "remove those fields from the sidecar",
        )


def _describe(error: ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False):
        location = ".".join(str(p) for p in detail["loc"]) or "(top level)"
        parts.append(f"field '{location}': {detail['msg']}")
    return "; ".join(parts)


def check_size(size: int, key: str, layout: Layout) -> None:
    """Refuse a sidecar over the limit; a caller that knows the size from a listing asks before downloading."""
    if size > layout.max_sidecar_bytes:
        raise SidecarError(
            key,
            f"sidecar is {size} bytes, over the {layout.max_sidecar_bytes}-byte limit",
            "move bulky data out of clientMetadata or raise max_sidecar_bytes",
        )


def parse_sidecar(raw: bytes, key: str, layout: Layout) -> Sidecar:
    check_size(len(raw), key, layout)
    if not raw.strip():
        raise SidecarError(key, "sidecar is empty", "upload a JSON object such as {}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SidecarError(key, f"not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SidecarError(key, f"top level is a JSON {type(data).__name__}, not an object")
    try:
        return Sidecar.model_validate(data)
    except ValidationError as exc:
        raise SidecarError(key, _describe(exc)) from exc
