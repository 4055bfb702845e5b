"""build_manifest and the JSON model of Encord's import spec, for every data type."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from benchmark_qa.ingest.items import Dataset, DataType, S3Object
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.manifest import (
    _LISTS,
    AudioEntry,
    ImageEntry,
    ImportManifest,
    MultiFileItem,
    PdfEntry,
    SingleItem,
    TextEntry,
    VideoEntry,
    build_manifest,
    checked,
    natural_key,
)
from benchmark_qa.ingest.sidecar import Sidecar, SidecarError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

LAYOUT = Layout()
BASE = "https://bkt.s3.eu-west-2.amazonaws.com/"


def o(key: str) -> S3Object:
    return S3Object(bucket="bkt", key=key, size=1)


def single(key: str, data_type: DataType, sidecar: Sidecar | None = None) -> SingleItem:
    return SingleItem(obj=o(key), dataset=Dataset.BENCHMARK, data_type=data_type, sidecar=sidecar)


def multi(title: str, data_type: DataType, keys: list[str], sidecar: Sidecar | None = None) -> MultiFileItem:
    return MultiFileItem(
        dataset=Dataset.BENCHMARK,
        data_type=data_type,
        title=title,
        members=[o(k) for k in keys],
        sidecar=sidecar,
    )


def test_every_data_type_lands_in_its_spec_list() -> None:
    items: list[SingleItem | MultiFileItem] = [
        single("b/v.mp4", DataType.VIDEO),
        single("b/i.png", DataType.IMAGE),
        single("b/a.mp3", DataType.AUDIO),
        single("b/d.pdf", DataType.PDF),
        single("b/t.txt", DataType.TEXT),
        single("b/n.nii.gz", DataType.NIFTI),
        multi("grp", DataType.IMAGE_GROUP, ["b/g/1.jpg", "b/g/2.jpg"]),
        multi("seq", DataType.IMAGE_SEQUENCE, ["b/s/1.jpg"]),
        multi("ser", DataType.DICOM_SERIES, ["b/d/1", "b/d/2"]),
    ]
    data = build_manifest(items, region="eu-west-2", layout=LAYOUT).to_dict()
    assert data == {
        "videos": [{"objectUrl": BASE + "b/v.mp4", "title": "v.mp4"}],
        "images": [{"objectUrl": BASE + "b/i.png", "title": "i.png"}],
        "audio": [{"objectUrl": BASE + "b/a.mp3", "title": "a.mp3"}],
        "pdf": [{"objectUrl": BASE + "b/d.pdf", "title": "d.pdf"}],
        "text": [{"objectUrl": BASE + "b/t.txt", "title": "t.txt"}],
        "nifti": [{"objectUrl": BASE + "b/n.nii.gz", "title": "n.nii.gz"}],
        "image_groups": [
            {
                "title": "grp",
                "createVideo": False,
                "objectUrl_0": BASE + "b/g/1.jpg",
                "objectUrl_1": BASE + "b/g/2.jpg",
            },
            {"title": "seq", "createVideo": True, "objectUrl_0": BASE + "b/s/1.jpg"},
        ],
        "dicom_series": [{"title": "ser", "objectUrl_0": BASE + "b/d/1", "objectUrl_1": BASE + "b/d/2"}],
        "skip_duplicate_urls": True,
        "upsert_metadata": False,
    }
    assert build_manifest(items, region="eu-west-2", layout=LAYOUT).entry_count == 9


def test_sidecar_fields_for_video_image_audio() -> None:
    video_meta = {"fps": 25, "duration": 4, "width": 2, "height": 2, "file_size": 9, "mime_type": "video/mp4"}
    video = Sidecar.model_validate(
        {"title": "Clip", "clientMetadata": {"k": "v"}, "keyFrames": [3, 1], "videoMetadata": video_meta}
    )
    image = Sidecar.model_validate(
        {"imageMetadata": {"mime_type": "image/png", "file_size": 1, "height": 2, "width": 3}}
    )
    audio_meta = {
        "duration": 1.5,
        "file_size": 4,
        "mime_type": "audio/mpeg",
        "sample_rate": 8000,
        "bit_depth": 8,
        "codec": "mp3",
        "num_channels": 1,
    }
    audio = Sidecar.model_validate({"audioMetadata": audio_meta, "clientMetadata": {}})
    manifest = build_manifest(
        [
            single("b/v.mp4", DataType.VIDEO, video),
            single("b/i.png", DataType.IMAGE, image),
            single("b/a.mp3", DataType.AUDIO, audio),
        ],
        region="eu-west-2",
        layout=LAYOUT,
    ).to_dict()
    assert manifest["videos"] == [
        {
            "objectUrl": BASE + "b/v.mp4",
            "title": "Clip",
            "clientMetadata": {"k": "v"},
            "keyFrames": [1, 3],
            "videoMetadata": {**video_meta, "fps": 25.0, "duration": 4.0},
        }
    ]
    assert manifest["images"][0]["imageMetadata"] == {
        "mime_type": "image/png",
        "file_size": 1,
        "height": 2,
        "width": 3,
    }
    # an empty clientMetadata is left out rather than written as {}
    assert manifest["audio"] == [
        {"objectUrl": BASE + "b/a.mp3", "title": "a.mp3", "audioMetadata": {**audio_meta, "duration": 1.5}}
    ]


def test_group_sidecar_gives_title_and_client_metadata() -> None:
    sidecar = Sidecar.model_validate({"title": "Cats", "clientMetadata": {"split": "val"}})
    entry = build_manifest(
        [multi("cats-folder", DataType.IMAGE_SEQUENCE, ["b/1.jpg"], sidecar)],
        region="eu-west-2",
        layout=LAYOUT,
    ).to_dict()["image_groups"][0]
    assert entry == {
        "title": "Cats",
        "createVideo": True,
        "clientMetadata": {"split": "val"},
        "objectUrl_0": BASE + "b/1.jpg",
    }


def test_sidecar_that_does_not_fit_raises() -> None:
    with pytest.raises(SidecarError, match="keyFrames"):
        build_manifest(
            [multi("g", DataType.IMAGE_GROUP, ["b/1.jpg"], Sidecar.model_validate({"keyFrames": [1]}))],
            region="eu-west-2",
            layout=LAYOUT,
        )


def test_members_in_natural_order() -> None:
    keys = ["d/s/file10.dcm", "d/s/file2.dcm", "d/s/File1.dcm", "d/s/file02.dcm", "d/s/file1b.dcm"]
    entry = build_manifest([multi("s", DataType.DICOM_SERIES, keys)], region="eu-west-2", layout=LAYOUT)
    urls = entry.dicom_series[0].object_urls
    assert [u.rsplit("/", 1)[1] for u in urls] == [
        "File1.dcm",
        "file1b.dcm",
        "file02.dcm",
        "file2.dcm",
        "file10.dcm",
    ]


def test_natural_key_is_total_and_numeric() -> None:
    names = ["a10", "a9", "a09", "b", "A1", "a", "10", "9"]
    assert sorted(names, key=natural_key) == ["9", "10", "a", "A1", "a09", "a9", "a10", "b"]


def test_mrap_and_flags_from_layout() -> None:
    layout = Layout(
        multi_region_access_point_arn="arn:aws:s3::123123123:accesspoint/frf28frarf9.mrap",
        skip_duplicate_urls=False,
        upsert_metadata=True,
    )
    data = build_manifest(
        [single("Videos/2022/video_1.mp4", DataType.VIDEO)], region="eu-west-2", layout=layout
    ).to_dict()
    assert data["videos"][0]["objectUrl"] == (
        "https://arn:aws:s3::123123123:accesspoint/frf28frarf9.mrap.s3-accesspoint.amazonaws.com/Videos/2022/video_1.mp4"
    )
    assert (data["skip_duplicate_urls"], data["upsert_metadata"]) == (False, True)


def test_item_models_reject_the_wrong_kind() -> None:
    with pytest.raises(ValidationError, match="multi-file"):
        single("b/x.jpg", DataType.IMAGE_GROUP)
    with pytest.raises(ValidationError, match="single-file"):
        multi("t", DataType.VIDEO, ["b/x.mp4"])
    with pytest.raises(ValidationError):
        multi("t", DataType.IMAGE_GROUP, [])


DOCS_EXAMPLE = """{
  "images": [{"objectUrl": "https://encord-integration.s3.eu-west-2.amazonaws.com/images/Image1.png"}],
  "videos": [
    {"objectUrl": "https://encord-integration.s3.eu-west-2.amazonaws.com/videos/Cooking.mp4"},
    {"objectUrl": "https://arn:aws:s3::123123123:accesspoint/frf28frarf9.mrap.s3-accesspoint.amazonaws.com/v.mp4",
     "title": "many-cute-cats.mp4", "clientMetadata": {"optional": "metadata"}}
  ],
  "image_groups": [
    {"title": "apple-samsung-light", "createVideo": true,
     "objectUrl_0": "https://encord-integration.s3.eu-west-2.amazonaws.com/images/1+(32).jpg",
     "objectUrl_1": "https://encord-integration.s3.eu-west-2.amazonaws.com/images/1+(33).jpg"}
  ],
  "dicom_series": [
    {"title": "Series-1",
     "objectUrl_0": "https://encord-integration.s3.eu-west-2.amazonaws.com/images/study1-series1-file.dcm"}
  ],
  "nifti": [{"title": "<file-1>", "objectUrl": "https://my-bucket/.../nifti-file1.nii"}],
  "skip_duplicate_urls": true
}"""


def test_docs_examples_validate_and_serialise_back() -> None:
    manifest = ImportManifest.model_validate_json(DOCS_EXAMPLE)
    assert manifest.entry_count == 6
    assert manifest.image_groups[0].object_urls[1].endswith("1+(33).jpg")
    again = ImportManifest.model_validate(orjson.loads(manifest.to_json_bytes()))
    assert again == manifest
    assert orjson.loads(manifest.to_json_bytes()) == manifest.to_dict()


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(metadata=st.lists(st.dictionaries(st.text(max_size=8), _JSON_VALUES, max_size=4), min_size=1, max_size=6))
def test_json_bytes_are_orjson_of_the_dict(metadata: list[dict[str, object]]) -> None:
    """to_json_bytes() writes straight from the models (S3's manifest); to_dict() is what registration sends: the
    same document, byte for byte, compact and indented, whatever a sidecar's metadata holds."""
    manifest = ImportManifest.model_validate_json(DOCS_EXAMPLE)
    entries: list[Any] = [entry for name in _LISTS for entry in getattr(manifest, name)]
    assert len(entries) == 6
    for entry, meta in zip(entries, metadata, strict=False):
        entry.client_metadata = meta
    assert manifest.to_json_bytes() == orjson.dumps(manifest.to_dict())
    assert manifest.to_json_bytes(indent=True) == orjson.dumps(manifest.to_dict(), option=orjson.OPT_INDENT_2)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"videos": [{"objectUrl": "https://b/a b.mp4"}]}, "no whitespace"),
        (
            {"image_groups": [{"title": "t", "createVideo": False, "objectUrl_1": "https://b/x"}]},
            "without gaps",
        ),
        ({"image_groups": [{"title": "t", "createVideo": False}]}, "at least 1 item"),
        ({"dicom_series": [{"objectUrl_0": "https://b/x"}]}, "title"),
        ({"videos": [{"objectUrl": "https://b/x", "colour": "red"}]}, "Extra inputs"),
        ({"scenes": []}, "Extra inputs"),
    ],
)
def test_invalid_manifests_are_refused(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        ImportManifest.model_validate(data)


def test_batches_keep_every_limit_and_the_order() -> None:
    from benchmark_qa.ingest.manifest import batches

    layout = Layout(manifest_batch_size=3, manifest_video_batch_size=1, manifest_max_urls=5)
    sizes = [(False, 1), (True, 1), (True, 1), (False, 4), (False, 1), (False, 1), (False, 1)]
    # a second video starts a part; then the URL limit (1 + 4 URLs fill it); then three entries
    assert list(batches(sizes, layout)) == [(0, 2), (2, 4), (4, 7)]
    with pytest.raises(ValueError, match="over the 5 URLs"):
        list(batches([(False, 6)], layout))
    assert list(batches([], layout)) == []


def test_split_parts_hold_every_entry_once() -> None:
    from benchmark_qa.ingest.items import Dataset, DataType, S3Object
    from benchmark_qa.ingest.manifest import SingleItem, build_manifest

    items = [
        SingleItem(obj=S3Object(bucket="b", key=f"benchmark/{n}.{ext}", size=1), dataset=Dataset.BENCHMARK, data_type=t)
        for n in range(7)
        for ext, t in (("jpg", DataType.IMAGE), ("mp4", DataType.VIDEO))
    ]
    layout = Layout(manifest_batch_size=4, manifest_video_batch_size=2)
    manifest = build_manifest(items, region="eu-west-2", layout=layout)
    parts = manifest.split(layout)
    assert sorted(u for p in parts for u in p.object_urls()) == sorted(manifest.object_urls())
    assert all(p.entry_count <= 4 and len(p.videos) <= 2 for p in parts)
    assert all(p.skip_duplicate_urls == manifest.skip_duplicate_urls for p in parts)


def test_files_of_one_name_in_two_folders_are_titled_by_their_keys() -> None:
    from benchmark_qa.ingest.items import Dataset, DataType, S3Object
    from benchmark_qa.ingest.manifest import SingleItem, build_manifest

    keys = ["production/a/frame.jpg", "production/b/frame.jpg", "production/c/other.jpg"]
    items = [
        SingleItem(obj=S3Object(bucket="b", key=k, size=1), dataset=Dataset.PRODUCTION, data_type=DataType.IMAGE)
        for k in keys
    ]
    manifest = build_manifest(items, region="eu-west-2", layout=Layout())
    assert [i.title for i in manifest.images] == ["a/frame.jpg", "b/frame.jpg", "other.jpg"]


@pytest.mark.parametrize("data_type", [DataType.VIDEO, DataType.IMAGE, DataType.AUDIO, DataType.PDF, DataType.TEXT])
def test_checked_models_equal_validated_ones(data_type: DataType) -> None:
    """build_manifest and scan build entries and items from checked values without validating them again: the
    result must be the model validation gives, field for field, in its dump and in the fields it counts as set."""
    entries: dict[DataType, type[BaseModel]] = {
        DataType.VIDEO: VideoEntry,
        DataType.IMAGE: ImageEntry,
        DataType.AUDIO: AudioEntry,
        DataType.PDF: PdfEntry,
        DataType.TEXT: TextEntry,
    }
    cls = entries[data_type]
    values = {"object_url": BASE + "a/b.x", "title": "b.x"}
    fast, slow = checked(cls, **values), cls(**values)
    assert fast == slow
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump(by_alias=True) == slow.model_dump(by_alias=True)
    item = {"obj": o("a/b.x"), "dataset": Dataset.BENCHMARK, "data_type": data_type, "sidecar": None}
    assert checked(SingleItem, **item) == SingleItem(**item)
    assert checked(SingleItem, **item).model_fields_set == SingleItem(**item).model_fields_set


def test_checked_refuses_models_with_default_factories() -> None:
    with pytest.raises(TypeError, match="default factory"):
        checked(ImportManifest)


def test_an_entry_that_fails_its_checks_is_validated_and_refused() -> None:
    """The unvalidated path is taken only for values that pass the model's own checks: anything else still gets
    the model's error."""
    with pytest.raises(ValidationError, match="no whitespace"):
        build_manifest(
            [single("a/b.mp4", DataType.VIDEO)], region="eu-west-2", layout=LAYOUT, urls=lambda _o: "https://x/a b"
        )
    with pytest.raises(ValidationError, match="at least 1 character"):
        build_manifest([single("a/", DataType.VIDEO)], region="eu-west-2", layout=LAYOUT)
