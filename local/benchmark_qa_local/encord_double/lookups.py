"""A map the double keeps beside its state so that a request does not walk every data unit.

Which data units an item backs (linking, an item's `backedDataUnitsCount`) was answered by a walk of the whole
state: O(n) per link call, so a backfill of n objects cost O(n^2) in the double. The map answers the same
question in O(1). (Which item holds a job's URLs, `skip_duplicate_urls`, is indexed once per job in uploads.py.)

The double only ever adds data units (datasets.add_data_unit, the seed), and dicts keep insertion order, so the
map follows its dict by reading the entries added since its last look from the dict's end; a dict that shrank
is read again whole. Every answer is checked against the state before it is returned, so the map can only miss
what the state changed behind it, never invent an answer.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from itertools import islice
from typing import Generic, TypeVar

from .state import DataUnit, DoubleState

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
        self._units_by_item: dict[str, list[str]] = {}
        self._units = _Follower(self._add_unit, self._units_by_item.clear)

    def _add_unit(self, unit: DataUnit) -> None:
        if unit.backing_item_uuid:
            self._units_by_item.setdefault(unit.backing_item_uuid, []).append(unit.data_hash)

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
