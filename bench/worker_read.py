"""The score worker's read of one label row of the scoring benchmark's 10,000-frame video (20 boxes a frame): from
the bytes Encord sends to the engine's columns, two ways, each in fresh processes.

- as Encord sends it (what the worker does): the SDK's querier decodes the bytes with orjson
  (encord `http/querier.py:273`) and `Project.get_label_rows` hands over the dict; the worker keeps the row as JSON
  again (`encord.consensus._row_json`, a third of the dicts' memory) and the engine reads those bytes.
- through the SDK's objects (what it did before): the same decode, then `initialise_labels` builds LabelRowV2
  objects from the dict (`from_labels_dict`), and the engine needs `to_encord_dict()` back from them.

No HTTP in either: the request itself is the same v1 `labelrow` GET both ways. Prints, never asserts."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmark_qa_local.sdk_rows import offline_label_row

from bench._fresh import in_fresh_process, median
from bench.scoring import FRAMES, OBJECTS, _load, _peak_rss_mb, generate

ROUNDS = 3
WAYS = ("as_sent", "objects")


def _child(directory: Path, way: str) -> dict[str, float]:
    import gc

    import orjson
    from benchmark_qa.collector import paused_gc
    from benchmark_qa.encord.consensus import _row_json
    from benchmark_qa.scoring.labels import read_label_row

    ontology, truth, _ = _load(directory)
    structure = json.loads((directory / "ontology.json").read_text())
    empty = orjson.loads(truth)
    for unit in empty["data_units"].values():
        unit["labels"] = {}
    # imports are not reading time
    read_label_row(ontology, offline_label_row(structure, empty, FRAMES).to_encord_dict())
    started, cpu = time.perf_counter(), time.process_time()
    row: Any
    if way == "as_sent":  # the worker pauses the collector around get_label_rows (encord.consensus._read_rows)
        with paused_gc():
            row = orjson.loads(truth)
            decoded = time.perf_counter()
            row = _row_json(row)
    else:
        row = orjson.loads(truth)
        decoded = time.perf_counter()
        row = offline_label_row(structure, row, FRAMES).to_encord_dict()
    converted = time.perf_counter()
    read_label_row(ontology, row)
    gc.collect()  # what pausing put off is paid here, inside the time: a full collection over the row
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "cpu_seconds": time.process_time() - cpu,
        "decode_seconds": decoded - started,
        "handover_seconds": converted - decoded,
        "read_seconds": done - converted,
        "maxrss_mb": _peak_rss_mb(),
    }


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        generate(directory)
        size = (directory / "truth.json").stat().st_size / 2**20
        runs: dict[str, list[dict[str, Any]]] = {way: [] for way in WAYS}
        for _ in range(ROUNDS):  # alternating fresh processes
            for way in WAYS:
                runs[way].append(
                    in_fresh_process("bench.worker_read", f"m._child(pathlib.Path({str(directory)!r}), {way!r})")
                )
    print(f"one label row: {FRAMES:,} frames x {OBJECTS} boxes, {size:.1f} MB of JSON; medians of {ROUNDS} processes")

    def of(way: str, key: str) -> float:
        return median(runs[way], key)

    print(f"{'':34}{'total s':>9}{'CPU s':>8}{'decode':>8}{'handover':>9}{'engine+GC':>10}{'peak RSS MB':>12}")
    for way, label in zip(WAYS, ("as Encord sends it (the worker)", "through LabelRowV2 objects"), strict=True):
        parts = (of(way, "decode_seconds"), of(way, "handover_seconds"), of(way, "read_seconds"))
        print(
            f"{label:34}{of(way, 'seconds'):>9.2f}{of(way, 'cpu_seconds'):>8.2f}"
            f"{parts[0]:>8.2f}{parts[1]:>9.2f}{parts[2]:>10.2f}{of(way, 'maxrss_mb'):>12.0f}"
        )
    ratio = of("objects", "cpu_seconds") / of("as_sent", "cpu_seconds")
    print(f"reading a row as Encord sends it: {ratio:.1f}x less CPU than through the SDK's objects")
    print("  handover: the row kept as JSON again (the worker), or LabelRowV2 objects and to_encord_dict() (before)")
    print("  a task reads its truth once and each annotator's branch once: 4 rows with 3 annotators")
