"""`benchmark-qa status --audit`: the table checked against the bucket (issue 11): every object version in one
manifest, or skipped/failed/deleted with a reason; nothing stuck; no URL sent twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from benchmark_qa.ingest.urls import object_url
from benchmark_qa_local.audit import DUPLICATED, LOST, UNEXPLAINED, Auditor
from benchmark_qa_local.cli import main

from tests.integration.ingest_pipeline.conftest import World

HOUR = timedelta(hours=1)


def auditor(world: World, *, later: timedelta = timedelta(0)) -> Auditor:
    table = world.repository._table
    return Auditor(table, world.s3, world.bucket_name, ["benchmark", "production"], now=datetime.now(UTC) + later)


def test_a_clean_run_has_no_findings(world: World) -> None:
    world.run(world.put("benchmark/a.jpg"), world.put("production/notes.json", b"{}"))
    world.run(world.put("benchmark/image-groups/g/1.jpg"), world.put("benchmark/image-groups/g/_READY", b""))

    report = auditor(world).run()

    assert report.findings == []
    assert report.objects == 4
    assert report.records["in_manifest"] == 2


def test_an_object_without_a_record_is_lost_once_its_events_had_time(world: World) -> None:
    world.put("benchmark/never-notified.jpg")

    assert auditor(world).run().in_flight == 1
    (finding,) = auditor(world, later=HOUR).run().findings

    assert (finding.kind, finding.key) == (LOST, "benchmark/never-notified.jpg")
    assert "backfill" in finding.detail


def test_a_record_stuck_in_an_intermediate_state_is_unexplained(world: World) -> None:
    ingest = world.ingest()
    ingest.accept(world.put("production/waiting.jpg"))  # recorded, never written: no sweep ran

    assert auditor(world).run().findings == []
    findings = auditor(world, later=2 * HOUR).run().findings

    assert [(f.kind, f.key) for f in findings] == [(UNEXPLAINED, "production/waiting.jpg")]
    assert "pending" in findings[0].detail


def test_a_url_sent_in_two_manifests_is_duplicated(world: World) -> None:
    world.run(world.put("benchmark/twice.jpg"))
    url = object_url(world.bucket_name, "benchmark/twice.jpg", "us-east-1")
    world.repository.create_manifest(
        "copy", dataset="benchmark", manifest_kind="items", s3_key="manifests/benchmark/copy.json"
    )
    world.repository.set_manifest_status("copy", "written", expected=("claimed",))
    world.s3.put_object(
        Bucket=world.bucket_name, Key="manifests/benchmark/copy.json", Body=json.dumps({"images": [{"objectUrl": url}]})
    )

    kinds = {(f.kind, f.key) for f in auditor(world).run().findings}

    assert (DUPLICATED, "benchmark/twice.jpg") in kinds
    assert (UNEXPLAINED, "benchmark/twice.jpg") in kinds  # its record names the other manifest


def test_the_command_prints_the_findings_and_fails(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.run(world.put("benchmark/fine.jpg"))
    table = world.stack.physical_id("StateTable")

    assert main(["status", "--audit", "--table", table, "--bucket", world.bucket_name]) == 0
    assert "lost: 0, duplicated: 0, unexplained: 0" in capsys.readouterr().out
    record = world.repository.object_versions(world.bucket_name, "benchmark/fine.jpg")[0]
    world.repository.set_object_status(record, "failed")  # no reason

    assert main(["status", "--audit", "--table", table, "--bucket", world.bucket_name]) == 1
    out = capsys.readouterr().out
    assert "unexplained: 1" in out
    assert "failed without a reason" in out
