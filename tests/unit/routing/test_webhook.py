"""Agent-stage webhook verification: signature, timestamp window, headers and body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from benchmark_qa.encord.webhook import OtherEvent, StageNotification, WebhookRejected, sign, verify_notification

SECRET = "s3cret"
NOW = 1_800_000_000
PROJECT = "9f9f9f9f-0000-4000-8000-000000000004"
STAGE = "5a5a5a5a-0000-4000-8000-000000000005"


def envelope(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "uid": "3c1f0a52-8d4e-4b8e-9a55-0d1f5e2b7a10",
        "version": 1,
        "source": "encord",
        "event_type": "agent_stage_work_available_event",
        "event_created_timestamp": "2026-11-24T12:00:00Z",
        "payload": {"project_hash": PROJECT, "stage_uuid": STAGE, "pending_count": 3, "reason": "batch_size_reached"},
    }
    document.update(changes)
    return document


BODY = json.dumps(envelope()).encode()


def _headers(body: bytes = BODY, timestamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return {"x-encord-timestamp": str(timestamp), "x-encord-signature": sign(secret, str(timestamp), body)}


def test_valid_notification() -> None:
    notification = verify_notification(BODY, _headers(), SECRET, now=NOW + 10)
    assert isinstance(notification, StageNotification)
    assert str(notification.payload.project_hash) == PROJECT
    assert notification.payload.pending_count == 3


def test_header_names_are_case_insensitive() -> None:
    headers = _headers()
    mixed = {"X-Encord-Timestamp": headers["x-encord-timestamp"], "X-ENCORD-SIGNATURE": headers["x-encord-signature"]}
    assert isinstance(verify_notification(BODY, mixed, SECRET, now=NOW), StageNotification)


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
        ({**_headers(), "x-encord-signature": "sha256=" + _headers()["x-encord-signature"]}, "signature mismatch"),
        ({**_headers(), "x-encord-signature": _headers()["x-encord-signature"].upper()}, "signature mismatch"),
        (
            {"x-encord-timestamp": str(NOW), "x-encord-signature-v2": _headers()["x-encord-signature"]},
            "newer signature header",
        ),
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


@pytest.mark.parametrize("version", [1, 2, None])
def test_another_event_type_is_acknowledged_whatever_its_version(version: int | None) -> None:
    body = json.dumps(envelope(event_type="task_submitted_event", version=version, payload={})).encode()
    assert verify_notification(body, _headers(body=body), SECRET, now=NOW) == OtherEvent("task_submitted_event")


def test_a_later_envelope_version_cannot_be_read() -> None:
    body = json.dumps(envelope(version=2)).encode()
    with pytest.raises(WebhookRejected, match="version 2") as caught:
        verify_notification(body, _headers(body=body), SECRET, now=NOW)
    assert caught.value.status == 501


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (json.dumps(envelope(payload={"project_hash": PROJECT, "stage_uuid": STAGE})).encode(), "pending_count"),
        (json.dumps(envelope(payload={**envelope()["payload"], "project_hash": "p"})).encode(), "project_hash"),
        (json.dumps({k: v for k, v in envelope().items() if k != "source"}).encode(), "source"),
    ],
)
def test_signed_but_not_a_notification_is_400(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookRejected, match=reason) as caught:
        verify_notification(body, _headers(body=body), SECRET, now=NOW)
    assert caught.value.status == 400
