"""Bitmask IoU on Encord's run-length strings, without decoding to an image.

Encord's `rleString` uses COCO's compressed-RLE character encoding (LEB128-like, 5 bits per character, deltas
from the count two places back) over the *row-major* mask (COCO uses column-major). Counts alternate background /
foreground starting with background. IoU only needs the foreground intervals: the intersection of two sorted
interval lists is measured with a cumulative-coverage lookup, so cost is O(runs log runs), not O(pixels).
"""

from __future__ import annotations

import numpy as np

Mask = tuple[int, int, int, int, str]  # top, left, width, height, rleString


def decode_counts(rle: str) -> np.ndarray:
    """Run lengths from a COCO/Encord compressed RLE string (vectorised version of the SDK's _string_to_rle)."""
    if not rle:
        return np.zeros(0, dtype=np.int64)
    c = np.frombuffer(rle.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    ends = (c & 0x20) == 0
    group = np.concatenate([[0], np.cumsum(ends)[:-1]])
    starts = np.concatenate([[True], ends[:-1]])
    first_index = np.maximum.accumulate(np.where(starts, np.arange(len(c)), 0))
    k = np.arange(len(c)) - first_index
    values = np.zeros(int(group[-1]) + 1, dtype=np.int64)
    np.add.at(values, group, (c & 0x1F) << (5 * k))
    last = np.nonzero(ends)[0]
    negative = (c[last] & 0x10) != 0
    values[negative] -= np.left_shift(np.int64(1), 5 * (k[last][negative] + 1))
    counts = values.copy()
    if len(counts) > 3:  # x[i] += x[i-2] for i > 2: running sums along each parity chain from index 1 and 2
        counts[1::2] = np.cumsum(values[1::2])
        counts[2::2] = np.cumsum(values[2::2])
    return counts


def foreground(mask: Mask, frame: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Foreground intervals [start, end) in row-major pixel indices of the frame (width, height).

    A mask is placed at (top, left); runs are cut at the mask's row ends and every row piece is clipped to the
    frame, so a mask that overhangs the right or bottom edge (or a negative offset) loses the overhang instead of
    wrapping into the next row. Counts that run past the mask's own width x height are ignored. Without a known
    frame size the frame is the mask's own extent from the origin."""
    top, left, width, height, rle = mask
    counts = decode_counts(rle)
    edges = np.minimum(np.concatenate([[0], np.cumsum(counts)]), max(width, 0) * max(height, 0))
    starts, ends = edges[1:-1:2], edges[2::2]
    n = min(len(starts), len(ends))
    starts, ends = starts[:n], ends[:n]
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    fw, fh = frame if frame is not None else (left + width, top + height)
    if top == 0 and left == 0 and fw == width and fh >= height:
        return starts, ends
    if len(starts) == 0 or width <= 0:
        return starts, ends
    # split runs at the mask's row ends and move each row piece into frame coordinates, clipped to the frame
    row0, row1 = starts // width, (ends - 1) // width
    pieces = row1 - row0 + 1
    idx = np.repeat(np.arange(len(starts)), pieces)
    offset = np.arange(int(pieces.sum())) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    row = row0[idx] + offset
    s = np.maximum(starts[idx], row * width) - row * width + left
    e = np.minimum(ends[idx], (row + 1) * width) - row * width + left
    frame_row = row + top
    s, e = np.maximum(s, 0), np.minimum(e, fw)
    keep = (e > s) & (frame_row >= 0) & (frame_row < fh)
    base = frame_row[keep] * fw
    return base + s[keep], base + e[keep]


def _covered(starts: np.ndarray, ends: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Measure of the union of [starts, ends) below each x (intervals sorted and disjoint)."""
    cum = np.concatenate([[0], np.cumsum(ends - starts)])
    i = np.searchsorted(starts, x, side="right")  # intervals starting at or before x
    prev = np.maximum(i - 1, 0)
    partial = np.where(i > 0, np.clip(x - starts[prev], 0, ends[prev] - starts[prev]), 0)
    return np.asarray(cum[prev] * (i > 0) + partial)


def mask_iou(a: Mask, b: Mask, frame: tuple[int, int] | None = None) -> float:
    """IoU of two masks on one frame (width, height); without a frame size, on the smallest frame holding both.
    Two masks without pixels score 1 when they are the same mask (identical geometry), 0 otherwise."""
    if frame is None:
        frame = (max(a[1] + a[2], b[1] + b[2]), max(a[0] + a[3], b[0] + b[3]))
    sa, ea = foreground(a, frame)
    sb, eb = foreground(b, frame)
    area_a, area_b = int((ea - sa).sum()), int((eb - sb).sum())
    if area_a == 0 or area_b == 0:
        return float(area_a == area_b == 0 and a == b)
    inter = int((_covered(sb, eb, ea) - _covered(sb, eb, sa)).sum())
    return inter / (area_a + area_b - inter)
