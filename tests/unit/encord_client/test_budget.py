"""TimeBudget: Encord's waits bounded by what is left of the invocation (fake clock, the SDK's own errors)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from benchmark_qa.config import EncordSettings
from benchmark_qa.encord.budget import OutOfTime, TimeBudget
from encord.exceptions import (
    AuthorisationError,
    InvalidArgumentsError,
    PayloadTooLargeError,
    RateLimitExceededError,
    RequestException,
    UnknownException,
)


class Clock:
    def __init__(self, left: float) -> None:
        self.left = left
        self.slept: list[float] = []

    def remaining(self) -> float:
        return self.left

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.left -= seconds


def budget(clock: Clock, attempts: int = 4, backoff: float = 1.0) -> TimeBudget:
    return TimeBudget(
        clock.remaining, reserve_seconds=10, request_seconds=20, attempts=attempts, backoff=backoff, sleep=clock.sleep
    )


def failing(*errors: Exception) -> Callable[[], str]:
    queue = list(errors)

    def call() -> str:
        if queue:
            raise queue.pop(0)
        return "ok"

    return call


def test_a_retry_after_that_fits_is_waited_for() -> None:
    clock = Clock(left=100)
    assert budget(clock).call("x", failing(RateLimitExceededError(retry_after=4))) == "ok"
    assert clock.slept == [4]


def test_a_retry_after_longer_than_the_run_has_left_is_not_waited_for() -> None:
    # A 120 s Lambda 60 s in: Retry-After 60 (+ a 20 s request) does not fit in the 50 s left above the reserve.
    clock = Clock(left=60)
    with pytest.raises(OutOfTime, match=r"proceed 3 tasks: Encord asked to wait 60 s .*only 50 s of this run are left"):
        budget(clock).call("proceed 3 tasks", failing(RateLimitExceededError(retry_after=60)))
    assert clock.slept == []


def test_the_v1_rate_limit_envelope_has_no_delay_and_is_retried_after_a_backoff() -> None:
    clock = Clock(left=200)
    assert (
        budget(clock, backoff=2).call(
            "x", failing(RateLimitExceededError(message="Rate limit exceeded."), UnknownException("5xx"))
        )
        == "ok"
    )
    assert clock.slept == [2, 4]


@pytest.mark.parametrize("error", [RequestException("dropped"), UnknownException("502")])
def test_transient_failures_are_retried(error: Exception) -> None:
    clock = Clock(left=200)
    assert budget(clock, backoff=0).call("x", failing(error)) == "ok"


@pytest.mark.parametrize(
    "error", [InvalidArgumentsError("400"), AuthorisationError("403"), PayloadTooLargeError("413"), ValueError("bug")]
)
def test_other_errors_are_raised_at_once(error: Exception) -> None:
    clock = Clock(left=200)
    with pytest.raises(type(error)):
        budget(clock).call("x", failing(error))
    assert clock.slept == []


def test_attempts_are_bounded() -> None:
    clock = Clock(left=10_000)
    with pytest.raises(UnknownException):
        budget(clock, attempts=3, backoff=0).call("x", failing(*[UnknownException("503")] * 5))
    assert len(clock.slept) == 2


def test_no_request_is_started_without_time_for_it() -> None:
    called: list[bool] = []
    with pytest.raises(OutOfTime, match="not started"):
        budget(Clock(left=29)).call("x", lambda: called.append(True))
    assert called == []


def test_retry_false_never_retries() -> None:
    clock = Clock(left=200)
    with pytest.raises(RateLimitExceededError):
        budget(clock).call("x", failing(RateLimitExceededError(retry_after=1)), retry=False)


def test_of_settings() -> None:
    settings = EncordSettings(
        encord_key_secret="s", encord_max_retries=2, encord_backoff_factor=0.5, encord_timeout_seconds=7
    )
    lambda_budget = TimeBudget.of(settings, lambda: 61_000)
    assert (lambda_budget.attempts, lambda_budget.backoff, lambda_budget.request_seconds) == (3, 0.5, 7)
    assert lambda_budget.left() == pytest.approx(51)
    assert TimeBudget.of(settings).left() == float("inf")
