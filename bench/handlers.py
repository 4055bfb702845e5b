"""Cold-start cost and package size of every function in template.yaml.

Import time: each handler module is imported in a fresh interpreter (as a Lambda cold start does), with the
environment the template gives it and the core layer on sys.path, five times; the median is reported.
Built size: the function's and the core layer's folders in .aws-sam/build (run `make build` first; `make
bench` does), against Lambda's 262,144,000-byte limit on function + layers unzipped.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmark_qa_local.deployment import LocalDeployment
from benchmark_qa_local.template import SamTemplate

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / ".aws-sam" / "build"
LAMBDA_LIMIT = 262_144_000
RUNS = 5

_IMPORT = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""


def _median_seconds(code: str, args: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"import failed: {done.stderr[-2000:]}")
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def run() -> None:
    template = SamTemplate.load(REPO / "template.yaml")
    # Every parameter gets a value, as a deployment would give it; no AWS call is made at import.
    parameters = {
        name: "bench" for name, spec in template.body.get("Parameters", {}).items() if not spec.get("Default")
    }
    parameters["ScoringConfig"] = ""  # optional JSON: empty means the engine's defaults ("bench" is not JSON)
    deployment = LocalDeployment(template, endpoint_url="http://127.0.0.1:9", parameters=parameters)
    layer = REPO / "shared"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base_env["PYTHONPATH"] = str(layer)
    layer_size = _size(BUILD / "CoreLayer")
    print(f"{'function':<22} {'import (median of 5)':>20} {'function':>10} {'+ layer':>10} {'of limit':>9}")
    rows = []
    for spec in template.functions():
        env = {**base_env, **deployment.function_environment(spec.logical_id)}
        module_file = spec.code_dir / (spec.handler.split(".")[0] + ".py")
        seconds = _median_seconds(_IMPORT, [str(module_file)], env)
        size = _size(BUILD / spec.logical_id)
        total = size + layer_size
        rows.append({"function": spec.logical_id, "import_s": seconds, "function_bytes": size, "total_bytes": total})
        print(
            f"{spec.logical_id:<22} {seconds * 1000:>17.0f} ms {size / 1e6:>8.2f}MB {total / 1e6:>8.1f}MB "
            f"{total / LAMBDA_LIMIT:>8.0%}"
        )
    print(f"(core layer built: {layer_size / 1e6:.1f} MB; import time excludes the interpreter's own start)")
    if not layer_size:
        print("(no .aws-sam/build: run `make build` for sizes)")
    print(json.dumps({"handlers": rows, "layer_bytes": layer_size}))
