"""Per-endpoint request counters, so tests can assert how many HTTP calls the SDK made."""

from __future__ import annotations

import threading
from collections import Counter


class RequestCounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def hit(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def get(self, endpoint: str) -> int:
        with self._lock:
            return self._counts.get(endpoint, 0)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
