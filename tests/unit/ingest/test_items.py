"""classify(): the bucket layout conventions, object by object."""

from __future__ import annotations

import pytest
from benchmark_qa.ingest.items import Dataset, DataType, Role, S3Object, SkipReason, classify
from benchmark_qa.ingest.layout import Layout

LAYOUT = Layout()


def obj(key: str, size: int = 10, content_type: str | None = None) -> S3Object:
    return S3Object(bucket="bkt", key=key, size=size, etag="e1", content_type=content_type)


@pytest.mark.parametrize(
    ("key", "dataset", "data_type"),
    [
        ("benchmark/videos/a.mp4", Dataset.BENCHMARK, DataType.VIDEO),
        ("benchmark/a.MOV", Dataset.BENCHMARK, DataType.VIDEO),
        ("production/img/x.JPEG", Dataset.PRODUCTION, DataType.IMAGE),
        ("production/sound.wav", Dataset.PRODUCTION, DataType.AUDIO),
        ("production/doc.Pdf", Dataset.PRODUCTION, DataType.PDF),
        ("production/notes.txt", Dataset.PRODUCTION, DataType.TEXT),
        ("production/brain.nii", Dataset.PRODUCTION, DataType.NIFTI),
        ("production/brain.NII.GZ", Dataset.PRODUCTION, DataType.NIFTI),
    ],
)
def test_single_items_are_typed_by_extension_case_insensitively(
    key: str, dataset: Dataset, data_type: DataType
) -> None:
    c = classify(obj(key), LAYOUT)
    assert (c.role, c.dataset, c.data_type) == (Role.ITEM, dataset, data_type)
    assert c.group_id is None
    assert c.reason is None


def test_content_type_is_the_fallback_for_unknown_extensions() -> None:
    c = classify(obj("benchmark/clip.bin", content_type="video/mp4"), LAYOUT)
    assert (c.role, c.data_type) == (Role.ITEM, DataType.VIDEO)
    assert classify(obj("benchmark/x", content_type="application/pdf"), LAYOUT).data_type is DataType.PDF
    # the extension wins over a generic content type
    assert classify(obj("benchmark/a.png", content_type="binary/octet-stream"), LAYOUT).data_type is DataType.IMAGE


@pytest.mark.parametrize(
    ("key", "data_type"),
    [
        ("benchmark/image-groups/cats/1.jpg", DataType.IMAGE_GROUP),
        ("benchmark/image-sequences/run/frame_001.png", DataType.IMAGE_SEQUENCE),
        ("production/dicom/series A/IM0001", DataType.DICOM_SERIES),
        ("production/dicom/series A/sub/IM0002.dcm", DataType.DICOM_SERIES),
    ],
)
def test_group_members(key: str, data_type: DataType) -> None:
    c = classify(obj(key), LAYOUT)
    assert c.role is Role.GROUP_MEMBER
    assert c.data_type is data_type
    assert c.data_type.multi_file
    assert c.group_title == key.split("/")[2]
    assert c.group_id == f"{c.dataset}/{data_type.value}/{c.group_title}"
    assert c.group_folder == "/".join(key.split("/")[:3]) + "/"  # the title folder, even from a sub-folder


def test_group_sidecar_ready_marker_and_member_sidecar() -> None:
    side = classify(obj("benchmark/image-groups/cats/_meta.json"), LAYOUT)
    ready = classify(obj("benchmark/image-groups/cats/_READY", size=0), LAYOUT)
    member_side = classify(obj("benchmark/image-groups/cats/1.jpg.meta.json"), LAYOUT)
    assert side.role is Role.GROUP_SIDECAR
    assert ready.role is Role.READY_MARKER
    assert member_side.role is Role.SIDECAR
    assert member_side.described_key == "benchmark/image-groups/cats/1.jpg"
    assert side.group_id == ready.group_id == member_side.group_id == "benchmark/image_group/cats"
    assert side.group_folder == ready.group_folder == member_side.group_folder == "benchmark/image-groups/cats/"
    assert classify(obj("benchmark/cat.jpg"), LAYOUT).group_folder is None


def test_single_sidecar_names_the_described_key() -> None:
    c = classify(obj("benchmark/v/a b.mp4.meta.json"), LAYOUT)
    assert c.role is Role.SIDECAR
    assert c.described_key == "benchmark/v/a b.mp4"
    assert c.data_type is None


def test_data_type_multi_file_property() -> None:
    assert {t for t in DataType if t.multi_file} == {
        DataType.IMAGE_GROUP,
        DataType.IMAGE_SEQUENCE,
        DataType.DICOM_SERIES,
    }


@pytest.mark.parametrize(
    ("key", "size", "skip", "hint"),
    [
        ("benchmark/videos/", 0, SkipReason.FOLDER_PLACEHOLDER, "folder placeholder"),
        ("manifests/benchmark/m.json", 5, SkipReason.MANIFEST_PREFIX, "never ingested"),
        ("staging/a.mp4", 5, SkipReason.UNKNOWN_DATASET, "move the object under 'benchmark/'"),
        ("benchmark", 5, SkipReason.MISPLACED, "put files below"),
        ("benchmark/a.mp4", 0, SkipReason.ZERO_BYTES, "re-upload"),
        ("benchmark/a.xyz", 5, SkipReason.UNKNOWN_TYPE, "supported extension"),
        ("benchmark/.DS_Store", 5, SkipReason.DATA_FILE, "data file"),
        ("benchmark/image-groups/a.jpg", 5, SkipReason.NO_GROUP_TITLE, "image-groups/<title>/a.jpg"),
        ("benchmark/image-groups", 5, SkipReason.NO_GROUP_TITLE, "title"),
        ("benchmark/image-groups//a.jpg", 5, SkipReason.NO_GROUP_TITLE, "empty group title"),
        ("benchmark/image-groups/g/notes.txt", 5, SkipReason.WRONG_GROUP_MEMBER, "images only"),
        ("benchmark/image-sequences/g/a.jpg", 0, SkipReason.ZERO_BYTES, "re-upload"),
        ("benchmark/_meta.json", 5, SkipReason.MISPLACED, "group folder"),
        ("benchmark/x/_READY", 0, SkipReason.MISPLACED, "group folder"),
        ("benchmark/scan.dcm", 5, SkipReason.MISPLACED, "dicom/<series title>/scan.dcm"),
    ],
)
def test_bad_input_is_skipped_with_a_reason_naming_the_key(key: str, size: int, skip: SkipReason, hint: str) -> None:
    c = classify(obj(key, size), LAYOUT)
    assert c.role is Role.SKIPPED
    assert c.skip is skip
    assert c.reason is not None
    assert c.reason.startswith(key)
    assert hint in c.reason


def test_layout_is_configurable() -> None:
    layout = Layout(
        benchmark_prefix="gold",
        production_prefix="prod/",
        image_groups_dir="groups",
        video_extensions=("MP4", ".webm"),
        manifest_prefix="out",
    )
    assert classify(obj("gold/groups/t/a.png"), layout).data_type is DataType.IMAGE_GROUP
    assert classify(obj("prod/a.webm"), layout).dataset is Dataset.PRODUCTION
    assert classify(obj("prod/a.mov"), layout).skip is SkipReason.UNKNOWN_TYPE
    assert classify(obj("benchmark/a.mp4"), layout).skip is SkipReason.UNKNOWN_DATASET
    assert classify(obj("out/x.json"), layout).skip is SkipReason.MANIFEST_PREFIX


def test_layout_copy_with_new_extensions_takes_effect() -> None:
    copied = LAYOUT.model_copy(update={"audio_extensions": (".mp4",), "video_extensions": (".mov",)})
    assert classify(obj("benchmark/a.mp4"), copied).data_type is DataType.AUDIO
    # The update is validated like the constructor's arguments.
    assert LAYOUT.model_copy(update={"pdf_extensions": ("PDFX",)}).extension_type("a.pdfx") == "pdf"
    with pytest.raises(ValueError, match="two data types"):
        LAYOUT.model_copy(update={"audio_extensions": (".mp4",)})


def test_layout_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="single, non-empty path segment"):
        Layout(benchmark_prefix="a/b")
    with pytest.raises(ValueError, match="two data types"):
        Layout(audio_extensions=(".mp4",))


def _longest_extension_first(layout: Layout, name: str) -> str | None:
    """The rule extension_type documents, written plainly: the longest listed extension the name ends in and is
    longer than."""
    table = {
        e: t
        for t, es in (
            ("video", layout.video_extensions),
            ("image", layout.image_extensions),
            ("audio", layout.audio_extensions),
            ("pdf", layout.pdf_extensions),
            ("text", layout.text_extensions),
            ("nifti", layout.nifti_extensions),
        )
        for e in es
    }
    lowered = name.lower()
    found = [e for e in table if lowered.endswith(e) and len(lowered) > len(e)]
    return table[max(found, key=len)] if found else None


@pytest.mark.parametrize(
    "layout",
    [
        LAYOUT,
        Layout(text_extensions=(".txt", ".gz"), image_extensions=(".jpg", ".a.b.c", ".b.c")),
        Layout(video_extensions=(".mp4", "."), nifti_extensions=(".nii.gz", ".x.")),
    ],
)
def test_extension_type_takes_the_longest_listed_extension(layout: Layout) -> None:
    names = [
        "a.mp4", ".mp4", "A.MP4", "mp4", "a.b.mp4", "x.nii.gz", ".nii.gz", "nii.gz", "x.NII.GZ", "x.gz", ".gz",
        "a.tar.gz", "x.nii", "a.", "a..", ".", "", "a.a.b.c", ".a.b.c", "a.b.c", "b.c", "x.c", "x.x.", "a.jpg.txt",
        "İ.jpg", "a.jpg ", "no-extension", "a.JpEg", "a.mp4.",
    ]  # fmt: skip
    for name in names:
        assert layout.extension_type(name) == _longest_extension_first(layout, name), name
