"""Kills for the soak run: a function dies right after an external call returns, before it writes what follows.

A Lambda that times out, runs out of memory or loses its host stops between two instructions: the call it made
(an Encord upload job, a task move, an S3 put, a DynamoDB write) has happened, and nothing after it does. The
plan wraps every boto3 call (botocore's `BaseClient._make_api_call`) and every HTTP request of the Encord SDK
(`requests.Session.send`); while an invocation is armed, a seeded draw after each call decides whether it dies
there (a kill after any call with the same small chance, so that a fifth of the invocations die). From
then on the invocation is dead: every further call it (or a `finally` block) tries raises
`Killed` before it is sent, so no clean-up reaches AWS or Encord, as none would from a dead sandbox. `Killed`
is a BaseException, so the handlers' `except Exception` cannot swallow it; the invoker reports it as Lambda
reports a dead runtime (Runtime.ExitError) and the event source redelivers the message or the schedule fires
again, as on AWS.

    plan = KillPlan(seed=11, probability=0.2)
    with plan.installed():
        with plan.armed("ManifestFunction"):
            ...  # the invocation
    plan.kills  # Counter of "function: after call" sites
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import botocore.client
import requests

from benchmark_qa_local.invoker import ExecutionEnvironmentDied

FIRST_GUESS = 8  # calls per invocation assumed before one of its kind has been seen


class Killed(ExecutionEnvironmentDied):
    """The invocation died (injected by the soak run's kill plan)."""


_ID = re.compile(r"[0-9a-fA-F-]{16,}")


def _encord_call(request: requests.PreparedRequest) -> str:
    """The request's shape, without ids: "Encord POST /v2/public/projects/…/workflow/stages/…/move-tasks"."""
    return f"Encord {request.method} {_ID.sub('…', urlsplit(request.url or '').path)}"


class KillPlan:
    def __init__(self, *, seed: int, probability: float) -> None:
        self.rng = random.Random(seed)
        self.probability = probability
        self.kills: Counter[str] = Counter()  # "function: after <call>" -> kills there
        self.calls: Counter[str] = Counter()  # "function: <call>" -> calls made while armed
        self.invocations = 0
        self._lock = threading.RLock()
        self._made: dict[str, tuple[int, int]] = {}  # (function, kind) -> (calls, invocations) so far
        self._function: str | None = None
        self._calls = 0
        self._hazard = 0.0
        self._dead = False

    # ------------------------------------------------------------------ an invocation
    @contextmanager
    def armed(self, function: str, kind: str = "") -> Iterator[None]:
        """Calls made inside belong to one invocation of `function` (`kind`: what woke it, e.g. "sqs"), which
        dies after any one of them with a hazard set so that `probability` of such invocations die: calls are
        counted per (function, kind), so a sweep of 500 calls and a batch of 5 both die 20% of the time."""
        label = f"{function} ({kind})" if kind else function
        with self._lock:
            self.invocations += 1
            calls, invocations = self._made.get(label, (FIRST_GUESS, 1))
            self._hazard = 1 - (1 - self.probability) ** (invocations / max(calls, 1))
            self._function, self._calls, self._dead = function, 0, False
        try:
            yield
        finally:
            with self._lock:
                calls, invocations = self._made.get(label, (0, 0))
                self._made[label] = (calls + self._calls, invocations + 1)
                self._function, self._dead = None, False

    def _before(self) -> None:
        if self._dead:
            raise Killed(f"{self._function} is dead: a call after its kill never leaves the sandbox")

    def _after(self, call: str) -> None:
        if self._function is None:
            return
        self._calls += 1
        self.calls[f"{self._function}: {call}"] += 1
        if not self._dead and self.rng.random() < self._hazard:
            self._dead = True
            self.kills[f"{self._function}: after {call}"] += 1
            raise Killed(f"{self._function} killed after {call} (call {self._calls})")

    # ------------------------------------------------------------------ the wrapped clients
    @contextmanager
    def installed(self) -> Iterator[KillPlan]:
        """Wrap boto3 and the Encord SDK's HTTP session for the duration (process-wide; armed() decides)."""
        wrapped = ((botocore.client.BaseClient, "_make_api_call"), (requests.Session, "send"))
        make_api_call, send = (vars(owner)[name] for owner, name in wrapped)
        plan = self

        def killing_api_call(client: Any, operation_name: str, api_params: Any) -> Any:
            if plan._function is None:
                return make_api_call(client, operation_name, api_params)
            plan._before()
            response = make_api_call(client, operation_name, api_params)
            plan._after(f"{client.meta.service_model.service_name}.{operation_name}")
            return response

        def killing_send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
            if plan._function is None:
                return send(session, request, **kwargs)
            plan._before()
            response = send(session, request, **kwargs)
            plan._after(_encord_call(request))
            return response

        for (owner, name), replacement in zip(wrapped, (killing_api_call, killing_send), strict=True):
            setattr(owner, name, replacement)
        try:
            yield self
        finally:
            for (owner, name), original in zip(wrapped, (make_api_call, send), strict=True):
                setattr(owner, name, original)

    @property
    def total(self) -> int:
        return sum(self.kills.values())
