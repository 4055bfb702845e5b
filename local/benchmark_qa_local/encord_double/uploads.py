"""Upload jobs: the Encord JSON import manifest, folder jobs (v2 data-upload-jobs) and dataset jobs (v1
datasetdatalongpolling). A job answers PENDING for `settings.upload_polls_until_done` polls, then is processed
once: failing URLs become unit errors, duplicates are skipped when asked, the rest become storage items (and,
for dataset jobs, data rows linked to the dataset)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .datasets import get_dataset, link_items
from .errors import invalid, not_found
from .state import DoubleState, JobStatus, StorageItem, UnitError, UploadJob
from .storage import get_folder

_INDEXED_URL = re.compile(r"^objectUrl_(\d+)$")
# Manifest (docs JSON) key -> storage item type.
_SINGLE_URL_KEYS = {
    "videos": "VIDEO",
    "images": "IMAGE",
    "nifti": "NIFTI",
    "audio": "AUDIO",
    "pdf": "PDF",
    "text": "PLAIN_TEXT",
}
_MANIFEST_KEYS = {*_SINGLE_URL_KEYS, "image_groups", "dicom_series", "skip_duplicate_urls", "upsert_metadata"}


@dataclass
class Unit:
    item_type: str
    title: str
    urls: list[str]
    client_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    units: list[Unit]
    skip_duplicate_urls: bool = False
    upsert_metadata: bool = False


def _title(entry: dict[str, Any], urls: list[str]) -> str:
    """The entry's title, else its file name: "If left blank, the original file name is used" (Encord's import
    docs, ../shared/reference/seed-encord-benchmark-qa-docs.txt), taken as the URL's last segment, decoded."""
    return str(entry.get("title") or unquote(urls[0].rstrip("/").rsplit("/", 1)[-1]))


def _indexed_urls(entry: dict[str, Any], kind: str) -> list[str]:
    indexed = sorted(
        ((int(m.group(1)), str(v)) for k, v in entry.items() if (m := _INDEXED_URL.match(k))),
    )
    if not indexed:
        raise invalid(f"{kind} entry has no objectUrl_0..N")
    return [url for _, url in indexed]


def parse_manifest(files: dict[str, Any]) -> Manifest:
    """The docs JSON manifest, verbatim from the SDK (`externalFiles` / `files`)."""
    unknown = set(files) - _MANIFEST_KEYS
    if unknown:
        raise invalid(f"Unknown manifest keys: {sorted(unknown)}")
    units: list[Unit] = []
    for key, item_type in _SINGLE_URL_KEYS.items():
        for entry in files.get(key) or []:
            if not isinstance(entry, dict) or not entry.get("objectUrl"):
                raise invalid(f"{key} entry without objectUrl: {entry!r}")
            urls = [str(entry["objectUrl"])]
            units.append(Unit(item_type, _title(entry, urls), urls, dict(entry.get("clientMetadata") or {})))
    for entry in files.get("image_groups") or []:
        urls = _indexed_urls(entry, "image_groups")
        kind = "IMAGE_SEQUENCE" if entry.get("createVideo") else "IMAGE_GROUP"
        units.append(Unit(kind, _title(entry, urls), urls, dict(entry.get("clientMetadata") or {})))
    for entry in files.get("dicom_series") or []:
        urls = _indexed_urls(entry, "dicom_series")
        units.append(Unit("DICOM_SERIES", _title(entry, urls), urls, dict(entry.get("clientMetadata") or {})))
    return Manifest(units, bool(files.get("skip_duplicate_urls")), bool(files.get("upsert_metadata")))


def parse_data_items(items: dict[str, Any]) -> Manifest:
    """The SDK's typed DataUploadItems (camelCase), converted to the same units."""
    units: list[Unit] = []
    for key, item_type in _SINGLE_URL_KEYS.items():
        for entry in items.get(key) or []:
            urls = [str(entry["objectUrl"])]
            units.append(Unit(item_type, _title(entry, urls), urls, dict(entry.get("clientMetadata") or {})))
    for entry in items.get("imageGroups") or []:
        urls = [str(i["url"]) for i in entry.get("images") or []]
        kind = "IMAGE_SEQUENCE" if entry.get("createVideo") else "IMAGE_GROUP"
        units.append(Unit(kind, _title(entry, urls), urls, dict(entry.get("clientMetadata") or {})))
    for entry in items.get("dicomSeries") or []:
        urls = [str(i["url"]) for i in entry.get("dicomFiles") or []]
        units.append(Unit("DICOM_SERIES", _title(entry, urls), urls, dict(entry.get("clientMetadata") or {})))
    return Manifest(units, bool(items.get("skipDuplicateUrls")), bool(items.get("upsertMetadata")))


def start_job(
    state: DoubleState,
    folder_uuid: str,
    manifest: dict[str, Any],
    *,
    typed: bool = False,
    ignore_errors: bool = False,
    file_name: str | None = None,
    dataset_hash: str | None = None,
) -> UploadJob:
    get_folder(state, folder_uuid)
    (parse_data_items if typed else parse_manifest)(manifest)  # reject a bad manifest now, as the API does
    job = UploadJob(
        folder_uuid=folder_uuid,
        dataset_hash=dataset_hash,
        manifest={"dataItems": manifest} if typed else manifest,
        ignore_errors=ignore_errors,
        file_name=file_name,
    )
    state.upload_jobs[job.uuid] = job
    return job


def start_dataset_job(state: DoubleState, dataset_hash: str, params: dict[str, Any]) -> UploadJob:
    dataset = get_dataset(state, dataset_hash)
    folder_uuid = params.get("folderUuid") or params.get("folder_uuid") or dataset.backing_folder_uuid
    if not folder_uuid:
        raise invalid(f"Dataset {dataset_hash} has no backing folder and no folderUuid was given")
    files = params.get("files")
    if not isinstance(files, dict):
        raise invalid("files must be the JSON manifest")
    return start_job(
        state,
        str(folder_uuid),
        files,
        ignore_errors=bool(params.get("ignoreErrors", params.get("ignore_errors", False))),
        file_name=params.get("fileName"),
        dataset_hash=dataset_hash,
    )


def _failure(state: DoubleState, unit: Unit) -> str | None:
    for url in unit.urls:
        for needle in state.settings.failing_url_substrings:
            if needle in url:
                return f"Failed to read {url}: access denied or object missing"
    return None


def _process(state: DoubleState, job: UploadJob) -> None:
    manifest = _manifest_of(job)
    # The folder's items by their URLs, indexed once for the job (the first item with those URLs): one scan
    # of the storage items per unit made a 500,000-entry manifest quadratic in the double, not in Encord.
    known: dict[tuple[str, ...], StorageItem] = {}
    if manifest.skip_duplicate_urls:
        for stored in state.storage_items.values():
            if stored.folder_uuid == job.folder_uuid:
                known.setdefault(tuple(stored.urls), stored)
    for unit in manifest.units:
        error = _failure(state, unit)
        if error is not None:
            job.unit_errors.append(
                UnitError(object_urls=unit.urls, error=error, action_description=f"Uploading {unit.item_type}")
            )
            continue
        existing = known.get(tuple(unit.urls)) if manifest.skip_duplicate_urls else None
        if existing is not None:
            if manifest.upsert_metadata:
                existing.client_metadata = unit.client_metadata
            continue
        item = StorageItem(
            folder_uuid=job.folder_uuid,
            name=unit.title,
            item_type=unit.item_type,
            urls=unit.urls,
            client_metadata=unit.client_metadata,
        )
        state.storage_items[item.uuid] = item
        known.setdefault(tuple(unit.urls), item)
        job.item_uuids.append(item.uuid)
    if job.dataset_hash is not None:
        created = link_items(state, get_dataset(state, job.dataset_hash), job.item_uuids, "SKIP")
        job.data_hashes = [u.data_hash for u in created]
    job.status = JobStatus.ERROR if job.unit_errors and not job.ignore_errors else JobStatus.DONE


def poll_job(state: DoubleState, job_uuid: str, folder_uuid: str | None = None) -> UploadJob:
    """Long polling answers at once: the double never waits, it counts polls instead."""
    job = state.upload_jobs.get(job_uuid)
    if job is None or (folder_uuid is not None and job.folder_uuid != folder_uuid):
        raise not_found(f"Upload job {job_uuid} not found")
    if job.status is JobStatus.PENDING:
        if job.polls < state.settings.upload_polls_until_done:
            job.polls += 1
        else:
            _process(state, job)
    return job


def _manifest_of(job: UploadJob) -> Manifest:
    if "dataItems" in job.manifest:
        return parse_data_items(job.manifest["dataItems"])
    return parse_manifest(job.manifest)


def _counts(job: UploadJob) -> dict[str, int]:
    total = len(_manifest_of(job).units)
    pending = job.status is JobStatus.PENDING
    errors = 0 if pending else len(job.unit_errors)
    return {"pending": total if pending else 0, "done": 0 if pending else total - errors, "error": errors}


def _unit_errors_json(job: UploadJob) -> list[dict[str, Any]]:
    return [
        {
            "objectUrls": e.object_urls,
            "error": e.error,
            "subtaskUuid": e.subtask_uuid,
            "actionDescription": e.action_description,
        }
        for e in job.unit_errors
    ]


def folder_job_json(state: DoubleState, job: UploadJob) -> dict[str, Any]:
    counts = _counts(job)
    return {
        "status": job.status.value,
        "itemsWithNames": [
            {"itemUuid": u, "name": state.storage_items[u].name} for u in job.item_uuids if u in state.storage_items
        ],
        "errors": [e.error for e in job.unit_errors],
        "unitsPendingCount": counts["pending"],
        "unitsDoneCount": counts["done"],
        "unitsErrorCount": counts["error"],
        "unitsCancelledCount": 0,
        "unitErrors": _unit_errors_json(job),
        "fileName": job.file_name,
    }


def dataset_job_json(state: DoubleState, job: UploadJob) -> dict[str, Any]:
    counts = _counts(job)
    return {
        "status": job.status.value,
        "data_hashes_with_titles": [
            {
                "data_hash": h,
                "title": state.data_units[h].title,
                "backing_item_uuid": state.data_units[h].backing_item_uuid,
            }
            for h in job.data_hashes
        ],
        "errors": [e.error for e in job.unit_errors],
        "data_unit_errors": _unit_errors_json(job),
        "units_pending_count": counts["pending"],
        "units_done_count": counts["done"],
        "units_error_count": counts["error"],
        "units_cancelled_count": 0,
    }
