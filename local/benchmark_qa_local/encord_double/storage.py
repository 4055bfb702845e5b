"""Storage folders and items (v2 `storage/folders/...`)."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, ErrorKind, invalid, not_found
from .lookups import lookups
from .paging import make_page_token, read_page_token
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
# Items made of several files: Encord gives them no URL of their own (the SDK's get_signed_url returns None).
COMPOSITE_ITEM_TYPES = frozenset({"IMAGE_GROUP", "IMAGE_SEQUENCE", "DICOM_SERIES"})
# URL scheme / host -> encord.orm.storage.StorageLocationName value.
_LOCATIONS = (("s3://", "s3"), ("gs://", "gcp"), ("https://storage.googleapis.com/", "gcp"))


def get_folder(state: DoubleState, folder_uuid: str) -> StorageFolder:
    folder = state.storage_folders.get(folder_uuid)
    if folder is None:
        raise not_found(f"Storage folder {folder_uuid} not found")
    return folder


def add_folder(state: DoubleState, name: str, description: str = "", folder_uuid: str | None = None) -> StorageFolder:
    folder = StorageFolder(name=name, description=description, **({"uuid": folder_uuid} if folder_uuid else {}))
    state.storage_folders[folder.uuid] = folder
    return folder


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


@dataclass(frozen=True)
class ItemFilters:
    """encord.orm.storage.ListItemsParams, as the double understands it."""

    search: str | None = None
    is_in_dataset: bool | None = None
    item_types: frozenset[str] = frozenset()  # normalised: lower-case, no underscores ("imagegroup")
    is_recursive: bool = False
    order: str = "name"  # FoldersSortBy: name | createdAt
    desc: bool = False


def normalise_item_type(value: str) -> str:
    """'IMAGE_GROUP' (state) and 'imageGroup' (SDK wire value) both become 'imagegroup'."""
    return value.replace("_", "").lower()


def camel_item_type(item_type: str) -> str:
    """State item type -> encord.orm.storage.StorageItemType value ('IMAGE_GROUP' -> 'imageGroup')."""
    head, *rest = item_type.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def backed_data_units(state: DoubleState, item_uuid: str) -> int:
    return len(lookups(state).units_backed_by(state, item_uuid))


def _folder_and_descendants(state: DoubleState, folder_uuid: str) -> set[str]:
    found = {folder_uuid}
    while True:
        more = {f.uuid for f in state.storage_folders.values() if f.parent_uuid in found} - found
        if not more:
            return found
        found |= more


def list_items(
    state: DoubleState, folder_uuid: str, filters: ItemFilters, page_size: int, page_token: str | None
) -> tuple[list[StorageItem], str | None]:
    """One page of a folder's items. The token is an offset into the filtered, sorted list."""
    get_folder(state, folder_uuid)
    if not 1 <= page_size <= 1000:
        raise invalid("pageSize must be between 1 and 1000")
    if filters.order not in {"name", "createdAt"}:
        raise invalid(f"Unknown order {filters.order!r}")
    folders = _folder_and_descendants(state, folder_uuid) if filters.is_recursive else {folder_uuid}
    linked = {u.backing_item_uuid for u in state.data_units.values() if u.backing_item_uuid}
    needle = filters.search.casefold() if filters.search else None
    matching = [
        i
        for i in state.storage_items.values()
        if i.folder_uuid in folders
        and (needle is None or needle in i.name.casefold())
        and (filters.is_in_dataset is None or (i.uuid in linked) == filters.is_in_dataset)
        and (not filters.item_types or normalise_item_type(i.item_type) in filters.item_types)
    ]
    if filters.order == "name":
        matching.sort(key=lambda i: (i.name, i.uuid), reverse=filters.desc)
    else:
        matching.sort(key=lambda i: (i.created_at, i.uuid), reverse=filters.desc)
    start = read_page_token("offset", page_token) if page_token else 0
    page = matching[start : start + page_size]
    end = start + len(page)
    return page, (make_page_token("offset", end) if end < len(matching) else None)


def get_items(state: DoubleState, item_uuids: list[str]) -> list[StorageItem]:
    """Items in the order asked. Like Encord, an unknown uuid is an authorisation error (403)."""
    missing = [u for u in item_uuids if u not in state.storage_items]
    if missing:
        raise ApiError(ErrorKind.AUTHORISATION, f"Storage items not found or not accessible: {missing}")
    return [state.storage_items[u] for u in item_uuids]


def _storage_location(url: str | None) -> str:
    for prefix, location in _LOCATIONS:
        if url and url.startswith(prefix):
            return location
    if url and ".blob.core.windows.net/" in url:
        return "azure"
    return "s3"


def item_json(
    state: DoubleState, item: StorageItem, *, sign_urls: bool = False, include_client_metadata: bool = True
) -> dict[str, Any]:
    """encord.orm.storage.StorageItem. Composite items (image groups, sequences, DICOM series) have no URL and
    report their file count as frameCount; "signed" URLs are the raw URLs (the double signs nothing)."""
    composite = item.item_type in COMPOSITE_ITEM_TYPES
    url = None if composite or not item.urls else item.urls[0]
    return {
        "uuid": item.uuid,
        "parent": item.folder_uuid,
        "itemType": camel_item_type(item.item_type),
        "name": item.name,
        "description": "",
        "clientMetadata": json.dumps(item.client_metadata if include_client_metadata else {}),
        "owner": state.settings.user_email,
        "createdAt": item.created_at.isoformat(),
        "lastEditedAt": item.created_at.isoformat(),
        "isTombstone": False,
        "isPlaceholder": False,
        "backedDataUnitsCount": backed_data_units(state, item.uuid),
        "storageLocation": _storage_location(item.urls[0] if item.urls else None),
        "integrationHash": None,
        "url": url,
        "signedUrl": url if sign_urls else None,
        "fileSize": None,
        "mimeType": None if url is None else mimetypes.guess_type(url)[0],
        "duration": None,
        "fps": None,
        "height": None,
        "width": None,
        "dicomInstanceUid": None,
        "dicomStudyUid": None,
        "dicomSeriesUid": None,
        "frameCount": len(item.urls) if composite else None,
        "audioSampleRate": None,
        "audioBitDepth": None,
        "audioCodec": None,
        "audioNumChannels": None,
    }
