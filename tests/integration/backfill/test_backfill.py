"""`benchmark-qa backfill` on the offline app (template stack on moto, its functions run by the invoker, Encord
double): objects already in the bucket end registered exactly once, as live uploads do, across a crash, a
pause for back-pressure and the live path seeing the same objects. The gate runs 700 objects; `make soak`
runs the issue's 100,000 (docs/soak.md) with moto in a process of its own: moto emulates every request, so the
run is slow (objects/s are in `make bench`), not the code."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator

import pytest
from benchmark_qa.bucket import S3Bucket
from benchmark_qa.ingest.backfill import Backfill, accounted
from benchmark_qa.ingest.items import S3Object
from benchmark_qa.ingest.layout import Layout
from benchmark_qa.store.backfills import BackfillRepository
from benchmark_qa.store.table import state_table
from benchmark_qa.store.uploads import UploadsRepository
from benchmark_qa_local import samples
from benchmark_qa_local.aws_calls import counted
from benchmark_qa_local.cli import main

from .conftest import App, check_exactly_once, register_all, upload

pytestmark = pytest.mark.integration

generated = samples.generated_bucket


def backfill(app: App, bucket: S3Bucket | None = None, **options: object) -> Backfill:
    table = state_table(app.stack.physical_id("StateTable"))
    return Backfill(
        UploadsRepository(table),
        BackfillRepository(table),
        bucket or S3Bucket(app.bucket),
        Layout(),
        app.stack.region,
        **options,  # type: ignore[arg-type]
    )


class CrashingBucket(S3Bucket):
    """The listing breaks after `pages` pages: the run stops, its checkpoint keeps what is done."""

    def __init__(self, name: str, pages: int) -> None:
        super().__init__(name)
        self.left = pages

    def pages(self, prefix: str, start_after: str = "", page_size: int = 1000) -> Iterator[list[S3Object]]:
        for page in super().pages(prefix, start_after, page_size):
            if self.left == 0:
                raise ConnectionError("listing interrupted")
            self.left -= 1
            yield page


def moto_peak_mib(app: App) -> float:
    """Peak resident memory of the moto server process (VmHWM), 0 when moto runs in this process."""
    pid = app.stack.moto_pid
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/status") as status:
        peak = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0")
    return int(peak) / 1024


def run_scenario(
    app: App, n: int, *, live_overlap: bool, page_size: int, report: bool = False, workers: int = 2
) -> None:
    files = generated(n)
    started = time.perf_counter()
    upload(app, files, notify=live_overlap)
    uploaded = time.perf_counter()

    # A crash after the first page, then the CLI resumes after the checkpoint.
    with counted() as (calls, units):
        with pytest.raises(ConnectionError):
            backfill(app, CrashingBucket(app.bucket, 1), workers=workers, page_size=page_size).run()
        checkpoint = BackfillRepository(state_table(app.stack.physical_id("StateTable"))).get(app.bucket, "")
        assert checkpoint["status"] == "running"
        assert checkpoint["after"]
        table = app.stack.physical_id("StateTable")
        argv = ["backfill", f"s3://{app.bucket}", "--table", table, "--workers", str(workers)]
        argv += ["--page-size", str(page_size)]
        assert main(argv) == 0
    backfilled = time.perf_counter()
    assert all(status is not None for _, status in accounted(app.uploads, S3Bucket(app.bucket), "", Layout()))
    assert app.uploads.get_objects([(app.bucket, "production/none.jpg", "no-etag")]) == {}, "nothing is made up"

    if report:  # the soak run's measurements (docs/backfill.md), the backfill's as soon as it is done
        seconds = backfilled - uploaded
        print(
            f"\nbackfill of {n:,} objects: {n / seconds:,.1f} objects/s ({seconds:,.0f} s, {workers} workers,"
            f" {n / seconds / workers:,.1f} per worker, crash + resume), every object recorded;"
            f" upload {uploaded - started:,.0f} s\n"
            "AWS requests per object (backfill): "
            + ", ".join(f"{k} {v / n:.3f}" for k, v in sorted(calls.items()))
            + f", transaction items {units['transact_items'] / n:.3f}",
            flush=True,
        )

    encord_before = sum(app.double.counts.snapshot().values())
    register_all(app)
    if live_overlap:  # the ManifestFunction now gets every object's notification: each one is a repeat
        app.pump.drain(function="ManifestFunction")
        register_all(app)
    registered = time.perf_counter()
    check_exactly_once(app, files)
    if report:
        print(
            f"registration {registered - backfilled:,.0f} s, every object registered exactly once;"
            f" whole test {time.perf_counter() - started:,.0f} s\n"
            f"Encord requests (registration): {sum(app.double.counts.snapshot().values()) - encord_before:,};"
            f" peak memory of the test process (the double, the functions): "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB, of the moto server process:"
            f" {moto_peak_mib(app):,.0f} MiB",
            flush=True,
        )
    # Run again: done, nothing to do.
    assert main(["backfill", f"s3://{app.bucket}", "--table", table]) == 0


def test_backfill_registers_each_object_exactly_once(app: App) -> None:
    # 150 objects (every kind the generated bucket makes) in pages of 50: a crash after the first page, the resume
    # and the live path's overlap, small enough for the gate on a busy machine (400 took over 300 s at load 15-20).
    run_scenario(app, 150, live_overlap=True, page_size=50)


@pytest.mark.soak
@pytest.mark.timeout(4 * 3600)
def test_backfill_of_100000_objects_registers_each_exactly_once(soak_app: App) -> None:
    # BACKFILL_SOAK_OBJECTS runs it smaller (a quicker look at scale); the number is the default.
    n = int(os.environ.get("BACKFILL_SOAK_OBJECTS", "100000"))
    workers = int(os.environ.get("BACKFILL_SOAK_WORKERS", "2"))
    run_scenario(soak_app, n, live_overlap=False, page_size=1000, report=True, workers=workers)


def test_back_pressure_pauses_the_run_and_a_rerun_resumes(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    files = generated(300)
    upload(app, files, notify=False)
    table = app.stack.physical_id("StateTable")
    argv = ["backfill", f"s3://{app.bucket}", "--table", table, "--workers", "1", "--page-size", "100"]
    assert main([*argv, "--max-waiting-manifests", "1", "--wait-seconds", "0"]) == 1
    assert "paused" in capsys.readouterr().out
    waiting = [m for s in ("written", "starting", "uploading") for m in app.uploads.manifests_with_status(s)]
    assert waiting, "paused with manifests waiting for Encord"
    register_all(app)
    assert main([*argv, "--max-waiting-manifests", "50"]) == 0
    out = capsys.readouterr().out
    assert "done" in out
    assert "resumed after" in out
    register_all(app)
    check_exactly_once(app, files)


def test_backfill_arguments_are_checked_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backfill", "gs://bucket/x", "--table", "t"]) == 2
    assert "write s3://BUCKET" in capsys.readouterr().err
    assert main(["backfill", "s3://bucket", "--table", "t", "--page-size", "5000"]) == 2
    assert "--page-size 1..1000" in capsys.readouterr().err
