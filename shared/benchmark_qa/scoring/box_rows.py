"""The compiled box-row reader (box_rows.c, loaded with ctypes): a frame-keyed label row whose frame objects are
all plain bounding boxes, read from its JSON bytes straight into columns, with no Python object per box.

It reads only rows it is sure of and declines everything else (`read()` returns None: another shape, a frame
classification without a plain string classificationHash, an escape or a repeated key where it reads, an unusual
number, malformed JSON, ...), and so does a machine without the library; the caller then reads the row with
msgspec/orjson exactly as before.
The library is plain C without the Python API, so one build serves every Python version of an architecture:
`make install` builds it for the host and the CoreLayer build for Lambda (aarch64), both with the locked zig.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["LIBRARY", "REASONS", "BoxRow", "decline_reason", "read"]

LIBRARY = Path(__file__).with_name("libbox_rows.so")  # not box_rows.so: the import system would take it for this module
# box_rows.c's reasons for declining, by code
REASONS = (
    "ok", "malformed", "depth", "escape", "duplicate", "number", "shape", "classification", "missing", "frame key",
    "type", "memory", "limit",
)  # fmt: skip

_I64 = ctypes.POINTER(ctypes.c_int64)
LAYOUT = 2  # br_version() of the box_rows.c this module reads: the columns br_sizes and br_copy write


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    """The library, or None (said once in the log, so that a packaging fault on Lambda shows there): not built
    here, built for another machine, or built from another version of box_rows.c than this module reads (a
    stale build would write columns of another layout). The msgspec reader then reads every row, as correctly
    but more slowly."""
    try:
        lib = ctypes.CDLL(str(LIBRARY))
        version = lib.br_version()
        if version != LAYOUT:
            raise OSError(f"it writes layout {version}, this module reads layout {LAYOUT}")
    except (OSError, AttributeError) as error:  # AttributeError: a build from before br_version
        logging.getLogger(__name__).warning(
            "the compiled box-row reader %s did not load (%s): label rows are read by msgspec, about twice as slowly; "
            "build it with `make install` (sam build makes Lambda's)",
            LIBRARY.name,
            error,
        )
        return None
    lib.br_read.restype = ctypes.c_void_p
    lib.br_read.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    lib.br_sizes.restype = None
    lib.br_sizes.argtypes = [ctypes.c_void_p, _I64]
    lib.br_copy.restype = None
    lib.br_copy.argtypes = [ctypes.c_void_p, _I64, _I64, ctypes.POINTER(ctypes.c_double), ctypes.c_void_p, _I64, _I64]
    lib.br_free.restype = None
    lib.br_free.argtypes = [ctypes.c_void_p]
    return lib


@dataclass(frozen=True, slots=True)
class BoxRow:
    """A row's boxes as columns. Per data unit (in the row's order) `units` holds: its labels value's byte span
    (-1, -1 when it has none), then the runs, boxes, objects and classifications read up to the end of that unit.
    `objects` are the objectHash and featureHash of each object id, in order of first sighting; `classifications`
    the frame and classificationHash of each entry of the frames' classifications, in the row's order."""

    raw: bytes
    units: np.ndarray  # (u, 6) int64
    runs: np.ndarray  # (r, 2) int64: frame, box count, for frames with boxes in the row's order
    boxes: np.ndarray  # (n, 4) float64: x, y, w, h
    ids: np.ndarray  # (n,) int32 object id
    objects: list[tuple[str, str]]
    classifications: list[tuple[int, str]]

    def head(self) -> bytes:
        """The row with every labels value replaced by {}: the small rest, for the JSON reader."""
        pieces, at = [], 0
        for start, end in self.units[:, :2].tolist():
            if start >= 0:
                pieces += [self.raw[at:start], b"{}"]
                at = end
        pieces.append(self.raw[at:])
        return b"".join(pieces)


def _call(raw: bytes) -> tuple[BoxRow | None, int]:
    lib = _library()
    if lib is None:
        return None, -1
    reason, where = ctypes.c_int(), ctypes.c_size_t()
    handle = lib.br_read(raw, len(raw), ctypes.byref(reason), ctypes.byref(where))
    if not handle:
        return None, reason.value
    try:
        sizes = np.zeros(5, dtype=np.int64)
        lib.br_sizes(handle, sizes.ctypes.data_as(_I64))
        n_units, n_runs, n_boxes, n_objects, n_classes = sizes.tolist()
        units = np.empty((n_units, 6), dtype=np.int64)
        runs = np.empty((n_runs, 2), dtype=np.int64)
        boxes = np.empty((n_boxes, 4), dtype=np.float64)
        ids = np.empty(n_boxes, dtype=np.int32)
        spans = np.empty((n_objects, 4), dtype=np.int64)
        classes = np.empty((n_classes, 3), dtype=np.int64)
        lib.br_copy(
            handle,
            units.ctypes.data_as(_I64),
            runs.ctypes.data_as(_I64),
            boxes.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            ids.ctypes.data,
            spans.ctypes.data_as(_I64),
            classes.ctypes.data_as(_I64),
        )
    finally:
        lib.br_free(handle)
    objects = [(raw[a:b].decode(), raw[c:d].decode()) for a, b, c, d in spans.tolist()]
    # a video's frames mostly repeat a few hashes: each decoded once
    names: dict[bytes, str] = {}
    classifications = []
    for frame, a, b in classes.tolist():
        key = raw[a:b]
        name = names.get(key)
        if name is None:
            name = names[key] = key.decode()
        classifications.append((frame, name))
    return BoxRow(raw, units, runs, boxes, ids, objects, classifications), 0


def read(raw: bytes) -> BoxRow | None:
    """The row's boxes, or None when the reader declines the row or is not built here."""
    return _call(raw)[0]


def decline_reason(raw: bytes) -> str | None:
    """Why the reader declines `raw` (one of REASONS), None when it reads it; for tests and diagnosis."""
    code = _call(raw)[1]
    if code < 0:
        return "not built"
    return REASONS[code] if code else None
