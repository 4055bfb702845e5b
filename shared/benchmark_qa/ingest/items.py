"""Classify one S3 object under the bucket layout (docs/layout.md): dataset, data type and role.

Pure and fast: the pipeline calls `classify` once per S3 event and the benchmark 100k times.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, ConfigDict

from benchmark_qa.ingest import content

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmark_qa.ingest.layout import Layout


class Dataset(StrEnum):
    BENCHMARK = "benchmark"
    PRODUCTION = "production"


class DataType(StrEnum):
    VIDEO = "video"
    IMAGE = "image"
    AUDIO = "audio"
    PDF = "pdf"
    TEXT = "text"
    NIFTI = "nifti"
    IMAGE_GROUP = "image_group"
    IMAGE_SEQUENCE = "image_sequence"
    DICOM_SERIES = "dicom_series"

    @property
    def multi_file(self) -> bool:
        return self in _MULTI_FILE


_MULTI_FILE = frozenset({DataType.IMAGE_GROUP, DataType.IMAGE_SEQUENCE, DataType.DICOM_SERIES})
# By value: a dict lookup is a tenth of `DataType(value)`'s cost, which `classify` pays per object.
_DATA_TYPE_OF = {t.value: t for t in DataType}
_NIFTI, _TEXT = DataType.NIFTI.value, DataType.TEXT.value

# S3 content types that stand in for an unknown extension.
_CONTENT_TYPE_PREFIXES: tuple[tuple[str, DataType], ...] = (
    ("video/", DataType.VIDEO),
    ("image/", DataType.IMAGE),
    ("audio/", DataType.AUDIO),
    ("application/pdf", DataType.PDF),
    ("text/", DataType.TEXT),
    ("application/x-nifti", DataType.NIFTI),
    ("application/nifti", DataType.NIFTI),
)


class S3Object(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    size: int
    etag: str | None = None
    version_id: str | None = None
    content_type: str | None = None  # S3's Content-Type header (HEAD / GET); listings and events carry none
    detected_type: str | None = None  # what the first bytes are (`content.detect`); None: not read


class Role(StrEnum):
    ITEM = "item"
    GROUP_MEMBER = "group_member"
    SIDECAR = "sidecar"
    GROUP_SIDECAR = "group_sidecar"
    READY_MARKER = "ready_marker"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    """Machine-readable cause of a SKIPPED classification (the human text is in `Classified.reason`)."""

    FOLDER_PLACEHOLDER = "folder_placeholder"
    DOT_SEGMENT = "dot_segment"  # a '.' or '..' path segment: its URL would name another object
    MANIFEST_PREFIX = "manifest_prefix"
    UNKNOWN_DATASET = "unknown_dataset"
    NO_GROUP_TITLE = "no_group_title"
    ZERO_BYTES = "zero_bytes"
    UNKNOWN_TYPE = "unknown_type"
    WRONG_GROUP_MEMBER = "wrong_group_member"
    MISPLACED = "misplaced"
    ORPHAN_SIDECAR = "orphan_sidecar"
    NOT_READY = "not_ready"
    DATA_FILE = "data_file"  # .json, .csv, .md, office files...: not media
    NOT_MEDIA = "not_media"  # the content is not media, whatever the extension says
    NOT_DICOM = "not_dicom"  # in a DICOM folder without the DICM marker (thumbnails, text, ...)
    DICOM_DIRECTORY = "dicom_directory"  # DICOMDIR: an export's index
    NO_SERIES = "no_series"  # a DICOM file without a SeriesInstanceUID


class Classified(NamedTuple):
    """What `classify` made of one object. A named tuple, not a pydantic model: `classify` builds one per listed
    object from values it has already checked, and validating them again (or a frozen dataclass's slower
    constructor) was a third of the manifest path's time (issue 16). A changed copy: `_replace(...)`."""

    obj: S3Object
    role: Role
    dataset: Dataset | None = None
    data_type: DataType | None = None
    group_title: str | None = None
    described_key: str | None = None
    reason: str | None = None
    skip: SkipReason | None = None

    @property
    def group_id(self) -> str | None:
        """Stable id of the multi-file item this object belongs to (members, sidecars, markers)."""
        if self.dataset is None or self.data_type is None or self.group_title is None:
            return None
        # str concatenation of the StrEnums: their `.value` is a descriptor call, and this runs per object.
        return self.dataset + "/" + self.data_type + "/" + self.group_title

    @property
    def group_folder(self) -> str | None:
        """The title folder (`<dataset>/<group dir>/<title>/`) of a group object: its listing holds the whole
        group, files in sub-folders included."""
        if self.group_id is None:
            return None
        return "/".join(self.obj.key.split("/", 3)[:3]) + "/"


def _skipped(
    obj: S3Object,
    skip: SkipReason,
    reason: str,
    *,
    dataset: Dataset | None = None,
    data_type: DataType | None = None,
    group_title: str | None = None,
) -> Classified:
    return Classified(
        obj=obj,
        role=Role.SKIPPED,
        dataset=dataset,
        data_type=data_type,
        group_title=group_title,
        reason=reason,
        skip=skip,
    )


def type_from_content_type(content_type: str | None) -> DataType | None:
    if not content_type:
        return None
    lowered = content_type.lower()
    for prefix, data_type in _CONTENT_TYPE_PREFIXES:
        if lowered.startswith(prefix):
            return data_type
    return None


def with_content_type(obj: S3Object, layout: Layout, content_type_of: Callable[[str], str | None]) -> S3Object:
    """`obj` with its S3 content type when the extension alone cannot type it (an unknown extension, or a group
    member that is not an image by name). S3 listings and notifications carry no content type, so this asks for it
    (`content_type_of(key)`, one HEAD request) for those objects only."""
    if obj.content_type is not None:
        return obj
    if classify(obj, layout).skip not in (SkipReason.UNKNOWN_TYPE, SkipReason.WRONG_GROUP_MEMBER):
        return obj
    return obj.model_copy(update={"content_type": content_type_of(obj.key)})


def needs_content(classified: Classified, layout: Layout) -> bool:
    """Whether the object's first bytes must be read before its classification is final: every file when
    `layout.check_content`, else files the extension cannot type; DICOM folder members always (their header
    decides the series). Sidecars, markers, data files by extension and zero-byte files never."""
    if classified.obj.detected_type is not None or classified.obj.size == 0:
        return False
    if classified.role is Role.GROUP_MEMBER:
        return classified.data_type is DataType.DICOM_SERIES or layout.check_content
    if classified.role is Role.ITEM:
        return layout.check_content
    return classified.skip in (SkipReason.UNKNOWN_TYPE, SkipReason.WRONG_GROUP_MEMBER) and (
        layout.check_content or classified.skip is SkipReason.UNKNOWN_TYPE
    )


DOT_SEGMENTS = (".", "..")


def classify(obj: S3Object, layout: Layout) -> Classified:  # noqa: PLR0911, PLR0912 - a decision table reads best flat
    key = obj.key
    if key.endswith("/"):
        return _skipped(
            obj,
            SkipReason.FOLDER_PLACEHOLDER,
            f"{key}: folder placeholder (key ends with '/'), nothing to import; safe to ignore or delete",
        )
    segments = key.split("/")
    if "." in segments or ".." in segments:
        dots = sorted({s for s in segments if s in DOT_SEGMENTS})
        # HTTP clients resolve dot segments (RFC 3986 5.2.4; WHATWG also reads %2e as a dot), so the object's
        # URL would fetch another key, perhaps of another dataset: never normalised into that key, never sent.
        return _skipped(
            obj,
            SkipReason.DOT_SEGMENT,
            f"{key}: has a {' and '.join(repr(d) for d in dots)} path segment, so its URL would point at another "
            "object; rename it without '.' or '..' segments and upload it again",
        )
    first = segments[0]
    if first == layout.manifest_prefix:
        return _skipped(
            obj,
            SkipReason.MANIFEST_PREFIX,
            f"{key}: under the manifest prefix '{layout.manifest_prefix}/', which is never ingested",
        )
    if first == layout.benchmark_prefix:
        dataset = Dataset.BENCHMARK
    elif first == layout.production_prefix:
        dataset = Dataset.PRODUCTION
    else:
        return _skipped(
            obj,
            SkipReason.UNKNOWN_DATASET,
            f"{key}: first path segment '{first}' names no dataset; move the object under "
            f"'{layout.benchmark_prefix}/' or '{layout.production_prefix}/'",
        )
    if len(segments) < 2:
        return _skipped(
            obj,
            SkipReason.MISPLACED,
            f"{key}: object sits at the dataset prefix itself; put files below '{first}/'",
            dataset=dataset,
        )
    name = segments[-1]
    folder = segments[1]
    group_type = None
    if len(segments) > 2:
        if folder == layout.image_groups_dir:
            group_type = DataType.IMAGE_GROUP
        elif folder == layout.image_sequences_dir:
            group_type = DataType.IMAGE_SEQUENCE
        elif folder == layout.dicom_dir:
            group_type = DataType.DICOM_SERIES
    if group_type is not None:
        return _classify_member(obj, layout, dataset, group_type, segments)
    group_dirs = (layout.image_groups_dir, layout.image_sequences_dir, layout.dicom_dir)
    if len(segments) == 2 and folder in group_dirs:
        # e.g. `benchmark/image-groups` uploaded as an object: no title folder at all.
        return _skipped(
            obj,
            SkipReason.NO_GROUP_TITLE,
            f"{key}: '{folder}' must be a folder holding '<title>/' folders of files",
            dataset=dataset,
        )
    return _classify_single(obj, layout, dataset, name)


def _sidecar_or_empty(
    obj: S3Object,
    layout: Layout,
    name: str,
    dataset: Dataset,
    data_type: DataType | None = None,
    group_title: str | None = None,
) -> Classified | None:
    """The checks every file takes before its own type, in a group folder or not: is it a per-file sidecar,
    or an interrupted (zero-byte) upload? None when it is neither."""
    if name.endswith(layout.sidecar_suffix) and len(name) > len(layout.sidecar_suffix):
        return Classified(
            obj=obj,
            role=Role.SIDECAR,
            dataset=dataset,
            data_type=data_type,
            group_title=group_title,
            described_key=obj.key[: -len(layout.sidecar_suffix)],
        )
    if obj.size == 0:
        return _skipped(
            obj,
            SkipReason.ZERO_BYTES,
            f"{obj.key}: zero-byte object (failed or interrupted upload?); re-upload the file",
            dataset=dataset,
            data_type=data_type,
            group_title=group_title,
        )
    return None


def _classify_member(  # noqa: PLR0911 - a decision table reads best flat
    obj: S3Object, layout: Layout, dataset: Dataset, group_type: DataType, segments: list[str]
) -> Classified:
    key = obj.key
    folder = segments[1]
    if len(segments) < 4:
        return _skipped(
            obj,
            SkipReason.NO_GROUP_TITLE,
            f"{key}: files in '{folder}/' need a title folder; move it to '{folder}/<title>/{segments[-1]}'",
            dataset=dataset,
            data_type=group_type,
        )
    title = segments[2]
    name = segments[-1]
    in_group_root = len(segments) == 4
    if not title:
        return _skipped(
            obj,
            SkipReason.NO_GROUP_TITLE,
            f"{key}: empty group title ('//' in the key); move it to '{folder}/<title>/{name}'",
            dataset=dataset,
            data_type=group_type,
        )
    if in_group_root and name == layout.group_ready_marker:
        return Classified(obj=obj, role=Role.READY_MARKER, dataset=dataset, data_type=group_type, group_title=title)
    if in_group_root and name == layout.group_sidecar_name:
        return Classified(obj=obj, role=Role.GROUP_SIDECAR, dataset=dataset, data_type=group_type, group_title=title)
    sidecar_or_empty = _sidecar_or_empty(obj, layout, name, dataset, group_type, title)
    if sidecar_or_empty is not None:
        return sidecar_or_empty
    if group_type is DataType.DICOM_SERIES:
        return _classify_dicom_member(obj, layout, dataset, title, name)
    # Image groups and sequences hold images only: by content when it was read, else by extension or S3 type.
    detected = obj.detected_type
    by_content = content.media_type(detected) if detected else None
    if detected is not None and content.verdict(detected) is not content.Verdict.UNKNOWN:
        member_type = _DATA_TYPE_OF[by_content] if by_content else None
    else:
        type_value = layout.extension_type(name)
        member_type = _DATA_TYPE_OF[type_value] if type_value else type_from_content_type(obj.content_type)
    if member_type is not DataType.IMAGE:
        what = (
            f"its content is {content.describe(detected)}"
            if detected and detected != content.UNKNOWN
            else ("it is not one by extension or content type")
        )
        return _skipped(
            obj,
            SkipReason.WRONG_GROUP_MEMBER,
            f"{key}: '{folder}/' folders hold images only and {what}; move it out of the group folder",
            dataset=dataset,
            data_type=group_type,
            group_title=title,
        )
    return Classified(obj=obj, role=Role.GROUP_MEMBER, dataset=dataset, data_type=group_type, group_title=title)


def _classify_dicom_member(obj: S3Object, layout: Layout, dataset: Dataset, title: str, name: str) -> Classified:
    """DICOM folders hold files with the DICM marker, whatever their name; DICOMDIR and everything else (thumbnails,
    reports, notes) is skipped. Until the content is read (`needs_content`) a file counts as a member."""
    key, detected = obj.key, obj.detected_type
    skip: tuple[SkipReason, str] | None = None
    if layout.is_dicom_directory(name):
        skip = (SkipReason.DICOM_DIRECTORY, f"{key}: DICOMDIR is the export's index of its files, not a series member")
    elif detected is not None and detected != content.DICOM:
        skip = (
            SkipReason.NOT_DICOM,
            f"{key}: not a DICOM file (no DICM marker after the 128-byte preamble; the content is "
            f"{content.describe(detected)}), so not a series member; move it out of '{layout.dicom_dir}/' "
            "if it should be imported",
        )
    if skip is not None:
        return _skipped(obj, *skip, dataset=dataset, data_type=DataType.DICOM_SERIES, group_title=title)
    return Classified(
        obj=obj, role=Role.GROUP_MEMBER, dataset=dataset, data_type=DataType.DICOM_SERIES, group_title=title
    )


def _classify_single(  # noqa: PLR0911 - a decision table reads best flat
    obj: S3Object, layout: Layout, dataset: Dataset, name: str
) -> Classified:
    key = obj.key
    if name in (layout.group_sidecar_name, layout.group_ready_marker):
        return _skipped(
            obj,
            SkipReason.MISPLACED,
            f"{key}: '{name}' only means something directly inside a group folder such as "
            f"'{layout.image_groups_dir}/<title>/'; move or delete it",
            dataset=dataset,
        )
    sidecar_or_empty = _sidecar_or_empty(obj, layout, name, dataset)
    if sidecar_or_empty is not None:
        return sidecar_or_empty
    type_value = layout.extension_type(name)
    detected = obj.detected_type
    found = content.verdict(detected) if detected is not None else content.Verdict.UNKNOWN
    if found is content.Verdict.DICOM or (type_value is None and layout.is_dicom_name(name)):
        return _skipped(
            obj,
            SkipReason.MISPLACED,
            f"{key}: DICOM files form series; move it to '{layout.dicom_dir}/<series title>/{name}'",
            dataset=dataset,
        )
    if type_value is None and layout.is_data_file(name):
        return _skipped(
            obj,
            SkipReason.DATA_FILE,
            f"{key}: a data file by its extension, not media (Encord would make it a text data unit); "
            "nothing to import. To import such files as text, add the extension to TEXT_EXTENSIONS",
            dataset=dataset,
        )
    if type_value == _NIFTI and detected is not None and detected != content.NIFTI:
        return _skipped(
            obj,
            SkipReason.NOT_MEDIA,
            f"{key}: named like a NIfTI volume but has no NIfTI header (magic 'n+1' at byte 344, or NIfTI-2's, "
            f"also inside gzip); its content is {content.describe(detected)}; re-export the volume",
            dataset=dataset,
        )
    # Text where media was expected (an HTML error page saved as .jpg) is no more media than a Word file is.
    if found is content.Verdict.NOT_MEDIA or (found is content.Verdict.TEXT and type_value != _TEXT):
        said = f"its extension says {type_value}, but " if type_value else ""
        return _skipped(
            obj,
            SkipReason.NOT_MEDIA,
            f"{key}: {said}its content is {content.describe(detected or '')}, not media Encord imports; nothing "
            "to import (give a text file the .txt extension to import it as text)",
            dataset=dataset,
        )
    # The content decides where it names a media type; then the extension; then S3's content type.
    by_content = content.media_type(detected) if found is content.Verdict.MEDIA and detected else None
    if by_content is not None:
        data_type: DataType | None = _DATA_TYPE_OF[by_content]
    elif type_value is not None:
        data_type = _DATA_TYPE_OF[type_value]
    else:
        data_type = type_from_content_type(obj.content_type)
    if data_type is None:
        shown = f" (content type {obj.content_type})" if obj.content_type else ""
        return _skipped(
            obj,
            SkipReason.UNKNOWN_TYPE,
            f"{key}: unknown file type{shown}; rename it with a supported extension "
            "(see docs/layout.md) or upload it with a video/, image/, audio/, text/ or application/pdf "
            "content type",
            dataset=dataset,
        )
    return Classified(obj=obj, role=Role.ITEM, dataset=dataset, data_type=data_type)
