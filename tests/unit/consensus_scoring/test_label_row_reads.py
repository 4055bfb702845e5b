"""How the score worker splits a task's label rows into reads (benchmark_qa.encord.consensus): short rows in one
read per project, rows that together label more than FRAMES_PER_READ frames one at a time, and each row kept as
the JSON Encord sent once the SDK has handed it over."""

from __future__ import annotations

from itertools import pairwise
from types import SimpleNamespace
from typing import Any, cast

import orjson
from benchmark_qa.encord.consensus import FRAMES_PER_READ, LABEL_BUNDLE_SIZE, _frames_of, _reads, _row_json
from encord.constants.enums import DataType
from hypothesis import given
from hypothesis import strategies as st


def listed(data_type: DataType | str | None, number_of_frames: Any) -> Any:
    """A listed row's metadata as `_frames_of` reads it (LabelRowV2.data_type and .number_of_frames)."""
    return cast(Any, SimpleNamespace(data_type=data_type, number_of_frames=number_of_frames))


def test_a_task_of_short_rows_is_one_read() -> None:
    frames = {"truth": 100, "a1": 100, "a2": 100, "a3": 100}
    assert list(_reads(list(frames), frames)) == [["truth", "a1", "a2", "a3"]]


def test_rows_that_together_pass_the_frame_limit_are_read_one_at_a_time() -> None:
    frames = {"a1": 10_000, "a2": FRAMES_PER_READ, "a3": FRAMES_PER_READ // 2, "a4": FRAMES_PER_READ // 2}
    assert list(_reads(list(frames), frames)) == [["a1"], ["a2"], ["a3", "a4"]]


def test_a_read_holds_at_most_the_rows_encord_answers_at_once() -> None:
    hashes = [f"h{i}" for i in range(2 * LABEL_BUNDLE_SIZE + 1)]
    assert [len(r) for r in _reads(hashes, {})] == [LABEL_BUNDLE_SIZE, LABEL_BUNDLE_SIZE, 1]


@given(st.lists(st.integers(1, 3 * FRAMES_PER_READ), max_size=250))
def test_every_row_is_read_once_in_order_and_no_read_of_several_passes_either_limit(counts: list[int]) -> None:
    frames = {f"h{i}": n for i, n in enumerate(counts)}
    reads = list(_reads(list(frames), frames))
    assert [h for read in reads for h in read] == list(frames)
    for read in reads:
        assert 1 <= len(read) <= LABEL_BUNDLE_SIZE
        assert len(read) == 1 or sum(frames[h] for h in read) <= FRAMES_PER_READ
    # and no two neighbouring reads could have been one
    for first, second in pairwise(reads):
        together = first + second[:1]
        assert len(together) > LABEL_BUNDLE_SIZE or sum(frames[h] for h in together) > FRAMES_PER_READ


def test_frames_count_only_where_labels_are_kept_frame_by_frame() -> None:
    assert _frames_of(listed(DataType.VIDEO, 12_000)) == 12_000
    assert _frames_of(listed(DataType.DICOM, 300)) == 300
    assert _frames_of(listed(DataType.IMG_GROUP, 40)) == 40
    assert _frames_of(listed("video", 7)) == 7
    # an audio row's number_of_frames counts samples; its labels are ranges
    assert _frames_of(listed(DataType.AUDIO, 48_000 * 600)) == 1
    assert _frames_of(listed(DataType.IMAGE, 1)) == 1
    # a count Encord leaves out or sends oddly: read with other rows, as before
    assert _frames_of(listed(DataType.VIDEO, None)) == 1
    assert _frames_of(listed(DataType.VIDEO, 0)) == 1
    assert _frames_of(listed(DataType.VIDEO, "n/a")) == 1
    assert _frames_of(listed(None, 5_000)) == 1


def test_a_row_is_kept_as_its_json_unless_it_cannot_be_encoded() -> None:
    row = {"label_hash": "l1", "data_units": {"d": {"labels": {"0": {"objects": []}}}}, "n": 1.5}
    encoded = _row_json(row)
    assert isinstance(encoded, bytes)
    assert orjson.loads(encoded) == row
    huge = {"label_hash": "l2", "data_units": {}, "big": 2**70}
    assert _row_json(huge) == huge  # orjson encodes 64-bit integers only; the engine reads the dict
