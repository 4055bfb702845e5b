"""Publishing the leaderboard: ReportFunction renders it as HTML, CSV and JSON into the reports bucket, once
under `reports/<generated at>/` (kept) and once under `latest/` (what `benchmark-qa report --open` fetches; the
bucket is versioned, so every earlier `latest` stays readable too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark_qa.leaderboard.csv import render_csv
from benchmark_qa.leaderboard.html import render_html
from benchmark_qa.leaderboard.json import render_json
from benchmark_qa.leaderboard.model import Leaderboard

if TYPE_CHECKING:
    from benchmark_qa.config import ReportSettings
    from benchmark_qa.store.quality import QualityRepository
    from benchmark_qa.store.scores import ScoresRepository

LATEST = "latest"
HISTORY = "reports"
FILES = {
    "html": ("leaderboard.html", "text/html; charset=utf-8"),
    "csv": ("leaderboard.csv", "text/csv; charset=utf-8"),
    "json": ("leaderboard.json", "application/json"),
}


def render_all(board: Leaderboard) -> dict[str, str]:
    return {"html": render_html(board), "csv": render_csv(board, breakdown=True), "json": render_json(board)}


def latest_key(fmt: str = "html") -> str:
    return f"{LATEST}/{FILES[fmt][0]}"


@dataclass
class Published:
    bucket: str
    keys: dict[str, str] = field(default_factory=dict)  # format -> the kept copy's key

    @property
    def latest(self) -> dict[str, str]:
        return {fmt: latest_key(fmt) for fmt in self.keys}


def publish(s3: Any, bucket: str, board: Leaderboard, when: datetime | None = None) -> Published:
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H-%M-%SZ")
    published = Published(bucket)
    for fmt, body in render_all(board).items():
        name, content_type = FILES[fmt]
        data = body.encode("utf-8")
        for key in (f"{HISTORY}/{stamp}/{name}", latest_key(fmt)):
            s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        published.keys[fmt] = f"{HISTORY}/{stamp}/{name}"
    return published


def fetch_latest(s3: Any, bucket: str, folder: Path) -> dict[str, Path]:
    """Download the latest HTML, CSV and JSON into `folder`; returns format -> file."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for fmt, (name, _) in FILES.items():
        body = s3.get_object(Bucket=bucket, Key=latest_key(fmt))["Body"].read()
        (folder / name).write_bytes(body)
        out[fmt] = folder / name
    return out


@dataclass
class ReportRun:
    published: Published
    annotators: int
    tasks: int
    time_entries: int = 0
    time_error: str | None = None
    time_waiting: str | None = None  # no Encord key stored yet (a fresh deploy): what to do
    board: Leaderboard | None = None


def run_report(
    settings: ReportSettings,
    repository: ScoresRepository,
    s3: Any,
    *,
    open_project: Any = None,
    now: datetime | None = None,
    quality: QualityRepository | None = None,
) -> ReportRun:
    """Join Encord's time spent (when a Production Project is set; `open_project(hash)` gives the SDK project),
    read the leaderboard from the aggregates (with the quality records, when given), and publish it. A failure to
    read time from Encord is a note on the page, never a missing report."""
    from benchmark_qa.leaderboard.links import EditorLinks, app_url
    from benchmark_qa.leaderboard.reading import read_leaderboard

    time_entries, time_error, time_waiting = 0, None, None
    if settings.production_project_hash and open_project is not None:
        from benchmark_qa.encord.client import EncordKeyMissing
        from benchmark_qa.encord.time_spent import sync_time_spent

        try:
            project = open_project(settings.production_project_hash)
            time_entries = sync_time_spent(
                project, repository, repository.aggregates(), lookback_days=settings.time_lookback_days, now=now
            )
        except EncordKeyMissing as missing:  # a first deploy waits for the key (docs/setup.md): not a failure
            time_waiting = str(missing)
        except Exception as error:  # Encord down or the key refused: the scores are still worth publishing
            time_error = f"time spent could not be read from Encord ({type(error).__name__}: {error})"
    board = read_leaderboard(
        repository,
        min_tasks=settings.min_tasks,
        links=EditorLinks(app_url(settings.encord_domain), settings.benchmark_project_hash),
        hourly_rate=settings.hourly_rate,
        currency=settings.currency,
        generated_at=now,
    )
    if quality is not None:
        from benchmark_qa.leaderboard.quality import read_quality

        board.quality = read_quality(quality)
    if time_error:
        board.notes.append(time_error)
    if time_waiting:
        board.notes.append(f"time spent is not read from Encord yet: {time_waiting}")
    published = publish(s3, settings.reports_bucket, board, now)
    return ReportRun(published, len(board.annotators), board.tasks, time_entries, time_error, time_waiting, board)
