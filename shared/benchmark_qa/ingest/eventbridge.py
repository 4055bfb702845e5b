"""S3 events that arrive through EventBridge (a bucket the stack does not own: template.yaml UploadsEventRule
and ManifestsEventRule), read into the same (created, object) pair as S3's own notifications.

The shape is AWS's (docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html): one event per message,
`detail-type` "Object Created" or "Object Deleted", the object under `detail.object`. Powertools' data class
reads it; its `key` decodes the URL-encoded key as it does for S3 notifications (Powertools
utilities/data_classes/s3_event.py, S3EventBridgeNotificationObject.key)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventBridgeNotificationEvent

from benchmark_qa.bucket import normal_version
from benchmark_qa.ingest.items import S3Object

SOURCE = "aws.s3"
CREATED, DELETED = "Object Created", "Object Deleted"


def is_eventbridge_event(message: dict[str, Any]) -> bool:
    return message.get("source") == SOURCE and isinstance(message.get("detail"), dict)


def object_event(message: dict[str, Any]) -> tuple[bool, S3Object] | None:
    """(created, object) of an EventBridge S3 event; None for the event types ingest does not act on.
    Raises KeyError, TypeError or ValueError for an event without bucket or key."""
    event = S3EventBridgeNotificationEvent(message)
    if event.detail_type not in (CREATED, DELETED):
        return None
    detail = event.detail
    raw = detail.object
    etag = raw.get("etag") or raw.get("eTag")  # AWS spells it etag; moto's events say eTag
    return event.detail_type == CREATED, S3Object(
        bucket=str(detail.bucket.name),
        key=raw.key,
        size=int(raw.get("size") or 0),
        etag=str(etag).strip('"') if etag else None,
        version_id=normal_version(raw.get("version-id")),
    )
