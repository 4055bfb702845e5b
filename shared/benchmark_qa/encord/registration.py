"""Registration: a manifest in S3 -> an Encord upload job into the storage folder -> items linked to the dataset.

State machine of a manifest record (store/uploads.py), every step conditional so repeats are harmless:

  written --start()--> starting --job id--> uploading --poll(): DONE--> registered | partly_failed
     ^                    |                                  \\--ERROR with no item--> failed
     '--- transient error (retried by SQS, then its DLQ) ----'

A start that crashed after Encord accepted the job but before its id was recorded is re-run by the poller
once it is stale; manifests are always sent with skip_duplicate_urls, so a re-run cannot register a file twice.
The poller never long-polls inside a Lambda (timeout_seconds=0).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from benchmark_qa.bucket import Bucket
from benchmark_qa.encord.budget import OutOfTime, TimeBudget
from benchmark_qa.ingest.items import Dataset
from benchmark_qa.ingest.manifest import ImportManifest
from benchmark_qa.ingest.urls import key_from_object_url
from benchmark_qa.store.table import conditional
from benchmark_qa.store.uploads import ATTENTION, ObjectRecord, UploadsRepository

if TYPE_CHECKING:
    from encord.dataset import Dataset as EncordDataset
    from encord.storage import StorageFolder
    from encord.user_client import EncordUserClient

START_STALE_AFTER = timedelta(minutes=5)
MAX_START_ATTEMPTS = 5
MAX_LINK_ATTEMPTS = 3  # polls that link and look up an item before its objects are failed, so a manifest finishes


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


def dataset_from_key(key: str, manifest_prefix: str) -> Dataset:
    parts = key.removeprefix(manifest_prefix.strip("/") + "/").split("/")
    try:
        return Dataset(parts[0])
    except ValueError:
        raise RegistrationError(
            f"manifest {key}: its folder '{parts[0]}' names no dataset; put manifests under "
            f"{manifest_prefix}/benchmark/ or {manifest_prefix}/production/"
        ) from None


def read_manifest(bucket: Bucket, key: str) -> dict[str, Any]:
    raw = bucket.read(key)
    if raw is None:
        raise RegistrationError(f"manifest {key} is no longer in the bucket; upload it again to register it")
    try:
        if key.lower().endswith(".csv"):
            return ImportManifest.from_csv(raw.decode("utf-8")).to_dict()
        document = json.loads(raw)
        # Validate against the import spec before Encord sees it: a clear error now beats a failed job later.
        return ImportManifest.model_validate(document).to_dict()
    except RegistrationError:
        raise
    except Exception as error:
        raise RegistrationError(f"manifest {key} is not a valid Encord import manifest: {error}") from None


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
    repeated = {n for n in names if names.count(n) > 1}
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
        manifest_prefix: str,
        restart_after: timedelta = START_STALE_AFTER,
        budget: TimeBudget | None = None,
    ) -> None:
        self.client = client
        self.repository = repository
        self.bucket = bucket
        self.integration_id = integration_id
        self.destinations = destinations
        self.manifest_prefix = manifest_prefix
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
    def start(self, key: str) -> str:
        """Start the upload job of the manifest at `key`, once. Returns what happened."""
        manifest_id = manifest_id_from_key(key)
        record = self.repository.get_manifest(manifest_id)
        if not record:
            # A manifest the user wrote by hand into the manifests folder: register it too.
            dataset = dataset_from_key(key, self.manifest_prefix)
            # Another invocation may have created it first: that is fine, the status moves below are conditional.
            conditional(
                self.repository.create_manifest,
                manifest_id=manifest_id,
                dataset=dataset.value,
                manifest_kind="external",
            )
            self.repository.set_manifest_status(manifest_id, "written", expected=("claimed",), s3_key=key)
            record = self.repository.get_manifest(manifest_id)
        if record.get("status") != "written":
            return f"already {record.get('status')}"
        attempts = int(record.get("attempts", 0)) + 1
        if not self.repository.set_manifest_status(
            manifest_id, "starting", expected=("written",), attempts=attempts, started_at=_now()
        ):
            return "taken by another invocation"
        self._start_job(manifest_id, key, Dataset(record["dataset"]), attempts)
        return "started"

    def _start_job(self, manifest_id: str, key: str, dataset: Dataset, attempts: int) -> None:
        destination = self.destinations[dataset]
        try:
            document, _ = titled(read_manifest(self.bucket, key))
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
        )

    def _start_failed(self, manifest_id: str, error: Exception, attempts: int) -> None:
        reason = f"{type(error).__name__}: {error}"[:1000]
        if is_transient(error) and attempts < MAX_START_ATTEMPTS:
            # Back to `written`, so the redelivered message (or the poller) can try again.
            self.repository.set_manifest_status(manifest_id, "written", expected=("starting",), last_error=reason)
        else:
            self.repository.set_manifest_status(
                manifest_id, "failed", expected=("starting",), last_error=reason, reason=_what_to_do(error)
            )
            self._fail_objects(self.repository.objects_in_manifest(manifest_id), f"registration failed: {reason}")

    # ------------------------------------------------------------------ poll
    def poll(self, now: datetime | None = None) -> PollReport:
        """Finish every started job that Encord has finished; restart starts that a crash left behind."""
        now = now or datetime.now(UTC)
        report = PollReport()
        stale = (now - self.restart_after).isoformat(timespec="milliseconds")
        for manifest in self.repository.manifests_with_status("starting", created_before=stale):
            if str(manifest.get("started_at", "")) < stale:
                self._restart(manifest, report)
        for manifest in self.repository.manifests_with_status("written", created_before=stale):
            # Its S3 notification never started it (or its message went to the DLQ): start it now.
            if manifest.get("s3_key"):
                try:
                    if self.start(manifest["s3_key"]) == "started":
                        report.restarted.append(manifest["manifest_id"])
                except Exception as error:
                    report.errors[manifest["manifest_id"]] = f"{type(error).__name__}: {error}"[:500]
        for manifest in self.repository.manifests_with_status("uploading"):
            try:
                self._poll_one(manifest, report)
            except OutOfTime as error:  # this and the later manifests stay `uploading` for the next poll
                report.deferred = str(error)
                break
            except Exception as error:
                # One manifest's failure must not stop the others; the next schedule tries again.
                report.errors[manifest["manifest_id"]] = f"{type(error).__name__}: {error}"[:500]
                self.repository.set_manifest_status(
                    manifest["manifest_id"],
                    "uploading",
                    expected=("uploading",),
                    last_error=report.errors[manifest["manifest_id"]],
                )
        return report

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

    def _poll_one(self, manifest: dict[str, Any], report: PollReport) -> None:
        from uuid import UUID

        from encord.orm.dataset import LongPollingStatus

        manifest_id = manifest["manifest_id"]
        folder = self._folder(manifest["folder_uuid"])
        state = self.budget.call(
            "poll the upload job",
            partial(folder.add_private_data_to_folder_get_result, UUID(manifest["job_id"]), timeout_seconds=0),
        )
        if state.status == LongPollingStatus.PENDING:
            report.pending.append(manifest_id)
            return
        _, entries = titled(read_manifest(self.bucket, manifest["s3_key"]))
        records = self._records_by_key(manifest_id, entries)

        failed_keys = {
            key_from_object_url(url)[1]: unit_error.error
            for unit_error in state.unit_errors
            for url in unit_error.object_urls
        }
        items = self._items(folder, state.items_with_names, entries, failed_keys)
        try:
            data_hashes, link_error = self._link(Dataset(manifest["dataset"]), items), ""
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
            return

        registered = 0
        for item_uuid, entry in items.items():
            if item_uuid in unlinked:
                continue
            for key in entry.object_keys:
                record = records.get(key)
                if record is None or key in failed_keys:
                    continue
                self.repository.set_object_status(
                    record,
                    "registered",
                    manifest_id=manifest_id,
                    encord={
                        "item_uuid": item_uuid,
                        "data_hash": data_hashes.get(item_uuid),
                        "dataset_hash": self.destinations[Dataset(manifest["dataset"])].dataset_hash,
                    },
                )
                registered += 1
        failed = [records[k] for k in failed_keys if k in records]
        for record in failed:
            self._fail_objects([record], f"Encord could not import it: {failed_keys[record.key]}")
        dataset_hash = self.destinations[Dataset(manifest["dataset"])].dataset_hash
        for item_uuid, entry in unlinked.items():
            stuck = [records[k] for k in entry.object_keys if k in records]
            failed += stuck
            self._fail_objects(
                stuck,
                f"stored in Encord as item {item_uuid} ({entry.title!r}) but not found in dataset {dataset_hash} "
                f"after {attempts} link attempts{link_error}; link the item to the dataset in Encord, or upload the "
                "file again",
            )
        if state.status == LongPollingStatus.ERROR and not items:
            status = "failed"
        else:
            status = "partly_failed" if failed or state.errors else "registered"
        self.repository.set_manifest_status(
            manifest_id,
            status,
            expected=("uploading",),
            registered=registered,
            failed=len(failed),
            errors=[str(e)[:300] for e in state.errors][:20],
            finished_at=_now(),
        )
        report.finished.append(manifest_id)

    def _items(
        self, folder: StorageFolder, created: list[Any], entries: list[Entry], failed_keys: dict[str, str]
    ) -> dict[str, Entry]:
        """Encord item uuid -> the manifest entry it holds, for every entry that was not a per-file error.
        Titles are unique in the manifest as sent (`titled`), so each name Encord reports is one entry."""
        by_title = {e.title: e for e in entries}
        items = {str(item.item_uuid): by_title[item.name] for item in created if item.name in by_title}
        reported = set(items.values())
        for entry in entries:
            if entry in reported or all(k in failed_keys for k in entry.object_keys):
                continue
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

    def _records_by_key(self, manifest_id: str, entries: list[Entry]) -> dict[str, ObjectRecord]:
        records = {r.key: r for r in self.repository.objects_in_manifest(manifest_id)}
        # Manifests written by hand have no object records yet: record their objects now, so status shows them.
        for bucket, key in (pair for entry in entries for pair in entry.keys):
            if key in records:
                continue
            versions = self.repository.object_versions(bucket, key)
            if versions:
                records[key] = versions[0]
            else:
                self.repository.record_object(
                    bucket=bucket,
                    key=key,
                    version="external",
                    status="in_manifest",
                    gsi1=(f"MANIFEST#{manifest_id}", key),
                    manifest_id=manifest_id,
                    role="item",
                )
                found = self.repository.get_object(bucket, key, "external")
                if found is not None:
                    records[key] = found
        return records

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
        for record in records:
            self.repository.set_object_status(
                record, "failed", reason=reason[:1000], gsi1=(ATTENTION, f"{_now()}#{record.key}")
            )


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
