"""The first bytes of objects, read with ranged GETs, a few at a time, each at most once.

`Heads` serves content detection (`content.detect`, the first `HEAD_BYTES`) and DICOM headers (which may need
a longer range, `dicom.read_header`) from one cache, so a file whose header fits the first read costs one GET.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from threading import Lock

from benchmark_qa.ingest import content
from benchmark_qa.ingest.items import S3Object, classify, needs_content, with_content_type
from benchmark_qa.ingest.layout import Layout

ContentTypeOf = Callable[[str], str | None]  # S3's Content-Type of a key (a HEAD request)
ReadRange = Callable[[str, int], bytes]  # (key, n) -> the first n bytes (fewer for a short file; b"" if gone)
DEFAULT_WORKERS = 16  # concurrent ranged GETs: I/O-bound, so threads; S3 serves thousands per prefix per second


class Heads:
    def __init__(self, read: ReadRange, workers: int = DEFAULT_WORKERS) -> None:
        self._read = read
        self._workers = max(1, workers)
        self._cache: dict[str, tuple[int, bytes]] = {}  # key -> (bytes asked for, bytes got)
        self._lock = Lock()
        self.requests = 0

    def read(self, key: str, n: int) -> bytes:
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and (cached[0] >= n or len(cached[1]) < cached[0]):
            return cached[1][:n]  # enough bytes, or the whole (short) file
        data = self._read(key, n)
        with self._lock:
            self.requests += 1
            if n <= content.HEAD_BYTES:  # longer reads (large DICOM headers) are used once: not kept in memory
                self._cache[key] = (n, data)
        return data

    def map(self, fn: Callable[[str], object], keys: Iterable[str]) -> None:
        """Run `fn(key)` for each key on the pool (fn reads through `self.read`)."""
        keys = list(keys)
        if len(keys) <= 1 or self._workers == 1:
            for key in keys:
                fn(key)
            return
        with ThreadPoolExecutor(max_workers=min(self._workers, len(keys))) as pool:
            list(pool.map(fn, keys))

    def detect(
        self, objects: Iterable[S3Object], layout: Layout, content_type_of: ContentTypeOf | None = None
    ) -> list[S3Object]:
        """`objects`, each with `detected_type` set where its classification depends on its content
        (`items.needs_content`: one ranged GET of the first `content.HEAD_BYTES`), and with S3's content type
        (`content_type_of`, one HEAD) where neither extension nor content could type it."""
        objects = list(objects)
        wanted = {o.key for o in objects if needs_content(classify(o, layout), layout)}
        self.map(lambda key: self.read(key, content.HEAD_BYTES), sorted(wanted))
        typed = [self._with_detected_type(o) if o.key in wanted else o for o in objects]
        if content_type_of is None:
            return typed
        return [with_content_type(o, layout, content_type_of) for o in typed]

    def typed(self, obj: S3Object, layout: Layout, content_type_of: ContentTypeOf | None = None) -> S3Object:
        """One object as `detect` gives it."""
        return self.detect([obj], layout, content_type_of)[0]

    def _with_detected_type(self, obj: S3Object) -> S3Object:
        return obj.model_copy(update={"detected_type": content.detect(self.read(obj.key, content.HEAD_BYTES))})
