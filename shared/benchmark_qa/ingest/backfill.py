"""Backfill: objects already in the bucket -> recorded, put into manifests and registered exactly as live
uploads are (docs/backfill.md). S3 events only see new uploads; a team adopting benchmark-qa has millions of
objects already.

The listing is read a page at a time (key order). Each page goes through the event pipeline's own `Ingest`
(one synthetic ObjectCreated event per object), on a bounded pool of workers: every object gets its record in
the state table (pending -> claimed -> in_manifest, or skipped/failed with the reason), single items go into
manifests split to the layout's batch sizes, and the manifests go to the registration path (RegisterFunction,
through the manifest prefix's S3 notification). A repeated object is a no-op (conditional writes on the object
version), so a re-run or an overlap with live uploads cannot import anything twice.

Groups are closed by the coordinator, from a consistent listing of their folder (the pipeline's `close_group`),
once every page up to a key past the group's folder is done: S3 lists in key order, so no later page can hold
one of its files. The checkpoint (`BackfillRepository`) advances over pages done in order; a stopped run
resumes after it. Encord is never flooded: with `max_waiting_manifests`, the run pauses (and can be resumed)
while that many manifests wait for registration.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from threading import Lock

from benchmark_qa.bucket import Bucket, ObjectHead
from benchmark_qa.ingest.items import Role, S3Object, classify
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.pipeline import BatchOutcome, Ingest
from benchmark_qa.store.backfills import BackfillRepository
from benchmark_qa.store.uploads import UploadsRepository

WAITING = ("written", "starting", "uploading")  # manifests Encord has not finished yet


@dataclass
class BackfillReport:
    listed: int = 0
    ingested: int = 0  # the page's objects less manifests
    recorded: int = 0
    skipped: int = 0
    failed: int = 0
    manifests: int = 0
    pages: int = 0
    seconds: float = 0.0
    resumed_after: str = ""
    status: str = "running"  # running, paused (resumable), done
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.listed / self.seconds if self.seconds else 0.0


@dataclass
class _Page:
    number: int
    objects: list[S3Object]
    groups: dict[str, str] = field(default_factory=dict)  # group id -> its folder
    folders: dict[str, list[S3Object]] = field(default_factory=dict)  # group folder -> the page's objects in it
    ingested: int = 0  # the page's objects less manifests
    recorded: int = 0
    skipped: int = 0
    failed: int = 0
    manifests: int = 0


class Backfill:
    def __init__(
        self,
        repository: UploadsRepository,
        runs: BackfillRepository,
        bucket: Bucket,
        layout: Layout,
        region: str,
        *,
        prefix: str = "",
        workers: int = 4,
        page_size: int = 1000,
        max_waiting_manifests: int = 0,
        wait_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.repository = repository
        self.runs = runs
        self.bucket = bucket
        self.layout = layout
        self.region = region
        self.prefix = prefix
        self.workers = max(1, workers)
        self.page_size = page_size
        self.max_waiting = max_waiting_manifests
        self.wait_seconds = wait_seconds
        self.sleep = sleep

    def run(self, *, restart: bool = False, progress: Callable[[BackfillReport], None] | None = None) -> BackfillReport:
        checkpoint = {} if restart else self.runs.get(self.bucket.name, self.prefix)
        report = BackfillReport(resumed_after=str(checkpoint.get("after", "")))
        for name in ("listed", "recorded", "skipped", "failed", "manifests"):
            setattr(report, name, int(checkpoint.get(name, 0)))
        if checkpoint.get("status") == "done":
            report.status = "done"
            report.note = f"already done at {checkpoint.get('updated_at')}; --restart runs it again"
            return report
        started = time.perf_counter()
        after = report.resumed_after
        # group id -> folder: seen in pages done in order and not closed yet (kept in the checkpoint for a resume)
        open_groups: dict[str, str] = dict(checkpoint.get("open_groups") or {})
        # Group folder -> its objects, from this run's pages. A folder of a group opened before a resume is listed
        # again at close (its first objects were on pages before the checkpoint); any other lies whole in this
        # run's pages once the listing has passed it (key order).
        listed = _ListedFolders(self.bucket, resumed=set(open_groups.values()))
        for page in self._in_order(after, report):
            report.pages += 1
            report.listed += page.ingested
            report.recorded += page.recorded
            report.skipped += page.skipped
            report.failed += page.failed
            report.manifests += page.manifests
            open_groups.update(page.groups)
            listed.add(page.folders)
            if page.objects:
                after = page.objects[-1].key
                self._close_passed(open_groups, after, report, listed)
            self._save(report, after, "running", open_groups)
            if progress is not None:
                report.seconds = time.perf_counter() - started
                progress(report)
        if report.status != "paused":
            self._close_passed(open_groups, None, report, listed)
            report.status = "done"
        report.seconds = time.perf_counter() - started
        self._save(report, after, report.status, open_groups)
        return report

    def _in_order(self, after: str, report: BackfillReport) -> Iterator[_Page]:
        """Listing pages after `after`, ingested by the pool, yielded in listing order as they are done. Stops
        submitting (report.status "paused") when back-pressure holds. A failed listing lets the pages in flight
        finish (so the checkpoint covers them) and then raises; a failed page raises."""
        pages = enumerate(self.bucket.pages(self.prefix, after, self.page_size))
        done: dict[int, _Page] = {}
        next_number = 0
        running: set[Future[_Page]] = set()
        exhausted = False
        failure: Exception | None = None
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            while running or not exhausted:
                while not exhausted and len(running) < self.workers:
                    if self._must_wait():
                        report.status = "paused"
                        report.note = f"{self.max_waiting} or more manifests wait for Encord; run again to resume"
                        exhausted = True
                        continue
                    try:
                        listed = next(pages, None)
                    except Exception as error:  # the listing broke: finish what is in flight, then raise
                        failure, listed = error, None
                    if listed is None:
                        exhausted = True
                    else:
                        running.add(pool.submit(self._ingest_page, _Page(*listed)))
                if running:
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        page = future.result()  # a failed page stops the run; the checkpoint keeps what is done
                        done[page.number] = page
                while next_number in done:
                    yield done.pop(next_number)
                    next_number += 1
        if failure is not None:
            raise failure

    def ingest_batch(self, objects: list[S3Object]) -> _Page:
        """One batch of keys in any order (a Distributed Map child of the backfill state machine) through the same
        page ingest as a listing page. Its groups stay open: the caller closes them once every batch is done."""
        return self._ingest_page(_Page(0, objects))

    def _ingest_page(self, page: _Page) -> _Page:
        """One listing page through the pipeline's Ingest: records, single-item manifests, group touches."""
        ingest = Ingest(self.repository, self.bucket, self.layout, self.region, close_ready_groups=False)
        # Manifests (this run's among them, when the listing reaches their prefix) are never ingested.
        objects = [o for o in page.objects if not o.key.startswith(self.layout.manifest_prefix + "/")]
        page.ingested = len(objects)
        # The page's first bytes, read concurrently; group members' are read once, when their group closes (their
        # headers decide the group's manifest there), not here as well.
        by_name = [classify(o, self.layout) for o in objects]
        members = [c.obj for c in by_name if c.role is Role.GROUP_MEMBER]
        typed = ingest.heads.detect([c.obj for c in by_name if c.role is not Role.GROUP_MEMBER], self.layout)
        ingest.accept_all([*typed, *members], listed=[o.key for o in page.objects])
        for classified in by_name:
            if classified.group_id is not None and classified.group_folder is not None:
                page.groups[classified.group_id] = classified.group_folder
                page.folders.setdefault(classified.group_folder, []).append(classified.obj)
        outcome = ingest.flush()
        page.recorded, page.skipped, page.failed = outcome.recorded, outcome.skipped, outcome.failed
        page.manifests = len(outcome.manifests)
        return page

    def _close_passed(
        self, open_groups: dict[str, str], after: str | None, report: BackfillReport, listed: _ListedFolders
    ) -> None:
        """Close every group whose folder the listing has passed (all of them when `after` is None), on the pool:
        groups are independent (each close is its own claim, listing and manifest)."""
        passed = [
            (group_id, folder)
            for group_id, folder in open_groups.items()
            if after is None or (after > folder and not after.startswith(folder))
        ]
        if not passed:
            return

        def close(group_id: str) -> BatchOutcome:
            ingest = Ingest(self.repository, listed, self.layout, self.region)
            ingest.close_group(group_id)
            return ingest.outcome

        with ThreadPoolExecutor(max_workers=min(self.workers, len(passed))) as pool:
            outcomes = list(pool.map(close, [group_id for group_id, _ in passed]))
        for (group_id, folder), outcome in zip(passed, outcomes, strict=True):
            del open_groups[group_id]
            listed.forget(folder)
            report.manifests += len(outcome.manifests)
            report.failed += outcome.failed
            report.skipped += outcome.skipped

    def _save(self, report: BackfillReport, after: str, status: str, open_groups: dict[str, str]) -> None:
        self.runs.save(
            self.bucket.name,
            self.prefix,
            status=status,
            after=after,
            open_groups=open_groups,
            listed=report.listed,
            recorded=report.recorded,
            skipped=report.skipped,
            failed=report.failed,
            manifests=report.manifests,
        )

    def _must_wait(self) -> bool:
        """Back-pressure: wait (bounded) while `max_waiting` manifests are not finished by Encord."""
        if not self.max_waiting:
            return False
        deadline = time.monotonic() + self.wait_seconds
        while self._waiting() >= self.max_waiting:
            if time.monotonic() >= deadline:
                return True
            self.sleep(min(5.0, self.wait_seconds))
        return False

    def _waiting(self) -> int:
        return sum(len(self.repository.manifests_with_status(s)) for s in WAITING)


class _ListedFolders:
    """The bucket, with the listing of a group folder served from the backfill's own pages when they hold all of
    it: a group closes with the objects the listing saw, without a second listing of its folder (one LIST request
    per group saved; moto lists object versions in O(bucket size)). A file that lands in the folder after the
    listing passed it is the live path's, as for any upload after a group closed."""

    def __init__(self, bucket: Bucket, resumed: set[str]) -> None:
        self._bucket = bucket
        self._resumed = resumed
        self._folders: dict[str, list[S3Object]] = {}
        self._lock = Lock()
        self.name = bucket.name

    def add(self, folders: dict[str, list[S3Object]]) -> None:
        with self._lock:
            for folder, objects in folders.items():
                if folder not in self._resumed:
                    self._folders.setdefault(folder, []).extend(objects)

    def forget(self, folder: str) -> None:
        with self._lock:
            self._folders.pop(folder, None)

    def list(self, prefix: str, start_after: str = "") -> Iterator[S3Object]:
        with self._lock:
            objects = self._folders.get(prefix)
        if objects is None:
            return self._bucket.list(prefix, start_after)
        return iter([o for o in objects if o.key > start_after])

    def read(self, key: str, *, limit: int | None = None) -> bytes | None:
        return self._bucket.read(key, limit=limit)

    def write(self, key: str, body: bytes, content_type: str) -> None:
        self._bucket.write(key, body, content_type)

    def pages(self, prefix: str, start_after: str = "", page_size: int = 1000) -> Iterator[builtins.list[S3Object]]:
        return self._bucket.pages(prefix, start_after, page_size)

    def content_type(self, key: str) -> str | None:
        return self._bucket.content_type(key)

    def head(self, key: str) -> ObjectHead | None:
        return self._bucket.head(key)


def accounted(
    repository: UploadsRepository, bucket: Bucket, prefix: str, layout: Layout
) -> Iterator[tuple[S3Object, str | None]]:
    """Every current object under prefix (manifests aside) with the status of its record (None: not recorded)."""
    from benchmark_qa.ingest.pipeline import object_version

    for page in bucket.pages(prefix):
        objects = [o for o in page if not o.key.startswith(layout.manifest_prefix + "/")]
        records = repository.get_objects([(o.bucket, o.key, object_version(o)) for o in objects])
        for obj in objects:
            record = records.get((obj.bucket, obj.key, object_version(obj)))
            yield obj, (record.status if record else None)
