"""Storage folders and items (v2 `storage/folders/...`)."""

from __future__ import annotations

from typing import Any

from .errors import not_found
from .state import DoubleState, StorageFolder, StorageItem

# Storage item type -> the lower-case encord DataType of the data unit it backs.
ITEM_DATA_TYPES = {
    "IMAGE": "image",
    "VIDEO": "video",
    "IMAGE_GROUP": "img_group",
    "IMAGE_SEQUENCE": "video",
    "DICOM_SERIES": "dicom",
    "NIFTI": "nifti",
    "AUDIO": "audio",
    "PDF": "pdf",
    "PLAIN_TEXT": "plain_text",
}


def get_folder(state: DoubleState, folder_uuid: str) -> StorageFolder:
    folder = state.storage_folders.get(folder_uuid)
    if folder is None:
        raise not_found(f"Storage folder {folder_uuid} not found")
    return folder


def add_folder(state: DoubleState, name: str, description: str = "", folder_uuid: str | None = None) -> StorageFolder:
    folder = StorageFolder(name=name, description=description, **({"uuid": folder_uuid} if folder_uuid else {}))
    state.storage_folders[folder.uuid] = folder
    return folder


def find_item_by_urls(state: DoubleState, folder_uuid: str, urls: list[str]) -> StorageItem | None:
    return next(
        (i for i in state.storage_items.values() if i.folder_uuid == folder_uuid and i.urls == urls),
        None,
    )


def folder_json(state: DoubleState, folder: StorageFolder) -> dict[str, Any]:
    synced = next((d.dataset_hash for d in state.datasets.values() if d.backing_folder_uuid == folder.uuid), None)
    return {
        "uuid": folder.uuid,
        "parent": folder.parent_uuid,
        "name": folder.name,
        "description": folder.description,
        "clientMetadata": None,
        "owner": state.settings.user_email,
        "createdAt": folder.created_at.isoformat(),
        "lastEditedAt": folder.created_at.isoformat(),
        "userRole": "admin",
        "syncedDatasetHash": None if synced is None else synced,
        "pathToRoot": [],
        "folderType": "generic",
    }
