"""Fault injection: rules matched against the endpoint key of a request ("v2 POST projects/{p}/...",
"v1 labelrow GET"); each fires with a probability drawn from a seeded RNG, or for the next N matching requests.

Kinds:
  status       answer `status` (429 adds Retry-After) without applying the request. On v1 endpoints a 4xx other
               than 413/429 comes in the v1 envelope (HTTP 200, the error's name), as the API answers from
               inside its handlers; 413, 429 and 5xx are real HTTP statuses, as the infrastructure in front of
               the API answers (encord/http/querier.py, the comment above its 429/413 handling)
  rate_limit_envelope  v1 only: HTTP 200 with {"status": 429, "response": ["RATE_LIMIT_ERROR"]}, which the SDK
               raises as RateLimitExceededError without retrying (encord/http/error_utils.py)
  latency      sleep `latency_seconds`, then handle normally
  drop         apply the request, then close the connection without answering
  after_apply  apply the request, then answer `status` (e.g. 502/504) instead of the real response
"""

from __future__ import annotations

import collections
import enum
import fnmatch
import random
import threading

from pydantic import BaseModel, ConfigDict, Field


class FaultKind(enum.StrEnum):
    STATUS = "status"
    RATE_LIMIT_ENVELOPE = "rate_limit_envelope"
    LATENCY = "latency"
    DROP = "drop"
    AFTER_APPLY = "after_apply"


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(default="*", description="fnmatch pattern over the endpoint key")
    kind: FaultKind = FaultKind.STATUS
    status: int = 503
    retry_after: float | None = Field(default=None, description="Retry-After seconds for a 429")
    latency_seconds: float = 0.0
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    times: int | None = Field(default=None, ge=0, description="Fire for the next N matches only; None = forever")


class FaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    rules: list[FaultRule] = Field(default_factory=list)


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random(0)
        # How many times each kind of fault fired, so a test can prove its faults happened.
        self.fired: collections.Counter[str] = collections.Counter()

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config.model_copy(deep=True)
            self._rng = random.Random(config.seed)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._config.rules.append(rule.model_copy())

    def clear(self) -> None:
        self.configure(FaultConfig(seed=self._config.seed))

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config.model_copy(deep=True)

    def pick(self, endpoint: str) -> list[FaultRule]:
        """The rules firing for this request; consumes one of each rule's remaining `times`."""
        fired = []
        with self._lock:
            for rule in self._config.rules:
                if rule.times == 0 or not fnmatch.fnmatchcase(endpoint, rule.endpoint):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                fired.append(rule.model_copy())
                self.fired[rule.kind.value if rule.kind is not FaultKind.STATUS else f"status {rule.status}"] += 1
        return fired
