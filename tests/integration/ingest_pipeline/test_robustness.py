"""Issue 11's ingest defects, each on the template's (versioned) bucket and table: events in any order, deletes of
versions and delete markers, restores, long and dot-segment keys, objects S3 cannot serve, re-uploads, a sweep
that must not stall on one bad manifest and must stop in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from benchmark_qa.bucket import S3Bucket
from benchmark_qa.deadline import Deadline
from benchmark_qa.ingest.pipeline import MAX_RECOVER_ATTEMPTS, UploadEvent
from benchmark_qa.store.uploads import ATTENTION

from tests.integration.ingest_pipeline.conftest import World

LATER = timedelta(minutes=15)


def test_a_delete_whose_notification_comes_first_is_never_sent(world: World) -> None:
    """Issue 11: 33 of 35 objects deleted before they were processed were still sent when the delete came first."""
    created = world.put("production/short-lived.jpg")
    removed = world.delete("production/short-lived.jpg")

    world.run(removed, created)

    assert world.status("production/short-lived.jpg") == (
        "deleted",
        "deleted from S3 before it was processed; nothing was sent to Encord",
    )
    assert world.manifests() == []


def test_deleting_an_old_version_leaves_the_current_one_to_be_sent(world: World) -> None:
    """Issue 11: deleting an old version marked the current version deleted too."""
    first = world.put("benchmark/cam/frame.jpg", b"\xff\xd8\xff\xe0first")
    second = world.put("benchmark/cam/frame.jpg", b"\xff\xd8\xff\xe0second")
    removed = world.delete("benchmark/cam/frame.jpg", version_id=first.obj.version_id)

    world.run(first, second, removed)

    statuses = world.statuses("benchmark/cam/frame.jpg")
    assert statuses[second.obj.etag] == "in_manifest"
    assert statuses[first.obj.etag] == "skipped"  # replaced before it was sent; the newer one went
    assert len(world.entries()) == 1


def test_a_delete_marker_removes_only_what_it_hides(world: World) -> None:
    old = world.put("production/clip.jpg", b"\xff\xd8\xff\xe0old")
    world.run(old)  # sent
    waiting = world.put("production/later.jpg")
    marker = world.delete("production/later.jpg")
    again = world.put("production/later.jpg", b"\xff\xd8\xff\xe0again")

    world.run(waiting, marker, again)

    statuses = world.statuses("production/later.jpg")
    assert statuses[again.obj.etag] == "in_manifest"
    assert statuses[waiting.obj.etag] in ("deleted", "skipped")
    assert world.status("production/clip.jpg")[0] == "in_manifest"


def test_a_restore_event_never_drops_a_live_object(world: World) -> None:
    """Issue 11: any event that was not ObjectCreated was treated as a delete; an ObjectRestore:Completed dropped a
    live object."""
    created = world.put("benchmark/live.jpg")
    ingest = world.ingest()
    ingest.accept(created)
    ingest.accept(UploadEvent(created=False, obj=created.obj, restored=True))
    ingest.flush()

    assert world.status("benchmark/live.jpg")[0] == "in_manifest"


def test_an_archived_object_fails_alone_and_comes_back_when_restored(world: World) -> None:
    cold = world.put("benchmark/cold.jpg", StorageClass="GLACIER")
    warm = world.put("benchmark/warm.jpg")

    world.run(cold, warm)

    status, reason = world.status("benchmark/cold.jpg")
    assert status == "failed"
    assert "InvalidObjectState" in (reason or "")
    assert "restore it" in (reason or "")
    assert world.status("benchmark/warm.jpg")[0] == "in_manifest"

    world.s3.restore_object(Bucket=world.bucket_name, Key="benchmark/cold.jpg", RestoreRequest={"Days": 1})
    world.run(UploadEvent(created=False, obj=cold.obj, restored=True))

    assert world.status("benchmark/cold.jpg")[0] == "in_manifest"


def test_an_archived_sidecar_fails_its_item_and_holds_nothing_else(world: World) -> None:
    """Issue 11: one object S3 could not serve (an archived sidecar) left its batch `claimed` with no reason, and
    every later sweep failed on it, so unrelated groups never closed."""
    world.s3.put_object(
        Bucket=world.bucket_name, Key="benchmark/x.jpg.meta.json", Body=b"{}", StorageClass="DEEP_ARCHIVE"
    )
    item, other = world.put("benchmark/x.jpg"), world.put("benchmark/y.jpg")
    group = world.put("benchmark/image-groups/g/1.jpg")

    world.run(item, other, group)
    outcome = world.ingest().sweep(now=datetime.now(UTC) + LATER)

    status, reason = world.status("benchmark/x.jpg")
    assert status == "failed"
    assert "benchmark/x.jpg.meta.json" in (reason or "")
    assert "InvalidObjectState" in (reason or "")
    assert world.status("benchmark/y.jpg")[0] == "in_manifest"
    assert world.status("benchmark/image-groups/g/1.jpg")[0] == "in_manifest"  # the quiet group closed
    assert world.repository.manifests_with_status("claimed") == []
    assert outcome.errors == []


def test_a_group_with_an_archived_member_fails_with_the_reason_and_closes_once_restored(world: World) -> None:
    folder = "production/image-groups/archive/"
    events = [world.put(folder + "1.jpg"), world.put(folder + "2.jpg", StorageClass="GLACIER")]
    world.run(*events, world.put(folder + "_READY", b""))

    status, reason = world.status(folder + "1.jpg")
    assert status == "failed"
    assert "InvalidObjectState" in (reason or "")

    world.s3.restore_object(Bucket=world.bucket_name, Key=folder + "2.jpg", RestoreRequest={"Days": 1})
    world.run(UploadEvent(created=False, obj=events[1].obj, restored=True))

    assert {world.status(folder + n)[0] for n in ("1.jpg", "2.jpg")} == {"in_manifest"}


def test_keys_up_to_s3s_limit_are_recorded_and_sent(world: World) -> None:
    """Issue 11: keys longer than about 994 bytes overflowed a DynamoDB sort key: never recorded, 5 retries, DLQ."""
    long_name = "benchmark/" + "é" * 300 + "/" + "n" * (1024 - 10 - 600 - 1 - 4) + ".jpg"
    assert len(long_name.encode()) == 1024
    data_file = "production/" + "d" * (1024 - 11 - 5) + ".json"

    world.run(world.put(long_name), world.put(data_file, b"{}"))

    assert world.status(long_name)[0] == "in_manifest"
    assert world.status(data_file)[0] == "skipped"
    attention = world.repository.bad_messages()  # the ATTENTION index reads back fine
    assert attention == []


@pytest.mark.parametrize("key", ["benchmark/a/../production/secret.jpg", "production/./x.jpg", "benchmark/../x.jpg"])
def test_a_key_with_dot_segments_is_skipped_never_normalised(world: World, key: str) -> None:
    """Issue 11: keys with `..` or `.` segments became URLs that HTTP clients resolve to another object."""
    world.run(world.put(key))

    status, reason = world.status(key)
    assert status == "skipped"
    assert "path segment" in (reason or "")
    assert world.manifests() == []


def test_a_new_upload_of_a_registered_key_is_skipped_with_the_item_it_would_duplicate(world: World) -> None:
    """Issue 11: a re-upload with new content was reported `registered` but never re-imported (Encord skips the
    duplicate URL, the record kept the old item). One item per key: the new upload says so, and is not sent."""
    first = world.put("benchmark/relabel.jpg", b"\xff\xd8\xff\xe0v1")
    world.run(first)
    (record,) = world.repository.object_versions(world.bucket_name, "benchmark/relabel.jpg")
    world.repository.set_object_status(record, "registered", encord={"item_uuid": "item-1", "data_hash": "d-1"})

    second = world.put("benchmark/relabel.jpg", b"\xff\xd8\xff\xe0v2")
    world.run(second)

    statuses = world.statuses("benchmark/relabel.jpg")
    assert statuses == {first.obj.etag: "registered", second.obj.etag: "skipped"}
    newest = next(
        r for r in world.repository.object_versions(world.bucket_name, "benchmark/relabel.jpg") if r.status == "skipped"
    )
    assert "item-1" in (newest.reason or "")
    assert "upload it under a new key" in (newest.reason or "")
    assert len(world.entries()) == 1


def test_a_new_upload_of_a_waiting_key_replaces_it(world: World) -> None:
    first = world.put("production/draft.jpg", b"\xff\xd8\xff\xe0draft")
    second = world.put("production/draft.jpg", b"\xff\xd8\xff\xe0final")
    ingest = world.ingest()
    ingest.accept(first)  # the older event is processed after the newer upload: S3 serves the newer one
    ingest.accept(second)
    ingest.flush()

    assert world.statuses("production/draft.jpg") == {first.obj.etag: "skipped", second.obj.etag: "in_manifest"}
    assert len(world.entries()) == 1


def test_one_manifest_the_sweep_cannot_finish_holds_nothing_else_and_fails_after_its_attempts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: every later sweep failed on one bad manifest, so unrelated groups never closed; now it is failed
    with its reason after MAX_RECOVER_ATTEMPTS sweeps."""
    broken = world.put("benchmark/broken.jpg")
    ingest = world.ingest()
    ingest.accept(broken)
    write = S3Bucket.write

    def refuse(self: S3Bucket, key: str, body: bytes, content_type: str) -> None:
        if b"broken.jpg" in body:
            raise PermissionError("AccessDenied writing the manifest")
        write(self, key, body, content_type)

    monkeypatch.setattr(S3Bucket, "write", refuse)
    with pytest.raises(PermissionError):
        ingest.flush()
    world.run(world.put("benchmark/image-groups/quiet/1.jpg"))
    left = world.put("benchmark/left.jpg")
    world.ingest().accept(left)  # recorded; its batch ended before writing

    now = datetime.now(UTC)
    first = world.ingest().sweep(now=now + LATER)

    assert [e for e in first.errors if "AccessDenied" in e]  # recorded, and the others went on
    assert world.status("benchmark/image-groups/quiet/1.jpg")[0] == "in_manifest"
    assert world.status("benchmark/left.jpg")[0] == "in_manifest"
    assert world.status("benchmark/broken.jpg")[0] == "claimed"

    for attempt in range(2, MAX_RECOVER_ATTEMPTS + 2):
        world.ingest().sweep(now=now + LATER * attempt)

    status, reason = world.status("benchmark/broken.jpg")
    assert status == "failed"
    assert "AccessDenied" in (reason or "")
    assert world.repository.manifests_with_status("claimed") == []


def test_the_sweep_stops_when_its_time_is_up_and_the_next_one_goes_on(world: World) -> None:
    for n in range(3):
        world.run(world.put(f"production/image-groups/g{n}/1.jpg"))
    # Enough for two units, then the invocation is nearly over (a close also asks between its own steps).
    deadline = Deadline(
        lambda: 60.0 if len(world.repository.manifests_with_status("written")) < 2 else 1.0, reserve_seconds=15
    )

    first = world.ingest().sweep(now=datetime.now(UTC) + LATER, deadline=deadline)

    assert first.deferred
    closed = [world.status(f"production/image-groups/g{n}/1.jpg")[0] for n in range(3)]
    assert closed.count("in_manifest") == 2
    world.ingest().sweep(now=datetime.now(UTC) + LATER)
    assert {world.status(f"production/image-groups/g{n}/1.jpg")[0] for n in range(3)} == {"in_manifest"}


def test_a_manifest_is_recorded_with_its_key_before_it_is_written(world: World) -> None:
    """Registration tells our manifests from hand-written ones by the recorded key, and starts ours as soon as they
    are written (issue 11: a notification that came before `written` waited about 5 minutes)."""
    created = world.put("benchmark/k.jpg")
    ingest = world.ingest()
    ingest.accept(created)
    seen: list[dict[str, Any]] = []
    write = S3Bucket.write

    def spy(self: S3Bucket, key: str, body: bytes, content_type: str) -> None:
        (manifest,) = world.repository.manifests_with_status("claimed")
        seen.append(manifest)
        write(self, key, body, content_type)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(S3Bucket, "write", spy)
        (written,) = ingest.flush().manifests

    assert seen[0]["s3_key"] == written.key


def test_a_listed_object_is_not_headed_again(world: World) -> None:
    """A backfill's listing is S3's current state: no existence check per object there."""
    objects = [world.put(f"benchmark/listed/{n}.jpg").obj for n in range(3)]
    heads: list[str] = []
    head = S3Bucket.head

    def counting(self: S3Bucket, key: str) -> Any:
        heads.append(key)
        return head(self, key)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(S3Bucket, "head", counting)
        ingest = world.ingest()
        ingest.accept_all(objects, [o.key for o in objects])
        ingest.flush()

    assert heads == []
    assert {world.status(o.key)[0] for o in objects} == {"in_manifest"}


def test_time_indexed_sort_keys_fit_dynamodb(world: World) -> None:
    from benchmark_qa.store.uploads import MAX_SORT_KEY_BYTES, time_indexed

    index, sort = time_indexed(ATTENTION, "p/" + "ü" * 600)
    assert index == ATTENTION
    assert len(sort.encode()) <= MAX_SORT_KEY_BYTES
    assert sort.encode().decode() == sort  # cut at a character boundary


class _Died(BaseException):
    """The invocation died (as a soak kill does: after the call returned, before the next write)."""


def test_a_group_closed_by_a_batch_killed_before_its_manifest_was_recorded_written_is_finished_by_the_sweep(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11 (soak, seed 12): a kill right after the group was recorded `in_manifest` left its manifest
    `claimed`; the sweep saw a group no longer `claimed` and recorded the manifest `empty`, its members stayed
    `in_manifest` in it."""
    folder = "benchmark/image-groups/killed/"
    events = [world.put(folder + name) for name in ("1.jpg", "2.jpg")]
    set_group_status = type(world.repository).set_group_status

    def dies_after_in_manifest(self: Any, group_id: str, status: str) -> None:
        set_group_status(self, group_id, status)
        if status == "in_manifest":
            raise _Died

    events.append(world.put(folder + "_READY", b""))
    with monkeypatch.context() as patch:
        patch.setattr(type(world.repository), "set_group_status", dies_after_in_manifest)
        with pytest.raises(_Died):
            world.run(*events)
    (member, *_) = world.repository.object_versions(world.bucket_name, folder + "1.jpg")
    assert member.status == "in_manifest"

    world.ingest().sweep(now=datetime.now(UTC) + LATER)

    manifest = world.repository.get_manifest(member.manifest_id or "")
    assert manifest["status"] == "written"
    assert manifest["entries"] == 1
    assert {world.status(folder + name)[0] for name in ("1.jpg", "2.jpg")} == {"in_manifest"}
    assert len(world.manifests()) == 1
