"""Unit tests cannot reach the network: the root conftest blocks sockets below tests/unit."""

import socket

import pytest
from pytest_socket import SocketBlockedError


def test_opening_a_network_socket_fails() -> None:
    with pytest.raises(SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
