"""Datasets and their data rows (v1 `dataset`, `datasetlinkitems`). Adding a data unit to a dataset creates a
task in every project the dataset is attached to, as Encord does."""

from __future__ import annotations

from typing import Any

from .errors import ApiError, ErrorKind, invalid, not_found
from .labels import title_matches
from .lookups import lookups
from .state import Dataset, DataUnit, DoubleState
from .storage import ITEM_DATA_TYPES
from .workflow import on_data_unit_added, sync_project_tasks


def get_dataset(state: DoubleState, dataset_hash: str) -> Dataset:
    dataset = state.datasets.get(dataset_hash)
    if dataset is None:
        raise not_found(f"Dataset {dataset_hash} not found")
    return dataset


def add_data_unit(state: DoubleState, unit: DataUnit) -> DataUnit:
    """Seeding API (also used by linking): put a data row in its dataset and create the projects' tasks."""
    get_dataset(state, unit.dataset_hash)
    state.data_units[unit.data_hash] = unit
    on_data_unit_added(state, unit.data_hash)
    return unit


def attach_dataset(state: DoubleState, project_hash: str, dataset_hash: str) -> None:
    """Seeding API: attach a dataset to a project; its existing data units get tasks in the start stage."""
    get_dataset(state, dataset_hash)
    project = state.projects[project_hash]
    if dataset_hash not in project.dataset_hashes:
        project.dataset_hashes.append(dataset_hash)
    sync_project_tasks(state, project)


def units_of(state: DoubleState, dataset_hash: str) -> list[DataUnit]:
    return [u for u in state.data_units.values() if u.dataset_hash == dataset_hash]


def data_row_json(unit: DataUnit) -> dict[str, Any]:
    return {
        "data_hash": unit.data_hash,
        "data_title": unit.title,
        "data_type": unit.data_type.upper(),
        "created_at": unit.created_at.isoformat(),
        "last_edited_at": unit.created_at.isoformat(),
        "width": unit.width,
        "height": unit.height,
        "file_link": unit.file_link,
        "file_size": 0,
        "file_type": "image/jpeg" if unit.data_type == "image" else "video/mp4",
        "storage_location": 1,  # StorageLocation.AWS
        "frames_per_second": unit.fps,
        "duration": (unit.frames / unit.fps) if unit.fps else None,
        "client_metadata": None,
        "backing_item_uuid": unit.backing_item_uuid,
        "images_data": None,
    }


def dataset_json(state: DoubleState, dataset: Dataset, fetch_rows: bool) -> dict[str, Any]:
    return {
        "dataset_hash": dataset.dataset_hash,
        "title": dataset.title,
        "description": dataset.description,
        "dataset_type": "AWS_S3",
        "backing_folder_uuid": dataset.backing_folder_uuid,
        "data_rows": [data_row_json(u) for u in units_of(state, dataset.dataset_hash)] if fetch_rows else [],
    }


def list_rows(state: DoubleState, dataset: Dataset, filters: dict[str, Any]) -> list[DataUnit]:
    """v1 `datarows` GET, as `Dataset.list_data_rows` sends it (encord/client.py:245-290): every row of the
    dataset that passes the given filters (title_eq, title_like in SQL LIKE syntax, created_before/after,
    data_types upper-case, data_hashes); no filter, the whole dataset in one answer."""
    title_eq, title_like = filters.get("title_eq"), filters.get("title_like")
    before, after = filters.get("created_before"), filters.get("created_after")
    types, hashes = filters.get("data_types"), filters.get("data_hashes")
    return [
        u
        for u in units_of(state, dataset.dataset_hash)
        if (title_eq is None or u.title == title_eq)
        and (title_like is None or title_matches(title_like, u.title))
        and (before is None or u.created_at.isoformat() < str(before))
        and (after is None or u.created_at.isoformat() > str(after))
        and (not types or u.data_type.upper() in types)
        and (not hashes or u.data_hash in hashes)
    ]


def link_items(state: DoubleState, dataset: Dataset, item_uuids: list[str], duplicates: str) -> list[DataUnit]:
    """DataLinkDuplicatesBehavior: SKIP (default), FAIL or DUPLICATE for items already in the dataset."""
    # The dataset's rows backed by these items (last one per item), from the double's maps: a walk of every
    # data unit per link call made large backfills quadratic (lookups.py).
    rows = {
        item_uuid: units[-1]
        for item_uuid in item_uuids
        if (
            units := [
                u for u in lookups(state).units_backed_by(state, item_uuid) if u.dataset_hash == dataset.dataset_hash
            ]
        )
    }
    linked = set(rows)
    items = []
    for item_uuid in item_uuids:
        item = state.storage_items.get(item_uuid)
        if item is None:
            raise not_found(f"Storage item {item_uuid} not found")
        if item_uuid in linked and duplicates == "FAIL":
            raise ApiError(ErrorKind.EXISTS, f"Item {item_uuid} is already in dataset {dataset.dataset_hash}")
        if duplicates not in {"SKIP", "FAIL", "DUPLICATE"}:
            raise invalid(f"Unknown duplicates_behavior {duplicates!r}")
        items.append(item)
    created = []
    for item in items:
        if item.uuid in linked and duplicates == "SKIP":
            if state.settings.link_skip_returns_existing and item.uuid in rows:
                created.append(rows[item.uuid])
            continue
        unit = DataUnit(
            dataset_hash=dataset.dataset_hash,
            title=item.name,
            data_type=ITEM_DATA_TYPES.get(item.item_type, "image"),
            file_link=item.urls[0] if item.urls else "",
            backing_item_uuid=item.uuid,
            frames=max(1, len(item.urls)) if item.item_type in {"IMAGE_GROUP", "IMAGE_SEQUENCE"} else 1,
            fps=25.0 if ITEM_DATA_TYPES.get(item.item_type) == "video" else None,
        )
        created.append(add_data_unit(state, unit))
        linked.add(item.uuid)
    return created
