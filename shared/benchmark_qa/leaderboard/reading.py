"""The leaderboard from the state table: the aggregates with their ledgers (a few items per annotator and day)
and only the results the drill-down shows, never every result. With `since`, the results of that window are
read instead (a key range per annotator) and folded the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Unpack

from benchmark_qa.leaderboard.build import Options, assemble, ledger_notes, worst_keys
from benchmark_qa.leaderboard.model import Leaderboard
from benchmark_qa.store.scores import ScoresRepository, aggregate_results


def read_leaderboard(
    repository: ScoresRepository, *, since: datetime | None = None, **options: Unpack[Options]
) -> Leaderboard:
    aggregates = repository.aggregates()
    notes = ledger_notes(aggregates)
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        window = [r for a in aggregates for r in repository.results_since(a.annotator, since)]
        aggregates, notes = aggregate_results(window), []
    drill = {(r.annotator, r.key): r for r in repository.results_of(worst_keys(aggregates))}
    options.setdefault("open_errors", len(repository.errors()))
    return assemble(aggregates, results=drill, since=since, notes=notes, **options)
