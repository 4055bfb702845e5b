"""Encord's CSV import form ("Create CSV file for import" in
/work/shared/reference/seed-encord-benchmark-qa-docs.txt), written from and read back into `ImportManifest`.

The spec's rules, as implemented:
* A row whose first cell is `ObjectUrl` (any case) starts a header block; the other headings pick the type:
  `Video title`, `Image title`, `Image group title` (+ `Create video`), `Series title` (the docs' table; its
  prose also says `Dicom title`, which is read too). A lone `ObjectUrl` column means videos.
* Headings are case-insensitive. Rows sharing an image group title (and Create video value) form one image
  group or sequence; rows sharing a series title form one DICOM series, in row order.
* A blank image/video title means "use the file name" (JSON: no title). A blank Create video means true.
  A blank series title makes the file its own series titled by its file name.
* When the file holds an image sequence, every block gets a `Create video` column (false outside sequences).

CSV cannot carry clientMetadata, key frames, the *Metadata blocks, nor audio, PDF, text and NIfTI entries
(the spec defines no CSV headings for them); `csv_losses` lists what would be dropped, and `to_csv` refuses
to drop anything unless asked.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError

from benchmark_qa.ingest.manifest import ImportManifest

OBJECT_URL = "ObjectUrl"
VIDEO_TITLE = "Video title"
IMAGE_TITLE = "Image title"
GROUP_TITLE = "Image group title"
SERIES_TITLE = "Series title"
CREATE_VIDEO = "Create video"

_TITLE_HEADINGS = {
    "video title": "videos",
    "image title": "images",
    "image group title": "image_groups",
    "series title": "dicom_series",
    "dicom title": "dicom_series",
}


class CsvLossError(ValueError):
    def __init__(self, losses: list[str]) -> None:
        self.losses = losses
        super().__init__("the CSV form cannot carry: " + "; ".join(losses) + ". Use the JSON form, or allow the loss")


class CsvFormatError(ValueError):
    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        super().__init__(f"CSV line {line}: {problem}")


def _examples(urls: list[str]) -> str:
    shown = ", ".join(urls[:3])
    return f"{shown}, …" if len(urls) > 3 else shown


def csv_losses(manifest: ImportManifest) -> list[str]:
    losses: list[str] = []
    for name in ("audio", "pdf", "text", "nifti"):
        entries = getattr(manifest, name)
        if entries:
            urls = [e.object_url for e in entries]
            losses.append(f"{len(entries)} {name} entries (the spec has no CSV headings), e.g. {_examples(urls)}")
    singles: list[Any] = [*manifest.videos, *manifest.images]
    multis: list[Any] = [*manifest.image_groups, *manifest.dicom_series]
    with_metadata = [e.object_url for e in singles if e.client_metadata] + [
        e.title for e in multis if e.client_metadata
    ]
    if with_metadata:
        losses.append(f"clientMetadata of {len(with_metadata)} entries, e.g. {_examples(with_metadata)}")
    key_frames = [e.object_url for e in manifest.videos if e.key_frames is not None]
    if key_frames:
        losses.append(f"keyFrames of {len(key_frames)} videos, e.g. {_examples(key_frames)}")
    media = [e.object_url for e in manifest.videos if e.video_metadata] + [
        e.object_url for e in manifest.images if e.image_metadata
    ]
    if media:
        losses.append(f"videoMetadata/imageMetadata of {len(media)} entries, e.g. {_examples(media)}")
    for name, entries in (("image group", manifest.image_groups), ("DICOM series", manifest.dicom_series)):
        counts = Counter(e.title for e in entries)
        clashes = sorted(title for title, count in counts.items() if count > 1)
        if clashes:
            losses.append(f"{name} titles used twice would merge into one: {_examples(clashes)}")
    return losses


def manifest_to_csv(manifest: ImportManifest, *, allow_loss: bool = False) -> str:
    if not allow_loss:
        losses = csv_losses(manifest)
        if losses:
            raise CsvLossError(losses)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with_create_video = any(g.create_video for g in manifest.image_groups)
    extra = [CREATE_VIDEO] if with_create_video else []
    tail = ["false"] if with_create_video else []
    # Manifest order is kept so that JSON -> CSV -> JSON gives the same manifest.
    if manifest.image_groups:
        writer.writerow([OBJECT_URL, GROUP_TITLE, CREATE_VIDEO])
        for group in manifest.image_groups:
            flag = "true" if group.create_video else "false"
            writer.writerows([url, group.title, flag] for url in group.object_urls)
    if manifest.images:
        writer.writerow([OBJECT_URL, IMAGE_TITLE, *extra])
        writer.writerows([e.object_url, e.title or "", *tail] for e in manifest.images)
    if manifest.videos:
        writer.writerow([OBJECT_URL, VIDEO_TITLE, *extra])
        writer.writerows([e.object_url, e.title or "", *tail] for e in manifest.videos)
    if manifest.dicom_series:
        writer.writerow([OBJECT_URL, SERIES_TITLE, *extra])
        for series in manifest.dicom_series:
            writer.writerows([url, series.title, *tail] for url in series.object_urls)
    return buffer.getvalue()


def _flag(cell: str, line: int) -> bool:
    value = cell.strip().lower()
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    raise CsvFormatError(line, f"Create video must be true, false or blank, not '{cell}'")


def _file_title(url: str) -> str:
    return unquote(url.rsplit("/", 1)[-1]) or url


@dataclass(frozen=True)
class _Block:
    kind: str
    width: int
    title_at: int | None
    create_at: int | None


def _header(row: list[str], line: int) -> _Block:
    headings = [cell.strip().lower() for cell in row]
    known = {*_TITLE_HEADINGS, CREATE_VIDEO.lower(), ""}
    kinds = {_TITLE_HEADINGS[h] for h in headings[1:] if h in _TITLE_HEADINGS}
    if any(h not in known for h in headings[1:]) or len(kinds) > 1:
        raise CsvFormatError(line, f"unknown or conflicting headings {row}; expected ObjectUrl plus one title heading")
    return _Block(
        # A single ObjectUrl column means videos (the spec's backwards-compatible form).
        kind=kinds.pop() if kinds else "videos",
        width=len(headings),
        title_at=next((i for i, h in enumerate(headings) if h in _TITLE_HEADINGS), None),
        create_at=next((i for i, h in enumerate(headings) if h == CREATE_VIDEO.lower()), None),
    )


def _cell(row: list[str], at: int | None) -> str:
    return row[at] if at is not None and at < len(row) else ""


def manifest_from_csv(text: str, *, skip_duplicate_urls: bool = True, upsert_metadata: bool = False) -> ImportManifest:
    """Parse Encord's CSV form into the JSON model (the SDK only takes JSON)."""
    singles: dict[str, list[dict[str, Any]]] = {"videos": [], "images": []}
    # (title, createVideo) -> urls, in order of first appearance
    groups: dict[tuple[str, bool], list[str]] = {}
    series: dict[str, list[str]] = {}
    block: _Block | None = None
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if row[0].strip().lower() == OBJECT_URL.lower():
            block = _header(row, line)
            continue
        if block is None:
            raise CsvFormatError(line, "data row before any ObjectUrl header row")
        if any(cell.strip() for cell in row[block.width :]):
            raise CsvFormatError(line, f"more cells than the {block.width} headings")
        url = row[0].strip()
        if not url or any(c.isspace() for c in url):
            raise CsvFormatError(line, "ObjectUrl is empty or contains whitespace (percent-encode it)")
        title = _cell(row, block.title_at)
        create = _cell(row, block.create_at)
        if block.kind == "image_groups":
            if not title.strip():
                raise CsvFormatError(line, "Image group title is mandatory")
            groups.setdefault((title, _flag(create, line)), []).append(url)
        elif create.strip() and _flag(create, line):
            raise CsvFormatError(line, "Create video is true outside an image group block")
        elif block.kind == "dicom_series":
            series.setdefault(title or _file_title(url), []).append(url)
        else:
            singles[block.kind].append({"object_url": url, "title": title or None})
    data = {
        **singles,
        "image_groups": [
            {"title": title, "create_video": create, "object_urls": urls} for (title, create), urls in groups.items()
        ],
        "dicom_series": [{"title": title, "object_urls": urls} for title, urls in series.items()],
        "skip_duplicate_urls": skip_duplicate_urls,
        "upsert_metadata": upsert_metadata,
    }
    try:
        return ImportManifest.model_validate(data)
    except ValidationError as exc:
        raise CsvFormatError(0, f"rows do not form a valid manifest: {exc}") from exc
