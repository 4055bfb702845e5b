"""One gap of moto's S3 closed on the local stack: GetBucketNotificationConfiguration leaves out
EventBridgeConfiguration although moto stores it and sends the bucket's events to EventBridge (moto 5.2.5,
moto/s3/responses.py get_bucket_notification). AWS returns it as an empty element (the S3 API reference of
GetBucketNotificationConfiguration), which botocore reads as {"EventBridgeConfiguration": {}}; doctor reads it
to tell whether an existing bucket's uploads can reach the stack."""

from __future__ import annotations

from typing import Any

_ELEMENT = "<EventBridgeConfiguration/>"


def install() -> None:
    """Patch moto's S3 responses in this process (idempotent)."""
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification
    if getattr(original, "reports_event_bridge", False):
        return

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
