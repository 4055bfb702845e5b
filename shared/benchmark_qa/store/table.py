"""The state table: a boto3 Table created once per process and shared by the repositories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@cache
def state_table(name: str, region: str | None = None) -> Table:
    """boto3 honours AWS_ENDPOINT_URL, so the same code reaches moto locally and DynamoDB in AWS. The boto3 Table
    is made on first use: a handler that builds its repositories at import does not import boto3 there."""
    return cast("Table", _LazyTable(name, region))


class _LazyTable:
    def __init__(self, name: str, region: str | None) -> None:
        self._name, self._region = name, region

    @cached_property
    def _table(self) -> Table:
        import boto3

        return boto3.resource("dynamodb", region_name=self._region).Table(self._name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_dynamo(value: Any) -> Any:
    """DynamoDB has no float: numbers go in as Decimal (via str, so 0.1 stays 0.1)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def conditional(write: Callable[..., object], **request: Any) -> bool:
    """Make a conditional write (put, update or delete of an item, or a transaction): False when its condition
    did not hold, any other error raised."""
    try:
        write(**request)
    except Exception as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def _is_condition_failure(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    if code == "TransactionCanceledException":
        # Only a condition that did not hold is an answer. A transaction cancelled for a conflict with another
        # write to the same item (two workers adding to one annotator's aggregates), throttling or a validation
        # error wrote nothing and must fail, so the message is retried instead of the result being lost.
        reasons = {r.get("Code") for r in response.get("CancellationReasons", [])}
        return "ConditionalCheckFailed" in reasons and reasons <= {"ConditionalCheckFailed", "None"}
    return bool(code == "ConditionalCheckFailedException")


def is_conflict(error: Exception) -> bool:
    """A transaction cancelled because another request was changing one of its items: it wrote nothing, and
    trying again is the answer (DynamoDB's TransactionConflict cancellation reason)."""
    response = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    return "TransactionConflict" in {r.get("Code") for r in response.get("CancellationReasons", [])}


def query(table: Table, *, values: dict[str, Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query returns, page after page (`kwargs` are Query's own parameters)."""
    return _pages(table.query, ExpressionAttributeValues=values, **kwargs)


def scan(table: Table, *, values: dict[str, Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Scan returns, page after page (for reports and the status command, never the Lambdas)."""
    return _pages(table.scan, ExpressionAttributeValues=values, **kwargs)


def _pages(read: Callable[..., Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = read(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
