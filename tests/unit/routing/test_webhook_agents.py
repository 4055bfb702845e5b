"""The product's webhook verifier against encord-agents' own (0.2.10, `verify_and_parse_notification`), case by
case on the same deliveries. The deliveries are signed by the double's notification emitter
(benchmark_qa_local.encord_double.notifications), written apart from the product's `sign()`; encord-agents ships
a verifier but no signer, so its accepting a delivery is what shows the signature is Encord's scheme."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from benchmark_qa.encord.webhook import OtherEvent, StageNotification, WebhookRejected, verify_notification
from benchmark_qa_local.encord_double.notifications import WORK_AVAILABLE, Delivery, envelope, signed
from encord_agents.core.webhooks import (
    UnexpectedEventType,
    UnsupportedNotificationVersion,
    WebhookVerificationError,
    verify_and_parse_notification,
)

SECRET = "whsec-benchmark-qa"
PROJECT = "9f9f9f9f-0000-4000-8000-000000000004"
STAGE = "5a5a5a5a-0000-4000-8000-000000000005"
PAYLOAD = {"project_hash": PROJECT, "stage_uuid": STAGE, "pending_count": 6, "reason": "max_wait_elapsed"}


def agents_outcome(delivery: Delivery) -> str:
    try:
        verify_and_parse_notification(delivery.body, delivery.headers, secret=SECRET)
    except WebhookVerificationError:
        return "refused"  # their FastAPI handler: 401
    except UnexpectedEventType:
        return "acknowledged"  # 200
    except UnsupportedNotificationVersion:
        return "unsupported"  # 501
    except (ValueError, AttributeError):  # pydantic ValidationError and JSONDecodeError are ValueErrors
        return "invalid"
    return "accepted"


def our_outcome(delivery: Delivery) -> str:
    try:
        result = verify_notification(delivery.body, delivery.headers, SECRET, now=time.time())
    except WebhookRejected as rejected:
        return {401: "refused", 501: "unsupported", 400: "invalid"}[rejected.status]
    assert isinstance(result, StageNotification | OtherEvent)
    return "acknowledged" if isinstance(result, OtherEvent) else "accepted"


def with_headers(change: Callable[[dict[str, str]], dict[str, str]], document: Any = None) -> Delivery:
    delivery = signed(document or envelope(WORK_AVAILABLE, PAYLOAD), SECRET)
    return Delivery(delivery.body, change(dict(delivery.headers)))


def payload_without(key: str) -> dict[str, Any]:
    return envelope(WORK_AVAILABLE, {k: v for k, v in PAYLOAD.items() if k != key})


CASES: dict[str, tuple[Callable[[], Delivery], str]] = {
    "valid": (lambda: signed(envelope(WORK_AVAILABLE, PAYLOAD), SECRET), "accepted"),
    "other event type": (lambda: signed(envelope("task_submitted_event", {}), SECRET), "acknowledged"),
    "other event type, version 2": (lambda: signed(envelope("label_saved", {}, version=2), SECRET), "acknowledged"),
    "envelope version 2": (lambda: signed(envelope(WORK_AVAILABLE, PAYLOAD, version=2), SECRET), "unsupported"),
    "missing pending_count": (lambda: signed(payload_without("pending_count"), SECRET), "invalid"),
    "missing reason": (lambda: signed(payload_without("reason"), SECRET), "invalid"),
    "project hash not a uuid": (
        lambda: signed(envelope(WORK_AVAILABLE, {**PAYLOAD, "project_hash": "p1"}), SECRET),
        "invalid",
    ),
    "missing source": (
        lambda: signed({k: v for k, v in envelope(WORK_AVAILABLE, PAYLOAD).items() if k != "source"}, SECRET),
        "invalid",
    ),
    "unknown reason and extra fields": (
        lambda: signed({**envelope(WORK_AVAILABLE, {**PAYLOAD, "reason": "new_reason"}), "extra": 1}, SECRET),
        "accepted",
    ),
    "body not json": (lambda: signed(b"not json", SECRET), "invalid"),
    "sha256= prefix": (
        lambda: with_headers(lambda h: {**h, "X-Encord-Signature": "sha256=" + h["X-Encord-Signature"]}),
        "refused",
    ),
    "upper-case hex": (
        lambda: with_headers(lambda h: {**h, "X-Encord-Signature": h["X-Encord-Signature"].upper()}),
        "refused",
    ),
    "wrong secret": (lambda: signed(envelope(WORK_AVAILABLE, PAYLOAD), "not-the-secret"), "refused"),
    "timestamp 301 s old": (
        lambda: signed(envelope(WORK_AVAILABLE, PAYLOAD), SECRET, timestamp=int(time.time()) - 301),
        "refused",
    ),
    "timestamp 301 s ahead": (
        lambda: signed(envelope(WORK_AVAILABLE, PAYLOAD), SECRET, timestamp=int(time.time()) + 301),
        "refused",
    ),
    "timestamp 200 s old": (
        lambda: signed(envelope(WORK_AVAILABLE, PAYLOAD), SECRET, timestamp=int(time.time()) - 200),
        "accepted",
    ),
    "no signature header": (
        lambda: with_headers(lambda h: {k: v for k, v in h.items() if "Signature" not in k}),
        "refused",
    ),
    "only a newer signature header": (
        lambda: with_headers(
            lambda h: {"X-Encord-Signature-V2": h["X-Encord-Signature"], "X-Encord-Timestamp": h["X-Encord-Timestamp"]}
        ),
        "refused",
    ),
    "lower-case header names (Function URL)": (
        lambda: with_headers(lambda h: {k.lower(): v for k, v in h.items()}),
        "accepted",
    ),
    "body changed after signing": (
        lambda: Delivery(b"{}", signed(envelope(WORK_AVAILABLE, PAYLOAD), SECRET).headers),
        "refused",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_product_and_encord_agents_agree(case: str) -> None:
    make, expected = CASES[case]
    delivery = make()
    assert agents_outcome(delivery) == expected, "encord-agents' verdict changed: re-read its verifier"
    assert our_outcome(delivery) == expected


def test_the_notification_reads_the_same() -> None:
    delivery = signed(envelope(WORK_AVAILABLE, PAYLOAD), SECRET)
    theirs = verify_and_parse_notification(delivery.body, delivery.headers, secret=SECRET)
    ours = verify_notification(delivery.body, delivery.headers, SECRET, now=time.time())
    assert isinstance(ours, StageNotification)
    assert (ours.payload.project_hash, ours.payload.stage_uuid, ours.payload.pending_count) == (
        theirs.project_hash,
        theirs.stage_uuid,
        theirs.pending_count,
    )
    assert ours.uid == theirs.uid
    assert json.loads(delivery.body)["payload"]["reason"] == str(theirs.reason) == ours.payload.reason
