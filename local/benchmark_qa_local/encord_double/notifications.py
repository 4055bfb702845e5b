"""Agent-stage notifications as Encord sends them: a signed JSON envelope POSTed to the stage's webhook URL.

Sources: Encord's docs (docs.encord.com/agents-documentation/Custom-Agents/Task-ready-notifications-sdk: an
agent stage with a webhook and a generated signing secret; Encord checks the queues every five minutes and
re-notifies while work remains) and encord-agents 0.2.10 `encord_agents/core/webhooks.py` (the envelope
fields, version 1, `X-Encord-Signature` = hex HMAC-SHA256 over f"{timestamp}." + body, `X-Encord-Timestamp`
= unix seconds). Written here independently of the product's verifier; the tests check that encord-agents'
own verifier accepts what this module signs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .state import DoubleState

WORK_AVAILABLE = "agent_stage_work_available_event"


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def envelope(event_type: str, payload: dict[str, Any], *, version: int = 1) -> dict[str, Any]:
    return {
        "uid": str(uuid.uuid4()),
        "version": version,
        "source": "encord",
        "event_type": event_type,
        "event_created_timestamp": datetime.now(UTC).isoformat(),
        "payload": payload,
    }


def work_available(
    state: DoubleState, project_hash: str, stage_uuid: str, *, reason: str = "batch_size_reached"
) -> dict[str, Any]:
    """The notification for one agent stage, counting the tasks waiting in it now."""
    project = state.projects[project_hash]
    pending = sum(1 for t in project.tasks.values() if t.stage_uuid == stage_uuid)
    return envelope(
        WORK_AVAILABLE,
        {"project_hash": project_hash, "stage_uuid": stage_uuid, "pending_count": pending, "reason": reason},
    )


def signed(document: dict[str, Any] | bytes, secret: str, *, timestamp: int | None = None) -> Delivery:
    body = document if isinstance(document, bytes) else json.dumps(document, separators=(",", ":")).encode()
    sent_at = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), sent_at.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Encord-Webhooks/1.0",
        "X-Encord-Signature": digest,
        "X-Encord-Timestamp": sent_at,
    }
    return Delivery(body, headers)


def post(url: str, delivery: Delivery, *, timeout: float = 10.0) -> tuple[int, bytes]:
    """POST the delivery; (status, body) of the answer, error statuses included."""
    request = urllib.request.Request(url, data=delivery.body, headers=delivery.headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310  (the test's own receiver)
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()
