"""Cold-start cost and package size of every function in template.yaml, each beside its target.

Import time: each handler module is imported in a fresh interpreter (as a Lambda cold start does), with the
environment the template gives it and only the modules Lambda would have (its layers' packages, the runtime's
boto3; lambda_modules), five times; the median is reported. Then, in the same interpreter, what the first event
imports (the X-Ray SDK and boto3 for every function, the encord SDK, the scoring engine) and the interpreter's own
start, for an estimate of the first request. Targets: ManifestFunction's import under 300 ms, every other under 1 s.

Built size: the function's folder plus its layers' folders in .aws-sam/build (`make bench` runs `make build`
first), against the target of 100 MB and Lambda's 262,144,000-byte limit on function + layers unzipped.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmark_qa_local.deployment import LocalDeployment
from benchmark_qa_local.lambda_modules import function_layers, guard_code, import_parameters
from benchmark_qa_local.template import SamTemplate

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / ".aws-sam" / "build"
LAMBDA_LIMIT = 262_144_000
SIZE_TARGET = 100_000_000
RUNS = 5
IMPORT_TARGET_MS = {"ManifestFunction": 300}  # every other function: 1,000 ms
# what a function's first event imports, by the layer that brings it
FIRST_EVENT = {
    "CoreLayer": (
        "import aws_xray_sdk.core, boto3, aws_lambda_powertools.utilities.batch, benchmark_qa.bucket, "
        "benchmark_qa.ingest.pipeline"
    ),
    "IngestLayer": "import pydicom, filetype",
    "EncordLayer": "import encord, benchmark_qa.encord.client, benchmark_qa.encord.consensus",
    "ScoringLayer": "import benchmark_qa.scoring.engine, benchmark_qa.scoring.typed_row",
}

_IMPORT = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()
exec(sys.argv[2])
print(imported - started, time.perf_counter() - imported)
"""


def _median_seconds(code: str, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    imports, first = [], []
    for _ in range(RUNS):
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"import failed: {done.stderr[-2000:]}")
        a, b = done.stdout.strip().splitlines()[-1].split()
        imports.append(float(a))
        first.append(float(b))
    return statistics.median(imports), statistics.median(first)


def _interpreter_start(env: dict[str, str]) -> float:
    """Wall time of starting this interpreter and doing nothing (process start, site), median of RUNS."""
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def run() -> None:
    template = SamTemplate.load(REPO / "template.yaml")
    # Every parameter gets a value, as a deployment would give it; no AWS call is made at import.
    parameters = import_parameters(template, "bench")
    deployment = LocalDeployment(template, endpoint_url="http://127.0.0.1:9", parameters=parameters)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    base_env["PYTHONPATH"] = str(REPO / "shared")
    start = _interpreter_start(base_env)
    print(
        f"{'function':<21}{'import':>8}{'target':>8}{'+1st event':>11}{'est. init':>10}"
        f"{'size':>9}{'target':>8}{'of 250 MB':>10}  layers"
    )
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for spec in template.functions():
        env = {**base_env, **deployment.function_environment(spec.logical_id)}
        module_file = spec.code_dir / (spec.handler.split(".")[0] + ".py")
        layers = function_layers(spec)
        used.update(layers)
        first_event = "\n".join(FIRST_EVENT[layer] for layer in layers)
        imported, first = _median_seconds(guard_code(layers) + _IMPORT, [str(module_file), first_event], env)
        target = IMPORT_TARGET_MS.get(spec.logical_id, 1000)
        size = _size(BUILD / spec.logical_id) + sum(_size(BUILD / layer) for layer in layers)
        rows.append(
            {
                "function": spec.logical_id,
                "import_s": imported,
                "first_event_imports_s": first,
                "interpreter_start_s": start,
                "target_ms": target,
                "total_bytes": size,
                "layers": layers,
            }
        )
        print(
            f"{spec.logical_id:<21}{imported * 1000:>6.0f}ms{'<' + str(target):>8}{first * 1000:>9.0f}ms"
            f"{(start + imported) * 1000:>8.0f}ms{size / 1e6:>7.1f}MB{'<100':>8}{size / LAMBDA_LIMIT:>10.0%}  "
            f"{'+'.join(layers)}"
        )
    for layer in sorted(used):
        print(f"  {layer}: {_size(BUILD / layer) / 1e6:.1f} MB built")
    print(
        f"(median of {RUNS}, this machine, with only the modules Lambda would have; est. init = the interpreter's "
        f"own start ({start * 1000:.0f} ms here) + the import, Lambda's Init Duration less its runtime bootstrap; "
        "+1st event: imports deferred to the first request (X-Ray SDK and boto3, encord, the scoring engine))"
    )
    if not any(row["total_bytes"] for row in rows):
        print("(no .aws-sam/build: run `make build` for sizes)")
    print(json.dumps({"handlers": rows}))
