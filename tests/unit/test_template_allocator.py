"""The functions that score label rows run glibc's allocator with larger thresholds (template.yaml,
docs/performance.md "The allocator"): both carry the same settings, no other function has any, and glibc takes
them (a misspelt name, e.g. without its trailing underscore, is silently ignored by glibc)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmark_qa_local.template import SamTemplate

from bench.scoring import allocator_environment

REPO = Path(__file__).resolve().parents[2]
SCORING_FUNCTIONS = ("ScoreFunction", "ScoreWorkerFunction")
SETTINGS = {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"}

# bytes glibc holds in mmapped chunks after a 16 MiB numpy array is made: 0 when the settings serve it from the heap
MMAPPED = """
import ctypes, json
import numpy as np

class MallInfo2(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
array = np.ones(2 * 2**20)
print(json.dumps(libc.mallinfo2().hblkhd))
"""


def test_the_scoring_functions_carry_the_same_allocator_settings() -> None:
    settings = [allocator_environment(name) for name in SCORING_FUNCTIONS]
    assert set(settings[0]) == SETTINGS
    assert settings[0] == settings[1]
    assert all(int(value) > 0 for value in settings[0].values())


def test_no_other_function_changes_the_allocator() -> None:
    template = SamTemplate.load(REPO / "template.yaml")
    others = [spec.logical_id for spec in template.functions() if spec.logical_id not in SCORING_FUNCTIONS]
    assert others
    assert all(not allocator_environment(name) for name in others)


def _mmapped(env: dict[str, str]) -> int:
    done = subprocess.run([sys.executable, "-c", MMAPPED], env=env, capture_output=True, text=True, check=True)
    return int(json.loads(done.stdout))


def test_glibc_takes_the_settings() -> None:
    assert _mmapped({}) >= 16 * 2**20  # glibc's default: a 16 MiB array is its own mmap
    assert _mmapped(allocator_environment()) == 0
