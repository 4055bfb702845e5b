"""Backfill runs: where a backfill of a bucket prefix has got to, so a stopped run resumes.

BACKFILL#<bucket>/<prefix>   BACKFILL   status (running, paused, done), after (every key up to it is
                                        recorded), listed/recorded/skipped/failed/manifests, started_at, updated_at
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchmark_qa.store.table import from_dynamo, now_iso, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class BackfillRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    @staticmethod
    def _key(bucket: str, prefix: str) -> dict[str, str]:
        return {"pk": f"BACKFILL#{bucket}/{prefix}", "sk": "BACKFILL"}

    def get(self, bucket: str, prefix: str) -> dict[str, Any]:
        item = self._table.get_item(Key=self._key(bucket, prefix), ConsistentRead=True).get("Item")
        return from_dynamo(item or {})  # type: ignore[no-any-return]

    def save(self, bucket: str, prefix: str, **attributes: Any) -> None:
        """Write the run's checkpoint (one writer: the run's coordinator)."""
        now = now_iso()
        values = {**attributes, "updated_at": now}
        names = {f"#{k}": k for k in values}
        placeholders = {":kind": "backfill", ":now": now, **{f":{k}": v for k, v in values.items()}}
        self._table.update_item(
            Key=self._key(bucket, prefix),
            UpdateExpression="SET kind = :kind, started_at = if_not_exists(started_at, :now), "
            + ", ".join(f"#{k} = :{k}" for k in values),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_dynamo(placeholders),
        )
