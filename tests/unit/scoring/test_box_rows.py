"""The compiled box-row reader (box_rows.c) reads a row exactly as the msgspec/orjson reader does (the same objects,
classifications, columns bit for bit and errors), or declines it; and it is what reads the benchmark's rows."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from benchmark_qa.scoring import Ontology, box_rows
from benchmark_qa.scoring.labels import LabelSet, read_label_row
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bench.scoring import _box
from tests.fixtures.scoring.generate import data_unit, label_row
from tests.unit.test_lock_files import ROOT

from .test_reader_sdk_agreement import columns


@dataclass(frozen=True)
class Num:
    """A number token written as given (so the test chooses its spelling)."""

    text: str


@dataclass(frozen=True)
class Str:
    text: str
    escape: bool = False  # the first character as a \\u escape


@dataclass(frozen=True)
class Obj:
    """A JSON object as members in order, repeats allowed."""

    members: tuple[tuple[Str, Any], ...]


def dump(node: Any, space: str) -> str:
    if isinstance(node, Obj):
        inner = f",{space}".join(f"{dump(k, '')}{space}:{space}{dump(v, space)}" for k, v in node.members)
        return f"{{{space}{inner}{space}}}"
    if isinstance(node, list):
        return f"[{space}{f',{space}'.join(dump(v, space) for v in node)}{space}]"
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Str):
        text = node.text
        if node.escape and text:
            first = f"\\u{ord(text[0]):04x}" if ord(text[0]) < 0x10000 else json.dumps(text[0])[1:-1]
            return f'"{first}{json.dumps(text[1:], ensure_ascii=False)[1:-1]}"'
        return json.dumps(text, ensure_ascii=False)
    return json.dumps(node)


def exact(ls: LabelSet) -> Any:
    """columns() with the box coordinates as bytes (-0.0 is not 0.0 here) and every column's dtype; as repr, where
    a NaN (a null coordinate, read by numpy) equals itself."""
    raw = {
        name: (
            ann.du.dtype.str,
            ann.frame.dtype.str,
            ann.obj.dtype.str,
            None if ann.boxes is None else ann.boxes.tobytes(),
        )
        for name, ann in ls.families.items()
    }
    return repr(columns(ls)), raw


def outcome(ontology: Ontology, raw: bytes, compiled: bool) -> Any:
    try:
        return exact(read_label_row(ontology, raw, compiled))
    except Exception as exc:  # the error itself is what is compared
        return type(exc), str(exc)


def assert_same(ontology: Ontology, raw: bytes) -> None:
    assert outcome(ontology, raw, compiled=True) == outcome(ontology, raw, compiled=False)


# numbers of every spelling: floats' shortest forms, integers, long fractions, exponents, the edges of double
EDGES = [
    "-0", "0", "5", "-7", "-0.0", "0e0", "-0E-0", "1E400", "-1e309", "1e-400", "4.9e-324", "2.2250738585072011e-308",
    "2.2250738585072014e-308", "0.1e1", "1.7976931348623157e308", "123456789012345678", "9007199254740993",
    "1.00000000000000011102230246251565404236316680908203125", "0.30000000000000004", "1234567890123456789012",
    "0.000000000000000000000000000001", "1e22", "1e23", "8.98846567431158e307",
]  # fmt: skip


def spelled(wholes: list[str], fraction_digits: int, exponents: list[str]) -> st.SearchStrategy[str]:
    """Numbers written out: a sign, a whole part, maybe a fraction, maybe an exponent."""
    return st.builds(
        lambda sign, whole, fraction, exponent: f"{sign}{whole}{'.' + fraction if fraction else ''}{exponent}",
        st.sampled_from(["", "-"]),
        st.sampled_from(wholes),
        st.text("0123456789", max_size=fraction_digits),
        st.sampled_from(exponents),
    )


MALFORMED_NUMBERS = ["01", "1.", ".5", "+1", "1e", "-", "NaN", "Infinity", "0x10", "1.5e+", "--1"]
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(0, 1).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(EDGES),
    spelled(["0", "1", "12", "999999999999999999999"], 25, ["", "e5", "E-7", "e+0", "e-330", "e308", "e-20"]),
)
# numbers the compiled reader reads (in a wild row any number): shortest forms, integers, -0, long fractions
in_range = st.one_of(
    st.floats(0, 1).map(repr),
    st.floats(-1e6, 1e6, allow_subnormal=False).map(repr),
    st.floats(1e-250, 1e250).map(repr),
    st.integers(-(10**15) + 1, 10**15 - 1).map(str),
    st.sampled_from(["-0", "-0.0", "0e0", "-0E-0", "0.1e1", "1e22", "1e23", "0.30000000000000004", EDGES[17]]),
    spelled(["0", "1", "12", "999999999999999"], 30, ["", "e5", "E-7", "e+0", "e-20", "E+100", "e-030"]),
)
nested = st.recursive(
    st.one_of(st.none(), st.booleans(), in_range.map(Num), st.text(max_size=6).map(Str)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(st.tuples(st.text(max_size=4).map(Str), inner), max_size=3).map(lambda m: Obj(tuple(m))),
    ),
    max_leaves=6,
)
FRAME_KEYS = ["meta", "", "scene", " 1", "+1", "1_0", "\u0661", "x1", "-1", "1.0", "007", "１"]
HASHES = ["o1", "o2", "o3", "é1", "日本", 'o"q', "o\\q", "\U0001f600"]
FEATURES = ["car00001", "truck001", "sign0001", "notAClass"]
SHAPES = ["polygon", "rotatable_bounding_box", "hologram", "Bounding_box"]
CLASS_HASHES = ["c1", "c2", "é3"]


@st.composite
def members(draw: st.DrawFn, fields: list[tuple[str, Any]], wild: bool) -> Obj:
    """An object of `fields` in any order; in a wild row maybe with a field left out or repeated, an escaped key
    or an extra field of nested values."""
    out = [(Str(k), v) for k, v in draw(st.permutations(fields))]
    if wild and out and draw(st.integers(0, 9)) == 0:
        out.pop(draw(st.integers(0, len(out) - 1)))
    if wild and out and draw(st.integers(0, 9)) == 0:
        out.append(out[draw(st.integers(0, len(out) - 1))])
    if wild and out and draw(st.integers(0, 14)) == 0:
        k = draw(st.integers(0, len(out) - 1))
        out[k] = (Str(out[k][0].text, escape=True), out[k][1])
    if draw(st.integers(0, 3)) == 0:
        value = draw(st.one_of(nested, numbers.map(Num)) if wild else nested)
        out.insert(draw(st.integers(0, len(out))), (Str(draw(st.sampled_from(["name", "extra", "z"]))), value))
    return Obj(tuple(out))


def rare(draw: st.DrawFn, wild: bool, one_in: int = 12) -> bool:
    return wild and draw(st.integers(0, one_in - 1)) == 0


@st.composite
def box_object(draw: st.DrawFn, wild: bool) -> Obj:
    coords: list[tuple[str, Any]] = [(k, Num(draw(numbers if wild else in_range))) for k in "xywh"]
    if rare(draw, wild):
        k = draw(st.integers(0, 3))
        coords[k] = (coords[k][0], draw(st.sampled_from([Num(n) for n in MALFORMED_NUMBERS] + [Str("0.5"), None])))
    box = draw(members(coords, wild))
    object_hash = draw(st.sampled_from(HASHES if rare(draw, wild, 4) else HASHES[:3]))
    feature = draw(st.sampled_from(FEATURES if rare(draw, wild, 4) else FEATURES[:2]))
    shape = draw(st.sampled_from(SHAPES)) if rare(draw, wild) else "bounding_box"
    fields = [
        ("objectHash", Str(object_hash, escape=rare(draw, wild))),
        ("featureHash", Str(feature, escape=rare(draw, wild))),
        ("shape", Str(shape, escape=rare(draw, wild))),
        ("boundingBox", None if rare(draw, wild, 30) else box),
    ]
    return draw(members(fields, wild))


@st.composite
def classification(draw: st.DrawFn, wild: bool) -> Any:
    """An entry of a frame's classifications; in a wild row maybe not an object, its hash of another type or
    escaped, or (members) its hash left out or repeated."""
    if rare(draw, wild, 30):
        return draw(nested)
    class_hash: Any = Str(draw(st.sampled_from(CLASS_HASHES)), escape=rare(draw, wild))
    if rare(draw, wild, 20):
        class_hash = draw(st.sampled_from([None, Num("1"), [], Obj(())]))
    fields = [("classificationHash", class_hash), ("featureHash", Str("clsweath")), ("value", Str("weather"))]
    return draw(members(fields, wild))


@st.composite
def frame(draw: st.DrawFn, wild: bool) -> Any:
    if rare(draw, wild, 30):
        return draw(nested)
    fields: list[tuple[str, Any]] = [("objects", draw(st.lists(box_object(wild), max_size=3)))]
    if draw(st.booleans()):
        fields.append(("classifications", draw(st.lists(classification(wild), max_size=2))))
    return draw(members(fields, wild))


@st.composite
def classification_answers(draw: st.DrawFn) -> Obj:
    """Entries for some of the frames' hashes, mostly without a "range" (their frames are then the frames that
    list them)."""
    out = []
    for class_hash in draw(st.lists(st.sampled_from(CLASS_HASHES), unique=True)):
        fields: list[tuple[Str, Any]] = [
            (Str("classificationHash"), Str(class_hash)),
            (Str("featureHash"), Str("clsweath")),
            (Str("classifications"), []),
        ]
        if draw(st.integers(0, 3)) == 0:
            fields.append((Str("range"), [[Num("0"), Num("3")]]))
        out.append((Str(class_hash), Obj(tuple(fields))))
    return Obj(tuple(out))


@st.composite
def labels(draw: st.DrawFn, wild: bool) -> Obj:
    keys = draw(st.lists(st.integers(0, 6), max_size=5, unique=not wild))
    out: list[tuple[Str, Any]] = [(Str(str(k)), draw(frame(wild))) for k in keys]
    if rare(draw, wild, 3):
        key = draw(st.sampled_from(FRAME_KEYS))
        out.insert(draw(st.integers(0, len(out))), (Str(key, escape=rare(draw, wild, 3)), draw(nested)))
    return Obj(tuple(out))


@st.composite
def label_rows(draw: st.DrawFn) -> bytes:
    wild = draw(st.booleans())
    units = []
    for k in range(draw(st.integers(1, 3))):
        fields: list[tuple[str, Any]] = [("data_hash", Str(f"du{k}")), ("width", Num("1920")), ("height", Num("1080"))]
        fields += [("data_sequence", Num(str(k)))]
        if not rare(draw, wild, 5):
            fields.append(("labels", draw(labels(wild))))
        units.append((Str(draw(st.sampled_from([f"du{k}", "du0"])) if wild else f"du{k}"), draw(members(fields, wild))))
    data_type = draw(st.sampled_from(["video", "dicom", "nifti", "pdf", "VIDEO", "image", "img_group", "audio"]))
    fields = [
        ("label_hash", Str("lh")),
        ("data_hash", Str("dh")),
        ("data_type", Str(data_type if rare(draw, wild, 3) else "video")),
        ("data_units", Obj(tuple(units))),
        ("object_answers", Obj(())),
        ("classification_answers", draw(classification_answers())),
    ]
    row: Any = draw(members(fields, wild))
    if rare(draw, wild, 20):
        deep: Any = Num("1")
        for _ in range(draw(st.integers(60, 70))):
            deep = [deep]
        row = Obj((*row.members, (Str("deep"), deep)))
    text = dump(row, draw(st.sampled_from(["", " ", "\n\t ", "\r\n"]))).encode()
    if rare(draw, wild, 10):  # truncated, or one byte changed
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] if draw(st.booleans()) else text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1 :]
    return text


@settings(max_examples=1000, deadline=None)
@given(label_rows())
def test_compiled_reader_reads_what_the_msgspec_reader_reads(ontology: Ontology, raw: bytes) -> None:
    event(f"compiled reader: {box_rows.decline_reason(raw) or 'read'}")
    read = box_rows.read(raw)
    if read is not None and read.classifications:
        event("compiled reader: read, with frame classifications")
    assert_same(ontology, raw)


WEATHER = {
    "classificationHash": "weather1",
    "featureHash": "clsweath",
    "name": "Weather",
    "value": "weather",
    "confidence": 1.0,
    "createdAt": "Tue, 05 Nov 2024 10:00:00 UTC",
    "createdBy": "annotator@example.com",
    "manualAnnotation": True,
}
WEATHER_ANSWERS = {
    "weather1": {
        "classificationHash": "weather1",
        "featureHash": "clsweath",
        "classifications": [
            {
                "name": "weather",
                "value": "weather",
                "featureHash": "attweath",
                "answers": [{"name": "sunny", "value": "sunny", "featureHash": "optsunny"}],
                "manualAnnotation": True,
            }
        ],
    }
}


def benchmark_row(frames: int = 30, objects: int = 4, classified: bool = False) -> bytes:
    """The benchmark's row (bench/scoring.py), shorter; `classified`: a classification on every frame, answered
    in classification_answers without a "range" (as older rows are)."""
    labels = {
        str(f): {"objects": [_box(f"gt{k:06d}", 0.1 + f / 1000, 0.2 + k / 100, 0.05, 0.07) for k in range(objects)]}
        | {"classifications": [WEATHER] if classified else []}
        for f in range(frames)
    }
    unit = data_unit("video", "video/mp4", 0, labels, 1920, 1080)
    answers = WEATHER_ANSWERS if classified else None
    return json.dumps(label_row("video", "video", "truth", [unit], classification_answers=answers)).encode()


def test_the_benchmark_row_is_read_by_the_compiled_reader(ontology: Ontology) -> None:
    """The library is built and loads (a packaging failure would fall back to msgspec without a sound)."""
    raw = benchmark_row()
    assert box_rows.LIBRARY.exists()
    read = box_rows.read(raw)
    assert read is not None
    assert read.boxes.shape == (120, 4)
    assert read.runs.tolist() == [[f, 4] for f in range(30)]
    assert [o for o, _ in read.objects] == [f"gt{k:06d}" for k in range(4)]
    assert box_rows.decline_reason(raw) is None
    assert exact(read_label_row(ontology, raw)) == exact(read_label_row(ontology, raw, compiled=False))


def test_a_row_with_a_classification_on_every_frame_is_read_by_the_compiled_reader(ontology: Ontology) -> None:
    """Real videos carry a classification on every frame: its frames are those the frames list."""
    raw = benchmark_row(classified=True)
    read = box_rows.read(raw)
    assert read is not None
    assert read.classifications == [(f, "weather1") for f in range(30)]
    assert read.units[:, 2:].tolist() == [[30, 120, 4, 30]]
    compiled = read_label_row(ontology, raw)
    assert exact(compiled) == exact(read_label_row(ontology, raw, compiled=False))
    [weather] = compiled.classifications
    assert (weather.hash, weather.frames.tolist()) == ("weather1", [[f, f] for f in range(30)])


def test_numbers_are_read_as_msgspec_reads_them(ontology: Ontology) -> None:
    """-0 is the integer 0 (0.0) but -0.0 is -0.0; integers are exact; long fractions round correctly."""
    spellings = [
        "-0",
        "-0.0",
        "5",
        "-7",
        "0.1",
        "0.30000000000000004",
        "1e-200",
        "1.0000000000000001110223024625156540",
    ]
    for text in spellings:
        raw = benchmark_row(1, 1).replace(b'"x": 0.1,', f'"x": {text},'.encode())
        read = box_rows.read(raw)
        assert read is not None, text
        plain = read_label_row(ontology, raw, compiled=False).families["box"].boxes
        assert plain is not None
        assert read.boxes[0, 0].tobytes() == plain[0, 0].tobytes(), text
        assert read.boxes[0, 0].tobytes() == np.float64(0.0 if text == "-0" else float(text)).tobytes(), text


def unit_row(labels: str, extra_unit: str = "") -> bytes:
    head = '{"data_type": "video", "label_hash": "lh", "data_units": {"du": {"data_hash": "du", "labels": '
    return f"{head}{labels}}}{extra_unit}}}}}".encode()


XYWH = '{"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}'


def box(xywh: str = XYWH, object_hash: str = '"o1"', feature: str = "car00001", shape: str = "bounding_box") -> str:
    return f'{{"objectHash": {object_hash}, "featureHash": "{feature}", "shape": "{shape}", "boundingBox": {xywh}}}'


def one_frame(*objects: str, key: str = "0", more: str = "") -> str:
    return f'{{"{key}": {{"objects": [{", ".join(objects)}]{more}}}}}'


DECLINED = {
    "malformed": unit_row(one_frame(box())[:-1]),
    "depth": unit_row(one_frame(box(), more=', "meta": ' + "[" * 70 + "]" * 70)),
    "escape": unit_row(one_frame(box(object_hash='"o\\u0031"'))),
    "duplicate": unit_row(one_frame(box())[:-1] + ', "0": {"objects": []}}'),
    "number": unit_row(one_frame(box(XYWH.replace("0.1", "1e-320")))),
    "shape": unit_row(one_frame(box(shape="polygon"))),
    "classification": unit_row(one_frame(box(), more=', "classifications": [{"featureHash": "clsweath"}]')),
    "missing": unit_row(one_frame(box(XYWH.replace(', "h": 0.4', "")))),
    "frame key": unit_row(one_frame(box(), key=" 0")),
    "type": unit_row(one_frame(box(XYWH.replace("0.1", '"0.1"')))),
    "limit": unit_row("{}", "".join(f', "u{k}": {{}}' for k in range(4096))),
}


@pytest.mark.parametrize("reason", sorted(DECLINED))
def test_each_reason_to_decline(ontology: Ontology, reason: str) -> None:
    """Every rule that makes the reader decline (its memory failure aside), on a row it reads once repaired."""
    raw = DECLINED[reason]
    assert box_rows.decline_reason(raw) == reason
    assert box_rows.read(raw) is None
    assert_same(ontology, raw)


def test_rows_it_reads(ontology: Ontology) -> None:
    """Non-frame keys skipped, frames in the row's order, objects in order of first sighting across data units,
    an unknown class refused with the plain reader's error."""
    rows = [
        unit_row(
            '{"meta": {"a": [1, {"b": null}]}, '
            + one_frame(box(object_hash='"o2"'), box(), key="3")[1:-1]
            + ", "
            + one_frame(box(), key="1")[1:]
        ),
        unit_row(
            one_frame(box(object_hash='"o2"')),
            ', "du2": {"labels": ' + one_frame(box(), box(object_hash='"o2"')) + "}",
        ),
        unit_row(one_frame(box(feature="notAClass"))),
        unit_row("{}"),
    ]
    for raw in rows:
        assert box_rows.decline_reason(raw) is None, raw
        assert_same(ontology, raw)
    first = read_label_row(ontology, rows[0])
    assert first.families["box"].frame.tolist() == [3, 3, 1]
    assert [o.hash for o in first.objects] == ["o2", "o1"]
    with pytest.raises(Exception, match="notAClass"):
        read_label_row(ontology, rows[2])


def test_frame_classifications_across_data_units(ontology: Ontology) -> None:
    """Each data unit's classifications noted with that unit, in the row's order, frames without objects too."""
    classified = (
        ', "classifications": [{"featureHash": "clsweath", "classificationHash": "c1"}, {"classificationHash": "c2"}]'
    )
    answers = ', "classification_answers": {"c1": {"featureHash": "clsweath"}, "c2": {"featureHash": "clsweath"}}'
    raw = unit_row(
        one_frame(box(), key="4", more=classified)[:-1] + ", " + one_frame(key="2", more=classified)[1:],
        ', "du2": {"labels": ' + one_frame(key="1", more=classified) + "}",
    )
    raw = raw[:-1] + answers.encode() + b"}"
    read = box_rows.read(raw)
    assert read is not None
    assert read.classifications == [(4, "c1"), (4, "c2"), (2, "c1"), (2, "c2"), (1, "c1"), (1, "c2")]
    assert read.units[:, 5].tolist() == [4, 6]
    compiled = read_label_row(ontology, raw)
    assert exact(compiled) == exact(read_label_row(ontology, raw, compiled=False))
    assert [(c.hash, c.frames.tolist()) for c in compiled.classifications] == [
        ("c1", [[1, 1], [2, 2], [4, 4]]),
        ("c2", [[1, 1], [2, 2], [4, 4]]),
    ]


CLASSIFICATIONS_DECLINED = {
    "no hash": ('[{"featureHash": "clsweath"}]', "classification"),
    "a null hash": ('[{"classificationHash": null}]', "classification"),
    "a number hash": ('[{"classificationHash": 1}]', "classification"),
    "not an object": ('["c1"]', "classification"),
    "an escaped hash": ('[{"classificationHash": "\\u00631"}]', "escape"),
    "an escaped key": ('[{"classification\\u0048ash": "c1"}]', "escape"),
    "a repeated hash": ('[{"classificationHash": "c1", "classificationHash": "c2"}]', "duplicate"),
    "null": ("null", "type"),
}


@pytest.mark.parametrize("case", sorted(CLASSIFICATIONS_DECLINED))
def test_frame_classifications_it_declines(ontology: Ontology, case: str) -> None:
    """Where Python would note another hash than the string the reader sees (str(None), a key or value an escape
    spells, the last of two), the reader declines."""
    classifications, reason = CLASSIFICATIONS_DECLINED[case]
    raw = unit_row(one_frame(box(), more=f', "classifications": {classifications}'))
    raw = raw[:-1] + b', "classification_answers": {"c1": {"featureHash": "clsweath"}}}'
    assert box_rows.decline_reason(raw) == reason
    assert_same(ontology, raw)


# what LIBRARY may be instead of this version's build: not a library (a failed copy, or a build for another
# machine, which the loader refuses alike), a build from before br_version, a build of another column layout
NOT_THIS_BUILD = {
    "not a library": None,
    "no br_version": "int unrelated(void) { return 0; }",
    "another layout": (box_rows.LIBRARY.parent / "box_rows.c")
    .read_text()
    .replace(
        f"int br_version(void) {{ return {box_rows.LAYOUT}; }}",
        f"int br_version(void) {{ return {box_rows.LAYOUT + 1}; }}",
    ),
}


@pytest.mark.parametrize("case", sorted(NOT_THIS_BUILD))
def test_a_library_that_is_not_this_build_is_said_once_and_rows_are_read_as_before(
    ontology: Ontology, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    """A packaging fault or a stale build costs speed, never a row (a stale build's columns would be misread), and
    shows in the log."""
    raw = benchmark_row()
    library = tmp_path / "libbox_rows.so"
    source = NOT_THIS_BUILD[case]
    if source is None:
        library.write_bytes(b"\x7fELF not a library")
    else:
        (tmp_path / "stale.c").write_text(source)
        compile_c = [sys.executable, "-m", "ziglang", "cc", "-shared", "-fPIC", "-o", str(library)]
        subprocess.run([*compile_c, str(tmp_path / "stale.c")], check=True, timeout=240)
    monkeypatch.setattr(box_rows, "LIBRARY", library)
    box_rows._library.cache_clear()
    try:
        assert box_rows.read(raw) is None
        assert box_rows.decline_reason(raw) == "not built"
        assert exact(read_label_row(ontology, raw)) == exact(read_label_row(ontology, raw, compiled=False))
    finally:
        box_rows._library.cache_clear()
    warnings = [r for r in caplog.records if r.name == box_rows.__name__]
    assert len(warnings) == 1
    assert "libbox_rows.so did not load" in warnings[0].getMessage()


@pytest.fixture(scope="module")
def drivers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """box_rows_harness.c built against this machine's library and against Lambda's, as CoreLayer's build makes
    it (shared/Makefile, the locked zig), with the sysroot qemu runs the latter in."""
    qemu, sysroot = shutil.which("qemu-aarch64"), Path("/usr/aarch64-linux-gnu")
    if qemu is None or not (sysroot / "lib" / "libc.so.6").exists():
        pytest.fail(
            "qemu-aarch64 and an aarch64 glibc are missing: `make pytest` installs qemu-user and libc6-arm64-cross"
        )
    out = tmp_path_factory.mktemp("drivers")
    lambda_dir = out / "python" / "benchmark_qa" / "scoring"
    lambda_dir.mkdir(parents=True)
    make = ["make", "-s", "-C", str(ROOT / "shared"), "box-rows-aarch64", f"ARTIFACTS_DIR={out}"]
    subprocess.run([*make, f"PYTHON={sys.executable}"], check=True, timeout=240)
    header = (lambda_dir / "libbox_rows.so").read_bytes()[:20]  # what CoreLayer ships, whatever machine builds it
    assert (header[:4], header[4], header[5]) == (b"\x7fELF", 2, 1)  # ELF, 64-bit, little-endian
    assert struct.unpack_from("<HH", header, 16) == (3, 183)  # a shared library, for AArch64
    source = str(Path(__file__).with_name("box_rows_harness.c"))
    zig = [sys.executable, "-m", "ziglang", "cc", "-O2", source, "-lbox_rows"]
    host, arm = out / "host", out / "aarch64"
    subprocess.run([*zig, "-o", str(host), f"-L{box_rows.LIBRARY.parent}"], check=True, timeout=240)
    subprocess.run(
        [*zig, "-target", "aarch64-linux-gnu.2.26", "-o", str(arm), f"-L{lambda_dir}"], check=True, timeout=240
    )
    return host, arm, lambda_dir


def _run(driver: list[str], library: Path, files: list[str]) -> str:
    env = {"LD_LIBRARY_PATH": str(library), "PATH": os.environ.get("PATH", "")}
    return subprocess.run([*driver, *files], check=True, capture_output=True, text=True, env=env, timeout=300).stdout


@settings(max_examples=25, deadline=None)
@given(st.lists(label_rows(), min_size=4, max_size=8))
def test_lambda_s_build_reads_every_row_as_this_machine_s(drivers: tuple[Path, Path, Path], rows: list[bytes]) -> None:
    """CoreLayer's aarch64 library, run by qemu on Lambda's architecture, makes of each row what this machine's
    makes: the same columns bit for bit, or the same reason and place to decline."""
    host, arm, lambda_dir = drivers
    rows = [*rows, benchmark_row(), benchmark_row(classified=True), *DECLINED.values()]
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k, raw in enumerate(rows):
            (Path(tmp) / f"{k:03d}.json").write_bytes(raw)
            files.append(str(Path(tmp) / f"{k:03d}.json"))
        here = _run([str(host)], box_rows.LIBRARY.parent, files)
        there = _run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", str(arm)], lambda_dir, files)
    assert there == here
    assert here.count("layout 2") >= 2  # the benchmark rows at least are read, not only declined alike
