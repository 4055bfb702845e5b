"""Manifest building throughput: 100,000 objects of mixed types and groups through classify + scan/build +
JSON and CSV serialisation, with objects per second and peak memory (tracemalloc). Prints, never asserts."""

from __future__ import annotations

import time
import tracemalloc

import orjson
from benchmark_qa.ingest.items import S3Object, classify
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.scan import scan

N_OBJECTS = 100_000
SIDECAR = orjson.dumps({"title": "t", "clientMetadata": {"site": "a", "score": 0.5}})


def _objects(n: int) -> list[S3Object]:
    """About half single files of six types (every 5th with a sidecar), half group members
    (image groups, sequences and DICOM series of 20 files each)."""
    singles = (
        "videos/v{}.mp4",
        "images/i {}.jpg",
        "audio/a{}.wav",
        "docs/d{}.pdf",
        "text/t{}.txt",
        "nifti/n{}.nii.gz",
    )
    groups = ("image-groups/g{}/img{}.jpg", "image-sequences/s{}/frame{}.png", "dicom/series{}/IM{}")
    out: list[S3Object] = []
    i = 0
    while len(out) < n:
        dataset = "benchmark" if i % 3 == 0 else "production"
        if i % 2 == 0:
            key = f"{dataset}/{singles[i % len(singles)].format(i)}"
            out.append(S3Object(bucket="bench-bucket", key=key, size=1000 + i, etag=f"e{i}"))
            if i % 5 == 0:
                out.append(S3Object(bucket="bench-bucket", key=key + ".meta.json", size=len(SIDECAR)))
        else:
            template = groups[(i // 2) % len(groups)]
            key = f"{dataset}/{template.format(i // 40, i % 20)}"
            out.append(S3Object(bucket="bench-bucket", key=key, size=1000, etag=f"e{i}"))
        i += 1
    return out[:n]


def _pipeline(objects: list[S3Object], layout: Layout) -> tuple[float, float, float, int, int, int]:
    def read(_key: str) -> bytes:
        return SIDECAR

    started = time.perf_counter()
    result = scan(objects, read, region="eu-west-2", layout=layout)
    scanned = time.perf_counter()
    json_size = sum(len(m.to_json_bytes()) for m in result.manifests.values())
    jsoned = time.perf_counter()
    csv_size = sum(len(m.to_csv(allow_loss=True)) for m in result.manifests.values())
    done = time.perf_counter()
    entries = sum(m.entry_count for m in result.manifests.values())
    return scanned - started, jsoned - scanned, done - jsoned, entries, json_size, csv_size


def run() -> None:
    layout = Layout()
    objects = _objects(N_OBJECTS)
    print(f"{N_OBJECTS:,} objects (mixed types, groups of 20, sidecars on 1 in 5 single files)")
    started = time.perf_counter()
    for o in objects:
        classify(o, layout)
    classify_s = time.perf_counter() - started
    scan_s, json_s, csv_s, entries, json_size, csv_size = _pipeline(objects, layout)
    for label, seconds in (
        ("classify only", classify_s),
        ("scan (classify + sidecars + build)", scan_s),
        ("serialise JSON", json_s),
        ("serialise CSV", csv_s),
        ("total", scan_s + json_s + csv_s),
    ):
        print(f"{label:<34} {seconds * 1000:9.1f} ms {N_OBJECTS / seconds:12,.0f} objects/s")
    print(f"entries {entries:,}, JSON {json_size / 1e6:.1f} MB, CSV {csv_size / 1e6:.1f} MB")
    total = scan_s + json_s + csv_s
    rate = N_OBJECTS / total
    print(f"total {rate:,.0f} objects/s; target >= 50,000 with flat memory (anchor: 38,854 when issue 16 was filed)")
    # A second pass under tracemalloc: it slows allocation, so it is not the timed one.
    tracemalloc.start()
    _pipeline(objects, layout)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak traced memory of scan + build + serialise (input list excluded): {peak / 1e6:.1f} MB")
