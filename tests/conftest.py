"""Sockets: blocked for tests/unit (they must not reach anything), open for the rest (moto server, the
Encord double, Chromium). Deciding per test keeps the order of folders irrelevant.

Hypothesis: the gate runs on busy 2-core machines, so nothing may depend on how long an example takes (no
deadline, no too-slow health check), and the examples are the same on every run (derandomize), so a red run
is a real counterexample that reproduces. HYPOTHESIS_PROFILE=explore searches with fresh random examples."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from pytest_socket import disable_socket, enable_socket

settings.register_profile(
    "gate", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("explore", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if "/tests/unit/" in str(item.path).replace("\\", "/"):
        disable_socket(allow_unix_socket=True)
    else:
        enable_socket()
