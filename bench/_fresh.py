"""Measurements in fresh interpreters, and their medians: a benchmark's figure from one process moves with what
the process did before and with the shared machine's load. (Underscored: `python -m bench` does not run it.)"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def in_fresh_process(module: str, call: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`module.call` (a Python expression naming the module `m`, e.g. "m._child(3)") evaluated in a new
    interpreter; its value is returned through JSON."""
    code = f"import json, pathlib, {module} as m; print(json.dumps({call}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def median(runs: Sequence[Mapping[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def spread(runs: Sequence[Mapping[str, Any]], key: str, digits: int = 3, scale: float = 1.0) -> str:
    """The lowest and highest value of `key`, times `scale`."""
    values = sorted(r[key] * scale for r in runs)
    return f"{values[0]:.{digits}f}-{values[-1]:.{digits}f}"
