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
from typing import TYPE_CHECKING, Any

from benchmark_qa.bucket import Bucket
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


def manifest_keys(document: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Entry title -> the (bucket, key) of each file it imports, for mapping Encord's results back to objects."""
    entries: dict[str, list[tuple[str, str]]] = {}
    for items in document.values():
        if not isinstance(items, list):
            continue
        for item in items:
            urls = [v for k, v in item.items() if k == "objectUrl" or k.startswith("objectUrl_")]
            title = str(item.get("title") or "")
            entries.setdefault(title, []).extend(key_from_object_url(u) for u in urls)
    return entries


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
    ) -> None:
        self.client = client
        self.repository = repository
        self.bucket = bucket
        self.integration_id = integration_id
        self.destinations = destinations
        self.manifest_prefix = manifest_prefix
        self.restart_after = restart_after
        # Opened once per Registrar (one per invocation), not once per manifest.
        self._folders: dict[str, StorageFolder] = {}
        self._datasets: dict[str, EncordDataset] = {}

    def _folder(self, folder_uuid: str) -> StorageFolder:
        if folder_uuid not in self._folders:
            self._folders[folder_uuid] = self.client.get_storage_folder(folder_uuid)
        return self._folders[folder_uuid]

    def _dataset(self, dataset_hash: str) -> EncordDataset:
        if dataset_hash not in self._datasets:
            # Metadata only: linking needs no data rows, and the default fetches every row of the dataset.
            self._datasets[dataset_hash] = self.client.get_dataset(dataset_hash, include_data_rows=False)
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
            document = read_manifest(self.bucket, key)
            # Always skip duplicates: a start repeated after a lost response must not import twice.
            document["skip_duplicate_urls"] = True
            folder = self._folder(destination.folder_uuid)
            job = folder.add_private_data_to_folder_start(self.integration_id, document, ignore_errors=True)
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
        state = folder.add_private_data_to_folder_get_result(UUID(manifest["job_id"]), timeout_seconds=0)
        if state.status == LongPollingStatus.PENDING:
            report.pending.append(manifest_id)
            return
        document = read_manifest(self.bucket, manifest["s3_key"])
        by_title = manifest_keys(document)
        records = self._records_by_key(manifest_id, by_title)

        failed_keys = {
            key_from_object_url(url)[1]: unit_error.error
            for unit_error in state.unit_errors
            for url in unit_error.object_urls
        }
        items = self._items(folder, state.items_with_names, by_title, failed_keys)
        data_hashes = self._link(Dataset(manifest["dataset"]), list(items))

        registered = 0
        for item_uuid, keys in items.items():
            for key in keys:
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
        self,
        folder: StorageFolder,
        created: list[Any],
        by_title: dict[str, list[tuple[str, str]]],
        failed_keys: dict[str, str],
    ) -> dict[str, list[str]]:
        """Encord item uuid -> the keys of the files it holds, for every entry that was not a per-file error."""
        items = {str(item.item_uuid): [k for _, k in by_title.get(item.name, [])] for item in created}
        reported = {item.name for item in created}
        for title, pairs in by_title.items():
            keys = [k for _, k in pairs]
            if title in reported or all(k in failed_keys for k in keys):
                continue
            # Neither created nor failed: Encord skipped it as a duplicate URL (e.g. a start repeated after a
            # lost response). Find the item it already has, so the object still gets its hashes and link.
            existing = self._existing_item(folder, title)
            if existing is not None:
                items[existing] = keys
        return items

    @staticmethod
    def _existing_item(folder: StorageFolder, title: str) -> str | None:
        for item in folder.list_items(search=title, page_size=100):
            if item.name == title:
                return str(item.uuid)
        return None

    def _records_by_key(self, manifest_id: str, by_title: dict[str, list[tuple[str, str]]]) -> dict[str, ObjectRecord]:
        records = {r.key: r for r in self.repository.objects_in_manifest(manifest_id)}
        # Manifests written by hand have no object records yet: record their objects now, so status shows them.
        for bucket, key in (pair for pairs in by_title.values() for pair in pairs):
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

    def _link(self, dataset: Dataset, item_uuids: list[str]) -> dict[str, str]:
        """Link new items to the dataset; returns item uuid -> data hash (also for items linked before)."""
        from uuid import UUID

        from encord.orm.dataset import DataLinkDuplicatesBehavior

        if not item_uuids:
            return {}
        encord_dataset = self._dataset(self.destinations[dataset].dataset_hash)
        rows = encord_dataset.link_items([UUID(u) for u in item_uuids], DataLinkDuplicatesBehavior.SKIP)
        hashes = {str(row.backing_item_uuid): row.uid for row in rows}
        missing = [u for u in item_uuids if u not in hashes]
        if missing:
            # Linked by an earlier attempt whose response was lost: read them back from the dataset.
            for row in encord_dataset.list_data_rows():
                if str(row.backing_item_uuid) in missing:
                    hashes[str(row.backing_item_uuid)] = row.uid
        return hashes

    def _fail_objects(self, records: Iterable[ObjectRecord], reason: str) -> None:
        for record in records:
            self.repository.set_object_status(
                record, "failed", reason=reason[:1000], gsi1=(ATTENTION, f"{_now()}#{record.key}")
            )


def _what_to_do(error: Exception) -> str:
    from encord.exceptions import AuthenticationError, AuthorisationError, ResourceNotFoundError

    if isinstance(error, AuthenticationError | AuthorisationError):
        return "Encord refused the key: check the secret and that its user can write the storage folder"
    if isinstance(error, ResourceNotFoundError):
        return "the storage folder or cloud integration does not exist: check the stack's settings"
    if isinstance(error, RegistrationError):
        return str(error)
    return "Encord rejected the manifest: fix it and upload it again under a new name"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
