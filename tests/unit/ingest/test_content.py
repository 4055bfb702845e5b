"""File types by their first bytes (benchmark_qa.ingest.content) and what classify makes of them."""

from __future__ import annotations

import gzip

import pytest
from benchmark_qa.ingest import content
from benchmark_qa.ingest.items import DataType, Role, S3Object, SkipReason, classify, needs_content
from benchmark_qa.ingest.layout import Layout
from benchmark_qa_local import samples

LAYOUT = Layout()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (samples.jpeg(), "image/jpeg"),
        (samples.png(), "image/png"),
        (samples.mp4(), "video/mp4"),
        (samples.wav(), "audio/x-wav"),
        (samples.pdf(), "application/pdf"),
        (samples.nifti(), content.NIFTI),
        (samples.nifti(compressed=False), content.NIFTI),
        (b"\x1c\x02\x00\x00n+2\x00\r\n\x1a\n" + b"\x00" * 600, content.NIFTI),
        (samples.dicom("1.2.3", 1), content.DICOM),
        (samples.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, content.OLE),
        (gzip.compress(b"just text", mtime=0), "application/gzip"),
        (b'{"a": "caf\xc3', content.TEXT),  # a character cut by the end of the range is still text
        (b"\x00\x01\x02", content.UNKNOWN),
        (b"", content.UNKNOWN),
    ],
)
def test_detect(head: bytes, expected: str) -> None:
    assert content.detect(head) == expected


def obj(key: str, detected: str | None, size: int = 10) -> S3Object:
    return S3Object(bucket="b", key=key, size=size, detected_type=detected)


@pytest.mark.parametrize(
    ("key", "detected", "data_type"),
    [
        ("benchmark/a.jpg", "image/png", DataType.IMAGE),
        ("benchmark/a.jpg", "video/mp4", DataType.VIDEO),  # the content names a media type: it decides
        ("benchmark/a.mp4", content.UNKNOWN, DataType.VIDEO),  # nothing recognised it: the extension decides
        ("benchmark/IMG_1", "image/jpeg", DataType.IMAGE),
        ("benchmark/vol", content.NIFTI, DataType.NIFTI),
        ("benchmark/a.txt", content.TEXT, DataType.TEXT),
        ("benchmark/a.nii", content.NIFTI, DataType.NIFTI),
    ],
)
def test_content_types_an_item(key: str, detected: str, data_type: DataType) -> None:
    c = classify(obj(key, detected), LAYOUT)
    assert (c.role, c.data_type) == (Role.ITEM, data_type)


@pytest.mark.parametrize(
    ("key", "detected", "skip", "phrase"),
    [
        ("benchmark/a.mp4", "application/zip", SkipReason.NOT_MEDIA, "its extension says video, but its content is"),
        ("benchmark/notes", content.TEXT, SkipReason.NOT_MEDIA, ".txt extension"),
        ("benchmark/photo.jpg", content.TEXT, SkipReason.NOT_MEDIA, "says image, but its content is text"),
        ("benchmark/a.png", content.DICOM, SkipReason.MISPLACED, "dicom/<series title>/a.png"),
        ("benchmark/a.nii.gz", content.TEXT, SkipReason.NOT_MEDIA, "no NIfTI header"),
        ("benchmark/a.nii", content.UNKNOWN, SkipReason.NOT_MEDIA, "no NIfTI header"),
        ("benchmark/labels.json", None, SkipReason.DATA_FILE, "TEXT_EXTENSIONS"),
        ("benchmark/b.XLSX", None, SkipReason.DATA_FILE, "data file"),
        ("benchmark/image-groups/g/t.jpg", "application/pdf", SkipReason.WRONG_GROUP_MEMBER, "content is"),
        ("benchmark/dicom/s/DICOMDIR", None, SkipReason.DICOM_DIRECTORY, "index"),
        ("benchmark/dicom/s/thumb.jpg", "image/jpeg", SkipReason.NOT_DICOM, "no DICM marker"),
    ],
)
def test_content_or_extension_sets_a_file_aside(key: str, detected: str | None, skip: SkipReason, phrase: str) -> None:
    c = classify(obj(key, detected), LAYOUT)
    assert (c.role, c.skip) == (Role.SKIPPED, skip)
    assert c.reason is not None
    assert c.reason.startswith(key)
    assert phrase in c.reason


def test_a_media_list_can_claim_a_data_extension() -> None:
    layout = Layout(text_extensions=(".txt", ".md"))
    c = classify(obj("benchmark/README.md", content.TEXT), layout)
    assert (c.role, c.data_type) == (Role.ITEM, DataType.TEXT)


def test_which_files_are_read() -> None:
    trusting = Layout(check_content=False)
    member = classify(obj("benchmark/dicom/s/IM1", None), LAYOUT)
    assert member.role is Role.GROUP_MEMBER  # until its content is read
    assert needs_content(member, LAYOUT)
    assert needs_content(member, trusting)  # DICOM folders are always read: the header decides the series
    image = classify(obj("benchmark/a.jpg", None), LAYOUT)
    assert needs_content(image, LAYOUT)
    assert not needs_content(image, trusting)
    unknown = classify(obj("benchmark/a.raw", None), LAYOUT)
    assert needs_content(unknown, trusting)
    for key in ("benchmark/a.json", "benchmark/a.jpg.meta.json", "benchmark/image-groups/g/_READY"):
        assert not needs_content(classify(obj(key, None), LAYOUT), LAYOUT)
    assert not needs_content(classify(obj("benchmark/a.jpg", None, size=0), LAYOUT), LAYOUT)
    assert not needs_content(classify(obj("benchmark/a.jpg", "image/png"), LAYOUT), LAYOUT)  # read already
