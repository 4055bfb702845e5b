"""The score worker's read of one label row of the scoring benchmark's 10,000-frame video (20 boxes a frame): from
the bytes Encord sends to the engine's columns, two ways, each in fresh processes.

- as Encord sends it (what the worker does): the SDK's querier decodes the bytes with orjson
  (encord `http/querier.py:273`) and `Project.get_label_rows` hands over the dict; the engine reads the dict.
- through the SDK's objects (what it did before): the same decode, then `initialise_labels` builds LabelRowV2
  objects from the dict (`from_labels_dict`), and the engine needs `to_encord_dict()` back from them.

No HTTP in either: the request itself is the same v1 `labelrow` GET both ways. Prints, never asserts."""

from __future__ import annotations

import datetime
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.scoring import FRAMES, OBJECTS, _load, _peak_rss_mb, generate

ROUNDS = 3
WAYS = ("as_sent", "objects")


def _sdk_row(structure: dict[str, Any], row: dict[str, Any]) -> Any:
    """A LabelRowV2 parsed from `row` offline (docs: encord-sdk.md, "Offline LabelRowV2")."""
    from encord.objects.ontology_labels_impl import LabelRowV2
    from encord.objects.ontology_structure import OntologyStructure
    from encord.ontology import Ontology as SdkOntology
    from encord.orm.label_row import LabelRowMetadata
    from encord.orm.ontology import Ontology as OrmOntology

    when = datetime.datetime(2024, 1, 1)
    orm = OrmOntology(
        title="bench", structure=OntologyStructure.from_dict(structure), ontology_hash="o", created_at=when,
        last_edited_at=when,
    )  # fmt: skip
    meta = LabelRowMetadata.from_dict(
        {
            "label_hash": row["label_hash"], "branch_name": "main", "data_hash": row["data_hash"],
            "dataset_hash": "d", "dataset_title": "d", "data_title": "d", "data_type": row["data_type"].upper(),
            "data_link": None, "spaces": {}, "label_status": "LABELLED", "number_of_frames": FRAMES,
            "created_at": None, "last_edited_at": None,
        }
    )  # fmt: skip
    label_row = LabelRowV2(meta, None, SdkOntology(orm, api_client=None))  # type: ignore[arg-type]
    label_row.from_labels_dict(row)
    return label_row


def _child(directory: Path, way: str) -> dict[str, float]:
    import gc

    import orjson
    from benchmark_qa.collector import paused_gc
    from benchmark_qa.scoring.labels import read_label_row

    ontology, truth, _ = _load(directory)
    structure = json.loads((directory / "ontology.json").read_text())
    empty = orjson.loads(truth)
    for unit in empty["data_units"].values():
        unit["labels"] = {}
    read_label_row(ontology, _sdk_row(structure, empty).to_encord_dict())  # imports are not reading time
    started, cpu = time.perf_counter(), time.process_time()
    if way == "as_sent":  # the worker pauses the collector around get_label_rows (encord.consensus._read_rows)
        with paused_gc():
            row = orjson.loads(truth)
    else:
        row = orjson.loads(truth)
    decoded = time.perf_counter()
    if way == "objects":
        row = _sdk_row(structure, row).to_encord_dict()
    converted = time.perf_counter()
    read_label_row(ontology, row)
    gc.collect()  # what pausing put off is paid here, inside the time: a full collection over the row
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "cpu_seconds": time.process_time() - cpu,
        "decode_seconds": decoded - started,
        "sdk_seconds": converted - decoded,
        "read_seconds": done - converted,
        "maxrss_mb": _peak_rss_mb(),
    }


def _in_subprocess(directory: Path, way: str) -> dict[str, float]:
    call = f"b._child(pathlib.Path({str(directory)!r}), {way!r})"
    code = f"import json, pathlib, bench.worker_read as b; print(json.dumps({call}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        generate(directory)
        size = (directory / "truth.json").stat().st_size / 2**20
        runs: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
        for _ in range(ROUNDS):  # alternating fresh processes
            for way in WAYS:
                runs[way].append(_in_subprocess(directory, way))
    print(f"one label row: {FRAMES:,} frames x {OBJECTS} boxes, {size:.1f} MB of JSON; medians of {ROUNDS} processes")

    def median(way: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[way]))

    print(f"{'':34}{'total s':>9}{'CPU s':>8}{'decode':>8}{'SDK objs':>9}{'engine+GC':>10}{'peak RSS MB':>12}")
    for way, label in zip(WAYS, ("as Encord sends it (the worker)", "through LabelRowV2 objects"), strict=True):
        parts = (median(way, "decode_seconds"), median(way, "sdk_seconds"), median(way, "read_seconds"))
        print(
            f"{label:34}{median(way, 'seconds'):>9.2f}{median(way, 'cpu_seconds'):>8.2f}"
            f"{parts[0]:>8.2f}{parts[1]:>9.2f}{parts[2]:>10.2f}{median(way, 'maxrss_mb'):>12.0f}"
        )
    ratio = median("objects", "cpu_seconds") / median("as_sent", "cpu_seconds")
    print(f"reading a row as Encord sends it: {ratio:.1f}x less CPU than through the SDK's objects")
    print("  a task reads its truth once and each annotator's branch once: 4 rows with 3 annotators")
