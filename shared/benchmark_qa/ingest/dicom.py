"""DICOM series by their headers (docs/layout.md, "DICOM series").

A `dicom/<title>/` folder is a hint: the files in it that carry the `DICM` marker are grouped into series by
SeriesInstanceUID and ordered by InstanceNumber, then by ImagePositionPatient along the slice normal, then by
name. Only the header is read (ranged GETs of the first bytes, `read_header`), never the pixel data; pydicom
is imported on first use.

Title rule: a folder holding one series gives it the folder's title (or its `_meta.json` title). A folder
holding several gives each `<title> - <SeriesDescription>`, or `<title> - series <SeriesNumber>` when the
description is empty, or `<title> - <last 8 characters of the UID>` when both are empty; a title two series
would share gets the UID suffix too, so every title is unique and stable across runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from benchmark_qa.ingest.items import S3Object

# A header is read with growing ranged GETs until the tags below are in it (large private tags can push
# them past the first few KiB); past the last size the file is taken as having none.
HEADER_READS = (8192, 65536, 1024 * 1024)
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # the SOP class of a DICOMDIR
_TAGS = [
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "InstanceNumber",
    "ImagePositionPatient",
    "ImageOrientationPatient",
]


@dataclass(frozen=True)
class DicomHeader:
    series_uid: str | None
    series_number: int | None = None
    series_description: str | None = None
    instance_number: int | None = None
    position: tuple[float, float, float] | None = None
    orientation: tuple[float, float, float, float, float, float] | None = None
    is_directory: bool = False


class NotDicom(ValueError):
    """The bytes are not a readable DICOM Part 10 header; the message says why."""


def has_preamble(head: bytes) -> bool:
    return len(head) >= 132 and head[128:132] == b"DICM"


def parse_header(head: bytes) -> DicomHeader:
    """The series fields of a DICOM file from its first bytes. Raises NotDicom when it cannot be read."""
    if not has_preamble(head):
        raise NotDicom("no DICM marker after the 128-byte preamble")
    from pydicom import dcmread

    try:
        ds = dcmread(BytesIO(head), stop_before_pixels=True, specific_tags=_TAGS)
    except Exception as error:  # pydicom raises many types for damaged headers
        raise NotDicom(f"unreadable DICOM header ({type(error).__name__}: {error})") from None
    sop_class = str(ds.file_meta.get("MediaStorageSOPClassUID", "") or "")
    return DicomHeader(
        series_uid=_text(ds.get("SeriesInstanceUID")),
        series_number=_int(ds.get("SeriesNumber")),
        series_description=_text(ds.get("SeriesDescription")),
        instance_number=_int(ds.get("InstanceNumber")),
        position=_floats(ds.get("ImagePositionPatient"), 3),  # type: ignore[arg-type]
        orientation=_floats(ds.get("ImageOrientationPatient"), 6),  # type: ignore[arg-type]
        is_directory=sop_class == MEDIA_STORAGE_DIRECTORY,
    )


def read_header(key: str, size: int, read: Callable[[str, int], bytes]) -> DicomHeader:
    """Parse the header of `key` with as few ranged GETs as it takes (`read(key, n)`: the first n bytes)."""
    header = DicomHeader(series_uid=None)
    for limit in HEADER_READS:
        head = read(key, limit)
        header = parse_header(head)
        if header.series_uid is not None or header.is_directory or len(head) < limit or limit >= size:
            return header
    return header


@dataclass(frozen=True)
class Series:
    title: str
    uid: str
    members: list[S3Object]  # in series order


def group_series(folder_title: str, files: Iterable[tuple[S3Object, DicomHeader]]) -> list[Series]:
    """Files of one folder -> its series, titled by the rule above, each in instance order."""
    from benchmark_qa.ingest.manifest import natural_key

    by_uid: dict[str, list[tuple[S3Object, DicomHeader]]] = {}
    for obj, header in files:
        by_uid.setdefault(header.series_uid or "", []).append((obj, header))
    titles = _titles(folder_title, {uid: [h for _, h in members] for uid, members in by_uid.items()})
    series = []
    for uid, members in by_uid.items():
        normal = _normal(next((h.orientation for _, h in members if h.orientation), None))

        def order(pair: tuple[S3Object, DicomHeader], normal: Any = normal) -> tuple[Any, ...]:
            obj, header = pair
            instance = header.instance_number
            position = header.position
            along = sum(p * n for p, n in zip(position, normal, strict=True)) if position and normal else None
            return (instance is None, instance or 0, along is None, along or 0.0, natural_key(obj.key))

        series.append(Series(title=titles[uid], uid=uid, members=[o for o, _ in sorted(members, key=order)]))
    return sorted(series, key=lambda s: natural_key(s.title))


def _titles(folder_title: str, headers: dict[str, list[DicomHeader]]) -> dict[str, str]:
    if len(headers) == 1:
        return dict.fromkeys(headers, folder_title)
    wanted: dict[str, str] = {}
    for uid, members in headers.items():
        description = next((h.series_description for h in members if h.series_description), None)
        number = next((h.series_number for h in members if h.series_number is not None), None)
        if description:
            wanted[uid] = f"{folder_title} - {description}"
        elif number is not None:
            wanted[uid] = f"{folder_title} - series {number}"
        else:
            wanted[uid] = f"{folder_title} - {uid[-8:]}"
    counts: dict[str, int] = {}
    for title in wanted.values():
        counts[title] = counts.get(title, 0) + 1
    return {uid: (f"{title} [{uid[-8:]}]" if counts[title] > 1 else title) for uid, title in wanted.items()}


def _normal(orientation: tuple[float, ...] | None) -> tuple[float, float, float] | None:
    if orientation is None:
        return None
    r, c = orientation[:3], orientation[3:]
    return (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if value is not None and str(value).strip() else None
    except ValueError:
        return None


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    try:
        numbers = tuple(float(v) for v in value) if value is not None else ()
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == n else None
