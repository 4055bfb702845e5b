"""Storage items through the SDK: `folder.list_items(...)`, `client.get_storage_items([...])`,
`client.get_storage_item(uuid)`, for items created by a folder upload job."""

from __future__ import annotations

from typing import Any

import pytest
from benchmark_qa_local.encord_double import EncordDouble
from benchmark_qa_local.encord_double.seed import StandardSetup, seed_standard_setup
from encord import EncordUserClient
from encord.exceptions import AuthorisationError, InvalidArgumentsError
from encord.orm.dataset import LongPollingStatus
from encord.orm.storage import StorageItemType, StorageLocationName
from encord.storage import StorageFolder

IMAGES: list[dict[str, Any]] = [
    {"objectUrl": "s3://bucket/items/Cat-01.jpg", "title": "Cat-01.jpg", "clientMetadata": {"site": "x"}},
    {"objectUrl": "s3://bucket/items/cat-02.jpg", "title": "cat-02.jpg"},
    {"objectUrl": "s3://bucket/items/dog-01.jpg"},  # no title: named after the URL's last segment
    {"objectUrl": "s3://bucket/items/CAT-03.png", "title": "CAT-03.png", "clientMetadata": {"n": 3}},
    {"objectUrl": "s3://bucket/items/bird.jpg", "title": "bird.jpg"},
]
MANIFEST: dict[str, Any] = {
    "images": IMAGES,
    "videos": [{"objectUrl": "s3://bucket/items/cat-video.mp4", "title": "cat-video.mp4"}],
    "image_groups": [
        {"title": "cat-group", "objectUrl_0": "s3://bucket/items/g/0.jpg", "objectUrl_1": "s3://bucket/items/g/1.jpg"}
    ],
}
# name -> (url, client metadata) as the manifest said.
EXPECTED: dict[str, tuple[str | None, dict[str, Any]]] = {
    **{
        str(e.get("title") or e["objectUrl"].rsplit("/", 1)[-1]): (e["objectUrl"], e.get("clientMetadata") or {})
        for e in IMAGES
    },
    "cat-video.mp4": ("s3://bucket/items/cat-video.mp4", {}),
    "cat-group": (None, {}),  # composite items have no URL of their own
}


@pytest.fixture
def setup(double: EncordDouble) -> StandardSetup:
    """No seeded data units: their storage items would share the folder with the uploaded ones."""
    with double.locked() as state:
        return seed_standard_setup(state, benchmark_items=0, production_items=0)


@pytest.fixture
def uploaded(double: EncordDouble, client: EncordUserClient, setup: StandardSetup) -> dict[str, str]:
    """Upload MANIFEST through the SDK; returns item name -> item uuid."""
    with double.locked() as state:
        state.settings.upload_polls_until_done = 0
    folder = client.get_storage_folder(setup.folder_uuid)
    job = folder.add_private_data_to_folder_start(setup.integration_hash, MANIFEST)
    done = folder.add_private_data_to_folder_get_result(job, timeout_seconds=0)
    assert done.status == LongPollingStatus.DONE
    return {i.name: str(i.item_uuid) for i in done.items_with_names}


def _folder(client: EncordUserClient, setup: StandardSetup) -> StorageFolder:
    return client.get_storage_folder(setup.folder_uuid)


def test_list_items_returns_every_item_as_the_manifest_described(client, setup, uploaded):
    items = list(_folder(client, setup).list_items())

    assert sorted(i.name for i in items) == sorted(EXPECTED)
    for item in items:
        url, metadata = EXPECTED[item.name]
        assert str(item.uuid) == uploaded[item.name]
        assert str(item.parent_folder_uuid) == setup.folder_uuid
        assert item.url == url
        assert item.client_metadata == metadata
        assert item.backed_data_units_count == 0
        assert not item._orm_item.is_placeholder
        assert not item._orm_item.is_tombstone
        assert item.storage_location == StorageLocationName.S3
        assert item.created_at <= item.last_edited_at
    by_name = {i.name: i for i in items}
    assert by_name["Cat-01.jpg"].item_type == StorageItemType.IMAGE
    assert by_name["Cat-01.jpg"].mime_type == "image/jpeg"
    assert by_name["cat-video.mp4"].item_type == StorageItemType.VIDEO
    assert by_name["cat-group"].item_type == StorageItemType.IMAGE_GROUP
    assert by_name["cat-group"].frame_count == 2
    # Default order is by name.
    assert [i.name for i in items] == sorted(EXPECTED)


def test_search_is_a_case_insensitive_substring_of_the_name(client, setup, uploaded):
    folder = _folder(client, setup)

    cats = {i.name for i in folder.list_items(search="cAt")}
    assert cats == {"Cat-01.jpg", "cat-02.jpg", "CAT-03.png", "cat-video.mp4", "cat-group"}
    assert {i.name for i in folder.list_items(search="-0")} == {"Cat-01.jpg", "cat-02.jpg", "CAT-03.png", "dog-01.jpg"}
    assert list(folder.list_items(search="zebra")) == []
    for item in folder.list_items(search="cat-0"):
        assert item.url == EXPECTED[item.name][0]


def test_pages_honour_page_size(double, client, setup, uploaded):
    folder = _folder(client, setup)
    double.counts.reset()

    names = [i.name for i in folder.list_items(page_size=2)]
    searched = [i.name for i in folder.list_items(search="cat", page_size=2, desc=True)]

    assert names == sorted(EXPECTED)  # 7 items, no duplicates, nothing lost across 4 pages
    assert searched == sorted((n for n in EXPECTED if "cat" in n.lower()), reverse=True)
    assert double.counts.get("v2 GET storage/folders/{folder}/items") == 4 + 3


def test_item_types_filter(client, setup, uploaded):
    folder = _folder(client, setup)

    videos = list(folder.list_items(item_types=[StorageItemType.VIDEO]))
    mixed = {i.name for i in folder.list_items(item_types=[StorageItemType.IMAGE_GROUP, StorageItemType.VIDEO])}

    assert [(v.name, v.url) for v in videos] == [("cat-video.mp4", "s3://bucket/items/cat-video.mp4")]
    assert mixed == {"cat-video.mp4", "cat-group"}
    assert list(folder.list_items(item_types=[StorageItemType.AUDIO])) == []


def test_is_in_dataset_before_and_after_link_items(client, setup, uploaded):
    folder = _folder(client, setup)
    assert {i.name for i in folder.list_items(is_in_dataset=False)} == set(EXPECTED)
    assert list(folder.list_items(is_in_dataset=True)) == []

    dataset = client.get_dataset(setup.production_dataset_hash, include_data_rows=False)
    linked = {"Cat-01.jpg", "cat-video.mp4"}
    dataset.link_items([uploaded[n] for n in linked])

    inside = list(folder.list_items(is_in_dataset=True))
    assert {i.name for i in inside} == linked
    assert all(i.backed_data_units_count == 1 for i in inside)
    assert {i.name for i in folder.list_items(is_in_dataset=False)} == set(EXPECTED) - linked
    assert {i.name for i in folder.list_items(is_in_dataset=True, search="CAT")} == linked
    assert {i.name for i in folder.list_items(is_in_dataset=None)} == set(EXPECTED)


def test_find_items_needs_search_or_types_and_uses_the_same_endpoint(client, setup, uploaded):
    folder = _folder(client, setup)
    assert {i.name for i in folder.find_items(search="dog")} == {"dog-01.jpg"}
    with pytest.raises(ValueError, match="search"):
        list(folder.find_items())


def test_get_storage_items_by_uuid_in_request_order(client, setup, uploaded):
    names = ["dog-01.jpg", "cat-group", "Cat-01.jpg"]
    items = client.get_storage_items([uploaded[n] for n in names])

    assert [i.name for i in items] == names
    for item in items:
        assert str(item.uuid) == uploaded[item.name]
        assert item.url == EXPECTED[item.name][0]
        assert item.client_metadata == EXPECTED[item.name][1]

    # No signed URL was pre-fetched: the SDK asks GET storage/items/{item}?signUrl=True; the double "signs" nothing.
    assert items[0].get_signed_url() == "s3://bucket/items/dog-01.jpg"
    signed = next(iter(_folder(client, setup).list_items(search="bird", get_signed_urls=True)))
    assert signed._orm_item.signed_url == "s3://bucket/items/bird.jpg"

    single = client.get_storage_item(uploaded["CAT-03.png"])
    assert (single.name, single.url, single.client_metadata) == ("CAT-03.png", "s3://bucket/items/CAT-03.png", {"n": 3})


def test_unknown_items_and_bad_page_sizes_are_errors(client, setup, uploaded):
    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(AuthorisationError):
        client.get_storage_items([uploaded["bird.jpg"], missing])
    with pytest.raises(AuthorisationError):
        client.get_storage_item(missing)
    folder = _folder(client, setup)
    for size in (0, 1001):
        with pytest.raises(InvalidArgumentsError):
            list(folder.list_items(page_size=size))
