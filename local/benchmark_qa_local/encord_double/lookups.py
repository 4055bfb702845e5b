"""Maps the double keeps beside its state so that a request does not walk every storage item or data unit.

Which item holds these URLs (`skip_duplicate_urls`), which data units an item backs (linking, an item's
`backedDataUnitsCount`) were answered by a walk of the whole state: O(n) per unit of an upload job, so a
backfill of n objects cost O(n^2) in the double (100,000 objects: ~5e9 comparisons). The maps answer the same
questions in O(1).

The double only ever adds storage items and data units (uploads.py, datasets.add_data_unit, the seed), and
dicts keep insertion order, so each map follows its dict by reading the entries added since its last look
from the dict's end; a dict that shrank is read again whole. Every answer is checked against the state
before it is returned, so a map can only miss what the state changed behind it, never invent an answer.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from itertools import islice
from typing import Generic, TypeVar

from .state import DataUnit, DoubleState, StorageItem

V = TypeVar("V")


class _Follower(Generic[V]):
    """Feeds `add` every value of a dict that only grows, once."""

    def __init__(self, add: Callable[[V], None], reset: Callable[[], None]) -> None:
        self._add = add
        self._reset = reset
        self._seen = 0

    def follow(self, values: dict[str, V]) -> None:
        size = len(values)
        if size < self._seen:  # something was removed: read it all again
            self._reset()
            self._seen = 0
        new = list(islice(reversed(values.values()), size - self._seen))
        for value in reversed(new):
            self._add(value)
        self._seen = size


class Lookups:
    def __init__(self) -> None:
        self._item_by_urls: dict[tuple[str, tuple[str, ...]], str] = {}
        self._units_by_item: dict[str, list[str]] = {}
        self._items = _Follower(self._add_item, self._item_by_urls.clear)
        self._units = _Follower(self._add_unit, self._units_by_item.clear)

    def _add_item(self, item: StorageItem) -> None:
        self._item_by_urls.setdefault((item.folder_uuid, tuple(item.urls)), item.uuid)  # the first one, as a walk

    def _add_unit(self, unit: DataUnit) -> None:
        if unit.backing_item_uuid:
            self._units_by_item.setdefault(unit.backing_item_uuid, []).append(unit.data_hash)

    def item_by_urls(self, state: DoubleState, folder_uuid: str, urls: list[str]) -> StorageItem | None:
        self._items.follow(state.storage_items)
        uuid = self._item_by_urls.get((folder_uuid, tuple(urls)))
        if uuid is None:
            return None
        item = state.storage_items.get(uuid)
        if item is not None and item.folder_uuid == folder_uuid and item.urls == urls:
            return item
        # The state changed behind the map: the walk it replaces.
        return next((i for i in state.storage_items.values() if i.folder_uuid == folder_uuid and i.urls == urls), None)

    def units_backed_by(self, state: DoubleState, item_uuid: str) -> list[DataUnit]:
        """The data units backed by the item, in the order they were added."""
        self._units.follow(state.data_units)
        found = (state.data_units.get(h) for h in self._units_by_item.get(item_uuid, ()))
        return [u for u in found if u is not None and u.backing_item_uuid == item_uuid]


_BY_STATE: dict[int, Lookups] = {}


def lookups(state: DoubleState) -> Lookups:
    """The maps of this state (dropped with it)."""
    key = id(state)
    found = _BY_STATE.get(key)
    if found is None:
        found = _BY_STATE[key] = Lookups()
        weakref.finalize(state, _BY_STATE.pop, key, None)
    return found
