"""Encord agent-stage webhooks: verify the signature and timestamp, then read the notification.

Encord's published behaviour is encord-agents' verifier (encord_agents/core/webhooks.py, 0.2.10), which this
module matches case by case (tests/unit/routing/test_webhook_agents.py runs both on the same deliveries):

  * HMAC-SHA256 over f"{X-Encord-Timestamp}." + raw body, keyed by the webhook secret, sent as lower-case hex
    in X-Encord-Signature, compared exactly (no "sha256=" prefix, no upper case);
  * the timestamp is whole unix seconds, at most `max_skew` (300) seconds from now either way;
  * a request carrying only a newer X-Encord-Signature-* header is refused as unverifiable;
  * a genuine delivery of another event type is acknowledged, not refused: one URL may serve several stages;
  * a genuine agent-stage notification on an envelope version other than 1 cannot be read (Encord bumps the
    version only for a breaking change);
  * the notification must have every field of encord-agents' TaskNotification, hashes as UUIDs.

Statuses, as encord-agents' FastAPI handlers answer (encord_agents/fastapi/notifications.py): 401 for anything
not shown to be from Encord, 200 to acknowledge another event type, 501 for an unsupported version; 400 for a
genuine body that is not a notification. No SDK import: this is plain HMAC.

Rejections carry an internal reason for the log; the caller answers with the status only, so a prober learns
nothing about which check failed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError

SIGNATURE_HEADER = "x-encord-signature"
TIMESTAMP_HEADER = "x-encord-timestamp"
MAX_SKEW_SECONDS = 300
WORK_AVAILABLE = "agent_stage_work_available_event"
SUPPORTED_VERSION = 1


class WebhookRejected(Exception):
    """Not a readable agent-stage notification from Encord. `status`: 401 (not shown to be from Encord), 501
    (a version this code cannot read) or 400 (genuine, but not a notification)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class StagePayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    project_hash: UUID
    stage_uuid: UUID
    pending_count: int
    reason: str


class StageNotification(BaseModel):
    """The envelope Encord posts (encord-agents TaskNotification); it carries no task data."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    uid: UUID
    version: int
    source: str
    event_type: str
    event_created_timestamp: datetime
    payload: StagePayload


@dataclass(frozen=True)
class OtherEvent:
    """A genuine Encord delivery of an event this agent does not act on: acknowledge it."""

    event_type: str


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature Encord sends for this body and timestamp (lower-case hex HMAC-SHA256)."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Function URLs lower-case header names; other callers may not.
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _verify(body: bytes, headers: Mapping[str, str], secret: str, now: float, max_skew: int) -> None:
    signature, timestamp = _header(headers, SIGNATURE_HEADER), _header(headers, TIMESTAMP_HEADER)
    if signature is None and any(k.lower().startswith(SIGNATURE_HEADER) for k in headers):
        raise WebhookRejected(401, "signed only with a newer signature header this version cannot read")
    if not signature or not timestamp:
        raise WebhookRejected(401, "missing signature or timestamp header")
    if not secret:
        raise WebhookRejected(401, "no webhook secret configured")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookRejected(401, "timestamp header is not unix seconds") from None
    if abs(now - sent_at) > max_skew:
        raise WebhookRejected(401, f"timestamp outside the {max_skew} s window")
    # Compared as bytes: compare_digest refuses two str unless both are ASCII, and the header is what was sent.
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode()):
        raise WebhookRejected(401, "signature mismatch")


def verify_notification(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: float,
    max_skew: int = MAX_SKEW_SECONDS,
) -> StageNotification | OtherEvent:
    """Check signature and freshness (401), then read the body: another event type is an `OtherEvent` to
    acknowledge; an agent-stage notification on another envelope version is 501; anything else unreadable 400."""
    _verify(body, headers, secret, now, max_skew)
    try:
        envelope = json.loads(body)
    except ValueError:
        raise WebhookRejected(400, "body is not JSON") from None
    if not isinstance(envelope, dict):
        raise WebhookRejected(400, "body is not a JSON object")
    event_type = envelope.get("event_type")
    if event_type != WORK_AVAILABLE:  # before the version: another receiver's event stays cheap to acknowledge
        return OtherEvent(str(event_type))
    if envelope.get("version") != SUPPORTED_VERSION:
        raise WebhookRejected(
            501, f"notification version {envelope.get('version')!r}; this agent reads version {SUPPORTED_VERSION}"
        )
    try:
        return StageNotification.model_validate(envelope)
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()})
        raise WebhookRejected(400, f"not an agent-stage notification: bad or missing {fields}") from None
