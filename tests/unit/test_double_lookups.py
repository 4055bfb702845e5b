"""The Encord double's lookup maps (encord_double/lookups.py) answer as the walks of the whole state they
replace: the first item with a folder's URLs, the data units an item backs, whatever was added after a look."""

from __future__ import annotations

from benchmark_qa_local.encord_double import DoubleState
from benchmark_qa_local.encord_double.lookups import lookups
from benchmark_qa_local.encord_double.state import Dataset, DataUnit, StorageItem


def add_item(state: DoubleState, folder: str, *urls: str) -> StorageItem:
    item = StorageItem(folder_uuid=folder, name=urls[0], item_type="IMAGE", urls=list(urls))
    state.storage_items[item.uuid] = item
    return item


def add_unit(state: DoubleState, dataset: str, item: StorageItem) -> DataUnit:
    unit = DataUnit(dataset_hash=dataset, title=item.name, backing_item_uuid=item.uuid)
    state.data_units[unit.data_hash] = unit
    return unit


def walk_item(state: DoubleState, folder: str, urls: list[str]) -> StorageItem | None:
    return next((i for i in state.storage_items.values() if i.folder_uuid == folder and i.urls == urls), None)


def test_items_by_urls_answer_as_the_walk_including_items_added_after_a_look() -> None:
    state = DoubleState()
    maps = lookups(state)
    first = add_item(state, "f1", "s3://b/a.jpg")
    assert maps.item_by_urls(state, "f1", ["s3://b/a.jpg"]) is first
    add_item(state, "f1", "s3://b/a.jpg")  # a duplicate: the first one is the answer, as the walk's
    other_folder = add_item(state, "f2", "s3://b/a.jpg")
    group = add_item(state, "f1", "s3://b/1.jpg", "s3://b/2.jpg")

    for folder, urls in [
        ("f1", ["s3://b/a.jpg"]),
        ("f2", ["s3://b/a.jpg"]),
        ("f1", ["s3://b/1.jpg", "s3://b/2.jpg"]),
        ("f1", ["s3://b/2.jpg", "s3://b/1.jpg"]),  # order matters
        ("f3", ["s3://b/a.jpg"]),
    ]:
        assert maps.item_by_urls(state, folder, urls) is walk_item(state, folder, urls)
    assert maps.item_by_urls(state, "f2", ["s3://b/a.jpg"]) is other_folder
    assert maps.item_by_urls(state, "f1", ["s3://b/1.jpg", "s3://b/2.jpg"]) is group


def test_units_backed_by_an_item_follow_the_state_and_a_removal() -> None:
    state = DoubleState()
    state.datasets["d1"] = Dataset(dataset_hash="d1", title="one")
    maps = lookups(state)
    item, lonely = add_item(state, "f", "s3://b/x.jpg"), add_item(state, "f", "s3://b/y.jpg")
    assert maps.units_backed_by(state, item.uuid) == []
    one, two = add_unit(state, "d1", item), add_unit(state, "d2", item)
    assert maps.units_backed_by(state, item.uuid) == [one, two]
    assert maps.units_backed_by(state, lonely.uuid) == []

    del state.data_units[one.data_hash]  # the double never removes one; the map still answers right
    assert maps.units_backed_by(state, item.uuid) == [two]
    three = add_unit(state, "d1", item)
    assert maps.units_backed_by(state, item.uuid) == [two, three]


def test_each_state_has_its_own_maps() -> None:
    a, b = DoubleState(), DoubleState()
    item = add_item(a, "f", "s3://b/a.jpg")
    assert lookups(a).item_by_urls(a, "f", ["s3://b/a.jpg"]) is item
    assert lookups(b).item_by_urls(b, "f", ["s3://b/a.jpg"]) is None
