"""The incremental ingest on moto server (tables and bucket built from template.yaml): order of events,
repeats, late files, broken and late sidecars, deletes, and crashes half-way through a manifest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from benchmark_qa.bucket import S3Bucket
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.ingest.pipeline import Ingest, UploadEvent
from benchmark_qa_local import samples
from benchmark_qa_local.cli import main

from tests.integration.ingest_pipeline.conftest import World

pytestmark = pytest.mark.integration


def test_a_group_is_one_entry_whatever_the_order_and_batches_of_its_files(world: World) -> None:
    marker = world.put("benchmark/image-groups/cars/_READY", b"")
    third = world.put("benchmark/image-groups/cars/img10.jpg")
    first = world.put("benchmark/image-groups/cars/img1.jpg")
    second = world.put("benchmark/image-groups/cars/img2.jpg")

    # The marker's event arrives first and alone; the files' events come later, one of them twice.
    world.run(marker)
    world.run(third, first)
    world.run(second, first)

    (manifest,) = world.manifests()
    (group,) = manifest["image_groups"]
    urls = [group[f"objectUrl_{i}"].rsplit("/", 1)[-1] for i in range(3)]
    assert urls == ["img1.jpg", "img2.jpg", "img10.jpg"]
    assert group["createVideo"] is False
    assert {world.status(f"benchmark/image-groups/cars/img{n}.jpg")[0] for n in (1, 2, 10)} == {"in_manifest"}


def test_repeated_events_never_make_a_second_entry(world: World) -> None:
    event = world.put("production/a.jpg")
    world.run(event)
    world.run(event, event)

    manifests = world.manifests()
    assert sum(len(m.get("images", [])) for m in manifests) == 1


def test_a_file_landing_in_a_closed_group_is_flagged_not_lost(world: World) -> None:
    world.run(world.put("benchmark/dicom/S1/a.dcm"), world.put("benchmark/dicom/S1/_READY", b""))
    late = world.put("benchmark/dicom/S1/b.dcm")
    world.run(late)

    status, reason = world.status("benchmark/dicom/S1/b.dcm")
    assert status == "failed"
    assert reason is not None
    assert "closed into manifest" in reason
    assert "new title" in reason


def test_a_broken_sidecar_holds_the_item_back_until_it_is_fixed(world: World) -> None:
    world.s3.put_object(Bucket=world.bucket_name, Key="production/v.mp4.meta.json", Body=b"{not json")
    world.run(world.put("production/v.mp4"))

    status, reason = world.status("production/v.mp4")
    assert status == "failed"
    assert reason is not None
    assert "production/v.mp4.meta.json" in reason
    assert world.manifests() == []

    fixed = world.put("production/v.mp4.meta.json", json.dumps({"title": "Drive", "keyFrames": [3]}).encode())
    world.run(fixed)

    assert world.status("production/v.mp4")[0] == "in_manifest"
    (manifest,) = world.manifests()
    (video,) = manifest["videos"]
    assert video["title"] == "Drive"


def test_a_sidecar_after_its_item_sends_a_metadata_update(world: World) -> None:
    world.run(world.put("benchmark/cat.jpg"))
    world.run(world.put("benchmark/cat.jpg.meta.json", json.dumps({"clientMetadata": {"k": 1}}).encode()))

    (first,) = [m for m in world.manifests() if not m["upsert_metadata"]]
    (update,) = [m for m in world.manifests() if m["upsert_metadata"]]
    assert first["images"][0].get("clientMetadata") in (None, {})
    assert update["images"][0]["clientMetadata"] == {"k": 1}
    assert update["upsert_metadata"] is True
    assert update["skip_duplicate_urls"] is True


def test_a_file_deleted_before_its_manifest_is_not_sent(world: World) -> None:
    created = world.put("production/gone.jpg")
    ingest = world.ingest()
    ingest.accept(created)
    world.s3.delete_object(Bucket=world.bucket_name, Key="production/gone.jpg")
    ingest.accept(UploadEvent(created=False, obj=created.obj))
    ingest.flush()

    assert world.status("production/gone.jpg")[0] == "deleted"
    assert world.manifests() == []


def test_a_crash_after_claiming_is_finished_by_the_sweep(world: World) -> None:
    events = [world.put(f"benchmark/crash/{n}.jpg") for n in range(3)]
    ingest = world.ingest()
    for event in events:
        ingest.accept(event)

    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("the function died while writing the manifest")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(S3Bucket, "write", crash)
        with pytest.raises(RuntimeError):
            ingest.flush()
    assert {world.status(f"benchmark/crash/{n}.jpg")[0] for n in range(3)} == {"claimed"}

    later = datetime.now(UTC) + timedelta(minutes=5)
    world.ingest().sweep(now=later)

    (manifest,) = world.manifests()
    assert len(manifest["images"]) == 3
    assert {world.status(f"benchmark/crash/{n}.jpg")[0] for n in range(3)} == {"in_manifest"}


def test_pending_singles_left_by_a_failed_batch_are_written_by_the_sweep(world: World) -> None:
    ingest = world.ingest()
    ingest.accept(world.put("production/left.jpg"))  # recorded, but the batch ended before its flush

    world.ingest().sweep(now=datetime.now(UTC) + timedelta(minutes=5))

    assert world.status("production/left.jpg")[0] == "in_manifest"


def test_the_sweep_takes_over_a_crashed_batchs_work_after_recover_after(world: World) -> None:
    """RECOVER_AFTER_SECONDS (ManifestFunction): how long the sweep leaves a waiting single to the batch that
    recorded it (2 minutes by default); the soak run sets 0, as time passes between two sweeps on AWS."""
    world.ingest().accept(world.put("production/waits.jpg"))
    world.ingest().sweep()
    assert world.status("production/waits.jpg")[0] == "pending", "its batch may still be writing it"

    Ingest(world.repository, S3Bucket(world.bucket_name), world.layout, "us-east-1", recover_after=timedelta(0)).sweep()

    assert world.status("production/waits.jpg")[0] == "in_manifest"


def test_a_quiet_group_closes_on_the_sweep_and_an_open_one_waits(world: World) -> None:
    world.run(world.put("production/image-sequences/dash/f1.jpg"), world.put("production/image-sequences/dash/f2.jpg"))

    world.ingest().sweep(now=datetime.now(UTC) + timedelta(seconds=30))
    assert world.manifests() == [], "still inside the quiet period"

    world.ingest().sweep(now=datetime.now(UTC) + timedelta(seconds=world.layout.group_quiet_seconds + 1))
    (manifest,) = world.manifests()
    (sequence,) = manifest["image_groups"]
    assert sequence["createVideo"] is True


def test_a_group_closes_from_its_title_folder_whichever_sub_folder_came_last(world: World) -> None:
    # Files may sit in sub-folders of the title folder; the listing at close must cover all of them.
    keys = ("benchmark/image-groups/pets/cat.jpg", "benchmark/image-groups/pets/more/dog.jpg")
    for key in keys:  # the last upload sits in the sub-folder
        world.run(world.put(key))

    world.ingest().sweep(now=datetime.now(UTC) + timedelta(seconds=world.layout.group_quiet_seconds + 1))

    (manifest,) = world.manifests()
    (group,) = manifest["image_groups"]
    assert [group[f"objectUrl_{i}"].rsplit("/", 1)[-1] for i in range(len(group) - 2)] == ["cat.jpg", "dog.jpg"]
    assert {world.status(key)[0] for key in keys} == {"in_manifest"}


def test_a_group_held_back_by_a_zero_byte_file_closes_once_the_file_is_uploaded_again(world: World) -> None:
    world.run(world.put("benchmark/image-groups/birds/a.jpg"), world.put("benchmark/image-groups/birds/b.jpg", b""))
    world.run(world.put("benchmark/image-groups/birds/_READY", b""))
    status, reason = world.status("benchmark/image-groups/birds/a.jpg")
    assert status == "failed"
    assert reason is not None
    assert "zero-byte" in reason
    assert world.manifests() == []

    world.run(world.put("benchmark/image-groups/birds/b.jpg", samples.jpeg("fixed")))

    (manifest,) = world.manifests()
    (group,) = manifest["image_groups"]
    assert [group[f"objectUrl_{i}"].rsplit("/", 1)[-1] for i in range(2)] == ["a.jpg", "b.jpg"]
    assert {world.status(f"benchmark/image-groups/birds/{n}.jpg")[0] for n in "ab"} == {"in_manifest"}


def test_a_group_held_back_for_a_missing_per_file_sidecar_closes_once_it_arrives(world: World) -> None:
    folder = "production/dicom/S2/"
    world.run(world.put(folder + "a"), world.put(folder + "b"), world.put(folder + "a.meta.json", b"{}"))
    world.run(world.put(folder + "_READY", b""))
    status, reason = world.status(folder + "b")
    assert status == "failed"
    assert reason is not None
    assert "no sidecar" in reason

    world.run(world.put(folder + "b.meta.json", b"{}"))

    (manifest,) = world.manifests()
    assert [u.rsplit("/", 1)[-1] for k, u in manifest["dicom_series"][0].items() if k.startswith("objectUrl_")] == [
        "a",
        "b",
    ]
    assert {world.status(folder + n)[0] for n in "ab"} == {"in_manifest"}


def test_a_reopened_group_is_closed_by_the_sweep_when_its_batch_ends_early(world: World) -> None:
    folder = "benchmark/image-sequences/lap/"
    world.run(world.put(folder + "f1.jpg"), world.put(folder + "f2.jpg", b""), world.put(folder + "_READY", b""))
    assert world.status(folder + "f1.jpg")[0] == "failed"

    world.ingest().accept(world.put(folder + "f2.jpg", samples.jpeg("fixed")))  # the batch ends before its flush

    world.ingest().sweep(now=datetime.now(UTC) + timedelta(seconds=world.layout.group_quiet_seconds + 1))
    (manifest,) = world.manifests()
    assert len(manifest["image_groups"]) == 1
    assert {world.status(folder + n)[0] for n in ("f1.jpg", "f2.jpg")} == {"in_manifest"}


def test_with_require_ready_marker_the_sweep_closes_ready_groups_only(world: World) -> None:
    layout = Layout(require_ready_marker=True)
    unmarked = world.ingest(layout)
    unmarked.accept(world.put("production/image-groups/open/a.jpg"))
    unmarked.flush()
    marked = world.ingest(layout)  # its batch ends before its flush
    marked.accept(world.put("production/image-groups/done/a.jpg"))
    marked.accept(world.put("production/image-groups/done/_READY", b""))

    # after the uploads: taken before them, "quiet for long enough" depended on how fast they ran
    later = datetime.now(UTC) + timedelta(seconds=layout.group_quiet_seconds + 1)
    world.ingest(layout).sweep(now=later)

    (manifest,) = world.manifests()
    assert [g["title"] for g in manifest["image_groups"]] == ["done"]
    assert world.status("production/image-groups/open/a.jpg")[0] == "pending"


def test_status_shows_where_each_object_is(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.run(world.put("benchmark/ok.jpg"), world.put("benchmark/what.xyz", b"\x00\x01"))
    table = world.stack.physical_id("StateTable")

    assert main(["status", "--table", table, "--prefix", "benchmark/"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (manifest_id,) = {r.manifest_id for r in world.repository.all_objects() if r.key == "benchmark/ok.jpg"}
    assert lines[1].split() == ["in_manifest", "benchmark/ok.jpg", "manifest", str(manifest_id)]
    assert lines[2].startswith("skipped")
    assert "benchmark/what.xyz: unknown file type" in lines[2]
    assert lines[-1] == "total: 1 in_manifest, 1 skipped"

    assert main(["status", "--table", table, "--status", "skipped", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    (record,) = shown["objects"]
    assert (record["key"], record["status"]) == ("benchmark/what.xyz", "skipped")
    assert shown["bad_messages"] == []

    world.repository.record_bad_message("m-1", "not an S3 notification: no Records", "{}")
    assert main(["status", "--table", table]) == 0
    out = capsys.readouterr().out
    assert "1 queue message(s) were not S3 notifications" in out
    assert "m-1  not an S3 notification: no Records" in out


def test_a_broken_sidecar_after_its_item_was_sent_fails_the_sidecar_not_the_item(world: World) -> None:
    world.run(world.put("benchmark/dog.jpg"))
    world.run(world.put("benchmark/dog.jpg.meta.json", b"{broken"))

    assert world.status("benchmark/dog.jpg") == ("in_manifest", None)
    status, reason = world.status("benchmark/dog.jpg.meta.json")
    assert status == "failed"
    assert reason is not None
    assert "not valid UTF-8 JSON" in reason
    assert len(world.manifests()) == 1, "no metadata update for a broken sidecar"


def test_a_group_sidecar_after_the_group_was_sent_updates_it_or_is_marked_failed(world: World) -> None:
    folder = "benchmark/image-groups/fish/"
    world.run(world.put(folder + "1.jpg"), world.put(folder + "_READY", b""))

    world.run(world.put(folder + "_meta.json", json.dumps({"clientMetadata": {"sea": "north"}}).encode()))
    (update,) = [m for m in world.manifests() if m["upsert_metadata"]]
    assert update["image_groups"][0]["clientMetadata"] == {"sea": "north"}

    world.run(world.put(folder + "_meta.json", b"{broken"))
    status, reason = world.status(folder + "_meta.json")
    assert status == "failed"
    assert reason is not None
    assert "not valid UTF-8 JSON" in reason
    assert len(world.manifests()) == 2, "no update for a broken sidecar"
    assert world.status(folder + "1.jpg")[0] == "in_manifest"


def test_an_object_the_extension_cannot_type_is_typed_by_its_content_type(world: World) -> None:
    # Notifications carry no content type: the pipeline asks S3 for it, as `benchmark-qa manifest` does.
    # Bytes no detector knows: the content decides nothing, so S3's content type does.
    typed = world.put("production/scan-0001.raw", b"\x00img", content_type="image/png")
    untyped = world.put("production/notes.raw", b"\x00?", content_type="application/octet-stream")
    member = world.put("production/image-groups/lot/cam1.raw", b"\x00g", content_type="image/jpeg")
    marker = world.put("production/image-groups/lot/_READY", b"")

    world.run(typed, untyped, member, marker)

    assert world.status("production/scan-0001.raw")[0] == "in_manifest"
    assert world.status("production/image-groups/lot/cam1.raw")[0] == "in_manifest"
    status, reason = world.status("production/notes.raw")
    assert status == "skipped"
    assert "application/octet-stream" in (reason or "")
    manifests = world.manifests()
    assert [i["title"] for m in manifests for i in m.get("images", [])] == ["scan-0001.raw"]
    assert [g["title"] for m in manifests for g in m.get("image_groups", [])] == ["lot"]
