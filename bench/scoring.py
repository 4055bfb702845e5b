"""Scoring engine vs pycocotools COCOeval on a generated 10,000-frame video with 20 tracked boxes per frame.

Each side runs in its own subprocess so peak RSS (/proc VmHWM) is its own, ROUNDS times, alternately, and the
medians are compared (one pair of runs moves with the shared machine's load); tracemalloc peak is reported for the
scorer too. Benchmarks print; they never assert timings.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from bench._fresh import in_fresh_process, median, spread

FRAMES, OBJECTS, WIDTH, HEIGHT = 10_000, 20, 1920, 1080
WHEN = "Tue, 05 Nov 2024 10:00:00 UTC"


def _box(object_hash: str, x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {
        "objectHash": object_hash,
        "featureHash": "car00001",
        "name": "Car",
        "value": "car",
        "color": "#D33115",
        "shape": "bounding_box",
        "createdAt": WHEN,
        "createdBy": "annotator@example.com",
        "confidence": 1.0,
        "manualAnnotation": True,
        "boundingBox": {"x": x, "y": y, "w": w, "h": h},
    }


def generate(directory: Path, seed: int = 7) -> None:
    """Truth: 20 boxes drifting across the frame. Annotator: ~2 px jitter, 1% misses, 1% extras, and an
    identity swap of two tracks every 1,000 frames."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.05, 0.75, (OBJECTS, 2))
    size = rng.uniform(0.04, 0.15, (OBJECTS, 2))
    velocity = rng.normal(0, 0.0002, (OBJECTS, 2))
    truth_frames: dict[str, Any] = {}
    labels_frames: dict[str, Any] = {}
    gt_boxes, dt_boxes = [], []
    for f in range(FRAMES):
        pos = np.mod(start + velocity * f, 0.8)
        jitter = rng.normal(0, 2.0, (OBJECTS, 4)) / [WIDTH, HEIGHT, WIDTH, HEIGHT]
        truth, labels = [], []
        for k in range(OBJECTS):
            x, y, w, h = float(pos[k, 0]), float(pos[k, 1]), float(size[k, 0]), float(size[k, 1])
            truth.append(_box(f"gt{k:06d}", x, y, w, h))
            gt_boxes.append((f, x, y, w, h))
            if rng.random() < 0.01:
                continue
            ident = k ^ 1 if (f // 1000) % 2 == 1 else k  # swap neighbouring identities in odd thousands
            bx, by, bw, bh = (float(v) for v in np.array([x, y, w, h]) + jitter[k])
            labels.append(_box(f"an{ident:06d}", bx, by, bw, bh))
            dt_boxes.append((f, bx, by, bw, bh))
        if rng.random() < 0.2:
            x, y = rng.uniform(0, 0.9, 2)
            labels.append(_box(f"ex{f:06d}", float(x), float(y), 0.05, 0.05))
            dt_boxes.append((f, float(x), float(y), 0.05, 0.05))
        truth_frames[str(f)] = {"objects": truth, "classifications": []}
        labels_frames[str(f)] = {"objects": labels, "classifications": []}

    def row(label_hash: str, frames: dict[str, Any]) -> dict[str, Any]:
        unit = {
            "data_hash": "video",
            "data_title": "v.mp4",
            "data_link": "x",
            "data_type": "video/mp4",
            "data_sequence": 0,
            "width": WIDTH,
            "height": HEIGHT,
            "data_fps": 25.0,
            "data_duration": FRAMES / 25.0,
            "labels": frames,
        }
        return {
            "label_hash": label_hash,
            "branch_name": "main",
            "created_at": WHEN,
            "last_edited_at": WHEN,
            "data_hash": "video",
            "dataset_hash": "d",
            "dataset_title": "d",
            "data_title": "v",
            "data_type": "video",
            "annotation_task_status": "COMPLETED",
            "is_shadow_data": False,
            "object_answers": {},
            "classification_answers": {},
            "object_actions": {},
            "label_status": "LABELLED",
            "data_units": {"video": unit},
        }

    ontology = {
        "objects": [
            {"id": "1", "name": "Car", "color": "#D33115", "shape": "bounding_box", "featureNodeHash": "car00001"}
        ],
        "classifications": [],
    }
    (directory / "ontology.json").write_text(json.dumps(ontology))
    (directory / "truth.json").write_text(json.dumps(row("truth", truth_frames)))
    (directory / "labels.json").write_text(json.dumps(row("labels", labels_frames)))

    def coco(boxes: list[tuple[int, float, float, float, float]], detections: bool) -> Any:
        anns = []
        for i, (f, x, y, w, h) in enumerate(boxes):
            ann = {
                "id": i + 1,
                "image_id": f,
                "category_id": 1,
                "bbox": [x * WIDTH, y * HEIGHT, w * WIDTH, h * HEIGHT],
                "area": w * WIDTH * h * HEIGHT,
                "iscrowd": 0,
            }
            if detections:
                ann["score"] = 1.0
            anns.append(ann)
        if detections:
            return anns
        return {
            "images": [{"id": f, "width": WIDTH, "height": HEIGHT} for f in range(FRAMES)],
            "annotations": anns,
            "categories": [{"id": 1, "name": "Car"}],
        }

    (directory / "coco_gt.json").write_text(json.dumps(coco(gt_boxes, False)))
    (directory / "coco_dt.json").write_text(json.dumps(coco(dt_boxes, True)))


def _peak_rss_mb() -> float:
    """This process's peak RSS. /proc's VmHWM restarts at exec; getrusage's maxrss would include the parent's
    peak inherited across fork+exec (the parent generated the data)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _load(directory: Path) -> tuple[Any, bytes, bytes]:
    from benchmark_qa.scoring import Ontology

    ontology = Ontology.from_dict(json.loads((directory / "ontology.json").read_text()))
    return ontology, (directory / "truth.json").read_bytes(), (directory / "labels.json").read_bytes()


def _child_score(directory: Path) -> dict[str, Any]:
    """Untraced: wall time and peak RSS of JSON bytes -> report (the input bytes themselves are in the RSS)."""
    from benchmark_qa.scoring import score_label_rows

    ontology, truth, labels = _load(directory)
    empty = b'{"data_type":"video","data_units":{}}'
    score_label_rows(ontology, empty, empty)  # import everything first: imports are not scoring time
    base_rss = _peak_rss_mb()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started, cpu_started = time.perf_counter(), time.process_time()
    report = score_label_rows(ontology, truth, labels)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults  # fresh memory the first call touched
    rss = _peak_rss_mb()
    started = time.perf_counter()
    size = len(report.to_json())
    json_time = time.perf_counter() - started
    # the same call again (a worker scoring task after task): memory the first call paged in is reused
    warm, warm_cpu = [], []
    for _ in range(2):
        started, cpu_started = time.perf_counter(), time.process_time()
        score_label_rows(ontology, truth, labels)
        warm.append(time.perf_counter() - started)
        warm_cpu.append(time.process_time() - cpu_started)
    # the same work without JSON parsing: the like-for-like counterpart of COCOeval.evaluate()+accumulate()
    from benchmark_qa.collector import paused_gc
    from benchmark_qa.scoring import ScoringConfig
    from benchmark_qa.scoring.engine import score_label_sets
    from benchmark_qa.scoring.labels import read_label_row

    started = time.perf_counter()
    parsed_truth, parsed_labels = read_label_row(ontology, truth), read_label_row(ontology, labels)
    parse_time = time.perf_counter() - started
    started = time.perf_counter()
    with paused_gc():
        score_label_sets(ontology, parsed_truth, parsed_labels, ScoringConfig())
    compare_time = time.perf_counter() - started
    t = report.tracking
    d = report.objects.detection
    return {
        "seconds": elapsed,
        "warm_seconds": min(warm),
        "cpu_seconds": cpu,
        "warm_cpu_seconds": min(warm_cpu),
        "maxrss_mb": rss,
        "page_faults": faults,
        "base_rss_mb": base_rss,
        "json_seconds": json_time,
        "scipy_loaded": any(m.split(".")[0] == "scipy" for m in sys.modules),  # must stay out of the Lambda layer
        "reader": _reader(truth, labels),
        "parse_seconds": parse_time,
        "compare_seconds": compare_time,
        "json_mb": size / 2**20,
        "precision": d.precision.value if d.precision else None,
        "recall": d.recall.value if d.recall else None,
        "idf1": t.idf1 if t else None,
        "hota": t.hota if t else None,
        "id_switches": t.id_switches if t else None,
        "input_mb": (len(truth) + len(labels)) / 2**20,
    }


def _reader(*rows: bytes) -> str:
    """Which reader read the rows: the compiled box-row reader, or msgspec and why (a figure measured without the
    library would otherwise pass for one measured with it)."""
    from benchmark_qa.scoring import box_rows

    reasons = {box_rows.decline_reason(row) for row in rows}
    if reasons == {None}:
        return f"the compiled box-row reader ({box_rows.LIBRARY.name})"
    return f"msgspec (the compiled box-row reader: {', '.join(sorted(r for r in reasons if r))})"


def _child_trace(directory: Path) -> dict[str, Any]:
    """tracemalloc peak of the same call (allocations made while scoring, inputs excluded)."""
    from benchmark_qa.scoring import score_label_rows

    ontology, truth, labels = _load(directory)
    empty = b'{"data_type":"video","data_units":{}}'
    score_label_rows(ontology, empty, empty)
    tracemalloc.start()
    score_label_rows(ontology, truth, labels)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"tracemalloc_mb": peak / 2**20}


def _child_coco(directory: Path) -> dict[str, Any]:
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(directory / "coco_gt.json"))
        dt = gt.loadRes(json.loads((directory / "coco_dt.json").read_text()))
        ev = COCOeval(gt, dt, "bbox")
        ev.params.iouThrs = np.array([0.5])
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.params.maxDets = [100]
        started, cpu_started = time.perf_counter(), time.process_time()
        ev.evaluate()
        ev.accumulate()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "maxrss_mb": _peak_rss_mb(),
        "precision": float(ev.eval["precision"][0, :, 0, 0, 0].mean()),
    }


def allocator_environment(function: str = "ScoreWorkerFunction") -> dict[str, str]:
    """The glibc allocator settings a function runs with (its MALLOC_* variables in template.yaml). Both sides of
    the benchmark run under ScoreWorkerFunction's: they are part of how the product scores, and COCOeval is
    measured alike."""
    from benchmark_qa_local.template import SamTemplate

    spec = SamTemplate.load(Path(__file__).resolve().parents[1] / "template.yaml").function(function)
    return {name: str(value) for name, value in spec.environment.items() if name.startswith("MALLOC_")}


def _in_subprocess(kind: str, directory: Path, env: dict[str, str]) -> dict[str, Any]:
    return in_fresh_process("bench.scoring", f"m._child_{kind}(pathlib.Path({str(directory)!r}))", env)


# fresh processes per side, alternating: one pair of runs moves with the shared machine's load (COCOeval took
# 1.68-2.55 s in three processes of one run)
ROUNDS = 5


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        generate(directory)
        print(f"generated {FRAMES} frames x {OBJECTS} boxes in {time.perf_counter() - started:.1f} s")
        env = allocator_environment()
        runs, cocos = [], []
        for _ in range(ROUNDS):
            runs.append(_in_subprocess("score", directory, env))
            cocos.append(_in_subprocess("coco", directory, env))
        traced = _in_subprocess("trace", directory, env)
    ours = {
        key: median(runs, key)
        for key in runs[0]
        if isinstance(runs[0][key], float | int) and not isinstance(runs[0][key], bool)
    }
    coco = {key: median(cocos, key) for key in ("seconds", "cpu_seconds", "maxrss_mb")}
    print(f"input: {ours['input_mb']:.1f} MB of label-row JSON (truth + annotator)")
    print(f"medians of {ROUNDS} fresh processes a side, run alternately (range in brackets)")
    print(f"both sides with the scoring functions' allocator settings: {' '.join(f'{k}={v}' for k, v in env.items())}")
    print(f"{'':36}{'benchmark-qa':>13}{'COCOeval':>10}{'ratio':>8}{'target':>9}")
    ratio = coco["seconds"] / ours["seconds"]
    print(
        f"{'JSON bytes -> report (s)':36}{ours['seconds']:>13.3f}{coco['seconds']:>10.3f}{ratio:>7.1f}x{'>= 4.0x':>9}"
        f"  [{spread(runs, 'seconds')} | {spread(cocos, 'seconds')}]"
    )
    ratio = coco["seconds"] / ours["warm_seconds"]
    times = f"{ours['warm_seconds']:>13.3f}{coco['seconds']:>10.3f}{ratio:>7.1f}x"
    print(f"{'  the same call again (s)':36}{times}")
    # CPU time of each side: on a shared machine a process waiting for a core is not slower, only later
    cpu_rows = (("  on CPU time (s)", "cpu_seconds"), ("  the same call again, CPU time (s)", "warm_cpu_seconds"))
    for label, key in cpu_rows:
        ratio = coco["cpu_seconds"] / ours[key]
        print(
            f"{label:36}{ours[key]:>13.3f}{coco['cpu_seconds']:>10.3f}{ratio:>7.1f}x{'':9}"
            f"  [{spread(runs, key)} | {spread(cocos, 'cpu_seconds')}]"
        )
    print(f"{'  page faults of the first call':36}{ours['page_faults']:>13,.0f}")
    print(f"{'  parsing JSON, on its own (s)':36}{ours['parse_seconds']:>13.3f}")
    ratio = coco["seconds"] / ours["compare_seconds"]
    times = f"{ours['compare_seconds']:>13.3f}{coco['seconds']:>10.3f}{ratio:>7.1f}x"
    print(f"{'  scoring parsed rows, on its own (s)':36}{times}")
    print(
        f"{'peak RSS (MB, whole process)':36}{ours['maxrss_mb']:>13.0f}{coco['maxrss_mb']:>10.0f}"
        f"{coco['maxrss_mb'] / ours['maxrss_mb']:>7.1f}x{'< 400':>9}"
    )
    print(f"{'  of which before scoring (inputs)':36}{ours['base_rss_mb']:>13.0f}")
    print(f"{'tracemalloc peak (MB)':36}{traced['tracemalloc_mb']:>13.0f}{'-':>10}")
    first = runs[0]
    print(
        f"  benchmark-qa: JSON bytes -> report incl. parsing, matching, tracking (IDF1 {first['idf1']:.3f}, "
        f"HOTA {first['hota']:.3f}, {first['id_switches']} ID switches), conflicts; "
        f"P {first['precision']:.4f} R {first['recall']:.4f}"
    )
    print(f"  report.to_json(): {ours['json_seconds']:.3f} s, {ours['json_mb']:.1f} MB")
    print(f"  scipy imported while scoring: {'yes' if any(r['scipy_loaded'] for r in runs) else 'no'}")
    print(f"  rows read by: {first['reader']}")
    print(
        "  COCOeval: evaluate()+accumulate() only (IoU 0.5, one area range, maxDets 100), files pre-loaded; "
        f"AP-precision {cocos[0]['precision']:.4f}"
    )
