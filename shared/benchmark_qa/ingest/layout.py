"""The bucket layout conventions that turn S3 keys into Encord import items (documented in docs/layout.md).

Every field can be overridden by an environment variable of the same name in upper case (Lambda) or by the
matching `benchmark-qa manifest` flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

_VIDEO = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".mpg", ".mpeg")
_IMAGE = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".avif", ".heic")
_AUDIO = (".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus")
_PDF = (".pdf",)
_TEXT = (".txt",)
# Data files beside the media (exports' indexes, tables, notes, office documents): never data units unless a
# media list above names their extension (e.g. TEXT_EXTENSIONS=[".txt",".md"] imports Markdown as text).
_DATA = (
    ".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".md", ".xml", ".yaml", ".yml", ".html", ".htm", ".log", ".ini",
    ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf", ".pages", ".numbers", ".key",
    ".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".db", ".ds_store", ".sqlite", ".parquet", ".exe",
)  # fmt: skip
_NIFTI = (".nii", ".nii.gz")
_DICOM = (".dcm", ".dicom")


class Layout(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    benchmark_prefix: str = Field("benchmark", description="first path segment of benchmark uploads")
    production_prefix: str = Field("production", description="first path segment of production uploads")
    image_groups_dir: str = "image-groups"
    image_sequences_dir: str = "image-sequences"
    dicom_dir: str = "dicom"
    sidecar_suffix: str = ".meta.json"
    group_sidecar_name: str = "_meta.json"
    group_ready_marker: str = Field("_READY", description="object that closes a multi-file item at once")
    group_quiet_seconds: int = Field(600, ge=0, description="a group with no upload for this long is closed")
    max_sidecar_bytes: int = Field(256 * 1024, gt=0)
    manifest_prefix: str = Field("manifests", description="where manifests are written; never ingested")
    skip_duplicate_urls: bool = True
    upsert_metadata: bool = False
    multi_region_access_point_arn: str | None = None
    require_ready_marker: bool = Field(False, description="batch scan: leave out groups that have no ready marker yet")
    # Extensions are matched case-insensitively against the end of the file name, longest first
    # (so `.nii.gz` wins over `.gz`).
    video_extensions: tuple[str, ...] = _VIDEO
    image_extensions: tuple[str, ...] = _IMAGE
    audio_extensions: tuple[str, ...] = _AUDIO
    pdf_extensions: tuple[str, ...] = _PDF
    text_extensions: tuple[str, ...] = _TEXT
    nifti_extensions: tuple[str, ...] = _NIFTI
    dicom_extensions: tuple[str, ...] = Field(
        _DICOM, description="only used to explain where a stray DICOM file belongs; series members need none"
    )
    data_extensions: tuple[str, ...] = Field(
        _DATA, description="data files skipped with their reason, unless a media list above names the extension"
    )
    dicom_directory_names: tuple[str, ...] = Field(
        ("DICOMDIR",), description="an export's index files, never series members (compared case-insensitively)"
    )
    check_content: bool = Field(
        True,
        description="read the first bytes of every file (one ranged GET) so the content, not only the extension, "
        "decides the type; false: only files whose extension is missing or unknown, and DICOM folders",
    )
    # Manifest size (docs/layout.md, "Manifest size"). Encord takes at most 500,000 items and 1,000,000 URLs per
    # import file; its Benchmark QA page recommends uploading up to 100 videos or 1,000 images at a time.
    manifest_batch_size: int = Field(1000, ge=1, le=500_000, description="entries (data units) per manifest")
    manifest_video_batch_size: int = Field(100, ge=1, le=500_000, description="videos per manifest")
    manifest_max_urls: int = Field(1_000_000, ge=1, le=1_000_000, description="object URLs per manifest")

    # extension (lower case, with dot) -> data type value; built once because classify() runs per object.
    _by_extension: dict[str, str] = PrivateAttr(default_factory=dict)
    _suffix_lengths: tuple[int, ...] = PrivateAttr(default=())
    # the same table by the part after the last dot, for extensions no longer extension ends in (most of them):
    # one dict lookup per name instead of one per extension length
    _by_last_dot: dict[str, str] = PrivateAttr(default_factory=dict)
    _inner_dot_tails: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator(
        "benchmark_prefix",
        "production_prefix",
        "image_groups_dir",
        "image_sequences_dir",
        "dicom_dir",
        "manifest_prefix",
    )
    @classmethod
    def _one_segment(cls, value: str) -> str:
        value = value.strip("/")
        if not value or "/" in value:
            raise ValueError("must be a single, non-empty path segment (no '/')")
        return value

    @field_validator(
        "video_extensions",
        "image_extensions",
        "audio_extensions",
        "pdf_extensions",
        "text_extensions",
        "nifti_extensions",
        "dicom_extensions",
        "data_extensions",
    )
    @classmethod
    def _dotted_lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in value)

    def model_post_init(self, context: Any, /) -> None:
        self._build_table()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose `update` is validated like any Layout's fields: pydantic's own copy skips validation
        and model_post_init, and with them the extension table."""
        if not update:
            return super().model_copy(deep=deep)
        return self.model_validate({**self.model_dump(), **update})

    def _build_table(self) -> None:
        table = {
            "video": self.video_extensions,
            "image": self.image_extensions,
            "audio": self.audio_extensions,
            "pdf": self.pdf_extensions,
            "text": self.text_extensions,
            "nifti": self.nifti_extensions,
        }
        by_extension: dict[str, str] = {}
        for data_type, extensions in table.items():
            for extension in extensions:
                if by_extension.setdefault(extension, data_type) != data_type:
                    raise ValueError(f"extension {extension} is listed for two data types")
        self._by_extension = by_extension
        self._suffix_lengths = tuple(sorted({len(e) for e in by_extension}, reverse=True))
        # `.gz` of `.nii.gz`: a name ending in it may match a longer extension, so it takes the longest-first search
        tails = frozenset(e[e.rfind(".") :] for e in by_extension if e.rfind(".") > 0)
        self._inner_dot_tails = tails
        self._by_last_dot = {e: t for e, t in by_extension.items() if e.rfind(".") == 0 and e not in tails}

    def extension_type(self, file_name: str) -> str | None:
        """The data type value (see `items.DataType`) for a file name, by its longest known extension."""
        # Read private state through the slot: pydantic's __getattr__ for private attributes is slow here.
        private = self.__pydantic_private__
        assert private is not None
        lowered = file_name.lower()
        dot = lowered.rfind(".")
        if dot < 0:
            return None  # every extension starts with a dot
        if dot > 0:  # the name is longer than its extension
            suffix = lowered[dot:]
            found: str | None = private["_by_last_dot"].get(suffix)
            if found is not None or suffix not in private["_inner_dot_tails"]:
                return found  # no longer extension ends in this suffix
        by_extension: dict[str, str] = private["_by_extension"]
        for length in private["_suffix_lengths"]:
            data_type = by_extension.get(lowered[-length:])
            if data_type is not None and len(lowered) > length:
                return data_type
        return None

    def is_dicom_name(self, file_name: str) -> bool:
        return file_name.lower().endswith(self.dicom_extensions)

    def is_data_file(self, file_name: str) -> bool:
        """A data file by extension (and no media list claims it): skipped, never a data unit."""
        return file_name.lower().endswith(self.data_extensions)

    def is_dicom_directory(self, file_name: str) -> bool:
        return file_name.upper() in {n.upper() for n in self.dicom_directory_names}
