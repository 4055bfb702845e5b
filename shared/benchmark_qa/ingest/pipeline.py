"""The incremental ingest: S3 events -> recorded objects -> manifests in S3, exactly once per object.

Completion rule for multi-file items (image groups, image sequences, DICOM series), documented in
docs/layout.md: a group closes when its `_READY` marker arrives (at the end of that batch) or when no file
has been uploaded into it for `group_quiet_seconds` (the scheduled sweep). At close, the group's members are
taken from a strongly consistent S3 listing of its folder, not from the events received so far, so upload
order and the spread of files across batches do not matter. A file that lands in a group after it closed
is recorded as failed with what to do; it is never dropped silently. A group held back by bad input is
reopened by the next upload into its folder, which may be the fix.

Single items are written into a manifest at the end of the batch that brought them. Every step is a
conditional state change, and the sweep finishes whatever a crash left half-done:
  manifest record `claimed` -> objects claimed -> manifest JSON in S3 -> `written`, objects `in_manifest`.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import unquote_plus

from benchmark_qa.bucket import Bucket, Unreadable, normal_version
from benchmark_qa.deadline import Deadline
from benchmark_qa.ingest.eventbridge import is_eventbridge_event, object_event
from benchmark_qa.ingest.heads import Heads
from benchmark_qa.ingest.items import Classified, Dataset, DataType, Role, S3Object, SkipReason, classify
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.manifest import ImportManifest, MultiFileItem, SingleItem, batches, build_manifest
from benchmark_qa.ingest.scan import scan
from benchmark_qa.ingest.sidecar import Sidecar, SidecarError, check_fits, parse_sidecar
from benchmark_qa.store.uploads import (
    ATTENTION,
    PENDING,
    ObjectRecord,
    UploadsRepository,
    object_put,
    time_indexed,
)

# A claimed manifest or a pending object older than this was left by a crash: the sweep finishes it.
RECOVER_AFTER = timedelta(minutes=2)
MAX_RECOVER_ATTEMPTS = 3  # sweeps that try to finish a claimed manifest before it and its objects fail
# A group's close is done in steps, each recorded on its manifest, so a close that does not fit one invocation goes
# on in the next (docs/architecture.md, "Limits"): the listing is typed and kept CLOSE_PAGE files at a time (one
# DynamoDB item: 250 keys of up to 1 KB stay under its 400 KB), members are moved MARK_SLICE at a time.
CLOSE_PAGE = 250
MARK_SLICE = 1000
_KEPT_FIELDS = ("bucket", "key", "size", "etag", "version_id", "content_type", "detected_type")  # a kept typed file
CLOSED_GROUP = ("claimed", "in_manifest", "failed", "empty")  # a group's statuses from its claim on


class BadMessage(ValueError):
    """An SQS message that is not an S3 event notification. Recorded, never retried."""


@dataclass(frozen=True)
class UploadEvent:
    """One S3 event: an object created, or removed (deleted, a delete marker, a lifecycle expiration); `restored`:
    an archived object can be read again (ObjectRestore:Completed)."""

    created: bool
    obj: S3Object
    restored: bool = False


@dataclass
class ManifestWritten:
    manifest_id: str
    key: str
    dataset: str
    entries: int


@dataclass
class BatchOutcome:
    recorded: int = 0
    skipped: int = 0
    failed: int = 0
    manifests: list[ManifestWritten] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # sweep units that failed (each recorded, the others went on)
    deferred: str | None = None  # the sweep stopped for time: what was left for the next one


def change_of(event_name: str) -> str | None:
    """ "created", "removed" or "restored" for an S3 event name (ObjectCreated:Put, ObjectRemoved:Delete,
    LifecycleExpiration:DeleteMarkerCreated, ObjectRestore:Completed, ...); None for the events ingest does not act
    on (tagging, ACLs, storage class changes, a restore that started or expired, replication)."""
    kind, _, detail = event_name.removeprefix("s3:").partition(":")
    if kind == "ObjectCreated":
        return "created"
    if kind in ("ObjectRemoved", "LifecycleExpiration"):
        return "removed"
    if kind == "ObjectRestore" and detail == "Completed":
        return "restored"
    return None


def _event(change: str, obj: S3Object) -> UploadEvent:
    return UploadEvent(created=change == "created", obj=obj, restored=change == "restored")


def parse_notification(body: str, bucket: str | None = None) -> list[UploadEvent]:
    """One SQS message body from an S3 notification -> its events. S3's test event yields none, and so do the
    event types ingest does not act on. With `bucket`, an event naming another bucket (or none) makes the whole
    message a bad one: this stack reads and registers its own upload bucket only."""
    try:
        message = json.loads(body)
    except ValueError as error:
        raise BadMessage(f"message body is not JSON ({error}); expected an S3 event notification") from None
    if not isinstance(message, dict):
        raise BadMessage("message body is not a JSON object; expected an S3 event notification")
    if message.get("Event") == "s3:TestEvent":
        return []
    if is_eventbridge_event(message):  # an existing bucket's events, forwarded by EventBridge (one per message)
        try:
            change = object_event(message)
        except (KeyError, TypeError, ValueError) as error:
            raise BadMessage(f"EventBridge S3 event without bucket or key: missing or bad {error}") from None
        events = [] if change is None else [_event(*change)]
    else:
        events = _records(message)
    for event in events:
        if bucket is not None and event.obj.bucket != bucket:
            raise BadMessage(
                f"event for bucket {event.obj.bucket!r} (key {event.obj.key!r}); this stack ingests bucket "
                f"{bucket!r} only: remove the other bucket's notification to this queue"
            )
    return events


def _records(message: dict[str, Any]) -> list[UploadEvent]:
    records = message.get("Records")
    if not isinstance(records, list):
        raise BadMessage("message has no 'Records' list; expected an S3 event notification")
    events = []
    for index, record in enumerate(records):
        try:
            change = change_of(str(record["eventName"]))
            s3 = record["s3"]
            obj = s3["object"]
            name = str(s3["bucket"]["name"])
            if not name:
                raise ValueError("bucket name")
            # S3 sends keys form-encoded: '+' for a space, %XX for the rest (moto encodes '/' too).
            found = S3Object(
                bucket=name,
                key=unquote_plus(str(obj["key"])),
                size=int(obj.get("size") or 0),
                etag=(str(obj["eTag"]).strip('"') if obj.get("eTag") else None),
                version_id=normal_version(obj.get("versionId")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BadMessage(f"Records[{index}] is not an S3 event record: missing or bad {error}") from None
        if change is not None:
            events.append(_event(change, found))
    if not records:
        raise BadMessage("message has an empty S3 event")
    return events


def object_version(obj: S3Object) -> str:
    """The version part of an object's identity. The eTag comes first: S3 events and listings both carry it,
    while versionId is missing from some notification sources (moto's), and re-uploading identical bytes
    is then rightly a repeat, not a new item."""
    return obj.etag or obj.version_id or "unversioned"


def _manifest_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


class Ingest:
    """One batch (or one sweep) of ingest work over a repository and a bucket."""

    def __init__(
        self,
        repository: UploadsRepository,
        bucket: Bucket,
        layout: Layout,
        region: str,
        *,
        close_ready_groups: bool = True,
        recover_after: timedelta = RECOVER_AFTER,
    ) -> None:
        """`close_ready_groups=False`: a batch records ready markers but leaves closing to its caller (a backfill,
        which closes each group once its listing has passed the group's folder). `recover_after`: how long a
        claimed manifest or a waiting single sits before the sweep takes it over (a crashed batch's work)."""
        self.close_ready_groups = close_ready_groups
        self.recover_after = recover_after
        self.repository = repository
        self.bucket = bucket
        self.layout = layout
        self.region = region
        self.outcome = BatchOutcome()
        self.heads = Heads(lambda key, n: bucket.read(key, limit=n - 1) or b"")
        self._singles: dict[tuple[str, str, str], ObjectRecord] = {}  # (bucket, key, version) -> record
        self._ready_groups: set[str] = set()
        self._touched: dict[str, str] = {}  # group id -> status, for groups this batch touched while open
        self._listed: set[str] = set()  # accept_all: the keys of the listing page, and the last of them
        self._listed_until = ""
        self._metadata_updates: list[SingleItem] = []
        self._group_updates: list[tuple[dict[str, Any], Classified]] = []  # (closed group, its new sidecar)
        self.deadline = Deadline.none()  # the invocation's time left: a group's close stops in time and goes on later
        self._stepped = False  # this invocation's close has recorded a step: it may stop for time from now on

    # ------------------------------------------------------------------ events
    def accept(self, event: UploadEvent) -> None:
        """Record one event. Repeats are harmless: every record is keyed on the object version."""
        if event.restored:
            self._restored(event.obj)
        elif not event.created:
            self._deleted(event.obj)
        elif not self._gone(event.obj):
            try:
                classified = self._classify(event.obj)
            except Unreadable as error:
                self._unreadable(classify(event.obj, self.layout), error)
                return
            self._dispatch(classified)

    def _gone(self, obj: S3Object) -> bool:
        """Events come late and in any order, so a created object is checked against S3 before it can become a
        data unit: one that is no longer there (its delete came first, or was processed first) is recorded
        `deleted`, one that a newer upload replaced is recorded `skipped`; neither is sent. Group members are
        taken from a listing when their group closes, markers and sidecars are read when used, and what is skipped
        by its name never becomes a data unit: none of those is checked."""
        preliminary = classify(obj, self.layout)
        # Only what may become a data unit: an item by name, or a file its content may still type.
        if preliminary.role is not Role.ITEM and preliminary.skip is not SkipReason.UNKNOWN_TYPE:
            return False
        current = self.bucket.head(obj.key)
        if current is None:
            status, reason = "deleted", "deleted from S3 before it was processed; nothing was sent to Encord"
        elif not current.is_version(obj.etag, obj.version_id):
            status, reason = (
                "skipped",
                (
                    f"replaced by a newer upload of {obj.key} (eTag {current.etag}) before it was processed; the newer "
                    "upload is ingested on its own, this one is not sent"
                ),
            )
        else:
            return False
        self._record(
            preliminary, status, time_indexed(ATTENTION, obj.key) if status == "skipped" else None, reason=reason
        )
        return True

    def _unreadable(self, classified: Classified, error: Unreadable) -> None:
        """One object S3 cannot serve fails alone, with the reason; it never holds its batch or the sweep."""
        obj = classified.obj
        if not self._record(
            classified, "failed", time_indexed(ATTENTION, obj.key), reason=str(error), unreadable=error.code
        ):
            record = self.repository.get_object(obj.bucket, obj.key, object_version(obj))
            if record is not None and record.status == "pending":
                self._fail(record, error)
            return
        self.outcome.failed += 1

    def _restored(self, obj: S3Object) -> None:
        """An archived object can be read again: an item that failed for it is ingested now, a group it held back
        closes again."""
        classified = classify(obj, self.layout)
        if classified.group_id is not None:
            if self.repository.get_group(classified.group_id).get("status") == "failed":
                self._reopen(classified)
            return
        record = self.repository.get_object(obj.bucket, obj.key, object_version(obj))
        if record is None or record.status != "failed" or not record.unreadable:
            return
        if record.role == Role.ITEM.value and self.repository.set_object_status(
            record, "pending", expected=("failed",), gsi1=time_indexed(PENDING, record.key)
        ):
            self._singles[(record.bucket, record.key, record.version)] = record

    def accept_all(self, objects: Iterable[S3Object], listed: Collection[str] = ()) -> None:
        """`accept` for many created objects (a backfill's listing page), with the records of new single items,
        members of open groups and skipped objects inserted in transactions of up to 100 instead of one request
        each. `listed`: every key of the listing page, so a sidecar that is not there (and would sort inside the
        page) needs no request."""
        self._listed = set(listed)
        self._listed_until = max(self._listed, default="")
        inserts: dict[tuple[str, str, str], tuple[Classified, dict[str, Any]]] = {}
        for obj in objects:
            try:
                classified = self._classify(obj)
            except Unreadable as error:
                self._unreadable(classify(obj, self.layout), error)
                continue
            identity = (obj.bucket, obj.key, object_version(obj))
            if classified.role is Role.ITEM:
                fields = self._fields(classified, "pending", time_indexed(PENDING, obj.key))
            elif classified.role is Role.SKIPPED:
                fields = self._fields(classified, "skipped", time_indexed(ATTENTION, obj.key), reason=classified.reason)
            elif classified.role is Role.GROUP_MEMBER and self._touch_group(classified) in ("open", "ready"):
                fields = self._fields(classified, "pending", (f"GROUP#{classified.group_id}", obj.key))
            else:
                self._dispatch(classified)
                continue
            inserts.setdefault(identity, (classified, fields))
        created = self.repository.record_objects([object_put(**f) for _, f in inserts.values()])
        for (bucket, key, version), (classified, _), new in zip(inserts, inserts.values(), created, strict=True):
            self.outcome.recorded += new
            self.outcome.skipped += new and classified.role is Role.SKIPPED
            if classified.role is not Role.ITEM:
                continue
            record = _pending_record(classified) if new else self.repository.get_object(bucket, key, version)
            if record is not None and record.status == "pending":
                self._singles[(bucket, key, version)] = record

    def _classify(self, obj: S3Object) -> Classified:
        classified = classify(obj, self.layout)
        if classified.role is not Role.GROUP_MEMBER:  # members are read when their group closes (scan)
            classified = classify(self.heads.typed(obj, self.layout, self.bucket.content_type), self.layout)
        return classified

    def _dispatch(self, classified: Classified) -> None:
        handler = {
            Role.ITEM: self._item,
            Role.GROUP_MEMBER: self._member,
            Role.SIDECAR: self._sidecar,
            Role.GROUP_SIDECAR: self._group_sidecar,
            Role.READY_MARKER: self._ready_marker,
            Role.SKIPPED: self._skipped,
        }[classified.role]
        handler(classified)

    def _fields(
        self, classified: Classified, status: Any, gsi1: tuple[str, str] | None, **extra: Any
    ) -> dict[str, Any]:
        obj = classified.obj
        return {
            "bucket": obj.bucket,
            "key": obj.key,
            "version": object_version(obj),
            "status": status,
            "gsi1": gsi1,
            "size": obj.size,
            "etag": obj.etag,
            "version_id": obj.version_id,
            "content_type": obj.content_type,
            "dataset": classified.dataset.value if classified.dataset else None,
            "data_type": classified.data_type.value if classified.data_type else None,
            "role": classified.role.value,
            "group_id": classified.group_id,
            **extra,
        }

    def _record(self, classified: Classified, status: Any, gsi1: tuple[str, str] | None, **extra: Any) -> bool:
        created = self.repository.record_object(**self._fields(classified, status, gsi1, **extra))
        if created:
            self.outcome.recorded += 1
        return created

    def _item(self, classified: Classified) -> None:
        """A single item, once per key in Encord (docs/layout.md, "Uploading a key again"): a new version of a key
        already sent is recorded `skipped` with the item it would duplicate; a version still waiting is replaced by
        the newer one."""
        obj = classified.obj
        versions = self.repository.object_versions(obj.bucket, obj.key)
        record = next((v for v in versions if v.version == object_version(obj)), None)
        if record is None:
            record = self._new_item(classified, [v for v in versions if _is_own_item(v)])
        if record is not None and record.status == "pending":
            self._singles[(record.bucket, record.key, record.version)] = record

    def _new_item(self, classified: Classified, others: list[ObjectRecord]) -> ObjectRecord | None:
        obj = classified.obj
        sent = next((v for v in others if v.status in SENT), None)
        if sent is not None:
            self._record(classified, "skipped", time_indexed(ATTENTION, obj.key), reason=already_sent(sent))
            self.outcome.skipped += 1
            return None
        for waiting in (v for v in others if v.status == "pending"):
            self.repository.set_object_status(
                waiting,
                "skipped",
                expected=("pending",),
                reason=f"replaced by a newer upload of {obj.key} (eTag {obj.etag}) before it was sent; only the newer "
                "one is sent",
                gsi1=time_indexed(ATTENTION, obj.key),
            )
            self._singles.pop((waiting.bucket, waiting.key, waiting.version), None)
        if self._record(classified, "pending", time_indexed(PENDING, obj.key)):
            return _pending_record(classified)  # just written: no need to read it back
        return self.repository.get_object(obj.bucket, obj.key, object_version(obj))

    def _member(self, classified: Classified) -> None:
        group_id = classified.group_id or ""
        status = self._touch_group(classified)
        if status in ("open", "ready"):
            self._record(classified, "pending", (f"GROUP#{group_id}", classified.obj.key))
            return
        existing = self.repository.get_object(classified.obj.bucket, classified.obj.key, object_version(classified.obj))
        if existing is not None:  # already taken into the group's manifest by the listing at close
            return
        group = self.repository.get_group(group_id)
        self.outcome.failed += 1
        self._record(
            classified,
            "failed",
            time_indexed(ATTENTION, classified.obj.key),
            reason=(
                f"arrived after {classified.data_type} '{classified.group_title}' was closed into manifest "
                f"{group.get('manifest_id')}; upload every file of a group before its {self.layout.group_ready_marker} "
                "marker, or upload the complete group again under a new title"
            ),
        )

    def _touch_group(self, classified: Classified) -> str:
        """Note an upload into a group folder; returns the group's status (open, ready, claimed, ...).

        A group held back by bad input (`failed`) is reopened: this upload may be the fix (a re-uploaded
        zero-byte file, a missing file, a corrected sidecar), so the group closes again at the end of the batch.
        """
        group_id = classified.group_id or ""
        if group_id in self._touched:  # once per group and batch: its last upload time moves with the batch
            return self._touched[group_id]
        status = self._touch(classified)
        if status == "failed":
            self._reopen(classified)
            status = "ready"
        if status in ("open", "ready"):
            self._touched[group_id] = status
        return status

    def _touch(self, classified: Classified) -> str:
        folder = classified.group_folder
        if classified.group_id is None or classified.dataset is None or classified.data_type is None or not folder:
            raise ValueError(f"{classified.obj.key}: classified into a group without a group id")
        return self.repository.touch_group(
            classified.group_id,
            dataset=classified.dataset.value,
            data_type=classified.data_type.value,
            title=classified.group_title or "",
            prefix=folder,  # the title folder, not the upload's own: members may sit in sub-folders
        )

    def _reopen(self, classified: Classified) -> None:
        group_id = classified.group_id or ""
        self.repository.set_group_status(group_id, "ready")
        # Touched again once ready: back among the open groups, so the sweep closes it if this batch cannot.
        self._touch(classified)
        self._ready_groups.add(group_id)

    def _skipped(self, classified: Classified) -> None:
        self.outcome.skipped += 1
        self._record(classified, "skipped", time_indexed(ATTENTION, classified.obj.key), reason=classified.reason)

    def _ready_marker(self, classified: Classified) -> None:
        group_id = classified.group_id or ""
        self._record(classified, "marker", None)
        self._touch_group(classified)
        self.repository.mark_group_ready(group_id)
        self._ready_groups.add(group_id)

    def _group_sidecar(self, classified: Classified) -> None:
        group_id = classified.group_id or ""
        self._record(classified, "sidecar", None)
        status = self._touch_group(classified)
        if status in ("claimed", "in_manifest"):
            self._group_updates.append((self.repository.get_group(group_id), classified))

    def _sidecar(self, classified: Classified) -> None:
        self._record(classified, "sidecar", None)
        described = classified.described_key
        if not described:
            return
        if classified.group_id is not None:
            # A per-file sidecar in a group folder: it may fix a group held back for missing or broken sidecars.
            if self.repository.get_group(classified.group_id).get("status") == "failed":
                self._reopen(classified)
            return
        versions = self.repository.object_versions(classified.obj.bucket, described)
        if not versions:
            return  # the item has not arrived yet; its manifest entry will read this sidecar
        latest = versions[0]
        if latest.status == "failed" and latest.role == Role.ITEM.value:
            # The item was held back by a broken sidecar: this upload may fix it.
            if self.repository.set_object_status(
                latest, "pending", expected=("failed",), gsi1=time_indexed(PENDING, latest.key)
            ):
                self._singles[(latest.bucket, latest.key, latest.version)] = latest
        elif latest.status in ("claimed", "in_manifest", "registered") and latest.role == Role.ITEM.value:
            try:
                self._metadata_updates.append(self._single_item(latest))
            except SidecarError as error:
                # The item is already on its way to Encord as it was: the sidecar is what needs fixing.
                self._fail_sidecar(classified, str(error))

    def _deleted(self, obj: S3Object) -> None:
        """A removal names a version, a delete marker or (unversioned) the key; events come in any order. So a
        waiting record is marked deleted only when S3 no longer serves it as the key's current version: deleting
        an old version, or a delete that a newer upload followed, leaves the current one alone."""
        waiting = [r for r in self.repository.object_versions(obj.bucket, obj.key) if r.status == "pending"]
        if not waiting:
            return
        current = self.bucket.head(obj.key)
        for record in waiting:
            if current is not None and current.is_version(record.etag, record.version_id):
                continue
            self.repository.set_object_status(
                record,
                "deleted",
                expected=("pending",),
                reason="deleted from S3 before it was put in a manifest; nothing was sent to Encord",
            )
            self._singles.pop((record.bucket, record.key, record.version), None)

    # ------------------------------------------------------------------ manifests
    def flush(self, deadline: Deadline | None = None) -> BatchOutcome:
        """Write the manifests this batch made due: its single items, ready groups, metadata updates. A group's close
        stops when `deadline` passes; the sweep goes on with it."""
        self.deadline = deadline or self.deadline
        self._write_singles(list(self._singles.values()))
        self._singles.clear()
        for group_id in sorted(self._ready_groups) if self.close_ready_groups else ():
            self.close_group(group_id)
        self._ready_groups.clear()
        self._write_metadata_updates()
        return self.outcome

    def _write_singles(self, records: Iterable[ObjectRecord]) -> None:
        by_dataset: dict[str, list[ObjectRecord]] = {}
        for record in self._newest_per_key(records):
            by_dataset.setdefault(record.dataset or "", []).append(record)
        for dataset, group in sorted(by_dataset.items()):
            # Split as `benchmark-qa manifest` splits: the layout's batch sizes, Encord's limits.
            sizes = ((r.data_type == DataType.VIDEO.value, 1) for r in group)
            for start, end in batches(sizes, self.layout):
                self._write_single_manifest(dataset, group[start:end])

    def _newest_per_key(self, records: Iterable[ObjectRecord]) -> list[ObjectRecord]:
        """One waiting version per key (a crash between recording a new upload and replacing the older one can
        leave two): the newest goes, the others are replaced, as `_new_item` would have done."""
        newest: dict[tuple[str, str], ObjectRecord] = {}
        for record in sorted(records, key=lambda r: r.received_at):
            older = newest.get((record.bucket, record.key))
            newest[(record.bucket, record.key)] = record
            if older is not None:
                self.repository.set_object_status(
                    older,
                    "skipped",
                    expected=("pending",),
                    reason=f"replaced by a newer upload of {record.key} (eTag {record.etag}) before it was sent",
                    gsi1=time_indexed(ATTENTION, record.key),
                )
        return list(newest.values())

    def _write_single_manifest(self, dataset: str, records: list[ObjectRecord]) -> None:
        manifest_id = _manifest_id(datetime.now(UTC))
        self.repository.create_manifest(
            manifest_id, dataset=dataset, manifest_kind="items", s3_key=self._manifest_key(dataset, manifest_id)
        )
        moved = self.repository.set_objects_status(
            records,
            "claimed",
            expected=("pending",),
            manifest_id=manifest_id,
            gsi1=lambda r: (f"MANIFEST#{manifest_id}", r.key),
        )
        self._finish_single_manifest(manifest_id, dataset, [r for r, ok in zip(records, moved, strict=True) if ok])

    def _finish_single_manifest(self, manifest_id: str, dataset: str, claimed: list[ObjectRecord]) -> None:
        items = []
        for record in claimed:
            try:
                items.append(self._single_item(record))
            except (SidecarError, Unreadable) as error:  # a broken or unreadable sidecar holds the item back
                self._fail(record, error)
        included = {item.obj.key for item in items}
        claimed = [r for r in claimed if r.key in included]
        if not items:
            self.repository.set_manifest_status(manifest_id, "empty", expected=("claimed",))
            return
        written = self._write_manifest(
            manifest_id, dataset, build_manifest(items, region=self.region, layout=self.layout)
        )
        self.repository.set_objects_status(claimed, "in_manifest", expected=("claimed",), manifest_id=manifest_id)
        self.repository.set_manifest_status(
            manifest_id, "written", expected=("claimed",), s3_key=written.key, entries=written.entries
        )
        self.outcome.manifests.append(written)

    def _single_item(self, record: ObjectRecord) -> SingleItem:
        """The manifest entry of one object, with its sidecar. Raises SidecarError for a broken sidecar."""
        obj = S3Object(
            bucket=record.bucket,
            key=record.key,
            size=record.size,
            etag=record.etag,
            version_id=record.version_id,
            content_type=record.content_type,
        )
        data_type = DataType(record.data_type or "")
        sidecar_key = record.key + self.layout.sidecar_suffix
        sidecar = self._read_sidecar(sidecar_key)
        if sidecar is not None:
            check_fits(sidecar, data_type, sidecar_key)
        return SingleItem(obj=obj, dataset=Dataset(record.dataset or ""), data_type=data_type, sidecar=sidecar)

    def _fail(self, record: ObjectRecord, error: SidecarError | Unreadable | str) -> None:
        self.outcome.failed += 1
        self.repository.set_object_status(
            record,
            "failed",
            reason=str(error),
            gsi1=time_indexed(ATTENTION, record.key),
            unreadable=error.code if isinstance(error, Unreadable) and error.key == record.key else None,
        )

    def _fail_sidecar(self, sidecar: Classified, reason: str) -> None:
        """A sidecar that came after its item or group was sent, and cannot be used: the sidecar needs fixing."""
        obj = sidecar.obj
        record = self.repository.get_object(obj.bucket, obj.key, object_version(obj))
        if record is not None:
            self._fail(record, reason)

    def _read_sidecar(self, key: str) -> Sidecar | None:
        if self._listed and key <= self._listed_until and key not in self._listed:
            return None  # inside the listing page that brought its item, and not in it: there is none
        raw = self.bucket.read(key, limit=self.layout.max_sidecar_bytes)
        return None if raw is None else parse_sidecar(raw, key, self.layout)

    def close_group(self, group_id: str) -> None:
        """Close a multi-file item into its own manifest; only one caller wins the claim. A close that does not fit
        the invocation's time (`self.deadline`) stops with its place recorded on the manifest; the sweep goes on."""
        group = self.repository.get_group(group_id)
        if group.get("status") not in ("open", "ready"):
            return
        manifest_id = _manifest_id(datetime.now(UTC))
        self.repository.create_manifest(
            manifest_id,
            dataset=group["dataset"],
            manifest_kind="group",
            group_id=group_id,
            s3_key=self._manifest_key(group["dataset"], manifest_id),
        )
        if not self.repository.claim_group(group_id, manifest_id):
            self.repository.set_manifest_status(manifest_id, "empty", expected=("claimed",))
            return
        self._finish_group_manifest(manifest_id, group, {})

    def _group_manifest(
        self, group: dict[str, Any], layout: Layout, listed: list[S3Object]
    ) -> tuple[ImportManifest | None, list[Classified], str | None]:
        """The group's manifest from its typed listing (`_typed_listing`), by the same rules as `benchmark-qa
        manifest` (scan): returns (manifest or None, its members, the error that holds it back)."""
        group_id = group["pk"].removeprefix("GROUP#")
        mine = [c for c in (classify(o, layout) for o in listed) if c.group_id == group_id]
        result = scan(
            (c.obj for c in mine),
            lambda key: self.bucket.read(key, limit=layout.max_sidecar_bytes) or b"",
            region=self.region,
            layout=layout,
            heads=self.heads,
        )
        # Files of the folder set aside by their content (a thumbnail, a DICOMDIR, a file without the DICM
        # marker), here or by the scan's header reads, are recorded as skipped with the reason.
        set_aside = {c.obj.key: c for c in result.skipped if c.role is Role.SKIPPED and c.group_id == group_id}
        members = [set_aside.get(c.obj.key, c) for c in mine if c.role in (Role.GROUP_MEMBER, Role.SKIPPED)]
        errors = [e.message for e in result.errors if e.group_id == group_id]
        if errors:
            return None, members, "; ".join(errors)
        manifest = result.manifests[Dataset(group["dataset"])]
        return (manifest if manifest.entry_count else None), members, None

    def _typed_listing(
        self, manifest_id: str, group: dict[str, Any], progress: dict[str, Any]
    ) -> list[S3Object] | None:
        """The group folder's files, each typed by its content where the layout asks (`Heads.detect`: one ranged GET),
        from a consistent listing taken CLOSE_PAGE files at a time. Each typed page is kept on the manifest with the
        close's place, so a close that runs out of time (None) goes on after the last page kept, and no file is read
        or kept twice. The group's members are what the pages kept: the listing is taken once."""
        if not progress.get("close_listed"):
            page_number = int(progress.get("close_pages", 0))
            after = str(progress.get("close_after", ""))
            listing = self.bucket.list(group["prefix"], after)
            while page := list(itertools.islice(listing, CLOSE_PAGE)):
                if self._out_of_time():
                    return None
                typed = self.heads.detect(page, self.layout, self.bucket.content_type)
                kept = [[getattr(o, f) for f in _KEPT_FIELDS] for o in typed]
                if not self.repository.save_close_page(manifest_id, page_number, kept, max(o.key for o in page)):
                    return None  # another invocation kept this page first: it goes on with the close
                page_number, self._stepped = page_number + 1, True
            if not self.repository.advance_close(manifest_id, "close_listed", True):
                return None
        return [
            S3Object(**dict(zip(_KEPT_FIELDS, row, strict=True))) for row in self.repository.close_pages(manifest_id)
        ]

    def _finish_group_manifest(self, manifest_id: str, group: dict[str, Any], progress: dict[str, Any]) -> None:
        """Close the group from where `progress` (its manifest record) says the close got to."""
        group_id = group["pk"].removeprefix("GROUP#")
        resumable, self._stepped = True, False
        try:
            listed = self._typed_listing(manifest_id, group, progress)
            if listed is None:
                self._continued(manifest_id, group_id)
                return
            manifest, members, error = self._group_manifest(group, self.layout, listed)
        except Unreadable as unreadable:
            # A member (or its sidecar) S3 cannot serve holds the group back, like a broken file: its members
            # recorded so far fail with the reason, and an upload into the folder (or the restore) reopens it.
            # Those leave the group as they fail, so a redo takes the rest: no place to keep.
            manifest, error, resumable = None, str(unreadable), False
            members = self._recorded_members(group_id)
        marked = int(progress.get("close_marked", 0)) if resumable else 0
        if error is not None:
            # Held back until the input is fixed: a fixing upload reopens the group (see _group_sidecar).
            self.repository.set_group_status(group_id, "failed")
            if not self._mark_members(members, manifest_id, "failed", marked, resumable, reason=error):
                self._continued(manifest_id, group_id)
                return
            self.outcome.failed += 1
            self.repository.set_manifest_status(manifest_id, "empty", expected=("claimed",), reason=error)
            return
        if manifest is None:
            self.repository.set_group_status(group_id, "empty")
            self.repository.set_manifest_status(manifest_id, "empty", expected=("claimed",))
            return
        key = self._manifest_key(group["dataset"], manifest_id)
        written = ManifestWritten(manifest_id, key, group["dataset"], manifest.entry_count)
        if "close_marked" not in progress:  # once: recorded as written (none moved yet), a close that goes on has it
            written = self._write_manifest(manifest_id, group["dataset"], manifest)
            self.repository.advance_close(manifest_id, "close_marked", 0)
        if not self._mark_members(members, manifest_id, "in_manifest", marked, resumable):
            self._continued(manifest_id, group_id)
            return
        self.repository.set_group_status(group_id, "in_manifest")
        self.repository.set_manifest_status(
            manifest_id, "written", expected=("claimed",), s3_key=written.key, entries=written.entries
        )
        self.outcome.manifests.append(written)

    def _continued(self, manifest_id: str, group_id: str) -> None:
        """The close stopped for time with its place recorded: the sweep takes the claimed manifest over (after
        RECOVER_AFTER) and goes on from there."""
        self.outcome.deferred = (
            f"group {group_id}: the close stopped for time; manifest {manifest_id} keeps its place and the next sweep "
            "goes on from there"
        )

    def _recorded_members(self, group_id: str) -> list[Classified]:
        """The members recorded at their upload and still waiting in the group (when no listing can be had)."""
        return [
            classify(
                S3Object(bucket=r.bucket, key=r.key, size=r.size, etag=r.etag, version_id=r.version_id), self.layout
            )
            for r in self.repository.group_members(group_id)
        ]

    def _mark_members(
        self,
        members: list[Classified],
        manifest_id: str,
        status: str,
        start: int,
        resumable: bool,
        reason: str | None = None,
    ) -> bool:
        """Members take the group's outcome; files set aside by content are recorded as skipped. MARK_SLICE members at
        a time from `start`, each slice's end recorded on the manifest (`close_marked`) when `resumable`: False when
        the invocation's time ran out first (the next one goes on from there). In a slice, the records are read first
        (BatchGetItem, 100 a request), then moved or created in transactions of up to 100, so a group costs about 2
        requests per 100 members whether or not their events came before the close (one by one it was 2-3 sequential
        requests a member: 6,012 for 2,000). Members already past the close are left alone, so a redo is cheap."""
        for begin in range(start, len(members), MARK_SLICE):
            if self._out_of_time():
                return False
            part = members[begin : begin + MARK_SLICE]
            regular = [m for m in part if m.role is not Role.SKIPPED]
            skipped = [m for m in part if m.role is Role.SKIPPED]
            self._move_members(regular, manifest_id, status, lambda m: reason)
            self.outcome.skipped += self._move_members(skipped, manifest_id, "skipped", lambda m: m.reason)
            end = begin + len(part)
            if (
                resumable
                and end < len(members)
                and not self.repository.advance_close(manifest_id, "close_marked", end, since=begin)
            ):
                return False  # another invocation is on this close
            self._stepped = True
        return True

    def _out_of_time(self) -> bool:
        """A close stops for time only after a recorded step in this invocation: each invocation moves it on, even
        when rebuilding its place (the kept pages, the manifest) took most of the time, so it is never failed for
        making no progress while it goes on."""
        return self._stepped and self.deadline.passed()

    def _move_members(
        self,
        members: list[Classified],
        manifest_id: str,
        status: str,
        reason: Callable[[Classified], str | None],
    ) -> int:
        """Move recorded members to `status` and record the others with it; returns how many changed."""
        if not members:
            return 0
        gsi1 = self._member_gsi1(manifest_id, status)
        movable = ("pending", "claimed", "failed")
        recorded = self.repository.get_objects([(m.obj.bucket, m.obj.key, object_version(m.obj)) for m in members])
        to_move: list[Classified] = []
        to_record: list[Classified] = []
        for member in members:
            record = recorded.get((member.obj.bucket, member.obj.key, object_version(member.obj)))
            if record is None:
                to_record.append(member)
            elif record.status in movable:
                to_move.append(member)
        moved = [
            ok
            for same_reason in _by(to_move, reason)
            for ok in self.repository.set_objects_status(
                [_pending_record(m) for m in same_reason],
                status,  # type: ignore[arg-type]
                expected=movable,
                manifest_id=manifest_id,
                gsi1=lambda r: gsi1(r.key),
                reason=reason(same_reason[0]),
            )
        ]
        created = self.repository.record_objects(
            [
                object_put(**self._fields(m, status, gsi1(m.obj.key), manifest_id=manifest_id, reason=reason(m)))
                for m in to_record
            ]
        )
        self.outcome.recorded += sum(created)
        # Recorded by its own event since the read (a race): moved like the others, one by one (rare).
        late = [m for m, ok in zip(to_record, created, strict=True) if not ok]
        moved += [
            self.repository.set_object_status(
                _pending_record(m),
                status,  # type: ignore[arg-type]
                expected=movable,
                manifest_id=manifest_id,
                gsi1=gsi1(m.obj.key),
                reason=reason(m),
            )
            for m in late
        ]
        return sum(moved) + sum(created)

    @staticmethod
    def _member_gsi1(manifest_id: str, status: str) -> Callable[[str], tuple[str, str]]:
        if status in ("failed", "skipped"):
            return lambda key: time_indexed(ATTENTION, key)
        return lambda key: (f"MANIFEST#{manifest_id}", key)

    def _write_metadata_updates(self) -> None:
        """A sidecar that arrives after its item was sent: re-send the entry so Encord updates the metadata."""
        layout = self.layout.model_copy(update={"skip_duplicate_urls": True, "upsert_metadata": True})
        manifests: list[tuple[str, ImportManifest]] = []
        by_dataset: dict[str, list[SingleItem | MultiFileItem]] = {}
        for item in self._metadata_updates:
            by_dataset.setdefault(item.dataset.value, []).append(item)
        manifests += [(d, build_manifest(items, region=self.region, layout=layout)) for d, items in by_dataset.items()]
        for group, sidecar in self._group_updates:
            listed = self.heads.detect(self.bucket.list(group["prefix"]), layout, self.bucket.content_type)
            manifest, _, error = self._group_manifest(group, layout, listed)
            if error is not None:
                self._fail_sidecar(sidecar, error)
            elif manifest is not None:
                manifests.append((group["dataset"], manifest))
        for dataset, manifest in manifests:
            manifest_id = _manifest_id(datetime.now(UTC))
            self.repository.create_manifest(
                manifest_id,
                dataset=dataset,
                manifest_kind="metadata_update",
                s3_key=self._manifest_key(dataset, manifest_id),
            )
            written = self._write_manifest(manifest_id, dataset, manifest)
            self.repository.set_manifest_status(
                manifest_id, "written", expected=("claimed",), s3_key=written.key, entries=written.entries
            )
            self.outcome.manifests.append(written)
        self._metadata_updates, self._group_updates = [], []

    def _manifest_key(self, dataset: str, manifest_id: str) -> str:
        """Recorded when the manifest is claimed, before the object exists: registration tells our manifests from
        hand-written ones by it, and starts ours as soon as they are written."""
        return f"{self.layout.manifest_prefix}/{dataset}/{manifest_id}.json"

    def _write_manifest(self, manifest_id: str, dataset: str, manifest: ImportManifest) -> ManifestWritten:
        key = self._manifest_key(dataset, manifest_id)
        # Same id -> same key: a retried write replaces the object with the same content.
        self.bucket.write(key, manifest.to_json_bytes(), "application/json")
        return ManifestWritten(manifest_id, key, dataset, manifest.entry_count)

    # ------------------------------------------------------------------ sweep
    def sweep(self, now: datetime | None = None, deadline: Deadline | None = None) -> BatchOutcome:
        """Scheduled: finish what crashes left (or fail it, with the reason, after MAX_RECOVER_ATTEMPTS), write late
        singles, close quiet groups. Each unit of work (a claimed manifest, a manifest's worth of waiting singles, a
        group) stands alone: one that fails is recorded in `outcome.errors` (and on its manifest) and the others go
        on. Units start only while `deadline` has not passed; the next sweep continues where this one stopped."""
        now = now or datetime.now(UTC)
        deadline = self.deadline = deadline or Deadline.none()
        stale = (now - self.recover_after).isoformat(timespec="milliseconds")
        quiet = (now - timedelta(seconds=self.layout.group_quiet_seconds)).isoformat(timespec="milliseconds")
        units: Iterable[tuple[str, Callable[[], object]]] = itertools.chain(
            ((f"manifest {m['manifest_id']}", partial(self._recover, m)) for m in self._claimed(stale)),
            (
                (f"{len(chunk)} waiting items", partial(self._write_singles, chunk))
                for chunk in _chunks(self.repository.pending_singles(older_than=stale), self._chunk)
            ),
            (
                (f"group {g['pk'].removeprefix('GROUP#')}", partial(self.close_group, g["pk"].removeprefix("GROUP#")))
                for g in self.repository.quiet_groups(quiet)
                # With require_ready_marker, only groups whose marker came (and whose batch did not close them).
                if g.get("status") == "ready" or not self.layout.require_ready_marker
            ),
            [("metadata updates and reopened groups", self.flush)],
        )
        for name, unit in units:
            if deadline.passed():
                self.outcome.deferred = (
                    f"stopped before {name}: the invocation's time is nearly up; the next sweep goes on"
                )
                break
            try:
                unit()
            except Exception as error:  # one unit's failure never holds the others (a kill, BaseException, does)
                self.outcome.errors.append(f"{name}: {type(error).__name__}: {error}"[:500])
        return self.outcome

    @property
    def _chunk(self) -> int:
        return self.layout.manifest_batch_size

    def _claimed(self, stale: str) -> Iterator[dict[str, Any]]:
        yield from self.repository.manifests_with_status("claimed", created_before=stale)

    def _recover(self, manifest: dict[str, Any]) -> None:
        manifest_id = manifest["manifest_id"]
        attempts = int(manifest.get("recover_attempts", 0)) + 1
        if attempts > MAX_RECOVER_ATTEMPTS:
            self._give_up(manifest)
            return
        # Counted first (and the manifest's index time moves on, so it waits RECOVER_AFTER again): a manifest
        # whose recovery fails every time is failed after MAX_RECOVER_ATTEMPTS, never retried forever. A group's
        # close that stopped for time is not failing: each step it records resets the count (`advance_close`).
        if not self.repository.set_manifest_status(
            manifest_id, "claimed", expected=("claimed",), recover_attempts=attempts
        ):
            return
        try:
            # Read again, consistently: the index that found it may lag behind the place a close has recorded.
            self._finish_claimed(self.repository.get_manifest(manifest_id) or manifest)
        except Exception as error:
            self.repository.set_manifest_status(
                manifest_id, "claimed", expected=("claimed",), last_error=f"{type(error).__name__}: {error}"[:1000]
            )
            raise

    def _finish_claimed(self, manifest: dict[str, Any]) -> None:
        manifest_id = manifest["manifest_id"]
        if manifest.get("manifest_kind") == "group":
            group = self.repository.get_group(manifest["group_id"])
            # This manifest won the group's claim: finish it again, also when the crash came after the group took
            # its outcome (in_manifest, failed, empty) and before the manifest did, or its members would be left
            # in_manifest (or pending) in a manifest recorded empty. A reopened group (open, ready) has moved on.
            if group.get("status") in CLOSED_GROUP and group.get("manifest_id") == manifest_id:
                self._finish_group_manifest(manifest_id, group, manifest)
            else:
                self.repository.set_manifest_status(manifest_id, "empty", expected=("claimed",))
            return
        # Objects a crash left claimed, and any it had already marked: the rewrite must keep them all.
        claimed = [
            r for r in self.repository.objects_in_manifest(manifest_id) if r.status in ("claimed", "in_manifest")
        ]
        self._finish_single_manifest(manifest_id, manifest.get("dataset", ""), claimed)

    def _give_up(self, manifest: dict[str, Any]) -> None:
        """A manifest that could not be written in MAX_RECOVER_ATTEMPTS sweeps: it and its objects fail with the
        last error, so nothing waits in `claimed` forever."""
        manifest_id = manifest["manifest_id"]
        error = manifest.get("last_error") or "no error was recorded"
        reason = (
            f"manifest {manifest_id} could not be written after {MAX_RECOVER_ATTEMPTS} attempts ({error}); fix the "
            "cause (the function's logs say more), then upload the files again"
        )
        if not self.repository.set_manifest_status(manifest_id, "failed", expected=("claimed",), reason=reason):
            return
        if manifest.get("manifest_kind") == "group":
            self.repository.set_group_status(manifest["group_id"], "failed")
        for record in self.repository.objects_in_manifest(manifest_id):
            if record.status in ("claimed", "pending"):
                self._fail(record, reason)


def _chunks(records: Iterable[ObjectRecord], size: int) -> Iterator[list[ObjectRecord]]:
    """Lists of up to `size` records, read lazily (a backlog of waiting items is never loaded whole)."""
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _by(members: list[Classified], reason: Callable[[Classified], str | None]) -> Iterator[list[Classified]]:
    """Members grouped by their reason (one status update carries one reason), in order."""
    groups: dict[str | None, list[Classified]] = {}
    for member in members:
        groups.setdefault(reason(member), []).append(member)
    yield from groups.values()


SENT = ("claimed", "in_manifest", "registered")  # on its way to Encord, or there


def _is_own_item(record: ObjectRecord) -> bool:
    """A single item this pipeline recorded (not a hand-written manifest's object record)."""
    return record.role == Role.ITEM.value and not record.version.startswith("external")


def already_sent(sent: ObjectRecord) -> str:
    """Why a new upload of a key already sent to Encord is not sent again, and what to do."""
    where = (
        f"Encord item {sent.encord.get('item_uuid')} (data hash {sent.encord.get('data_hash')})"
        if sent.status == "registered" and sent.encord
        else f"manifest {sent.manifest_id}"
    )
    return (
        f"{sent.key} was uploaded again with new content, but this key is already in {where} from the upload with "
        f"eTag {sent.etag}. Encord keeps one item per URL and reads the file through it, so that item now shows the "
        "new content while keeping its file properties and labels; it is not imported again. To import the new "
        "content as its own data unit, upload it under a new key"
    )


def _pending_record(classified: Classified) -> ObjectRecord:
    obj = classified.obj
    return ObjectRecord(
        bucket=obj.bucket,
        key=obj.key,
        version=object_version(obj),
        status="pending",
        size=obj.size,
        etag=obj.etag,
        version_id=obj.version_id,
        content_type=obj.content_type,
        dataset=classified.dataset.value if classified.dataset else None,
        data_type=classified.data_type.value if classified.data_type else None,
        role=classified.role.value,
    )


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
