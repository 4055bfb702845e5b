"""A bucket as users fill it: a DICOM export with its DICOMDIR and sidecar junk, mislabelled extensions, office
files, data files and colliding names. Each key has the outcome the ingest must give it and why (the same table
is in docs/layout.md, "A realistic bucket"). Used by the CLI, the event pipeline and the cloud emulator tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark_qa_local import samples

T1 = "1.2.826.0.1.3680043.8.498.101"  # series "T1 AX": instance numbers out of name order
T2 = "1.2.826.0.1.3680043.8.498.102"  # series "T2 SAG": no instance numbers, ordered by position
KNEE = "1.2.826.0.1.3680043.8.498.103"  # a one-series folder: titled by the folder
EXPORT = "benchmark/dicom/Patient 7 MR/"


@dataclass(frozen=True)
class Case:
    body: bytes
    outcome: str  # "<list>:<title>" for an entry, "<series title>#<position>" for a series member, "skipped:<why>"
    why: str


CASES: dict[str, Case] = {
    # --- a DICOM export: index, thumbnails and notes beside the files; the folders are not the series
    EXPORT + "DICOMDIR": Case(
        samples.dicom(T1, None, directory=True), "skipped:dicom_directory", "an export's index, not a member"
    ),
    EXPORT + "DICOM/SE000001/IM000001": Case(
        samples.dicom(T1, 3, description="T1 AX"), "Patient 7 MR - T1 AX#2", "InstanceNumber 3"
    ),
    EXPORT + "DICOM/SE000001/IM000002": Case(
        samples.dicom(T1, 1, description="T1 AX", padding=20000),
        "Patient 7 MR - T1 AX#0",
        "InstanceNumber 1; a 20 KB private tag pushes the series tags past the first ranged GET",
    ),
    EXPORT + "DICOM/SE000001/IM000003": Case(
        samples.dicom(T1, 2, description="T1 AX"), "Patient 7 MR - T1 AX#1", "InstanceNumber 2"
    ),
    EXPORT + "DICOM/SE000002/IM000009": Case(
        samples.dicom(T1, 4, description="T1 AX"),
        "Patient 7 MR - T1 AX#3",
        "filed under SE000002 but its SeriesInstanceUID is T1's: the header, not the folder, decides",
    ),
    EXPORT + "DICOM/SE000002/IM000001": Case(
        samples.dicom(T2, None, description="T2 SAG", position=(0, 0, 20)),
        "Patient 7 MR - T2 SAG#1",
        "no InstanceNumber: ordered along the slice normal (z=20 after z=10)",
    ),
    EXPORT + "DICOM/SE000002/IM000002": Case(
        samples.dicom(T2, None, description="T2 SAG", position=(0, 0, 10)), "Patient 7 MR - T2 SAG#0", "z=10"
    ),
    EXPORT + "thumb.jpg": Case(samples.jpeg("thumb"), "skipped:not_dicom", "a JPEG thumbnail, no DICM marker"),
    EXPORT + "readme.txt": Case(samples.text("export notes"), "skipped:not_dicom", "text beside the series"),
    EXPORT + "IM_NODICM": Case(b"\x00" * 200, "skipped:not_dicom", "binary without the DICM marker"),
    "benchmark/dicom/Knee/slice10.dcm": Case(samples.dicom(KNEE, None), "Knee#2", "one series: the folder's title"),
    "benchmark/dicom/Knee/slice2.dcm": Case(samples.dicom(KNEE, None), "Knee#1", "no instance, no position: name"),
    "benchmark/dicom/Knee/slice1.dcm": Case(samples.dicom(KNEE, None), "Knee#0", "natural order of names"),
    # --- extensions that lie, or are missing
    "benchmark/photos/holiday.jpg": Case(samples.png("h"), "images:holiday.jpg", "a PNG named .jpg: still an image"),
    "benchmark/photos/clip.jpg": Case(samples.mp4("c"), "videos:clip.jpg", "an MP4 named .jpg: the content decides"),
    "benchmark/photos/IMG_0042": Case(samples.jpeg("42"), "images:IMG_0042", "no extension: a JPEG by content"),
    "benchmark/photos/scan.png": Case(
        samples.dicom(KNEE, 9), "skipped:misplaced", "a DICOM file named .png: series live in dicom/<title>/"
    ),
    "benchmark/videos/report.mp4": Case(samples.docx(), "skipped:not_media", "a Word document named .mp4"),
    "benchmark/volumes/brain": Case(samples.nifti("b"), "nifti:brain", "no extension: gzip-compressed NIfTI by header"),
    "benchmark/volumes/head.nii": Case(samples.nifti("n", compressed=False), "nifti:head.nii", "NIfTI-1 magic"),
    "benchmark/volumes/fake.nii.gz": Case(samples.text("x"), "skipped:not_media", "named NIfTI, no NIfTI header"),
    # --- office and data files are not media
    "production/docs/budget.xlsx": Case(b"PK\x03\x04xlsx", "skipped:data_file", "office file by extension"),
    "production/docs/old.doc": Case(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "skipped:data_file", "office, by extension"),
    "production/docs/minutes": Case(samples.docx(), "skipped:not_media", "no extension: a Word document by content"),
    "production/labels.json": Case(b'{"labels": []}', "skipped:data_file", "a data file, not a text data unit"),
    "production/index.csv": Case(b"key,label\n", "skipped:data_file", "a data file"),
    "production/README.md": Case(b"# notes\n", "skipped:data_file", "a data file"),
    "production/.DS_Store": Case(b"\x00\x00\x00\x01Bud1", "skipped:data_file", "Finder junk"),
    "production/notes.txt": Case(samples.text("n"), "text:notes.txt", ".txt is the text extension"),
    # --- the same file name in two folders: told apart by their keys
    "production/cam-a/frame.jpg": Case(samples.jpeg("a"), "images:cam-a/frame.jpg", "name collides with cam-b's"),
    "production/cam-b/frame.jpg": Case(samples.jpeg("b"), "images:cam-b/frame.jpg", "name collides with cam-a's"),
    "production/Frame.JPG": Case(samples.jpeg("c"), "images:Frame.JPG", "differs by case: its own title"),
}
READY_MARKERS = (EXPORT + "_READY", "benchmark/dicom/Knee/_READY")


def expected_entries() -> dict[str, list[tuple[str, str]]]:
    """Manifest list -> (title, key) of each single entry expected."""
    out: dict[str, list[tuple[str, str]]] = {}
    for key, case in CASES.items():
        kind, _, title = case.outcome.partition(":")
        if kind in ("images", "videos", "nifti", "text"):
            out.setdefault(kind, []).append((title, key))
    return {k: sorted(v) for k, v in out.items()}


def expected_series() -> dict[str, list[str]]:
    """DICOM series title -> its member keys in order."""
    members: dict[str, dict[int, str]] = {}
    for key, case in CASES.items():
        if "#" in case.outcome and not case.outcome.startswith("skipped"):
            title, _, position = case.outcome.rpartition("#")
            members.setdefault(title, {})[int(position)] = key
    return {title: [by_position[i] for i in sorted(by_position)] for title, by_position in members.items()}


def expected_skips() -> dict[str, str]:
    return {k: c.outcome.removeprefix("skipped:") for k, c in CASES.items() if c.outcome.startswith("skipped:")}


# What each kind of skip says to the user (the CLI's stderr, the state table's reason).
SKIP_PHRASES = {
    "dicom_directory": "DICOMDIR",
    "not_dicom": "not a DICOM file",
    "misplaced": "DICOM files form series",
    "not_media": "its content is",
    "data_file": "a data file",
}


def check_manifests(documents: list[dict[str, object]]) -> None:
    """The manifests (JSON documents, any split) hold exactly the expected entries and series, in order."""
    from benchmark_qa.ingest.urls import key_from_object_url

    singles: dict[str, list[tuple[str, str]]] = {}
    series: dict[str, list[str]] = {}
    for document in documents:
        for name, entries in document.items():
            if not isinstance(entries, list):
                continue
            for entry in entries:
                if name == "dicom_series":
                    urls = [entry[f"objectUrl_{i}"] for i in range(len(entry) - 1) if f"objectUrl_{i}" in entry]
                    series[entry["title"]] = [key_from_object_url(u)[1] for u in urls]
                else:
                    singles.setdefault(name, []).append((entry["title"], key_from_object_url(entry["objectUrl"])[1]))
    assert {k: sorted(v) for k, v in singles.items()} == expected_entries()
    assert series == expected_series()


def manifest_and_check(source: str, out: Path, err_of: Callable[[], str]) -> list[dict[str, Any]]:
    """`benchmark-qa manifest SOURCE --out OUT/m.json`: exit 0, the expected entries, each skip on stderr with
    its reason. Returns the manifests written."""
    import orjson
    from benchmark_qa_local.cli import main

    code = main(["manifest", source, "--out", str(out / "m.json")])
    err = err_of()
    assert code == 0, err
    documents: list[dict[str, Any]] = [orjson.loads(p.read_bytes()) for p in sorted(out.glob("m.*.json"))]
    check_manifests(documents)
    for key, kind in expected_skips().items():
        (line,) = [line for line in err.splitlines() if line.startswith(f"skipped {key}:")]
        assert SKIP_PHRASES[kind] in line, line
    return documents
