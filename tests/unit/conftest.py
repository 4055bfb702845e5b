"""Unit tests cannot reach the network: sockets are blocked for every test below this folder."""

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if "tests/unit" in str(item.path).replace("\\", "/"):
        disable_socket(allow_unix_socket=True)
    else:
        enable_socket()
