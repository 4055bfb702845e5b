"""Encord's CSV form: header blocks per data type, titles grouping files, case-insensitive reading."""

from __future__ import annotations

import pytest
from benchmark_qa.ingest.csv_form import CsvFormatError, CsvLossError
from benchmark_qa.ingest.items import Dataset, DataType, S3Object
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.manifest import ImportManifest, MultiFileItem, SingleItem, build_manifest, object_url
from benchmark_qa.ingest.sidecar import Sidecar
from hypothesis import given
from hypothesis import strategies as st

LAYOUT = Layout()
U = "https://b.s3.eu-west-2.amazonaws.com/"


def csv_manifest() -> ImportManifest:
    def o(key: str) -> S3Object:
        return S3Object(bucket="b", key=key, size=1)

    items: list[SingleItem | MultiFileItem] = [
        SingleItem(obj=o("p/v 1.mp4"), dataset=Dataset.PRODUCTION, data_type=DataType.VIDEO),
        SingleItem(
            obj=o("p/i,1.png"),
            dataset=Dataset.PRODUCTION,
            data_type=DataType.IMAGE,
            sidecar=Sidecar(title='Image "one", first'),
        ),
        MultiFileItem(
            dataset=Dataset.PRODUCTION,
            data_type=DataType.IMAGE_GROUP,
            title="Group 1",
            members=[o("g/2.jpg"), o("g/10.jpg")],
        ),
        MultiFileItem(
            dataset=Dataset.PRODUCTION,
            data_type=DataType.IMAGE_SEQUENCE,
            title="Seq 1",
            members=[o("s/1.jpg")],
        ),
        MultiFileItem(
            dataset=Dataset.PRODUCTION,
            data_type=DataType.DICOM_SERIES,
            title="dicom series 1",
            members=[o("d/1"), o("d/2")],
        ),
    ]
    return build_manifest(items, region="eu-west-2", layout=LAYOUT)


def test_header_blocks_and_grouping_rows() -> None:
    text = csv_manifest().to_csv()
    assert text.splitlines() == [
        "ObjectUrl,Image group title,Create video",
        f"{U}g/2.jpg,Group 1,false",
        f"{U}g/10.jpg,Group 1,false",
        f"{U}s/1.jpg,Seq 1,true",
        "ObjectUrl,Image title,Create video",
        f'{U}p/i%2C1.png,"Image ""one"", first",false',
        "ObjectUrl,Video title,Create video",
        f"{U}p/v%201.mp4,v 1.mp4,false",
        "ObjectUrl,Series title,Create video",
        f"{U}d/1,dicom series 1,false",
        f"{U}d/2,dicom series 1,false",
    ]


def test_no_create_video_column_without_sequences() -> None:
    manifest = ImportManifest.model_validate({"images": [{"objectUrl": U + "a.png"}]})
    assert manifest.to_csv().splitlines() == ["ObjectUrl,Image title", f"{U}a.png,"]


def test_round_trip_json_csv_json() -> None:
    manifest = csv_manifest()
    assert ImportManifest.from_csv(manifest.to_csv()) == manifest


@given(
    titles=st.lists(
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).filter(str.strip),
        min_size=1,
        max_size=5,
        unique=True,
    ),
    keys=st.lists(st.text(st.characters(codec="utf-8"), min_size=1, max_size=30), min_size=1, max_size=4),
)
def test_round_trip_with_arbitrary_titles_and_keys(titles: list[str], keys: list[str]) -> None:
    urls = [object_url("b", k, "us-east-1") for k in keys]
    manifest = ImportManifest.model_validate(
        {
            "image_groups": [
                {"title": t, "createVideo": i % 2 == 0, "object_urls": urls} for i, t in enumerate(titles)
            ],
            "videos": [{"objectUrl": u, "title": titles[0]} for u in urls],
        }
    )
    assert ImportManifest.from_csv(manifest.to_csv()) == manifest


def test_reading_is_case_insensitive_and_follows_the_docs_defaults() -> None:
    text = (
        "\ufeffOBJECTURL , image GROUP title,CREATE VIDEO\r\n"
        "https://x/1.jpg,Sequence 1,\r\n"
        "https://x/2.jpg,Sequence 1,TRUE\r\n"
        "https://x/3.jpg,Group 1,False\r\n"
        "\r\n"
        "objecturl,video title\r\n"
        "https://x/v.mp4,\r\n"
        "ObjectUrl,Dicom Title\r\n"
        "https://x/d/one.dcm,\r\n"
        "https://x/d/a,S\r\n"
        "https://x/d/b,S\r\n"
        "ObjectUrl\r\n"
        "https://x/legacy.mp4\r\n"
    )
    manifest = ImportManifest.from_csv(text, skip_duplicate_urls=False)
    assert [(g.title, g.create_video, len(g.object_urls)) for g in manifest.image_groups] == [
        ("Sequence 1", True, 2),
        ("Group 1", False, 1),
    ]
    assert [(v.object_url, v.title) for v in manifest.videos] == [
        ("https://x/v.mp4", None),
        ("https://x/legacy.mp4", None),
    ]
    # a blank series title makes the file its own series, titled by the file name
    assert [(s.title, s.object_urls) for s in manifest.dicom_series] == [
        ("one.dcm", ["https://x/d/one.dcm"]),
        ("S", ["https://x/d/a", "https://x/d/b"]),
    ]
    assert manifest.skip_duplicate_urls is False


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("https://x/a.jpg,T\n", "line 1: data row before any ObjectUrl header"),
        ("ObjectUrl,Colour\nhttps://x/a,red\n", "line 1: unknown or conflicting headings"),
        ("ObjectUrl,Image title,Video title\n", "conflicting"),
        (
            "ObjectUrl,Image group title,Create video\nhttps://x/a.jpg,,true\n",
            "line 2: Image group title is mandatory",
        ),
        (
            "ObjectUrl,Image group title,Create video\nhttps://x/a.jpg,G,maybe\n",
            "line 2: Create video must be",
        ),
        (
            "ObjectUrl,Image title,Create video\nhttps://x/a.jpg,I,true\n",
            "line 2: Create video is true outside",
        ),
        ("ObjectUrl,Image title\nhttps://x/a b.jpg,I\n", "line 2: ObjectUrl is empty or contains whitespace"),
        ("ObjectUrl,Image title\nhttps://x/a.jpg,I,extra\n", "line 2: more cells"),
    ],
)
def test_bad_csv_names_the_line(text: str, fragment: str) -> None:
    with pytest.raises(CsvFormatError, match=fragment):
        ImportManifest.from_csv(text)


def test_what_csv_cannot_carry_is_refused_unless_allowed() -> None:
    manifest = ImportManifest.model_validate(
        {
            "videos": [{"objectUrl": U + "v.mp4", "keyFrames": [1], "clientMetadata": {"a": 1}}],
            "audio": [{"objectUrl": U + "a.mp3"}],
            "pdf": [{"objectUrl": U + "a.pdf"}],
            "image_groups": [
                {"title": "same", "createVideo": False, "objectUrl_0": U + "1.jpg"},
                {"title": "same", "createVideo": True, "objectUrl_0": U + "2.jpg"},
            ],
        }
    )
    with pytest.raises(CsvLossError) as caught:
        manifest.to_csv()
    losses = caught.value.losses
    assert any(loss.startswith("1 audio entries") for loss in losses)
    assert any(loss.startswith("1 pdf entries") for loss in losses)
    assert any("clientMetadata of 1 entries" in loss for loss in losses)
    assert any("keyFrames of 1 videos" in loss for loss in losses)
    assert any("titles used twice" in loss for loss in losses)
    lossy = ImportManifest.from_csv(manifest.to_csv(allow_loss=True))
    assert lossy.audio == []
    assert lossy.videos[0].key_frames is None
