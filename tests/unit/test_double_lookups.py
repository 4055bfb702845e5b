"""The Encord double's lookup map (encord_double/lookups.py) answers as the walk of the whole state it replaces:
the data units an item backs, whatever was added after a look."""

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
    a.datasets["d1"] = Dataset(dataset_hash="d1", title="one")
    item = add_item(a, "f", "s3://b/a.jpg")
    unit = add_unit(a, "d1", item)
    assert lookups(a).units_backed_by(a, item.uuid) == [unit]
    assert lookups(b).units_backed_by(b, item.uuid) == []
