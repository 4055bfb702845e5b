"""Sockets: blocked for tests/unit (they must not reach anything), open for the rest (moto server, the
Encord double, Chromium). Deciding per test keeps the order of folders irrelevant."""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if "/tests/unit/" in str(item.path).replace("\\", "/"):
        disable_socket(allow_unix_socket=True)
    else:
        enable_socket()
