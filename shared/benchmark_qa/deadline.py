"""Bounded work per invocation: a scheduled run does what fits in the time its invocation has left and leaves the
rest, recorded, to the next run, instead of being cut off by its timeout half-way (and redoing the same first item
on every run, so that everything behind it stalls)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

RESERVE_SECONDS = 15.0  # kept to record what was done and to answer


@dataclass(frozen=True)
class Deadline:
    remaining_seconds: Callable[[], float]
    reserve_seconds: float = RESERVE_SECONDS

    @classmethod
    def of(cls, remaining_millis: Callable[[], int] | None, reserve_seconds: float = RESERVE_SECONDS) -> Deadline:
        """From a Lambda context's get_remaining_time_in_millis; None: no limit (the CLI, tests)."""
        if remaining_millis is None:
            return cls.none()
        return cls(lambda: remaining_millis() / 1000, reserve_seconds)

    @classmethod
    def none(cls) -> Deadline:
        return cls(lambda: math.inf)

    def passed(self) -> bool:
        """True once starting another unit of work could run into the timeout."""
        return self.remaining_seconds() < self.reserve_seconds
