"""Agent-stage webhook verification: signature, timestamp window, headers and body."""

from __future__ import annotations

import json

import pytest
from benchmark_qa.encord.webhook import WebhookRejected, sign, verify_notification

SECRET = "s3cret"
NOW = 1_800_000_000
BODY = json.dumps(
    {
        "uid": "u1",
        "version": 1,
        "event_type": "agent_stage_work_available_event",
        "payload": {"project_hash": "p", "stage_uuid": "s", "pending_count": 3},
    }
).encode()


def _headers(body: bytes = BODY, timestamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return {"x-encord-timestamp": str(timestamp), "x-encord-signature": sign(secret, str(timestamp), body)}


def test_valid_notification() -> None:
    notification = verify_notification(BODY, _headers(), SECRET, now=NOW + 10)
    assert notification.payload.project_hash == "p"
    assert notification.payload.pending_count == 3


def test_header_names_are_case_insensitive_and_prefix_is_accepted() -> None:
    headers = _headers()
    mixed = {
        "X-Encord-Timestamp": headers["x-encord-timestamp"],
        "X-ENCORD-SIGNATURE": "sha256=" + headers["x-encord-signature"],
    }
    assert verify_notification(BODY, mixed, SECRET, now=NOW).uid == "u1"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"x-encord-signature": "abc"}, "missing"),
        ({"x-encord-timestamp": str(NOW)}, "missing"),
        (_headers(secret="wrong"), "signature mismatch"),
        (_headers(body=b"{}"), "signature mismatch"),
        (_headers(timestamp=NOW - 301), "window"),
        (_headers(timestamp=NOW + 301), "window"),
        ({"x-encord-timestamp": "yesterday", "x-encord-signature": "abc"}, "unix seconds"),
    ],
)
def test_rejected_as_401(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookRejected, match=reason) as caught:
        verify_notification(BODY, headers, SECRET, now=NOW)
    assert caught.value.status == 401
    assert SECRET not in str(caught.value)


def test_no_secret_configured_rejects_everything() -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_notification(BODY, _headers(secret=""), "", now=NOW)
    assert caught.value.status == 401


def test_stale_window_is_configurable() -> None:
    verify_notification(BODY, _headers(timestamp=NOW - 500), SECRET, now=NOW, max_skew=600)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        json.dumps(
            {"uid": "u", "event_type": "other_event", "payload": {"project_hash": "p", "stage_uuid": "s"}}
        ).encode(),
    ],
)
def test_signed_but_not_a_notification_is_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_notification(body, _headers(body=body), SECRET, now=NOW)
    assert caught.value.status == 400
