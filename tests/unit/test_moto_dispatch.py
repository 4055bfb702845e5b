"""moto server's routing, remembered per host (moto_dispatch.py): the same backend as moto's own lookup, which
runs once per host instead of once per request."""

from __future__ import annotations

from typing import Any

import pytest
from benchmark_qa_local import moto_dispatch


def test_each_host_is_routed_as_moto_does_and_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    calls: list[str | None] = []

    def counting(self: Any, host: str | None) -> Any:
        calls.append(host)
        return original(self, host)

    original = DomainDispatcherApplication.get_backend_for_host
    monkeypatch.setattr(DomainDispatcherApplication, "get_backend_for_host", counting)
    moto_dispatch.install()
    dispatcher = DomainDispatcherApplication(create_backend_app)
    hosts = ["s3.us-east-1.amazonaws.com", "dynamodb", "sqs.us-east-1.amazonaws.com", None]
    expected = [counting(dispatcher, host) for host in hosts]
    calls.clear()

    for _ in range(3):
        assert [dispatcher.get_backend_for_host(host) for host in hosts] == expected
    assert calls == hosts, "moto's own lookup ran once per host"
    assert expected[:3] == ["s3", "dynamodb", "sqs"]
