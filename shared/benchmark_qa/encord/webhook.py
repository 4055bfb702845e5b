"""Encord agent-stage webhooks: verify the signature and timestamp, then parse the notification.

Encord signs each delivery with HMAC-SHA256 over f"{timestamp}." + raw body, keyed by the webhook secret, and
sends the hex digest in X-Encord-Signature and the unix time in X-Encord-Timestamp (as encord-agents'
core/webhooks.py checks them). A delivery older or newer than `max_skew` seconds is refused, so a captured
request cannot be replayed later. No SDK import: this is plain HMAC.

Rejections carry an HTTP status and an internal reason for the log; the caller answers with the status only,
so a prober learns nothing about which check failed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, ValidationError

SIGNATURE_HEADER = "x-encord-signature"
TIMESTAMP_HEADER = "x-encord-timestamp"
MAX_SKEW_SECONDS = 300
WORK_AVAILABLE = "agent_stage_work_available_event"


class WebhookRejected(Exception):
    """The request is not a valid, fresh agent-stage notification. `status` is 401 (authenticity) or 400."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class StagePayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    project_hash: str
    stage_uuid: str
    pending_count: int | None = None
    reason: str | None = None


class StageNotification(BaseModel):
    """The envelope Encord posts (encord-agents core/webhooks.py); it carries no task data."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    uid: str
    version: int = 1
    source: str | None = None
    event_type: str
    event_created_timestamp: str | None = None
    payload: StagePayload


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature Encord sends for this body and timestamp (hex HMAC-SHA256)."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Function URLs lower-case header names; other callers may not.
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def verify_notification(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: float,
    max_skew: int = MAX_SKEW_SECONDS,
) -> StageNotification:
    """Check signature and freshness first (401), then the body (400); return the parsed notification."""
    signature, timestamp = _header(headers, SIGNATURE_HEADER), _header(headers, TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise WebhookRejected(401, "missing signature or timestamp header")
    if not secret:
        raise WebhookRejected(401, "no webhook secret configured")
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        raise WebhookRejected(401, "timestamp header is not unix seconds") from None
    if abs(now - sent_at) > max_skew:
        raise WebhookRejected(401, f"timestamp outside the {max_skew} s window")
    expected = sign(secret, timestamp.strip(), body)
    given = signature.strip().removeprefix("sha256=")
    if not hmac.compare_digest(expected, given.lower()):
        raise WebhookRejected(401, "signature mismatch")
    try:
        notification = StageNotification.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        raise WebhookRejected(400, "body is not an agent-stage notification") from None
    if notification.event_type != WORK_AVAILABLE:
        raise WebhookRejected(400, f"event type {notification.event_type!r} is not {WORK_AVAILABLE}")
    return notification
