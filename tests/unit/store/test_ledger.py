"""The leaderboard's evidence in the state table: what put_result leaves (aggregate counters and the week ledger)
is exactly what aggregate_results folds in memory from the same results, repeats add nothing, and the reads the
drill-down and `--since` need return only what they ask for. In-process moto (no sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from benchmark_qa.store.scores import (
    ClassCounts,
    Contended,
    ReplacementTooLarge,
    ScoresRepository,
    aggregate_results,
    result_writes,
)
from benchmark_qa.task_details import ChoiceCount, SizeCounts, TaskDetails
from benchmark_qa_local import moto_dynamodb
from benchmark_qa_local.template import SamTemplate
from moto import mock_aws

from tests.unit.leaderboard.conftest import result

DETAILS = TaskDetails(
    confusion={"Car": {"Car": 3, "Truck": 1}, "unmatched": {"Truck": 2}},
    sizes={"small": SizeCounts(tp=1, fn=2), "large": SizeCounts(tp=3, fp=1)},
    choices=[ChoiceCount(path="Car/colour", truth="red", labels="blue", frames=2)],
)


TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


@pytest.fixture
def repository(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScoresRepository]:
    """The state table as template.yaml declares it (keys and index), in in-process moto."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    declared = SamTemplate.load(TEMPLATE).properties("StateTable")
    moto_dynamodb.install()  # as the local stack runs it: a transaction copies only the items it touches
    with mock_aws():
        table: Any = boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName="state",
            BillingMode="PAY_PER_REQUEST",
            **{k: declared[k] for k in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes")},
        )
        yield ScoresRepository(table)


def rounded(value: Any) -> Any:
    """DynamoDB adds decimals, Python floats: equal to 9 digits."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def results() -> list[Any]:
    return [
        result(
            "a",
            0.9,
            at="2025-03-03T10:00:00.000+00:00",
            classes={"Car": (3, 0, 1, 2.4)},
            item="x",
            details=DETAILS,
            hints=["missed Car on 2 frames"],
            conflicts={"missing": 2},
            attributes={"Car/colour": (1, 2)},
        ),
        result(
            "a",
            0.5,
            at="2025-03-03T23:30:00.000-05:00",
            classes={"Truck": (1, 2, 0, 0.7)},
            item="y",
            hints=["missed Car on 1 frame", "confused Car and Truck on 3 frames"],
            conflicts={"extra": 1},
        ),
        result(
            "b", 0.7, at="2025-03-04T09:00:00.000+00:00", classes={"Car": (2, 1, 1, 1.5)}, item="x", details=DETAILS
        ),
    ]


def test_stored_aggregates_are_the_in_memory_fold(repository: ScoresRepository) -> None:
    written = results()
    assert all(repository.put_result(r) for r in written)
    assert not repository.put_result(written[0]), "a repeat adds nothing"

    stored = {a.annotator: a for a in repository.aggregates()}
    folded = {a.annotator: a for a in aggregate_results([*written, written[0]])}

    assert stored.keys() == folded.keys() == {"a", "b"}
    for name, aggregate in stored.items():
        s, f = rounded(aggregate.model_dump()), rounded(folded[name].model_dump())
        s.pop("last_scored_at"), f.pop("last_scored_at")  # the last write, which differs by order only
        assert s == f, name
    a = stored["a"]
    assert a.confusion == {"Car": {"Car": 3, "Truck": 1}, "unmatched": {"Truck": 2}}
    assert (a.sizes["small"].tp, a.sizes["small"].fn, a.sizes["large"].fp) == (1, 2, 1)
    assert a.choices == {"Car/colour": {"red": {"blue": 2}}}
    assert a.hints == {"missed Car": 2, "confused Car and Truck": 1}, "a hint counts once per task"
    assert [(e.data_hash, e.score, e.correct) for e in a.entries] == [("x", 0.9, 3), ("y", 0.5, 1)]
    assert stored["b"].confusion["unmatched"] == {"Truck": 2}


def test_the_ledger_files_results_by_their_utc_week(repository: ScoresRepository) -> None:
    written = [*results(), result("a", 0.4, at="2025-03-09T23:30:00.000-01:00", item="z")]  # Monday 10 March, UTC
    for r in written:
        repository.put_result(r)
    table: Any = repository._table
    weeks = {(i["pk"], i["sk"]): len(i["ledger"]) for i in table.scan()["Items"] if i["sk"].startswith("WEEK#")}
    assert weeks == {
        ("AGGREGATE#a", "WEEK#2025-03-03"): 2,
        ("AGGREGATE#a", "WEEK#2025-03-10"): 1,
        ("AGGREGATE#b", "WEEK#2025-03-03"): 1,
    }


def test_the_drill_down_reads_only_the_results_it_names(repository: ScoresRepository) -> None:
    written = results()
    for r in written:
        repository.put_result(r)

    found = repository.results_of([("a", written[1].key), ("b", written[2].key), ("a", written[1].key)])

    assert sorted((r.annotator, r.task_uuid) for r in found) == [
        ("a", written[1].task_uuid),
        ("b", written[2].task_uuid),
    ]
    assert next(r for r in found if r.annotator == "b").details == DETAILS
    assert repository.results_of([]) == []


def test_since_reads_the_window_by_instant(repository: ScoresRepository) -> None:
    written = results()
    for r in written:
        repository.put_result(r)
    since = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)
    # "2025-03-03T23:30-05:00" sorts before the bound as text, but is 04:30 UTC on 4 March: inside the window.
    assert [r.score for r in repository.results_since("a", since)] == [0.5]
    assert [r.score for r in repository.results_since("b", since)] == [0.7]


def test_seconds_are_set_absolutely_per_day_and_summed_per_result(repository: ScoresRepository) -> None:
    written = results()
    for r in written:
        repository.put_result(r)
    entry = next(a for a in repository.aggregates() if a.annotator == "a").entries[0]

    assert repository.record_seconds("a", entry, "2025-03-02", 100.0)
    assert repository.record_seconds("a", entry, "2025-03-03", 50.0)
    assert repository.record_seconds("a", entry, "2025-03-03", 50.0), "a repeat sets the same value again"
    ghost = entry.model_copy(update={"task_uuid": "no-such-task"})
    assert not repository.record_seconds("a", ghost, "2025-03-03", 9.0), "no result, no time"

    a = next(a for a in repository.aggregates() if a.annotator == "a")
    assert [e.seconds for e in a.entries] == [150.0, None]


def big_results() -> list[Any]:
    """Results with more tallies than one transaction takes: 110 classes, 20 attribute paths, 121 confusion
    counters (before issue 11, aggregates kept 95 class/attribute rows and 200 counters and dropped the rest;
    sizes kept small: moto takes tens of milliseconds per update)."""
    many = TaskDetails(confusion={f"class{i}": {f"class{j}": 1 for j in range(11)} for i in range(11)})
    classes = {f"class{i}": (1, 0, 1, 0.5) for i in range(110)}
    attributes = {f"class{i}/colour": (1, 2) for i in range(20)}
    return [
        result("a", 0.5, classes=classes, attributes=attributes, details=many, conflicts={"missing": 3}),
        result("a", 0.7, classes=classes, details=many, conflicts={"extra": 1}),
        result("b", 0.9, classes={"Car": (1, 0, 0, 0.9)}),
    ]


def assert_exact(repository: ScoresRepository, written: list[Any]) -> None:
    """The stored aggregates equal the fold of the stored results, every class, attribute and counter."""
    stored = {a.annotator: rounded(a.model_dump()) for a in repository.aggregates()}
    folded = {a.annotator: rounded(a.model_dump()) for a in aggregate_results(repository.results())}
    for aggregate in [*stored.values(), *folded.values()]:
        aggregate.pop("last_scored_at")
    assert stored == folded
    assert len(stored) == len({r.annotator for r in written})


def test_a_result_with_more_tallies_than_a_transaction_is_counted_whole(repository: ScoresRepository) -> None:
    written = big_results()
    assert len(result_writes(written[0])) > 100
    assert all(repository.put_result(r) for r in written)
    assert not any(repository.put_result(r) for r in written), "a repeat adds nothing"

    assert_exact(repository, written)
    a = next(x for x in repository.aggregates() if x.annotator == "a")
    assert len(a.classes) == 110
    assert a.classes["class109"].fn == 2
    assert len(a.attributes) == 20
    assert sum(len(row) for row in a.confusion.values()) == 121
    assert a.confusion["class10"]["class10"] == 2
    assert a.conflicts == {"missing": 3, "extra": 1}
    table: Any = repository._table
    assert not [i for i in table.scan()["Items"] if i["kind"] == "score_pending"], "no marker left"


class Killed(BaseException):
    """The invocation dies here."""


def test_a_kill_between_a_result_and_its_remaining_tallies_is_completed_once(repository: ScoresRepository) -> None:
    """Issue 11: a kill between a result and its tallies lost the tallies for good. The marker written with the
    result names what is left; the next run's complete_pending (or a retry of the result) adds it once."""
    written = big_results()
    transact = ScoresRepository._transact
    calls = 0

    def die_after_the_first(self: ScoresRepository, writes: list[dict[str, Any]]) -> bool:
        nonlocal calls
        calls += 1
        if calls in (2, 4):  # each of the two big results after its first transaction (of two)
            raise Killed
        return transact(self, writes)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ScoresRepository, "_transact", die_after_the_first)
        for r in written[:2]:
            with pytest.raises(Killed):
                repository.put_result(r)
    assert repository.put_result(written[2])
    a = next(x for x in repository.aggregates() if x.annotator == "a")
    assert len(a.classes) < 110, "the kills left tallies out"

    assert not repository.put_result(written[0]), "the retried result is a repeat, and completes its own tallies"
    assert repository.complete_pending() == 1, "the next run completes the other"
    assert repository.complete_pending() == 0

    assert_exact(repository, written)


def conflicting(repository: ScoresRepository, calls: range) -> None:
    """TransactWriteItems calls numbered in `calls` (from 1) are cancelled as DynamoDB cancels a transaction that
    another request's write to one of its items overlapped (TransactionConflict: nothing written)."""
    client: Any = repository._table.meta.client
    seen: list[int] = []

    class Answer:
        status_code = 400

    def cancel(**kwargs: Any) -> Any:
        seen.append(1)
        if len(seen) not in calls:
            return None
        error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
        return Answer(), {"Error": error, "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]}

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", cancel)


def test_a_conflicting_transaction_is_retried(repository: ScoresRepository) -> None:
    quick = ScoresRepository(repository._table, conflict_backoff=0)
    conflicting(quick, range(1, 4))

    assert quick.put_result(results()[0])

    assert [a.tasks for a in quick.aggregates()] == [1]


def test_a_transaction_that_keeps_conflicting_raises_contended(repository: ScoresRepository) -> None:
    quick = ScoresRepository(repository._table, conflict_backoff=0)
    conflicting(quick, range(1, 100))

    with pytest.raises(Contended):
        quick.put_result(results()[0])
    assert quick.aggregates() == [], "nothing written"


def test_rebuilding_from_the_results_gives_what_put_result_left(repository: ScoresRepository) -> None:
    written = results()
    for r in written:
        repository.put_result(r)
    before = {a.annotator: rounded(a.model_dump()) for a in repository.aggregates()}

    repository.rebuild_aggregates(list(repository.results()))

    after = {a.annotator: rounded(a.model_dump()) for a in repository.aggregates()}
    for name, aggregate in before.items():
        aggregate.pop("last_scored_at"), after[name].pop("last_scored_at")
    assert after == before


def test_a_later_total_for_the_same_day_replaces_the_earlier_one(repository: ScoresRepository) -> None:
    repository.put_result(results()[0])
    entry = repository.aggregates()[0].entries[0]
    assert repository.record_seconds("a", entry, "2025-03-03", 50.0)
    entry = repository.aggregates()[0].entries[0]

    assert repository.record_seconds("a", entry, "2025-03-03", 80.0)

    table: Any = repository._table
    day = next(i for i in table.scan()["Items"] if i["sk"] == "WEEK#2025-03-03")
    assert len(day["time"]) == 1, "the earlier value was removed"
    assert repository.aggregates()[0].entries[0].days == {"2025-03-03": 80.0}


def test_replacing_a_result_leaves_what_putting_the_new_one_would(repository: ScoresRepository) -> None:
    """A reviewed ground-truth flag re-scores a task with other objects left out (docs/annotator-quality.md): the
    aggregates and the ledger end as if the new result had been put in the first place, once."""
    written = results()
    for r in written:
        repository.put_result(r)
    old = written[0]
    new = old.model_copy(  # the flagged object left out: one miss fewer (the drill-down's details are kept)
        update={"score": 0.95, "classes": {"Car": ClassCounts(tp=3, similarity_sum=2.6)}, "excluded_flags": ["f1"]}
    )
    assert repository.replace_result(old, new)
    assert not repository.replace_result(old, new), "a repeat changes nothing"

    kept = new.model_copy(update={"scored_at": old.scored_at})  # keeps its place in the history
    stored = next(a for a in repository.aggregates() if a.annotator == "a")
    folded = next(a for a in aggregate_results([kept, written[1]]) if a.annotator == "a")
    s, f = rounded(stored.model_dump()), rounded(folded.model_dump())
    s.pop("last_scored_at"), f.pop("last_scored_at")
    assert s == f
    assert (stored.entries[0].score, stored.entries[0].scored_at) == (0.95, old.scored_at)
    assert repository.results_of_task(old.task_uuid)[0].excluded_flags == ["f1"]


def test_a_replacement_too_large_for_one_transaction_changes_nothing(repository: ScoresRepository) -> None:
    """Re-scoring that would move more aggregate rows than one transaction takes is refused whole (it used to be
    cut to fit, leaving the sums wrong): the stored result and the aggregates stay exactly as they were."""
    old = big_results()[0]
    repository.put_result(old)
    before = rounded(repository.aggregates()[0].model_dump())
    new = old.model_copy(  # every class changes: more rows than one transaction
        update={"classes": {name: ClassCounts(tp=2) for name in old.classes}, "excluded_flags": ["f1"]}
    )
    with pytest.raises(ReplacementTooLarge, match="more than one DynamoDB transaction"):
        repository.replace_result(old, new)
    assert rounded(repository.aggregates()[0].model_dump()) == before
    assert repository.results_of_task(old.task_uuid)[0].excluded_flags == []
    assert_exact(repository, [old])
