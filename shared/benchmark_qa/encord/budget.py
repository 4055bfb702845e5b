"""Every wait on Encord bounded by the time the invocation has left.

The SDK retries 413, 429 and 5xx itself (encord/http/querier.py:294-313) and sleeps for as long as a 429's
Retry-After asks: urllib3 honours it up to `retry_after_max` (21600 s in urllib3 2.8, urllib3/util/retry.py),
and the SDK does not lower it, so one `Retry-After: 60` outlasts a 120 s Lambda. A v1 RATE_LIMIT_ERROR arrives
as HTTP 200 and is not retried at all (encord/http/error_utils.py, check_error_response).

So the Lambdas run the SDK with its status and read retries off (`max_retries=0`; connection retries stay) and
retry here, around each unit of work (a call, one page of a stage's listing (benchmark_qa.encord.stage_pages),
a whole bundle):

  * throttling (429 with or without Retry-After, the v1 envelope), 5xx and lost connections are retried, up to
    `attempts` times, after Retry-After when given, else after `backoff * 2**n` seconds;
  * a wait, or a request's own timeout, that does not fit in what is left of the invocation (less `reserve`,
    kept to record the outcome) is not started: `OutOfTime` says what was left undone, and the callers record
    it and leave the rest to the next run.

Outside Lambda (the CLI, tests), `TimeBudget.unbounded()` adds no retries and no limit: the SDK's own apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from benchmark_qa.deadline import Deadline

if TYPE_CHECKING:
    from benchmark_qa.config import EncordSettings

T = TypeVar("T")


class OutOfTime(Exception):
    """Not enough of the invocation is left for this Encord call or its wait; the rest is for the next run."""


def retry_wait(error: Exception, attempt: int, backoff: float) -> float | None:
    """Seconds to wait before trying again after `error`, or None when trying again cannot help."""
    from encord.exceptions import GenericServerError, RateLimitExceededError, RequestException, UnknownException

    if isinstance(error, RateLimitExceededError):
        if error.retry_after:  # a real 429 names its delay; the v1 envelope cannot
            return float(error.retry_after)
    elif not isinstance(error, GenericServerError | UnknownException | RequestException):
        return None
    return float(backoff * 2**attempt)


@dataclass
class TimeBudget:
    remaining_seconds: Callable[[], float]
    reserve_seconds: float = 10.0
    request_seconds: float = 20.0  # the SDK's per-request timeout: a request needs this much to finish
    attempts: int = 1
    backoff: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    waited: float = 0.0  # seconds slept so far, for the run's record

    @classmethod
    def unbounded(cls) -> TimeBudget:
        return cls(remaining_seconds=Deadline.none().remaining_seconds)

    @classmethod
    def of(cls, settings: EncordSettings, remaining_millis: Callable[[], int] | None = None) -> TimeBudget:
        """The retries of ENCORD_MAX_RETRIES and ENCORD_BACKOFF_FACTOR, for a client built by
        benchmark_qa.encord.client (SDK retries off), within `remaining_millis` (a Lambda context's
        get_remaining_time_in_millis; None: no limit, as on the command line)."""
        return cls(
            remaining_seconds=Deadline.of(remaining_millis).remaining_seconds,  # one clock for every bounded run
            request_seconds=settings.encord_timeout_seconds,
            attempts=settings.encord_max_retries + 1,
            backoff=settings.encord_backoff_factor,
        )

    def left(self) -> float:
        return self.remaining_seconds() - self.reserve_seconds

    def check(self, what: str) -> None:
        """Raise OutOfTime unless a request can still finish in this invocation."""
        if self.left() < self.request_seconds:
            raise OutOfTime(
                f"{what}: not started, {max(0.0, self.left()):.0f} s of this run left and a request may take "
                f"{self.request_seconds:.0f} s; left for the next run"
            )

    def call(self, what: str, fn: Callable[[], T], *, retry: bool = True) -> T:
        """`fn()`, retried (when `retry`) on throttling and transient failures while the invocation has time."""
        attempt = 0
        while True:
            self.check(what)
            try:
                return fn()
            except Exception as error:
                wait = retry_wait(error, attempt, self.backoff) if retry else None
                attempt += 1
                if wait is None or attempt >= self.attempts:
                    raise
                if wait + self.request_seconds > self.left():
                    raise OutOfTime(
                        f"{what}: Encord asked to wait {wait:.0f} s ({type(error).__name__}), but only "
                        f"{max(0.0, self.left()):.0f} s of this run are left; left for the next run"
                    ) from error
            self.sleep(wait)
            self.waited += wait
