"""The state table: a boto3 Table created once per process and shared by the repositories."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@cache
def state_table(name: str, region: str | None = None) -> Table:
    """boto3 honours AWS_ENDPOINT_URL, so the same code reaches moto locally and DynamoDB in AWS."""
    import boto3

    return boto3.resource("dynamodb", region_name=region).Table(name)


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


def is_condition_failure(error: Exception) -> bool:
    response = getattr(error, "response", None)
    code = (response or {}).get("Error", {}).get("Code")
    return code in {"ConditionalCheckFailedException", "TransactionCanceledException"}
