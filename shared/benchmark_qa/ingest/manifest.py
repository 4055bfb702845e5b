"""Encord's JSON import manifest as pydantic models, and the builder from typed items.

The spec is Encord's "Create JSON file for Import" page, kept in
/work/shared/reference/seed-encord-benchmark-qa-docs.txt (templates and examples for every data type, the
Multi-Region Access Point form, the CSV rules), with the field list in
/work/shared/reference/encord-sdk.md section E "Manifest shape". Aliases are the spec's keys.

Video key frames are written as `keyFrames`: the docs describe key frames ("frames of interest") for
videos but the reference text does not show the JSON key, so we use the camelCase spelling of the
neighbouring per-item keys (`clientMetadata`, `videoMetadata`). docs/layout.md says so too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from benchmark_qa.ingest.items import Dataset, DataType, S3Object
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.sidecar import AudioMetadata, ImageMetadata, Sidecar, VideoMetadata, check_fits
from benchmark_qa.ingest.urls import key_from_object_url, object_url

__all__ = [
    "AudioEntry",
    "DicomSeriesEntry",
    "ImageEntry",
    "ImageGroupEntry",
    "ImportManifest",
    "MultiFileItem",
    "NiftiEntry",
    "ObjectUrls",
    "PdfEntry",
    "SingleItem",
    "TextEntry",
    "VideoEntry",
    "batches",
    "build_manifest",
    "checked",
    "key_from_object_url",
    "natural_key",
    "object_url",
]

ObjectUrls = Callable[[S3Object], str]  # an object's URL in the form its cloud's import examples use
_INDEXED_URL = re.compile(r"^objectUrl_(\d+)$")
_DIGITS = re.compile(r"([0-9]+)")


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that puts file2 before file10. Digit runs compare as numbers, the rest case-insensitively;
    the raw text breaks ties (file02 vs file2), so the order is total and stable."""
    parts: list[Any] = _DIGITS.split(text)  # text, digits, text, ..., text
    parts[1::2] = map(int, parts[1::2])
    parts[::2] = map(str.casefold, parts[::2])
    return tuple(parts), text


_WHITESPACE = re.compile(r"\s")


def _no_whitespace(url: str) -> str:
    if not url or _WHITESPACE.search(url):
        raise ValueError("object URLs must be non-empty and contain no whitespace (percent-encode the key)")
    return url


_Model = TypeVar("_Model", bound=BaseModel)
_set = object.__setattr__


@cache
def _defaults(cls: type[BaseModel]) -> dict[str, Any]:
    if any(f.default_factory is not None for f in cls.model_fields.values()):
        raise TypeError(f"{cls.__name__}: a default factory's value must not be shared")
    return {name: f.default for name, f in cls.model_fields.items()}


def checked(cls: type[_Model], **values: Any) -> _Model:
    """`cls(**values)` for values the caller has checked as the model's validators would: the model without
    validating them again, as pydantic's `model_construct` makes it but at a tenth of its cost (a manifest
    builds one entry and one item per listed file; validating them was a fifth of the manifest path, issue 16).
    Fields not given take their default. For models whose defaults are immutable."""
    model = cls.__new__(cls)
    _set(model, "__dict__", {**_defaults(cls), **values})
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


class _SingleEntry(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    object_url: str = Field(alias="objectUrl")
    title: str | None = Field(None, min_length=1)
    client_metadata: dict[str, Any] | None = Field(None, alias="clientMetadata")

    @field_validator("object_url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _no_whitespace(url)


class VideoEntry(_SingleEntry):
    key_frames: list[int] | None = Field(None, alias="keyFrames")
    video_metadata: VideoMetadata | None = Field(None, alias="videoMetadata")


class ImageEntry(_SingleEntry):
    image_metadata: ImageMetadata | None = Field(None, alias="imageMetadata")


class AudioEntry(_SingleEntry):
    audio_metadata: AudioMetadata | None = Field(None, alias="audioMetadata")


class PdfEntry(_SingleEntry):
    pass


class TextEntry(_SingleEntry):
    pass


class NiftiEntry(_SingleEntry):
    pass


class _MultiEntry(BaseModel):
    """Multi-file entries list their files as `objectUrl_0 .. objectUrl_N` in the spec."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    title: str = Field(min_length=1)
    client_metadata: dict[str, Any] | None = Field(None, alias="clientMetadata")
    object_urls: list[str] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _collect_indexed_urls(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "object_urls" in data:
            return data
        rest: dict[str, Any] = {}
        indexed: dict[int, Any] = {}
        for name, value in data.items():
            match = _INDEXED_URL.match(name)
            if match is None:
                rest[name] = value
            else:
                indexed[int(match[1])] = value
        if sorted(indexed) != list(range(len(indexed))):
            raise ValueError(f"objectUrl_N indices must run 0..N without gaps, got {sorted(indexed)}")
        rest["object_urls"] = [indexed[i] for i in range(len(indexed))]
        return rest

    @field_validator("object_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [_no_whitespace(url) for url in urls]

    @model_serializer(mode="wrap")
    def _expand_urls(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for index, url in enumerate(data.pop("object_urls", ())):
            data[f"objectUrl_{index}"] = url
        return data


class ImageGroupEntry(_MultiEntry):
    """An image group (`createVideo: false`) or an image sequence (`createVideo: true`)."""

    create_video: bool = Field(alias="createVideo")

    @model_serializer(mode="wrap")
    def _expand_urls(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        urls = data.pop("object_urls", ())
        # The docs' key order: title, createVideo, (clientMetadata), objectUrl_0..N.
        flag = "createVideo" if "createVideo" in data else "create_video"  # by_alias or not
        ordered = {"title": data.pop("title"), flag: data.pop(flag), **data}
        ordered.update({f"objectUrl_{index}": url for index, url in enumerate(urls)})
        return ordered


class DicomSeriesEntry(_MultiEntry):
    pass


_LISTS = ("videos", "images", "image_groups", "dicom_series", "nifti", "audio", "pdf", "text")


class ImportManifest(BaseModel):
    """The whole JSON import file. Empty lists are left out of the output, as in the docs' examples."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    videos: list[VideoEntry] = Field(default_factory=list)
    images: list[ImageEntry] = Field(default_factory=list)
    image_groups: list[ImageGroupEntry] = Field(default_factory=list)
    dicom_series: list[DicomSeriesEntry] = Field(default_factory=list)
    nifti: list[NiftiEntry] = Field(default_factory=list)
    audio: list[AudioEntry] = Field(default_factory=list)
    pdf: list[PdfEntry] = Field(default_factory=list)
    text: list[TextEntry] = Field(default_factory=list)
    skip_duplicate_urls: bool = True
    upsert_metadata: bool = False

    @property
    def entry_count(self) -> int:
        return sum(len(getattr(self, name)) for name in _LISTS)

    def object_urls(self) -> list[str]:
        """Every object URL in the manifest, in document order."""
        urls: list[str] = []
        for name in _LISTS:
            for entry in getattr(self, name):
                urls.extend(entry.object_urls if isinstance(entry, _MultiEntry) else [entry.object_url])
        return urls

    def split(self, layout: Layout) -> list[ImportManifest]:
        """This manifest as parts within the layout's batch sizes and Encord's limits (`batches`), in order.
        Raises ValueError for one entry that alone holds more URLs than a manifest may."""
        entries = [(name, entry) for name in _LISTS for entry in getattr(self, name)]
        sizes = ((name == "videos", len(e.object_urls) if isinstance(e, _MultiEntry) else 1) for name, e in entries)
        parts = []
        for start, end in batches(sizes, layout):
            lists: dict[str, list[Any]] = {name: [] for name in _LISTS}
            for name, entry in entries[start:end]:
                lists[name].append(entry)
            parts.append(self.model_copy(update=lists))
        return parts or [self]

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(by_alias=True, exclude_none=True)
        return {name: value for name, value in data.items() if value != []}

    def to_json_bytes(self, *, indent: bool = False) -> bytes:
        """The bytes of `to_dict()` as JSON, written by pydantic's serializer straight from the models: building the
        dicts first for orjson took four times as long on a 50,000-entry manifest (mostly their fresh memory)."""
        empty = {name for name in _LISTS if not getattr(self, name)}
        text = self.model_dump_json(by_alias=True, exclude_none=True, exclude=empty, indent=2 if indent else None)
        return text.encode()

    def csv_losses(self) -> list[str]:
        """What the CSV form cannot carry for this manifest (empty when `to_csv` is lossless)."""
        from benchmark_qa.ingest.csv_form import csv_losses

        return csv_losses(self)

    def to_csv(self, *, allow_loss: bool = False) -> str:
        """Encord's CSV form. Raises `CsvLossError` if the CSV would drop something unless `allow_loss`."""
        from benchmark_qa.ingest.csv_form import manifest_to_csv

        return manifest_to_csv(self, allow_loss=allow_loss)

    @classmethod
    def from_csv(cls, text: str, *, skip_duplicate_urls: bool = True, upsert_metadata: bool = False) -> ImportManifest:
        from benchmark_qa.ingest.csv_form import manifest_from_csv

        return manifest_from_csv(text, skip_duplicate_urls=skip_duplicate_urls, upsert_metadata=upsert_metadata)


class SingleItem(BaseModel):
    obj: S3Object
    dataset: Dataset
    data_type: DataType
    sidecar: Sidecar | None = None

    @model_validator(mode="after")
    def _single(self) -> SingleItem:
        if self.data_type.multi_file:
            raise ValueError(f"{self.obj.key}: {self.data_type.value} is multi-file; use MultiFileItem")
        return self


class MultiFileItem(BaseModel):
    dataset: Dataset
    data_type: DataType
    title: str = Field(min_length=1)
    members: list[S3Object] = Field(min_length=1)
    ordered: bool = Field(False, description="members are in their order already (DICOM series by their headers)")
    sidecar: Sidecar | None = None
    # Per-file sidecars (key -> sidecar). Encord's JSON/CSV import form has no per-file fields in a
    # multi-file entry, so build_manifest does not write them; they are validated and kept for the SDK's
    # typed DataUploadItems path (per-image title and imageMetadata).
    member_sidecars: dict[str, Sidecar] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _multi(self) -> MultiFileItem:
        if not self.data_type.multi_file:
            raise ValueError(f"{self.title}: {self.data_type.value} is a single-file type; use SingleItem")
        return self

    @property
    def group_id(self) -> str:
        return f"{self.dataset.value}/{self.data_type.value}/{self.title}"


_LIST_OF = {
    DataType.VIDEO: "videos",
    DataType.IMAGE: "images",
    DataType.AUDIO: "audio",
    DataType.PDF: "pdf",
    DataType.TEXT: "text",
    DataType.NIFTI: "nifti",
    DataType.IMAGE_GROUP: "image_groups",
    DataType.IMAGE_SEQUENCE: "image_groups",
    DataType.DICOM_SERIES: "dicom_series",
}


def _multi_entry(item: MultiFileItem, url_of: ObjectUrls) -> _MultiEntry:
    sidecar = item.sidecar
    if sidecar is not None:
        check_fits(sidecar, item.data_type, item.group_id)
    members = item.members if item.ordered else sorted(item.members, key=lambda m: natural_key(m.key))
    urls = [url_of(m) for m in members]
    title = (sidecar.title if sidecar else None) or item.title
    client_metadata = (sidecar.client_metadata or None) if sidecar else None
    if item.data_type is DataType.DICOM_SERIES:
        return DicomSeriesEntry(title=title, client_metadata=client_metadata, object_urls=urls)
    return ImageGroupEntry(
        title=title,
        client_metadata=client_metadata,
        object_urls=urls,
        create_video=item.data_type is DataType.IMAGE_SEQUENCE,
    )


def _unique_titles(lists: dict[str, list[Any]], key_titles: dict[int, str]) -> None:
    """Files of the same name in different folders (`a/frame.jpg`, `b/frame.jpg`) would be two data units of one
    title, which neither a person nor the registration's mapping of Encord's results can tell apart: such
    entries, when they carry the default title (the file name), are titled by their key below the dataset prefix."""
    entries = [e for name in _LISTS for e in lists[name]]
    counts: dict[str | None, int] = {}
    for entry in entries:
        counts[entry.title] = counts.get(entry.title, 0) + 1
    for entry in entries:
        if counts[entry.title] > 1 and id(entry) in key_titles:
            entry.title = key_titles[id(entry)]


def _single_entry(item: SingleItem, url_of: ObjectUrls) -> tuple[_SingleEntry, str | None]:
    """The entry, and its title by key when it has the default title (`_unique_titles`)."""
    obj, sidecar, data_type = item.obj, item.sidecar, item.data_type
    url = url_of(obj)
    default_title = obj.key.rsplit("/", 1)[-1]  # Encord's own default title is the file name
    if sidecar is None and default_title and type(url) is str and url and not _WHITESPACE.search(url):
        # what the entry's validators would check, checked: built without validating again (`checked`)
        return checked(_ENTRY_OF[data_type], object_url=url, title=default_title), obj.key.split("/", 1)[-1]
    fields: dict[str, Any] = {"object_url": url, "title": default_title}
    if sidecar is not None:
        check_fits(sidecar, data_type, obj.key)
        fields["title"] = sidecar.title or fields["title"]
        fields["client_metadata"] = sidecar.client_metadata or None
        if data_type is DataType.VIDEO:
            fields["key_frames"] = sidecar.key_frames
            fields["video_metadata"] = sidecar.video_metadata
        elif data_type is DataType.IMAGE:
            fields["image_metadata"] = sidecar.image_metadata
        elif data_type is DataType.AUDIO:
            fields["audio_metadata"] = sidecar.audio_metadata
    return _ENTRY_OF[data_type](**fields), (obj.key.split("/", 1)[-1] if fields["title"] == default_title else None)


_ENTRY_OF: dict[DataType, type[_SingleEntry]] = {
    DataType.VIDEO: VideoEntry,
    DataType.IMAGE: ImageEntry,
    DataType.AUDIO: AudioEntry,
    DataType.PDF: PdfEntry,
    DataType.TEXT: TextEntry,
    DataType.NIFTI: NiftiEntry,
}


def build_manifest(
    items: Iterable[SingleItem | MultiFileItem], *, region: str, layout: Layout, urls: ObjectUrls | None = None
) -> ImportManifest:
    """One manifest for the given items, in input order; members of a multi-file item in natural order (or
    their own, when `ordered`). URLs are S3's (`region`, the layout's access point) unless `urls` is given.

    The dataset of each item is not checked here: callers build one manifest per dataset.
    Raises `SidecarError` when a sidecar sets fields the item's data type cannot take.
    """
    mrap = layout.multi_region_access_point_arn
    url_of = urls or (lambda o: object_url(o.bucket, o.key, region, mrap))
    lists: dict[str, list[Any]] = {name: [] for name in _LISTS}
    key_titles: dict[int, str] = {}
    for item in items:
        if isinstance(item, MultiFileItem):
            entry: Any = _multi_entry(item, url_of)
        else:
            entry, key_title = _single_entry(item, url_of)
            if key_title is not None:
                key_titles[id(entry)] = key_title
        lists[_LIST_OF[item.data_type]].append(entry)
    _unique_titles(lists, key_titles)
    return ImportManifest(
        **lists,
        skip_duplicate_urls=layout.skip_duplicate_urls,
        upsert_metadata=layout.upsert_metadata,
    )


def batches(sizes: Iterable[tuple[bool, int]], layout: Layout) -> Iterator[tuple[int, int]]:
    """Entries as (is a video, object URLs) in order -> [start, end) ranges of consecutive entries, each range
    within `manifest_batch_size` entries, `manifest_video_batch_size` videos and `manifest_max_urls` URLs.
    Raises ValueError for an entry that alone has more URLs than a manifest may hold."""
    start = entries = videos = urls = 0
    index = -1
    for index, (is_video, n_urls) in enumerate(sizes):
        if n_urls > layout.manifest_max_urls:
            raise ValueError(
                f"entry {index} has {n_urls} files, over the {layout.manifest_max_urls} URLs one import file "
                "may hold; split it into smaller groups"
            )
        full = (
            entries + 1 > layout.manifest_batch_size
            or videos + is_video > layout.manifest_video_batch_size
            or urls + n_urls > layout.manifest_max_urls
        )
        if full and entries:
            yield start, index
            start, entries, videos, urls = index, 0, 0, 0
        entries, videos, urls = entries + 1, videos + is_video, urls + n_urls
    if entries:
        yield start, index + 1
