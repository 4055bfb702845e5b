"""Each upload result mapped to its own S3 object (colliding basenames, untitled entries), and a lost
`link_items` answer recovered at bounded cost under both answers `link_items(SKIP)` may give."""

from __future__ import annotations

import json

import pytest
from benchmark_qa.encord.registration import MAX_LINK_ATTEMPTS, external_manifest_id, titled
from benchmark_qa_local import samples
from benchmark_qa_local.encord_double import FaultKind, FaultRule

from .conftest import App, objects, repository, run_until_registered

pytestmark = pytest.mark.integration

LINK = "v1 datasetlinkitems POST"
DATAROWS = "v1 datarows GET"


def item_of(app: App, item_uuid: str) -> tuple[str, list[str]]:
    with app.double.locked() as state:
        item = state.storage_items[item_uuid]
        return item.name, item.urls


def test_same_file_name_in_two_folders_maps_each_object_to_its_own_item(app: App) -> None:
    keys = ["benchmark/cats/img001.jpg", "benchmark/dogs/img001.jpg", "benchmark/img001.jpg"]
    for key in keys:
        app.upload(key, samples.for_key(key))

    run_until_registered(app)

    records = objects(app)
    assert {records[k].status for k in keys} == {"registered"}
    items = {k: e["item_uuid"] for k in keys if (e := records[k].encord)}
    assert len(set(items.values())) == 3, "two objects were recorded as one Encord item"
    names = set()
    for key, item_uuid in items.items():
        name, urls = item_of(app, item_uuid)
        assert [u.rsplit(".amazonaws.com/", 1)[1] for u in urls] == [key]  # the item holds this very object
        assert key.endswith(name)  # colliding titles come from the key (its path in the dataset)
        names.add(name)
    assert len(names) == 3
    hashes = {e["data_hash"] for k in keys if (e := records[k].encord)}
    assert len(hashes) == 3


def test_entries_without_titles_are_registered(app: App) -> None:
    base = f"https://{app.bucket}.s3.us-east-1.amazonaws.com"
    keys = ("benchmark/a/x%201.jpg", "benchmark/b/x%201.jpg", "benchmark/y.jpg")
    document = {"images": [{"objectUrl": f"{base}/{k}"} for k in keys]}
    key = "manifests/benchmark/untitled.json"
    app.upload(key, json.dumps(document).encode())
    for _ in range(6):
        app.pump.drain(function="RegisterFunction")
        app.pump.fire_schedule("RegisterFunction").raise_for_error()

    manifest_id = external_manifest_id(key)
    manifest = repository(app).get_manifest(manifest_id)
    assert manifest["status"] == "registered", manifest
    records = {r.key: r for r in repository(app).objects_in_manifest(manifest_id)}
    assert set(records) == {"benchmark/a/x 1.jpg", "benchmark/b/x 1.jpg", "benchmark/y.jpg"}
    assert {r.status for r in records.values()} == {"registered"}
    names = {k: item_of(app, r.encord["item_uuid"])[0] for k, r in records.items() if r.encord}
    assert names == {
        "benchmark/a/x 1.jpg": "benchmark/a/x 1.jpg",
        "benchmark/b/x 1.jpg": "benchmark/b/x 1.jpg",
        "benchmark/y.jpg": "y.jpg",
    }


def test_titles_are_unique_and_stable() -> None:
    url = "https://b.s3.us-east-1.amazonaws.com/{}"
    document = {
        "images": [
            {"objectUrl": url.format("a/1.jpg")},
            {"objectUrl": url.format("b/1.jpg"), "title": "1.jpg"},
            {"objectUrl": url.format("c/2.jpg"), "title": "same"},
        ],
        "image_groups": [{"title": "same", "objectUrl_0": url.format("g/0.jpg"), "objectUrl_1": url.format("g/1.jpg")}],
    }
    sent, entries = titled(document)
    assert [e.title for e in entries] == ["a/1.jpg", "b/1.jpg", "c/2.jpg", "g/0.jpg"]
    assert [i["title"] for i in sent["images"]] == ["a/1.jpg", "b/1.jpg", "c/2.jpg"]
    assert "title" not in document["images"][0], "the manifest read from S3 is not changed"
    assert titled(document)[1] == entries
    assert [e.single for e in entries] == [True, True, True, False]


@pytest.mark.parametrize("skip_returns_existing", [False, True], ids=["skip-returns-new-rows", "skip-returns-all-rows"])
def test_a_lost_link_items_answer_is_recovered_with_bounded_reads(app: App, skip_returns_existing: bool) -> None:
    with app.double.locked() as state:
        state.settings.link_skip_returns_existing = skip_returns_existing
        others = [f"other-{i}.jpg" for i in range(30)]  # the dataset holds more than this manifest
    for name in others:
        app.upload(f"benchmark/old/{name}", samples.for_key(name, "old"))
    run_until_registered(app)
    keys = [f"benchmark/new/{i}.jpg" for i in range(3)]
    for key in keys:
        app.upload(key, samples.for_key(key, "new"))
    # The link is applied in Encord, but its answer never arrives (link_items is not retried by the SDK).
    app.double.add_fault(FaultRule(endpoint=LINK, kind=FaultKind.DROP, times=1))
    app.double.counts.reset()

    run_until_registered(app)

    records = objects(app)
    assert {records[k].status for k in keys} == {"registered"}
    with app.double.locked() as state:
        units = {u.backing_item_uuid: u.data_hash for u in state.data_units.values()}
    for key in keys:
        encord = records[key].encord
        assert encord is not None
        assert encord["data_hash"] == units[encord["item_uuid"]]
    # a listing per item the link did not return, each filtered by title: never the whole dataset
    assert app.double.counts.get(DATAROWS) == (0 if skip_returns_existing else len(keys))
    assert app.double.counts.get(LINK) == 2


def test_a_link_that_never_succeeds_finishes_the_manifest(app: App) -> None:
    app.upload("production/never-linked.jpg", samples.for_key("never-linked.jpg"))
    app.double.add_fault(FaultRule(endpoint=LINK, status=403))

    run_until_registered(app)

    record = objects(app)["production/never-linked.jpg"]
    assert record.status == "failed"
    assert record.reason is not None
    assert f"after {MAX_LINK_ATTEMPTS} link attempts" in record.reason
    assert "link the item to the dataset in Encord" in record.reason
    assert app.double.counts.get(LINK) == MAX_LINK_ATTEMPTS
    manifest = repository(app).get_manifest(record.manifest_id or "")
    assert manifest["status"] == "partly_failed"


def test_an_integration_encord_does_not_know_fails_the_manifest_with_what_to_check(app: App) -> None:
    with app.double.locked() as state:
        state.integrations.clear()
    app.upload("benchmark/refused.jpg", samples.for_key("refused.jpg"))

    run_until_registered(app)

    record = objects(app)["benchmark/refused.jpg"]
    assert record.status == "failed"
    manifest = repository(app).get_manifest(record.manifest_id or "")
    assert manifest["status"] == "failed"
    assert "AuthorisationError" in manifest["last_error"]
    assert "cloud integration (EncordIntegrationId)" in manifest["reason"]
