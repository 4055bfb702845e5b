"""The store's shared mechanics: the paged read (every page of a Query or Scan, each asked for from where the
last one ended) and the conditional write (a condition that does not hold is an answer, not an error)."""

from __future__ import annotations

from typing import Any

import pytest
from benchmark_qa.store.table import conditional, query, scan
from botocore.exceptions import ClientError


class PagedTable:
    """Answers Query and Scan two items a page, as DynamoDB does when a page fills up."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _page(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, dict(kwargs)))
        start = kwargs.get("ExclusiveStartKey", {}).get("index", 0)
        page: dict[str, Any] = {"Items": self.items[start : start + 2]}
        if start + 2 < len(self.items):
            page["LastEvaluatedKey"] = {"index": start + 2}
        return page

    def query(self, **kwargs: Any) -> dict[str, Any]:
        return self._page("query", kwargs)

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        return self._page("scan", kwargs)


def test_a_query_reads_every_page_from_where_the_last_ended() -> None:
    table = PagedTable([{"sk": str(i)} for i in range(5)])

    items = list(query(table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": "G"}))  # type: ignore[arg-type]

    assert [i["sk"] for i in items] == ["0", "1", "2", "3", "4"]
    assert [c[1].get("ExclusiveStartKey") for c in table.calls] == [None, {"index": 2}, {"index": 4}]
    assert {c[0] for c in table.calls} == {"query"}
    assert all(c[1]["IndexName"] == "gsi1" and c[1]["ExpressionAttributeValues"] == {":g": "G"} for c in table.calls)


def test_a_scan_reads_every_page_and_an_empty_answer_is_one_request() -> None:
    table = PagedTable([{"sk": "a"}, {"sk": "b"}, {"sk": "c"}])

    assert [i["sk"] for i in scan(table, FilterExpression="kind = :k", values={":k": "x"})] == ["a", "b", "c"]  # type: ignore[arg-type]
    assert [c[0] for c in table.calls] == ["scan", "scan"]

    empty = PagedTable([])
    assert list(query(empty, KeyConditionExpression="pk = :p", values={":p": "P"})) == []  # type: ignore[arg-type]
    assert len(empty.calls) == 1


def test_nothing_is_read_until_the_items_are_asked_for() -> None:
    table = PagedTable([{"sk": "a"}])

    items = query(table, KeyConditionExpression="pk = :p", values={":p": "P"})  # type: ignore[arg-type]

    assert table.calls == []
    assert next(items) == {"sk": "a"}


def refusal(code: str, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


def test_a_write_whose_condition_holds_is_made_with_its_request() -> None:
    requests: list[dict[str, Any]] = []

    assert conditional(lambda **r: requests.append(r), Key={"pk": "p"}, ConditionExpression="attribute_exists(pk)")
    assert requests == [{"Key": {"pk": "p"}, "ConditionExpression": "attribute_exists(pk)"}]


@pytest.mark.parametrize(
    "error",
    [
        refusal("ConditionalCheckFailedException"),
        refusal("TransactionCanceledException", ["None", "None", "ConditionalCheckFailed"]),
    ],
)
def test_a_condition_that_does_not_hold_is_false(error: ClientError) -> None:
    def write(**request: Any) -> None:
        raise error

    assert conditional(write, Key={"pk": "p"}) is False


@pytest.mark.parametrize(
    "reasons",
    [
        ["None", "TransactionConflict", "None"],  # another worker was adding to the same aggregate
        ["ConditionalCheckFailed", "ThrottlingError"],
        ["ValidationError"],
        [],
    ],
)
def test_a_transaction_cancelled_for_anything_but_its_condition_is_raised(reasons: list[str]) -> None:
    def write(**request: Any) -> None:
        raise refusal("TransactionCanceledException", reasons)

    with pytest.raises(ClientError):
        conditional(write, TransactItems=[])


def test_any_other_failure_is_raised() -> None:
    def write(**request: Any) -> None:
        raise refusal("ProvisionedThroughputExceededException")

    with pytest.raises(ClientError):
        conditional(write, Key={"pk": "p"})
