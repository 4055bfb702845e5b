"""First bytes read once per object, and only for objects whose classification needs them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from benchmark_qa.ingest import content
from benchmark_qa.ingest.heads import Heads
from benchmark_qa.ingest.items import S3Object
from benchmark_qa.ingest.layout import Layout
from benchmark_qa_local import samples

FILES = {
    "benchmark/a.jpg": samples.png(),
    "benchmark/b": samples.mp4(),
    "benchmark/c.json": b"{}",
    "benchmark/a.jpg.meta.json": b"{}",
    "benchmark/dicom/s/IM1": samples.dicom("1.2", 1),
    "benchmark/d.jpg": b"",
}


def reader(asked: Counter[tuple[str, int]]) -> Callable[[str, int], bytes]:
    def read(key: str, n: int) -> bytes:
        asked[(key, n)] += 1
        return FILES[key][:n]

    return read


def objects() -> list[S3Object]:
    return [S3Object(bucket="b", key=k, size=len(v)) for k, v in FILES.items()]


def test_detect_reads_what_the_rules_need_once_each() -> None:
    asked: Counter[tuple[str, int]] = Counter()
    heads = Heads(reader(asked), workers=4)
    typed = {o.key: o.detected_type for o in heads.detect(objects(), Layout())}
    assert typed == {
        "benchmark/a.jpg": "image/png",
        "benchmark/b": "video/mp4",
        "benchmark/c.json": None,  # a data file by extension: not read
        "benchmark/a.jpg.meta.json": None,  # sidecars are not media
        "benchmark/dicom/s/IM1": content.DICOM,
        "benchmark/d.jpg": None,  # zero bytes: nothing to read
    }
    assert set(asked.values()) == {1}
    assert heads.read("benchmark/b", 100) == FILES["benchmark/b"][:100]  # served from the first read
    assert heads.requests == 3


def test_trusting_extensions_reads_unknown_names_and_dicom_folders_only() -> None:
    asked: Counter[tuple[str, int]] = Counter()
    Heads(reader(asked), workers=1).detect(objects(), Layout(check_content=False))
    assert {key for key, _ in asked} == {"benchmark/b", "benchmark/dicom/s/IM1"}


def test_a_short_file_is_not_read_again_for_more() -> None:
    asked: Counter[tuple[str, int]] = Counter()
    heads = Heads(reader(asked))
    heads.read("benchmark/b", content.HEAD_BYTES)
    assert heads.read("benchmark/b", 65536) == FILES["benchmark/b"]
    assert heads.requests == 1
