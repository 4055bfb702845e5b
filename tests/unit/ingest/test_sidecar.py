"""Sidecar parsing: valid forms, and errors that name the key, the field and the fix."""

from __future__ import annotations

import orjson
import pytest
from benchmark_qa.ingest.items import DataType
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.sidecar import SidecarError, check_fits, parse_sidecar

LAYOUT = Layout()
KEY = "benchmark/videos/a.mp4.meta.json"
VIDEO_META = {
    "fps": 30,
    "duration": 12.5,
    "width": 1920,
    "height": 1080,
    "file_size": 5,
    "mime_type": "video/mp4",
}


def test_camel_case_sidecar() -> None:
    raw = orjson.dumps(
        {
            "title": "Clip A",
            "clientMetadata": {"site": "x", "n": 3},
            "keyFrames": [9, 2, 2],
            "videoMetadata": VIDEO_META,
        }
    )
    sidecar = parse_sidecar(raw, KEY, LAYOUT)
    assert sidecar.title == "Clip A"
    assert sidecar.client_metadata == {"site": "x", "n": 3}
    assert sidecar.key_frames == [2, 9]
    assert sidecar.video_metadata is not None
    assert sidecar.video_metadata.fps == 30


def test_snake_case_and_empty_object() -> None:
    sidecar = parse_sidecar(b'{"client_metadata": {"a": 1}, "key_frames": [0]}', KEY, LAYOUT)
    assert sidecar.client_metadata == {"a": 1}
    assert sidecar.key_frames == [0]
    empty = parse_sidecar(b"{}", KEY, LAYOUT)
    assert (empty.title, empty.client_metadata, empty.key_frames) == (None, {}, None)


def test_audio_and_image_metadata() -> None:
    audio = {
        "duration": 3.0,
        "file_size": 10,
        "mime_type": "audio/wav",
        "sample_rate": 44100,
        "bit_depth": 16,
        "codec": "pcm",
        "num_channels": 2,
    }
    assert parse_sidecar(orjson.dumps({"audioMetadata": audio}), KEY, LAYOUT).audio_metadata is not None
    image = {"mime_type": "image/png", "file_size": 1, "height": 2, "width": 3}
    assert parse_sidecar(orjson.dumps({"imageMetadata": image}), KEY, LAYOUT).image_metadata is not None


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"", "sidecar is empty"),
        (b"[1, 2]", "top level is a JSON list"),
        (b'{"clientMetadata": [1]}', "field 'clientMetadata'"),
        (b'{"keyFrames": ["3"]}', "field 'keyFrames.0'"),
        (b'{"keyFrames": [-1]}', "field 'keyFrames.0'"),
        (b'{"keyFrames": [true]}', "field 'keyFrames.0'"),
        (b'{"title": 5}', "field 'title'"),
        (b'{"titel": "typo"}', "field 'titel': Extra inputs are not permitted"),
        (b'{"videoMetadata": {"fps": 30}}', "field 'videoMetadata.duration'"),
        (b'{"videoMetadata": {"fps": "fast"}}', "field 'videoMetadata.fps'"),
    ],
)
def test_invalid_sidecars_name_key_and_field(raw: bytes, fragment: str) -> None:
    with pytest.raises(SidecarError) as caught:
        parse_sidecar(raw, KEY, LAYOUT)
    assert caught.value.key == KEY
    message = str(caught.value)
    assert message.startswith(f"{KEY}: ")
    assert fragment in message
    assert "upload it again" in message or "upload a JSON object" in message


def test_oversized_sidecar() -> None:
    layout = Layout(max_sidecar_bytes=100)
    raw = orjson.dumps({"clientMetadata": {"blob": "x" * 200}})
    with pytest.raises(SidecarError, match=r"over the 100-byte limit; .*max_sidecar_bytes") as caught:
        parse_sidecar(raw, KEY, layout)
    assert caught.value.key == KEY


@pytest.mark.parametrize(
    ("body", "data_type", "fragment"),
    [
        ({"keyFrames": [1]}, DataType.IMAGE, "keyFrames (videos only)"),
        ({"videoMetadata": VIDEO_META}, DataType.AUDIO, "videoMetadata (videos only)"),
        ({"keyFrames": [1]}, DataType.IMAGE_SEQUENCE, "keyFrames"),
    ],
)
def test_fields_that_do_not_fit_the_type(body: dict[str, object], data_type: DataType, fragment: str) -> None:
    sidecar = parse_sidecar(orjson.dumps(body), KEY, LAYOUT)
    with pytest.raises(SidecarError, match="remove those fields") as caught:
        check_fits(sidecar, data_type, KEY)
    assert fragment in str(caught.value)
    check_fits(parse_sidecar(b'{"clientMetadata": {"a": 1}}', KEY, LAYOUT), data_type, KEY)
