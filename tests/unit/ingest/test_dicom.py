"""DICOM series by their headers (benchmark_qa.ingest.dicom): parsing, growing reads, order, titles."""

from __future__ import annotations

import pytest
from benchmark_qa.ingest.dicom import HEADER_READS, DicomHeader, NotDicom, group_series, parse_header, read_header
from benchmark_qa.ingest.items import S3Object
from benchmark_qa_local import samples


def test_parse_header_reads_the_series_tags() -> None:
    data = samples.dicom("1.2.3", 7, position=(1, 2, 3), description="T1 AX", series_number=4)
    header = parse_header(data)
    assert header == DicomHeader(
        series_uid="1.2.3",
        series_number=4,
        series_description="T1 AX",
        instance_number=7,
        position=(1.0, 2.0, 3.0),
        orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    )
    assert parse_header(samples.dicom("1.2.3", None, directory=True)).is_directory


@pytest.mark.parametrize("head", [samples.jpeg(), b"\x00" * 200, b""])
def test_what_is_not_a_readable_dicom_header(head: bytes) -> None:
    with pytest.raises(NotDicom):
        parse_header(head)


def test_a_header_longer_than_the_first_read_is_read_again_with_a_longer_range() -> None:
    data = samples.dicom("1.2.3", 1, padding=20_000)
    asked: list[int] = []

    def read(key: str, n: int) -> bytes:
        asked.append(n)
        return data[:n]

    assert read_header("k", len(data), read).series_uid == "1.2.3"
    assert asked == list(HEADER_READS[:2])
    asked.clear()
    data = samples.dicom("9", 1)  # a short file (no padding) is read once
    assert read_header("k", len(data), read).series_uid == "9"
    assert asked == [HEADER_READS[0]]


def s3(key: str) -> S3Object:
    return S3Object(bucket="b", key=key, size=1)


def test_series_are_grouped_by_uid_ordered_and_titled() -> None:
    files = [
        (s3("f/IM10"), DicomHeader("1.1", instance_number=2, series_description="AX")),
        (s3("f/IM2"), DicomHeader("1.1", instance_number=1, series_description="AX")),
        (s3("g/IM3"), DicomHeader("1.1", instance_number=None, series_description="AX")),
        # no instance numbers: along the normal of the orientation (here -z: the normal of rows x, columns -y)
        (s3("f/a"), DicomHeader("2.2", position=(0, 0, 5), orientation=(1, 0, 0, 0, -1, 0), series_number=3)),
        (s3("f/b"), DicomHeader("2.2", position=(0, 0, 9), orientation=(1, 0, 0, 0, -1, 0), series_number=3)),
        (s3("f/x"), DicomHeader("3.3.12345678")),
    ]
    series = {s.title: [m.key for m in s.members] for s in group_series("Study", files)}
    assert series == {
        "Study - AX": ["f/IM2", "f/IM10", "g/IM3"],
        "Study - series 3": ["f/b", "f/a"],
        "Study - 12345678": ["f/x"],
    }
    assert [s.title for s in group_series("Knee", files[:2])] == ["Knee"]


def test_series_titles_that_would_collide_get_the_uid() -> None:
    files = [
        (s3("a"), DicomHeader("1.111", series_description="AX")),
        (s3("b"), DicomHeader("1.222", series_description="AX")),
    ]
    assert sorted(s.title for s in group_series("S", files)) == ["S - AX [1.111]", "S - AX [1.222]"]
