"""Gaps of moto's S3 (5.2.5) closed on the local stack, so the template's versioned bucket notifies as S3 does.

* GetBucketNotificationConfiguration leaves out EventBridgeConfiguration although moto stores it and sends the
  bucket's events to EventBridge (moto/s3/responses.py get_bucket_notification). AWS returns it as an empty
  element (the S3 API reference of GetBucketNotificationConfiguration), which botocore reads as
  {"EventBridgeConfiguration": {}}; doctor reads it to tell whether an existing bucket's uploads can reach the stack.
* A versioned bucket sends no delete notifications (moto/s3/models.py delete_object): a DELETE without a version
  creates a delete marker silently, and deleting a version notifies only once the key has no version left, naming
  the current object instead of the deleted version. S3 sends `ObjectRemoved:DeleteMarkerCreated` with the
  marker's versionId and `ObjectRemoved:Delete` with the deleted version's id, every time
  (docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html).
* Notifications carry neither `versionId` nor `sequencer` (and EventBridge's sequencer is a constant). S3 puts the
  object's versionId in every record of a versioned bucket and a sequencer that grows with the events of a key
  (docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html); a removal record has no
  size or eTag. Without them the delete path of the stack's own (versioned) bucket could not be run end to end.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

_ELEMENT = "<EventBridgeConfiguration/>"
_SEQUENCE = itertools.count(0x0A000000000000)
_SEQUENCE_LOCK = threading.Lock()
_QUIET = threading.local()  # set while moto's own delete_object runs on a versioned bucket: its events are ours


def _sequencer() -> str:
    with _SEQUENCE_LOCK:
        return f"{next(_SEQUENCE):016X}"


class _Removed:
    """What a removal notification names: the key, and the version removed or the delete marker created."""

    def __init__(self, name: str, version_id: str, delete_marker: bool) -> None:
        self.name = name
        self.version_id = version_id
        self.delete_marker = delete_marker


def _object_fields(bucket: Any, key: Any, *, bridge: bool) -> dict[str, Any]:
    from urllib.parse import quote_plus

    # S3 form-encodes the key of a notification record, leaving '/' as it is (moto encoded it too)
    fields: dict[str, Any] = {"key": key.name if bridge else quote_plus(key.name, safe="/")}
    if not isinstance(key, _Removed):
        fields["size"] = key.size
        fields["etag" if bridge else "eTag"] = key.etag.replace('"', "")
    if bucket.is_versioned:
        fields["version-id" if bridge else "versionId"] = key.version_id
    fields["sequencer"] = _sequencer()
    return fields


def install() -> None:
    """Patch moto's S3 responses, backend and notifications in this process (idempotent)."""
    from moto.s3.responses import S3Response

    if getattr(S3Response.get_bucket_notification, "reports_event_bridge", False):
        return
    _report_event_bridge()
    _notify_with_versions()
    _notify_versioned_deletes()


def _report_event_bridge() -> None:
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        response = original(self)
        configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if configuration is None or configuration.event_bridge is None or _ELEMENT in str(response[-1]):
            return response
        *head, body = response
        text = body.decode() if isinstance(body, bytes) else str(body)
        if text.rstrip().endswith("/>"):  # <NotificationConfiguration .../> with nothing else in it
            text = text.rstrip()[:-2] + f">{_ELEMENT}</NotificationConfiguration>"
        else:
            text = text.replace("</NotificationConfiguration>", f"{_ELEMENT}</NotificationConfiguration>")
        return (*head, text)

    get_bucket_notification.reports_event_bridge = True  # type: ignore[attr-defined]
    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]


def _notify_with_versions() -> None:
    from moto.s3 import notifications

    s3_event = notifications._get_s3_event

    def get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = s3_event(event_name, bucket, _Stand(key.name) if isinstance(key, _Removed) else key, notification_id)
        event["Records"][0]["s3"]["object"] = _object_fields(bucket, key, bridge=False)
        return event

    def send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        """moto's own builder (moto/s3/notifications.py _send_event_bridge_message) with S3's object fields."""
        import copy

        from moto.core.utils import unix_time
        from moto.events.models import events_backends
        from moto.events.utils import _BASE_EVENT_MESSAGE

        event = copy.deepcopy(_BASE_EVENT_MESSAGE)
        event.update(
            {
                "detail-type": notifications._detail_type(event_name),
                "source": "aws.s3",
                "account": account_id,
                "time": unix_time(),
                "region": bucket.region_name,
                "resources": [bucket.arn],
            }
        )
        event["detail"] = {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": _object_fields(bucket, key, bridge=True),
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": account_id,
            "source-ip-address": "1.2.3.4",
            "reason": "DeleteObject" if isinstance(key, _Removed) else event_name.split(":")[1],
        }
        if isinstance(key, _Removed):
            event["detail"]["deletion-type"] = "Delete Marker Created" if key.delete_marker else "Permanently Deleted"
        events_backend = events_backends[account_id][bucket.region_name]
        for event_bus in events_backend.event_buses.values():
            for rule in event_bus.rules.values():
                rule.send_to_targets(event, transform_input=False)

    notifications._get_s3_event = get_s3_event
    notifications._send_event_bridge_message = send_event_bridge_message


def _notify_versioned_deletes() -> None:
    from moto.s3 import notifications
    from moto.s3.models import S3Backend

    send_event = notifications.send_event

    def quiet_send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        if getattr(_QUIET, "on", False) and "ObjectRemoved" in str(getattr(event_name, "value", event_name)):
            return
        send_event(account_id, event_name, bucket, key)

    delete_object = S3Backend.delete_object

    def versioned_delete_object(
        self: Any, bucket_name: str, key_name: str, version_id: str | None = None, bypass: bool = False
    ) -> Any:
        bucket = self.get_bucket(bucket_name)
        if not bucket.is_versioned:
            return delete_object(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
        _QUIET.on = True
        try:
            deleted, meta = delete_object(self, bucket_name, key_name, version_id=version_id, bypass=bypass)
        finally:
            _QUIET.on = False
        if deleted:
            kind = notifications.S3NotificationEvent
            if version_id is None:
                removed = _Removed(key_name, str(meta.get("version-id")), delete_marker=True)
                send_event(self.account_id, kind.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT, bucket, removed)
            else:
                removed = _Removed(key_name, str(version_id), delete_marker=False)
                send_event(self.account_id, kind.OBJECT_REMOVED_DELETE_EVENT, bucket, removed)
        return deleted, meta

    notifications.send_event = quiet_send_event
    S3Backend.delete_object = versioned_delete_object  # type: ignore[method-assign]


class _Stand:
    """A key as moto's own event builder reads it (name, size, eTag): the object's real fields are set after."""

    size = 0
    etag = ""
    version_id = None

    def __init__(self, name: str) -> None:
        self.name = name
