"""Registration: storage folders, upload jobs, datasets and linking, through the SDK."""

from __future__ import annotations

import pytest
from encord.exceptions import InvalidArgumentsError, ResourceNotFoundError
from encord.orm.dataset import LongPollingStatus
from encord.workflow import AgentStage

MANIFEST = {
    "images": [
        {"objectUrl": "s3://bucket/new/a.jpg", "title": "a.jpg", "clientMetadata": {"site": "x"}},
        {"objectUrl": "s3://bucket/broken/b.jpg"},
    ],
    "videos": [{"objectUrl": "s3://bucket/new/clip.mp4"}],
    "image_groups": [
        {
            "title": "seq",
            "createVideo": True,
            "objectUrl_0": "s3://bucket/seq/0.jpg",
            "objectUrl_1": "s3://bucket/seq/1.jpg",
        }
    ],
    "skip_duplicate_urls": True,
}


def test_get_storage_folder(client, setup):
    folder = client.get_storage_folder(setup.folder_uuid)
    assert str(folder.uuid) == setup.folder_uuid
    assert folder.name == "benchmark-qa"
    with pytest.raises(ResourceNotFoundError):
        client.get_storage_folder("00000000-0000-0000-0000-000000000000")


def test_folder_upload_job_polls_pending_then_done_with_unit_errors(double, client, setup):
    with double.locked() as state:
        state.settings.failing_url_substrings = ["/broken/"]
        state.settings.upload_polls_until_done = 2
    folder = client.get_storage_folder(setup.folder_uuid)

    job = folder.add_private_data_to_folder_start(setup.integration_hash, MANIFEST, ignore_errors=True)
    first = folder.add_private_data_to_folder_get_result(job, timeout_seconds=0)
    second = folder.add_private_data_to_folder_get_result(job, timeout_seconds=0)
    done = folder.add_private_data_to_folder_get_result(job, timeout_seconds=0)

    assert first.status == second.status == LongPollingStatus.PENDING
    assert first.units_pending_count == 4
    assert first.items_with_names == []
    assert done.status == LongPollingStatus.DONE
    assert sorted(i.name for i in done.items_with_names) == ["a.jpg", "clip.mp4", "seq"]
    assert done.units_done_count == 3
    assert done.units_error_count == 1
    [error] = done.unit_errors
    assert error.object_urls == ["s3://bucket/broken/b.jpg"]
    items = {str(i.item_uuid): double.state.storage_items[str(i.item_uuid)] for i in done.items_with_names}
    assert {i.item_type for i in items.values()} == {"IMAGE", "VIDEO", "IMAGE_SEQUENCE"}


def test_failed_units_make_the_job_error_unless_ignored(double, client, setup):
    with double.locked() as state:
        state.settings.failing_url_substrings = ["/broken/"]
        state.settings.upload_polls_until_done = 0
    folder = client.get_storage_folder(setup.folder_uuid)
    job = folder.add_private_data_to_folder_start(setup.integration_hash, MANIFEST)
    result = folder.add_private_data_to_folder_get_result(job, timeout_seconds=0)
    assert result.status == LongPollingStatus.ERROR
    assert result.units_error_count == 1


def test_skip_duplicate_urls_is_honoured(double, client, setup):
    with double.locked() as state:
        state.settings.upload_polls_until_done = 0
    folder = client.get_storage_folder(setup.folder_uuid)
    first = folder.add_private_data_to_folder_get_result(
        folder.add_private_data_to_folder_start(setup.integration_hash, MANIFEST), timeout_seconds=0
    )
    again = folder.add_private_data_to_folder_get_result(
        folder.add_private_data_to_folder_start(setup.integration_hash, MANIFEST), timeout_seconds=0
    )
    dup = folder.add_private_data_to_folder_get_result(
        folder.add_private_data_to_folder_start(setup.integration_hash, {**MANIFEST, "skip_duplicate_urls": False}),
        timeout_seconds=0,
    )
    assert len(first.items_with_names) == 4
    assert again.items_with_names == []
    assert len(dup.items_with_names) == 4


def test_malformed_manifest_is_rejected(client, setup):
    folder = client.get_storage_folder(setup.folder_uuid)
    with pytest.raises(InvalidArgumentsError):
        folder.add_private_data_to_folder_start(setup.integration_hash, {"imagez": []})
    with pytest.raises(InvalidArgumentsError):
        folder.add_private_data_to_folder_start(setup.integration_hash, {"images": [{"title": "no url"}]})


def test_get_dataset_with_and_without_rows(client, setup):
    lean = client.get_dataset(setup.production_dataset_hash, include_data_rows=False)
    full = client.get_dataset(setup.production_dataset_hash)
    assert lean.title == "Production Dataset"
    assert str(lean.backing_folder_uuid) == setup.folder_uuid
    assert {r.uid for r in full.data_rows} == set(setup.production_data_hashes)
    with pytest.raises(ResourceNotFoundError):
        client.get_dataset("00000000-0000-0000-0000-000000000000")


def test_link_items_creates_data_rows_and_tasks_in_the_first_stage(double, client, setup):
    with double.locked() as state:
        state.settings.upload_polls_until_done = 0
    folder = client.get_storage_folder(setup.folder_uuid)
    done = folder.add_private_data_to_folder_get_result(
        folder.add_private_data_to_folder_start(setup.integration_hash, {"images": MANIFEST["images"]}),
        timeout_seconds=0,
    )
    dataset = client.get_dataset(setup.production_dataset_hash, include_data_rows=False)

    rows = dataset.link_items([i.item_uuid for i in done.items_with_names])
    again = dataset.link_items([i.item_uuid for i in done.items_with_names])  # SKIP duplicates

    assert sorted(r.title for r in rows) == ["a.jpg", "b.jpg"]
    assert again == []
    stage = client.get_project(setup.production_project_hash).workflow.get_stage(
        name="Benchmark Task?", type_=AgentStage
    )
    new = {str(t.data_hash) for t in stage.get_tasks(dataset_hash=setup.production_dataset_hash)}
    assert {r.uid for r in rows} <= new
    # The benchmark project does not hold the production dataset, so it got no task.
    bench = double.state.projects[setup.benchmark_project_hash]
    assert not {r.uid for r in rows} & {t.data_hash for t in bench.tasks.values()}


def test_dataset_upload_job_registers_and_links(double, client, setup):
    with double.locked() as state:
        state.settings.failing_url_substrings = ["/broken/"]
    dataset = client.get_dataset(setup.benchmark_dataset_hash, include_data_rows=False)

    job = dataset.add_private_data_to_dataset_start(setup.integration_hash, MANIFEST, ignore_errors=True)
    pending = dataset.add_private_data_to_dataset_get_result(job, timeout_seconds=0)
    done = dataset.add_private_data_to_dataset_get_result(job, timeout_seconds=0)

    assert pending.status == LongPollingStatus.PENDING
    assert done.status == LongPollingStatus.DONE
    assert sorted(d.title for d in done.data_hashes_with_titles) == ["a.jpg", "clip.mp4", "seq"]
    assert [e.object_urls for e in done.data_unit_errors] == [["s3://bucket/broken/b.jpg"]]
    rows = {r.uid: r for r in client.get_dataset(setup.benchmark_dataset_hash).data_rows}
    assert {d.data_hash for d in done.data_hashes_with_titles} <= set(rows)
    # Benchmark data reaches both projects' first stages.
    for project_hash in (setup.production_project_hash, setup.benchmark_project_hash):
        hashes = {t.data_hash for t in double.state.projects[project_hash].tasks.values()}
        assert {d.data_hash for d in done.data_hashes_with_titles} <= hashes
