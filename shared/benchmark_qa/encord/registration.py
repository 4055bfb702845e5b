"""Registration: a manifest in S3 -> an Encord upload job into the storage folder -> items linked to the dataset.

State machine of a manifest record (store/uploads.py), every step conditional so repeats are harmless:

  written --start()--> starting --job id--> uploading --poll(): DONE--> registered | partly_failed
     ^                    |                     |            \\--ERROR with no item--> failed
     '--- transient error (retried by SQS, then its DLQ) ----'  \\--no answer by UPLOAD_DEADLINE--> failed

Before any Encord call, every URL of the manifest must be an object of this stack's upload bucket under the
dataset's prefix (ingest/url_scope.py); otherwise the manifest fails with the offending URLs. A start that crashed
after Encord accepted the job but before its id was recorded is re-run by the poller once it is stale; manifests
are always sent with skip_duplicate_urls, so a re-run cannot register a file twice. The poller never long-polls
inside a Lambda (timeout_seconds=0), starts written manifests at once, and finishes a big job in chunks of
FINISH_CHUNK entries (one link request, object records written 100 to a transaction), saving its place after each
chunk: a 500,000-entry manifest takes several invocations and never stalls the manifests behind it. The start keeps
the entries as sent, a chunk a DynamoDB item, so a poll reads only the chunks it finishes, never the document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from benchmark_qa.bucket import Bucket
from benchmark_qa.encord.budget import OutOfTime, TimeBudget
from benchmark_qa.ingest.items import Dataset
from benchmark_qa.ingest.manifest import ImportManifest
from benchmark_qa.ingest.pipeline import already_sent
from benchmark_qa.ingest.url_scope import UploadScope
from benchmark_qa.ingest.urls import key_from_object_url
from benchmark_qa.store.table import conditional
from benchmark_qa.store.uploads import ObjectRecord, Outcome, UploadsRepository

if TYPE_CHECKING:
    from encord.dataset import Dataset as EncordDataset
    from encord.storage import StorageFolder
    from encord.user_client import EncordUserClient

START_STALE_AFTER = timedelta(minutes=5)
MAX_START_ATTEMPTS = 5
MAX_LINK_ATTEMPTS = 3  # polls that link and look up an item before its objects are failed, so a manifest finishes
UPLOAD_DEADLINE = timedelta(hours=24)  # a job Encord has not finished (or could not be polled) this long fails
FINISH_CHUNK = 1000  # entries finished per step: one link request, records written in transactions of 100
FINISH_SHARE = 0.5  # of the time left, what one manifest's finishing may take before the others get a turn


@dataclass(frozen=True)
class Destination:
    folder_uuid: str
    dataset_hash: str


@dataclass
class PollReport:
    finished: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    deferred: str | None = None  # the invocation ran out of time: the manifests not polled wait for the next poll


class RegistrationError(RuntimeError):
    """A manifest that cannot be registered as it is (recorded on the manifest; retrying will not help)."""


def is_transient(error: Exception) -> bool:
    """Throttling, 5xx and network failures are worth retrying; everything else needs a person."""
    from encord.exceptions import (
        AuthenticationError,
        AuthorisationError,
        InvalidArgumentsError,
        ResourceNotFoundError,
    )

    permanent = (
        AuthenticationError,
        AuthorisationError,
        InvalidArgumentsError,
        ResourceNotFoundError,
        RegistrationError,
    )
    return not isinstance(error, permanent)


def manifest_id_from_key(key: str) -> str:
    return key.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def external_manifest_id(key: str) -> str:
    """The id of a manifest written by hand: unique per key (two `x.json` in different folders are two
    manifests; issue 11 found the second never registered), readable by its file name."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", manifest_id_from_key(key))[:60]
    return f"ext-{hashlib.sha256(key.encode()).hexdigest()[:16]}-{stem}"


def dataset_from_key(key: str, manifest_prefix: str) -> Dataset:
    parts = key.removeprefix(manifest_prefix.strip("/") + "/").split("/")
    try:
        return Dataset(parts[0])
    except ValueError:
        raise RegistrationError(
            f"manifest {key}: its folder '{parts[0]}' names no dataset; put manifests under "
            f"{manifest_prefix}/benchmark/ or {manifest_prefix}/production/"
        ) from None


def read_manifest(bucket: Bucket, key: str, scope: ManifestScope | None = None) -> dict[str, Any]:
    """The manifest at `key`, checked against the import spec and, with `scope`, every URL against the stack's
    upload bucket and the dataset's prefix, before Encord sees any of it. Raises RegistrationError."""
    raw = bucket.read(key)
    if raw is None:
        raise RegistrationError(f"manifest {key} is no longer in the bucket; upload it again to register it")
    try:
        if key.lower().endswith(".csv"):
            manifest = ImportManifest.from_csv(raw.decode("utf-8"))
        else:
            # Validate against the import spec before Encord sees it: a clear error now beats a failed job later.
            manifest = ImportManifest.model_validate(json.loads(raw))
    except Exception as error:
        raise RegistrationError(f"manifest {key} is not a valid Encord import manifest: {error}") from None
    if scope is not None:
        dataset = dataset_from_key(key, scope.manifest_prefix)
        count, shown = scope.urls.problems(manifest.object_urls(), dataset)
        if count:
            raise RegistrationError(
                f"manifest {key}: {count} URL(s) are not objects of this stack's upload bucket under "
                f"{scope.urls.prefixes[dataset]}/, so nothing was sent to Encord: {'; '.join(shown)}. Write each URL "
                "as benchmark-qa does (https://BUCKET.s3.REGION.amazonaws.com/KEY) for keys under the prefix of "
                "the manifest's folder, then upload the manifest again under a new name"
            )
    return manifest.to_dict()


@dataclass(frozen=True)
class Entry:
    """One entry of a manifest as sent to Encord: the title it is sent with (unique in the manifest), its URLs
    and the (bucket, key) of each. `single`: one file (`objectUrl`), whose storage item has that URL; image
    groups and DICOM series (`objectUrl_0..N`) are items without a URL of their own."""

    title: str
    urls: tuple[str, ...]
    keys: tuple[tuple[str, str], ...]
    single: bool

    @property
    def object_keys(self) -> list[str]:
        return [key for _, key in self.keys]


def _urls(item: dict[str, Any]) -> list[str]:
    indexed = sorted((int(k.removeprefix("objectUrl_")), str(v)) for k, v in item.items() if k.startswith("objectUrl_"))
    return [str(item["objectUrl"])] if "objectUrl" in item else [url for _, url in indexed]


@dataclass(frozen=True)
class ManifestScope:
    """Where manifests live and what their URLs may name."""

    manifest_prefix: str
    urls: UploadScope


def titled(document: dict[str, Any]) -> tuple[dict[str, Any], list[Entry]]:
    """The manifest with every entry titled uniquely, and its entries.

    Encord reports each new storage item by name only (`items_with_names`), and names an untitled file by its
    file name ("If left blank, the original file name is used", Encord's import docs), so two files called
    img001.jpg in different folders, or an entry without a title, cannot be told apart by the answer. Every
    entry is therefore sent with a title: its own, or its file name when it has none; where titles collide in
    the manifest, each colliding entry is titled with its object key instead (`cats/img001.jpg`), then numbered
    if even that repeats. The same manifest always gets the same titles, so a poll maps the answer exactly."""
    document = {k: ([dict(i) for i in v] if isinstance(v, list) else v) for k, v in document.items()}
    items = [item for value in document.values() if isinstance(value, list) for item in value]
    pairs = [[key_from_object_url(u) for u in _urls(item)] for item in items]
    names = [str(item.get("title") or unquote(_urls(item)[0].rstrip("/").rsplit("/", 1)[-1])) for item in items]
    counts = Counter(names)  # linear: a 500,000-entry manifest is titled in a moment
    repeated = {n for n, c in counts.items() if c > 1}
    names = [pairs[i][0][1] if n in repeated else n for i, n in enumerate(names)]
    seen: dict[str, int] = {}
    entries = []
    for item, keys, name in zip(items, pairs, names, strict=True):
        seen[name] = seen.get(name, 0) + 1
        title = name if seen[name] == 1 else f"{name} #{seen[name]}"
        item["title"] = title
        entries.append(Entry(title, tuple(_urls(item)), tuple(keys), single="objectUrl" in item))
    return document, entries


class Registrar:
    def __init__(
        self,
        client: EncordUserClient,
        repository: UploadsRepository,
        bucket: Bucket,
        *,
        integration_id: str,
        destinations: dict[Dataset, Destination],
        scope: ManifestScope,
        restart_after: timedelta = START_STALE_AFTER,
        budget: TimeBudget | None = None,
        finish_chunk: int = FINISH_CHUNK,
    ) -> None:
        self.client = client
        self.finish_chunk = finish_chunk
        self.repository = repository
        self.bucket = bucket
        self.integration_id = integration_id
        self.destinations = destinations
        self.scope = scope
        self.manifest_prefix = scope.manifest_prefix
        self.restart_after = restart_after
        self.budget = budget or TimeBudget.unbounded()
        # Opened once per Registrar (one per invocation), not once per manifest.
        self._folders: dict[str, StorageFolder] = {}
        self._datasets: dict[str, EncordDataset] = {}

    def _folder(self, folder_uuid: str) -> StorageFolder:
        if folder_uuid not in self._folders:
            self._folders[folder_uuid] = self.budget.call(
                "open the storage folder", partial(self.client.get_storage_folder, folder_uuid)
            )
        return self._folders[folder_uuid]

    def _dataset(self, dataset_hash: str) -> EncordDataset:
        if dataset_hash not in self._datasets:
            # Metadata only: linking needs no data rows, and the default fetches every row of the dataset.
            self._datasets[dataset_hash] = self.budget.call(
                "open the dataset", partial(self.client.get_dataset, dataset_hash, include_data_rows=False)
            )
        return self._datasets[dataset_hash]

    # ------------------------------------------------------------------ start
    def manifest_of(self, key: str) -> tuple[str, dict[str, Any]]:
        """(id, record) of the manifest at `key`: ours when the record of the id its name gives was claimed for
        this very key (ingest records the key first); otherwise a hand-written one, whose id is unique per key."""
        manifest_id = manifest_id_from_key(key)
        record = self.repository.get_manifest(manifest_id)
        ours = f"{self.manifest_prefix}/{record.get('dataset')}/{manifest_id}.json"
        if record and record.get("manifest_kind") != "external" and record.get("s3_key", ours) == key:
            return manifest_id, record
        manifest_id = external_manifest_id(key)
        return manifest_id, self.repository.get_manifest(manifest_id)

    def start(self, key: str) -> str:
        """Start the upload job of the manifest at `key`, once. Returns what happened."""
        manifest_id, record = self.manifest_of(key)
        if not record:
            record = self._record_external(manifest_id, key)
        status = record.get("status")
        if status == "claimed":
            return "not written yet: the poller starts it once it is"
        if status != "written":
            return f"already {status}"
        attempts = int(record.get("attempts", 0)) + 1
        if not self.repository.set_manifest_status(
            manifest_id, "starting", expected=("written",), attempts=attempts, started_at=_now()
        ):
            return "taken by another invocation"
        try:
            self._start_job(manifest_id, key, Dataset(record["dataset"]), attempts)
        except RegistrationError as error:  # recorded on the manifest; retrying the message cannot help
            return f"failed: {error}"
        return "started"

    def _record_external(self, manifest_id: str, key: str) -> dict[str, Any]:
        """A manifest the user wrote by hand into the manifests folder: registered too, if its URLs allow."""
        try:
            dataset = dataset_from_key(key, self.manifest_prefix).value
            status, reason = "written", None
        except RegistrationError as error:
            dataset, status, reason = "", "failed", str(error)
        # Another invocation may have created it first: that is fine, the status moves below are conditional.
        conditional(
            self.repository.create_manifest,
            manifest_id=manifest_id,
            dataset=dataset,
            manifest_kind="external",
            s3_key=key,
        )
        self.repository.set_manifest_status(manifest_id, status, expected=("claimed",), reason=reason)
        return self.repository.get_manifest(manifest_id)

    def _start_job(self, manifest_id: str, key: str, dataset: Dataset, attempts: int) -> None:
        destination = self.destinations[dataset]
        try:
            document, entries = titled(read_manifest(self.bucket, key, self.scope))
            entry_count = len(entries)
            # The entries as sent, kept with the manifest: every poll that finishes a chunk reads that chunk only,
            # never the whole document again (issue 11: a 500,000-entry manifest was read and titled every poll).
            self.repository.save_entries(manifest_id, _entry_chunks(entries, self.finish_chunk))
            del entries
            # Always skip duplicates: a start repeated after a lost response must not import twice.
            document["skip_duplicate_urls"] = True
            folder = self._folder(destination.folder_uuid)
            # Not retried here, as the SDK does not retry it: a lost answer is a start the poller re-runs.
            job = self.budget.call(
                "start the upload job",
                partial(folder.add_private_data_to_folder_start, self.integration_id, document, ignore_errors=True),
                retry=False,
            )
        except Exception as error:
            self._start_failed(manifest_id, error, attempts)
            raise
        self.repository.set_manifest_status(
            manifest_id,
            "uploading",
            expected=("starting",),
            job_id=str(job),
            folder_uuid=destination.folder_uuid,
            entries_kept=entry_count,
        )

    def _start_failed(self, manifest_id: str, error: Exception, attempts: int) -> None:
        reason = f"{type(error).__name__}: {error}"[:1000]
        if is_transient(error) and attempts < MAX_START_ATTEMPTS:
            # Back to `written`, so the redelivered message (or the poller) can try again.
            self.repository.set_manifest_status(manifest_id, "written", expected=("starting",), last_error=reason)
        else:
            self._fail_manifest(manifest_id, _what_to_do(error), last_error=reason, expected=("starting",))

    def _fail_manifest(
        self, manifest_id: str, reason: str, *, last_error: str | None = None, expected: tuple[str, ...]
    ) -> None:
        if self.repository.set_manifest_status(
            manifest_id, "failed", expected=expected, last_error=last_error or reason, reason=reason
        ):
            self._fail_objects(self.repository.objects_in_manifest(manifest_id), f"registration failed: {reason}")

    # ------------------------------------------------------------------ poll
    def poll(self, now: datetime | None = None) -> PollReport:
        """Start what is written; finish every started job that Encord has finished (in chunks, within the time
        left); restart starts that a crash left behind; fail jobs that outlived UPLOAD_DEADLINE."""
        now = now or datetime.now(UTC)
        report = PollReport()
        stale = (now - self.restart_after).isoformat(timespec="milliseconds")
        for manifest in self.repository.manifests_with_status("starting", created_before=stale):
            if str(manifest.get("started_at", "")) < stale:
                self._restart(manifest, report)
        for manifest in self.repository.manifests_with_status("written"):
            # Started at once: its notification may have come before it was written, or gone to the DLQ.
            if manifest.get("s3_key"):
                try:
                    if self.start(manifest["s3_key"]) == "started":
                        report.restarted.append(manifest["manifest_id"])
                except Exception as error:
                    report.errors[manifest["manifest_id"]] = f"{type(error).__name__}: {error}"[:500]
        # Least recently touched first: each poll touches what it polled, so no manifest waits behind another.
        for manifest in self.repository.manifests_with_status("uploading"):
            try:
                self._poll_one(manifest, report, now)
            except OutOfTime as error:  # this and the later manifests stay `uploading` for the next poll
                report.deferred = str(error)
                break
            except Exception as error:
                self._poll_failed(manifest, error, report, now)
        return report

    def _poll_failed(self, manifest: dict[str, Any], error: Exception, report: PollReport, now: datetime) -> None:
        """One manifest's failure never stops the others. A permanent one (Encord does not know the job, or
        refuses it) fails the manifest with what to do; a transient one is retried by the next polls until
        UPLOAD_DEADLINE, then fails it too, so nothing stays `uploading` forever."""
        manifest_id = manifest["manifest_id"]
        message = f"{type(error).__name__}: {error}"[:500]
        report.errors[manifest_id] = message
        if not is_transient(error) or self._past_deadline(manifest, now):
            self._fail_manifest(manifest_id, _what_to_do(error), last_error=message, expected=("uploading",))
            report.finished.append(manifest_id)
            return
        self.repository.set_manifest_status(manifest_id, "uploading", expected=("uploading",), last_error=message)

    @staticmethod
    def _past_deadline(manifest: dict[str, Any], now: datetime) -> bool:
        started = str(manifest.get("started_at") or manifest.get("created_at") or "")
        return bool(started) and started < (now - UPLOAD_DEADLINE).isoformat(timespec="milliseconds")

    def _restart(self, manifest: dict[str, Any], report: PollReport) -> None:
        manifest_id = manifest["manifest_id"]
        attempts = int(manifest.get("attempts", 0)) + 1
        if not self.repository.set_manifest_status(
            manifest_id, "starting", expected=("starting",), attempts=attempts, started_at=_now()
        ):
            return
        try:
            self._start_job(manifest_id, manifest["s3_key"], Dataset(manifest["dataset"]), attempts)
            report.restarted.append(manifest_id)
        except Exception as error:
            report.errors[manifest_id] = f"{type(error).__name__}: {error}"[:500]

    def _poll_one(self, manifest: dict[str, Any], report: PollReport, now: datetime) -> None:
        from uuid import UUID

        from encord.orm.dataset import LongPollingStatus

        manifest_id = manifest["manifest_id"]
        folder = self._folder(manifest["folder_uuid"])
        state = self.budget.call(
            "poll the upload job",
            partial(folder.add_private_data_to_folder_get_result, UUID(manifest["job_id"]), timeout_seconds=0),
        )
        if state.status == LongPollingStatus.PENDING:
            if self._past_deadline(manifest, now):
                reason = (
                    f"Encord has not finished upload job {manifest['job_id']} in {UPLOAD_DEADLINE}; check the job in "
                    "Encord (the integration may not reach the files), then upload the manifest again under a new name"
                )
                self._fail_manifest(manifest_id, reason, expected=("uploading",))
                report.finished.append(manifest_id)
                return
            # Touched, so the manifests behind it come first next time.
            self.repository.set_manifest_status(manifest_id, "uploading", expected=("uploading",), polled_at=_now())
            report.pending.append(manifest_id)
            return
        chunk_at = self._chunks_of(manifest)
        job = _JobResult(
            created={item.name: str(item.item_uuid) for item in state.items_with_names},
            failed_keys={
                key_from_object_url(url)[1]: unit_error.error
                for unit_error in state.unit_errors
                for url in unit_error.object_urls
            },
        )
        records = self._records(manifest)
        cursor = int(manifest.get("finish_cursor", 0))
        counts = Counter({"registered": int(manifest.get("registered", 0)), "failed": int(manifest.get("failed", 0))})
        share_ends, first = self.budget.left() * (1 - FINISH_SHARE), cursor
        while chunk := chunk_at(cursor):
            # After one chunk in this poll, the others get a turn once its share is spent; this one goes on next poll.
            if cursor > first and self.budget.left() < share_ends:
                report.pending.append(manifest_id)
                return
            done = self._finish_chunk(manifest, folder, chunk, job, records, report)
            if done is None:  # some items are not in the dataset yet: linked and looked up again next poll
                return
            counts.update(done)
            if not self.repository.advance_finish(manifest_id, cursor, cursor + len(chunk), dict(counts)):
                return  # another poll finished this chunk first
            cursor += len(chunk)
            manifest = {**manifest, "finish_cursor": cursor, "link_attempts": 0}
        if state.status == LongPollingStatus.ERROR and not job.created and not counts["registered"]:
            status = "failed"
        else:
            status = "partly_failed" if counts["failed"] or counts["skipped"] or state.errors else "registered"
        self.repository.set_manifest_status(
            manifest_id,
            status,
            expected=("uploading",),
            registered=counts["registered"],
            failed=counts["failed"],
            skipped=counts["skipped"],
            errors=[str(e)[:300] for e in state.errors][:20],
            finished_at=_now(),
        )
        report.finished.append(manifest_id)

    def _chunks_of(self, manifest: dict[str, Any]) -> Callable[[int], list[Entry]]:
        """The manifest's entries from a cursor on, one finish chunk at a time: read from what its start kept (one
        GetItem a chunk). A manifest started before entries were kept is read and titled whole, once per poll."""
        if "entries_kept" in manifest:
            return partial(self._kept_chunk, manifest["manifest_id"], int(manifest["entries_kept"]))
        _, entries = titled(read_manifest(self.bucket, manifest["s3_key"]))
        return lambda cursor: entries[cursor : cursor + self.finish_chunk]

    def _kept_chunk(self, manifest_id: str, count: int, cursor: int) -> list[Entry]:
        if cursor >= count:
            return []
        rows = self.repository.entries_at(manifest_id, cursor)
        if rows is None:
            raise RegistrationError(f"manifest {manifest_id}: the entries kept at its start are missing at {cursor}")
        return [_entry(row) for row in rows]

    def _records(self, manifest: dict[str, Any]) -> dict[str, ObjectRecord]:
        """The object records of the manifest by key: ingest's (one paged query), or for a manifest written by hand
        none yet (each chunk writes them)."""
        if manifest.get("manifest_kind") == "external":
            return {}
        return {r.key: r for r in self.repository.objects_in_manifest(manifest["manifest_id"])}

    def _finish_chunk(
        self,
        manifest: dict[str, Any],
        folder: StorageFolder,
        chunk: list[Entry],
        job: _JobResult,
        records: dict[str, ObjectRecord],
        report: PollReport,
    ) -> Counter[str] | None:
        """Map a chunk's entries to Encord items, link them, and write every object's outcome (registered,
        failed or skipped, with the reason) in transactions. None when some items must be linked again later."""
        manifest_id = manifest["manifest_id"]
        dataset = Dataset(manifest["dataset"])
        items = self._items(folder, chunk, job)
        try:
            data_hashes, link_error = self._link(dataset, items), ""
        except OutOfTime:
            raise
        except Exception as error:  # a link whose answer was lost, or refused: counted, retried, bounded
            data_hashes, link_error = {}, f": {type(error).__name__}: {error}"[:300]
        unlinked = {u: e for u, e in items.items() if u not in data_hashes}
        attempts = int(manifest.get("link_attempts", 0)) + 1
        if unlinked and attempts < MAX_LINK_ATTEMPTS:
            # Linking is idempotent: the next poll links and looks them up again.
            self.repository.set_manifest_status(
                manifest_id,
                "uploading",
                expected=("uploading",),
                link_attempts=attempts,
                last_error=f"{len(unlinked)} items not in the dataset after link attempt {attempts}{link_error}",
            )
            report.pending.append(manifest_id)
            return None
        dataset_hash = self.destinations[dataset].dataset_hash
        by_entry = {entry: item_uuid for item_uuid, entry in items.items()}
        outcomes: list[Outcome] = []
        for entry in chunk:
            item_uuid = by_entry.get(entry)
            for bucket, key in entry.keys:
                record = records.get(key) or _external_record(bucket, key, manifest_id)
                outcomes.append(
                    self._outcome(record, entry, item_uuid, unlinked, data_hashes, dataset_hash, job, link_error)
                )
        self.repository.set_outcomes(
            outcomes, manifest_id=manifest_id, create=manifest.get("manifest_kind") == "external"
        )
        return Counter(o.status for o in outcomes)

    def _outcome(
        self,
        record: ObjectRecord,
        entry: Entry,
        item_uuid: str | None,
        unlinked: dict[str, Entry],
        data_hashes: dict[str, str],
        dataset_hash: str,
        job: _JobResult,
        link_error: str,
    ) -> Outcome:
        key = record.key
        if key in job.failed_keys:
            return Outcome(record, "failed", reason=f"Encord could not import it: {job.failed_keys[key]}")
        if item_uuid is None:
            return Outcome(
                record,
                "failed",
                reason=f"Encord reported neither an item nor an error for {key} ({entry.title!r}); check the upload "
                "job in Encord, then upload the file again under a new key",
            )
        if item_uuid in unlinked:
            return Outcome(
                record,
                "failed",
                reason=f"stored in Encord as item {item_uuid} ({entry.title!r}) but not found in dataset "
                f"{dataset_hash} after {MAX_LINK_ATTEMPTS} link attempts{link_error}; link the item to the dataset in "
                "Encord, or upload the file again",
            )
        if entry.title not in job.created and (other := self._holder(record, item_uuid)) is not None:
            # Encord skipped the URL as a duplicate of an item another upload of this key registered.
            return Outcome(record, "skipped", reason=already_sent(other))
        encord = {"item_uuid": item_uuid, "data_hash": data_hashes.get(item_uuid), "dataset_hash": dataset_hash}
        return Outcome(record, "registered", encord=encord)

    def _holder(self, record: ObjectRecord, item_uuid: str) -> ObjectRecord | None:
        """Another version of the key that this item was registered for (one item per key: ingest's rule)."""
        for other in self.repository.object_versions(record.bucket, record.key):
            holds = (other.encord or {}).get("item_uuid") == item_uuid
            if other.version != record.version and other.status == "registered" and holds:
                return other
        return None

    def _items(self, folder: StorageFolder, entries: list[Entry], job: _JobResult) -> dict[str, Entry]:
        """Encord item uuid -> the manifest entry it holds, for every entry that was not a per-file error.
        Titles are unique in the manifest as sent (`titled`), so each name Encord reports is one entry."""
        items: dict[str, Entry] = {}
        for entry in entries:
            if entry.title in job.created:
                items[job.created[entry.title]] = entry
            elif not all(k in job.failed_keys for k in entry.object_keys):
                # Neither created nor failed: Encord skipped it as a duplicate URL (e.g. a start repeated after a
                # lost response). Find the item it already has, so the object still gets its hashes and link.
                existing = self._existing_item(folder, entry)
                if existing is not None:
                    items[existing] = entry
        return items

    def _existing_item(self, folder: StorageFolder, entry: Entry) -> str | None:
        """The folder's item for `entry`: the same name and, for a single file, the same URL (a name alone may
        be another manifest's file); image groups and series have no URL, so they match by name and size."""
        found = self.budget.call("find an item", lambda: list(folder.list_items(search=entry.title, page_size=100)))
        for item in found:
            if item.name != entry.title:
                continue
            if entry.single and item.url == entry.urls[0]:
                return str(item.uuid)
            if not entry.single and item.url is None and item.frame_count in (None, len(entry.urls)):
                return str(item.uuid)
        return None

    def _link(self, dataset: Dataset, items: dict[str, Entry]) -> dict[str, str]:
        """Link the items to the dataset; returns item uuid -> data hash, for every item whose row was found.

        `link_items(SKIP)` is idempotent. What it returns for an item linked before (by an attempt whose answer
        was lost) is undocumented: its row, or nothing. So each item it does not return is looked up with one
        `list_data_rows(title_eq=<its title>)`, which reads only rows of that title (never the whole dataset),
        matched on the row's storage item. Cost: 1 + (items not returned) requests, each bounded."""
        from uuid import UUID

        from encord.orm.dataset import DataLinkDuplicatesBehavior

        if not items:
            return {}
        encord_dataset = self._dataset(self.destinations[dataset].dataset_hash)
        # Retried within the budget (the SDK does not retry it): linking with SKIP twice links once.
        rows = self.budget.call(
            "link items", partial(encord_dataset.link_items, [UUID(u) for u in items], DataLinkDuplicatesBehavior.SKIP)
        )
        hashes = {str(row.backing_item_uuid): row.uid for row in rows if str(row.backing_item_uuid) in items}
        for item_uuid in [u for u in items if u not in hashes]:
            found = self.budget.call("find a data row", partial(encord_dataset.list_data_rows, items[item_uuid].title))
            for row in found:
                if str(row.backing_item_uuid) == item_uuid:
                    hashes[item_uuid] = row.uid
        return hashes

    def _fail_objects(self, records: Iterable[ObjectRecord], reason: str) -> None:
        outcomes = [
            Outcome(r, "failed", reason=reason[:1000]) for r in records if r.status not in ("skipped", "deleted")
        ]
        self.repository.set_outcomes(outcomes)


KEPT_ITEM_BYTES = 300_000  # entries kept in one DynamoDB item (its limit is 400 KB): URLs of up to 1 KB each


def _entry_chunks(entries: list[Entry], size: int) -> Iterator[tuple[int, list[list[Any]]]]:
    """(first index, rows) of up to `size` entries and KEPT_ITEM_BYTES each: one finish chunk per kept item."""
    start, rows, used = 0, list[list[Any]](), 0
    for index, entry in enumerate(entries):
        row = [entry.title, list(entry.urls), entry.single]
        cost = len(entry.title.encode()) + sum(len(u.encode()) for u in entry.urls) + 16
        if rows and (len(rows) >= size or used + cost > KEPT_ITEM_BYTES):
            yield start, rows
            start, rows, used = index, [], 0
        rows.append(row)
        used += cost
    if rows:
        yield start, rows


def _entry(row: list[Any]) -> Entry:
    title, urls, single = row
    return Entry(str(title), tuple(urls), tuple(key_from_object_url(u) for u in urls), bool(single))


@dataclass(frozen=True)
class _JobResult:
    created: dict[str, str]  # title -> item uuid, as Encord reported the new items
    failed_keys: dict[str, str]  # object key -> Encord's per-file error


def _external_record(bucket: str, key: str, manifest_id: str) -> ObjectRecord:
    """The record of an object listed in a manifest written by hand: one per (key, manifest), written with its
    outcome, so status and the audit show it without a lookup per key."""
    return ObjectRecord(bucket=bucket, key=key, version=f"external:{manifest_id}", status="in_manifest", role="item")


def _what_to_do(error: Exception) -> str:
    from encord.exceptions import AuthenticationError, AuthorisationError, ResourceNotFoundError

    if isinstance(error, AuthenticationError | AuthorisationError):
        return (
            "Encord refused the request: check the key in the secret, that its user can write the storage folder, "
            "and that the cloud integration (EncordIntegrationId) exists and is shared with that user"
        )
    if isinstance(error, ResourceNotFoundError):
        return "the storage folder or cloud integration does not exist: check the stack's settings"
    if isinstance(error, RegistrationError):
        return str(error)
    return "Encord rejected the manifest: fix it and upload it again under a new name"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
