"""Uploaded objects, multi-file items (groups) and manifests.

Keys (pk / sk) and the gsi1 access patterns this repository owns:

  OBJECT#<bucket>/<key>   V#<versionId or eTag>    one uploaded object version; its status:
      pending      single item waiting for a manifest         gsi1: PENDING / <received_at>#<key>
      pending      member of an open multi-file item           gsi1: GROUP#<group id> / <key>
      claimed      taken by manifest M, not yet written        gsi1: MANIFEST#<M> / <key>
      in_manifest  written into manifest M                     gsi1: MANIFEST#<M> / <key>
      registered   Encord created the item (hashes attached)   gsi1: MANIFEST#<M> / <key>
      skipped      never goes to Encord (reason says why)      gsi1: ATTENTION / <time>#<key>
      failed       needs the user (reason says what to do)     gsi1: ATTENTION / <time>#<key>
      sidecar      metadata file, read when its item is built  (no gsi1)
      marker       a group's ready marker                      (no gsi1)
      deleted      removed before it reached a manifest        (no gsi1)
  GROUP#<group id>        GROUP                    a multi-file item; open -> claimed -> in_manifest
      open groups                                              gsi1: GROUP_OPEN / <last upload time>
  MANIFEST#<M>            MANIFEST                 a manifest written to S3 (status claimed, written, ...)
      by status                                                gsi1: MANIFEST_STATUS#<status> / <created_at>
  MANIFEST#<M>            CLOSE#<n>                a typed page of a group's listing, kept while its close goes on
  MANIFEST#<M>            ENTRIES#<first index>    a finish chunk of the manifest's entries as sent, kept at its start

Every write that moves an object or a group is conditional on its current status, so repeated or
concurrent events (S3 and SQS deliver at least once) can never put one object into two manifests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from benchmark_qa.store.table import conditional, from_dynamo, now_iso, query, scan, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

ObjectStatus = Literal[
    "pending", "claimed", "in_manifest", "registered", "skipped", "failed", "sidecar", "marker", "deleted"
]
ATTENTION = "ATTENTION"
PENDING = "PENDING"
GROUP_OPEN = "GROUP_OPEN"


# DynamoDB's limit on a sort key, an index's included. S3 keys reach 1,024 bytes, so "<time>#<key>" may not fit.
MAX_SORT_KEY_BYTES = 1024


def time_indexed(index: str, key: str) -> tuple[str, str]:
    """A gsi1 entry (index, "<now>#<key>") whose sort key fits DynamoDB's limit: a long key is cut (at a character
    boundary) in the index only, which orders by time; the item's own pk keeps the key whole."""
    sort = f"{now_iso()}#{key}"
    encoded = sort.encode("utf-8")
    if len(encoded) > MAX_SORT_KEY_BYTES:
        sort = encoded[:MAX_SORT_KEY_BYTES].decode("utf-8", errors="ignore")
    return index, sort


def object_pk(bucket: str, key: str) -> str:
    return f"OBJECT#{bucket}/{key}"


def group_pk(group_id: str) -> str:
    return f"GROUP#{group_id}"


def manifest_pk(manifest_id: str) -> str:
    return f"MANIFEST#{manifest_id}"


@dataclass(frozen=True)
class ObjectRecord:
    bucket: str
    key: str
    version: str
    status: str
    size: int = 0
    etag: str | None = None
    version_id: str | None = None
    content_type: str | None = None
    dataset: str | None = None
    data_type: str | None = None
    role: str | None = None
    group_id: str | None = None
    manifest_id: str | None = None
    reason: str | None = None
    unreadable: str | None = None  # the S3 error code when S3 could not serve it (e.g. InvalidObjectState)
    received_at: str = ""
    updated_at: str = ""
    encord: dict[str, Any] | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ObjectRecord:
        names = cls.__dataclass_fields__
        return cls(**{k: from_dynamo(v) for k, v in item.items() if k in names})


@dataclass(frozen=True)
class Outcome:
    """Where registration leaves one object: registered (with its Encord hashes), failed or skipped (with why)."""

    record: ObjectRecord
    status: ObjectStatus
    reason: str | None = None
    encord: dict[str, Any] | None = None


class UploadsRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    # ------------------------------------------------------------------ objects
    def record_object(self, **fields: Any) -> bool:
        """Insert an object version once (`object_put`'s fields). False when it was already recorded (a repeat)."""
        (created,) = self.record_objects([object_put(**fields)])
        return created

    def record_objects(self, puts: list[ObjectPut]) -> list[bool]:
        """Insert object versions once each, in transactions of up to 100 (one request instead of 100): for each,
        False when it was already recorded. Keys must differ."""
        return self._each_once([("Put", put.request) for put in puts])

    def get_object(self, bucket: str, key: str, version: str) -> ObjectRecord | None:
        item = self._table.get_item(Key={"pk": object_pk(bucket, key), "sk": f"V#{version}"}, ConsistentRead=True).get(
            "Item"
        )
        return ObjectRecord.from_item(item) if item else None

    def get_objects(self, identities: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], ObjectRecord]:
        """`get_object` for many (bucket, key, version): BatchGetItem, 100 keys a request (strongly consistent),
        unprocessed keys asked again. Only the recorded ones are in the answer."""
        client: Any = self._table.meta.client  # the resource client takes plain Python values
        found: dict[tuple[str, str, str], ObjectRecord] = {}
        wanted = [{"pk": object_pk(b, k), "sk": f"V#{v}"} for b, k, v in dict.fromkeys(identities)]
        for start in range(0, len(wanted), BATCH_GET_ITEMS):
            request: dict[str, Any] = {
                self._table.name: {"Keys": wanted[start : start + BATCH_GET_ITEMS], "ConsistentRead": True}
            }
            while request:
                answer = client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table.name, []):
                    record = ObjectRecord.from_item(item)
                    found[(record.bucket, record.key, record.version)] = record
                request = answer.get("UnprocessedKeys") or {}
        return found

    def object_versions(self, bucket: str, key: str) -> list[ObjectRecord]:
        """Every recorded version of a key, newest upload first."""
        items = query(self._table, KeyConditionExpression="pk = :pk", values={":pk": object_pk(bucket, key)})
        records = [ObjectRecord.from_item(i) for i in items]
        return sorted(records, key=lambda r: r.received_at, reverse=True)

    def set_object_status(
        self,
        record: ObjectRecord,
        status: ObjectStatus,
        *,
        expected: tuple[str, ...] | None = None,
        reason: str | None = None,
        manifest_id: str | None = None,
        gsi1: tuple[str, str] | None = None,
        encord: dict[str, Any] | None = None,
        unreadable: str | None = None,
    ) -> bool:
        """Move an object to `status`; with `expected`, only from one of those statuses."""
        update = _status_update(record, status, expected, reason, manifest_id, gsi1, encord, unreadable)
        (moved,) = self._each_once([("Update", update)])
        return moved

    def set_objects_status(
        self,
        records: list[ObjectRecord],
        status: ObjectStatus,
        *,
        expected: tuple[str, ...],
        manifest_id: str | None = None,
        gsi1: Callable[[ObjectRecord], tuple[str, str]] | None = None,
        reason: str | None = None,
    ) -> list[bool]:
        """`set_object_status` for many objects (distinct keys), in transactions of up to 100."""
        updates = [
            ("Update", _status_update(r, status, expected, reason, manifest_id, gsi1(r) if gsi1 else None))
            for r in records
        ]
        return self._each_once(updates)

    def _each_once(self, writes: list[tuple[str, dict[str, Any]]]) -> list[bool]:
        """Conditional writes, as transactions of up to 100; when one is cancelled (a condition that did not
        hold, a conflict), its writes are made one by one, so each gets its own answer."""
        results: list[bool] = []
        client: Any = self._table.meta.client  # the resource client takes plain Python values
        for start in range(0, len(writes), TRANSACTION_ITEMS):
            chunk = writes[start : start + TRANSACTION_ITEMS]
            if len(chunk) > 1 and _transaction(client, [{op: {"TableName": self._table.name, **r}} for op, r in chunk]):
                results += [True] * len(chunk)
                continue
            for op, request in chunk:
                write = self._table.put_item if op == "Put" else self._table.update_item
                results.append(conditional(write, **request))
        return results

    def set_outcomes(self, outcomes: list[Outcome], *, manifest_id: str | None = None, create: bool = False) -> None:
        """Write registration's outcomes, in transactions of up to 100. `create`: the records of a manifest written
        by hand, which only registration writes: each is put whole (a redone step writes the same item again)."""

        def index(o: Outcome) -> tuple[str, str]:
            if o.status == "registered":
                return (manifest_pk(manifest_id or o.record.manifest_id or ""), o.record.key)
            return time_indexed(ATTENTION, o.record.key)

        if not create:
            self._each_once(
                [
                    ("Update", _status_update(o.record, o.status, None, o.reason, manifest_id, index(o), o.encord))
                    for o in outcomes
                ]
            )
            return
        puts = [
            (
                "Put",
                object_put(
                    bucket=o.record.bucket,
                    key=o.record.key,
                    version=o.record.version,
                    status=o.status,
                    gsi1=index(o),
                    role=o.record.role,
                    manifest_id=manifest_id,
                    reason=o.reason,
                    encord=o.encord,
                    only_new=False,
                ).request,
            )
            for o in outcomes
        ]
        self._each_once(puts)

    def pending_singles(self, older_than: str | None = None) -> Iterator[ObjectRecord]:
        condition = "gsi1pk = :p" + (" AND gsi1sk < :t" if older_than else "")
        values = {":p": PENDING, **({":t": older_than} if older_than else {})}
        for item in query(self._table, IndexName="gsi1", KeyConditionExpression=condition, values=values):
            yield ObjectRecord.from_item(item)

    def objects_in_manifest(self, manifest_id: str) -> list[ObjectRecord]:
        items = query(
            self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :m", values={":m": manifest_pk(manifest_id)}
        )
        return [ObjectRecord.from_item(i) for i in items]

    def group_members(self, group_id: str) -> list[ObjectRecord]:
        """Members recorded at their upload that still wait in the open group."""
        items = query(
            self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", values={":g": group_pk(group_id)}
        )
        return [ObjectRecord.from_item(i) for i in items]

    def bad_messages(self) -> list[dict[str, str]]:
        """Queue messages that were not S3 notifications (`record_bad_message`), oldest first."""
        items = query(self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :a", values={":a": ATTENTION})
        return [
            {"message_id": i["pk"].removeprefix("MESSAGE#"), "received_at": i["received_at"], "reason": i["reason"]}
            for i in items
            if i.get("kind") == "bad_message"
        ]

    def all_objects(self) -> Iterator[ObjectRecord]:
        """Every object record (a scan: for the status command, not for the Lambdas)."""
        for item in scan(self._table, FilterExpression="kind = :k", values={":k": "object"}):
            yield ObjectRecord.from_item(item)

    # ------------------------------------------------------------------ groups (multi-file items)
    def touch_group(self, group_id: str, *, dataset: str, data_type: str, title: str, prefix: str) -> str:
        """Note an upload into a group; returns the group's status. A closed group stays closed."""
        now = now_iso()
        touched = conditional(
            self._table.update_item,
            Key={"pk": group_pk(group_id), "sk": "GROUP"},
            UpdateExpression=(
                "SET #s = if_not_exists(#s, :open), kind = :k, dataset = :d, data_type = :t, title = :ti, "
                "prefix = :p, last_upload_at = :now, gsi1pk = :g, gsi1sk = :now, "
                "created_at = if_not_exists(created_at, :now)"
            ),
            ConditionExpression="attribute_not_exists(#s) OR #s IN (:open, :ready)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":open": "open",
                ":ready": "ready",
                ":k": "group",
                ":d": dataset,
                ":t": data_type,
                ":ti": title,
                ":p": prefix,
                ":now": now,
                ":g": GROUP_OPEN,
            },
        )
        if not touched:
            return str(self.get_group(group_id).get("status", "claimed"))
        return "open"

    def get_group(self, group_id: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"pk": group_pk(group_id), "sk": "GROUP"}, ConsistentRead=True)
        return from_dynamo(item.get("Item") or {})  # type: ignore[no-any-return]

    def mark_group_ready(self, group_id: str) -> None:
        """A ready marker arrived: the group closes at the end of this batch (or at the next sweep)."""
        conditional(
            self._table.update_item,
            Key={"pk": group_pk(group_id), "sk": "GROUP"},
            UpdateExpression="SET #s = :ready, ready_at = :now",
            ConditionExpression="#s = :open",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":ready": "ready", ":open": "open", ":now": now_iso()},
        )

    def claim_group(self, group_id: str, manifest_id: str) -> bool:
        """Close a group for one manifest; only one caller can win."""
        return conditional(
            self._table.update_item,
            Key={"pk": group_pk(group_id), "sk": "GROUP"},
            UpdateExpression="SET #s = :c, manifest_id = :m, closed_at = :now REMOVE gsi1pk, gsi1sk",
            ConditionExpression="#s IN (:open, :ready)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":c": "claimed",
                ":m": manifest_id,
                ":now": now_iso(),
                ":open": "open",
                ":ready": "ready",
            },
        )

    def set_group_status(self, group_id: str, status: str) -> None:
        self._table.update_item(
            Key={"pk": group_pk(group_id), "sk": "GROUP"},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status},
        )

    def quiet_groups(self, last_upload_before: str) -> list[dict[str, Any]]:
        items = query(
            self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :g AND gsi1sk < :t",
            values={":g": GROUP_OPEN, ":t": last_upload_before},
        )
        return [from_dynamo(i) for i in items]

    # ------------------------------------------------------------------ manifests
    def create_manifest(self, manifest_id: str, **attributes: Any) -> None:
        now = now_iso()
        self._table.put_item(
            Item=to_dynamo(
                {
                    "pk": manifest_pk(manifest_id),
                    "sk": "MANIFEST",
                    "kind": "manifest",
                    "manifest_id": manifest_id,
                    "status": "claimed",
                    "created_at": now,
                    "updated_at": now,
                    "gsi1pk": "MANIFEST_STATUS#claimed",
                    "gsi1sk": now,
                    **{k: v for k, v in attributes.items() if v is not None},
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_manifest(self, manifest_id: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"pk": manifest_pk(manifest_id), "sk": "MANIFEST"}, ConsistentRead=True)
        return from_dynamo(item.get("Item") or {})  # type: ignore[no-any-return]

    def set_manifest_status(
        self, manifest_id: str, status: str, *, expected: tuple[str, ...] | None = None, **attributes: Any
    ) -> bool:
        now = now_iso()
        values: dict[str, Any] = {":s": status, ":u": now, ":g": f"MANIFEST_STATUS#{status}"}
        sets = ["#s = :s", "updated_at = :u", "gsi1pk = :g", "gsi1sk = :u"]
        for name, value in attributes.items():
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = value
        condition = _exists_with_status(expected, values)
        return conditional(
            self._table.update_item,
            Key={"pk": manifest_pk(manifest_id), "sk": "MANIFEST"},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_dynamo(values),
        )

    def advance_finish(self, manifest_id: str, cursor: int, to: int, counts: dict[str, int]) -> bool:
        """Record that registration finished the manifest's entries up to `to` (from `cursor`), with the running
        counts. Conditional on the cursor, so a chunk redone after a crash or by an overlapping poll is counted
        once."""
        values: dict[str, Any] = {":to": to, ":from": cursor, ":u": now_iso(), ":up": "uploading", ":zero": 0}
        sets = ["finish_cursor = :to", "updated_at = :u", "gsi1sk = :u", "link_attempts = :zero"]
        for i, (_, value) in enumerate(sorted(counts.items())):
            sets.append(f"#c{i} = :c{i}")
            values[f":c{i}"] = value
        at = "finish_cursor = :from" + (" OR attribute_not_exists(finish_cursor)" if cursor == 0 else "")
        return conditional(
            self._table.update_item,
            Key={"pk": manifest_pk(manifest_id), "sk": "MANIFEST"},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=f"#s = :up AND ({at})",
            ExpressionAttributeNames={"#s": "status", **{f"#c{i}": n for i, n in enumerate(sorted(counts))}},
            ExpressionAttributeValues=to_dynamo(values),
        )

    def manifests_with_status(self, status: str, created_before: str | None = None) -> list[dict[str, Any]]:
        condition = "gsi1pk = :g" + (" AND gsi1sk < :t" if created_before else "")
        values = {":g": f"MANIFEST_STATUS#{status}", **({":t": created_before} if created_before else {})}
        return [
            from_dynamo(i)
            for i in query(self._table, IndexName="gsi1", KeyConditionExpression=condition, values=values)
        ]

    # ------------------------------------------------------------------ a group's close, across invocations
    def save_close_page(self, manifest_id: str, page: int, objects: list[list[Any]], after: str) -> bool:
        """Keep one typed page of a group's listing (`MANIFEST#<M>` / `CLOSE#<page>`) and move the close's place on
        (`close_pages`, `close_after`: the last key kept), in one transaction conditional on the place: a page is
        kept once, whoever redoes it. Progress resets `recover_attempts`: a close that goes on is never failed."""
        now = now_iso()
        at = "close_pages = :page" + (" OR attribute_not_exists(close_pages)" if page == 0 else "")
        client: Any = self._table.meta.client
        put = {
            "TableName": self._table.name,
            "Item": {
                "pk": manifest_pk(manifest_id),
                "sk": f"CLOSE#{page:06d}",
                "kind": "close_page",
                "objects": objects,
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        update = {
            "TableName": self._table.name,
            "Key": {"pk": manifest_pk(manifest_id), "sk": "MANIFEST"},
            "UpdateExpression": "SET close_pages = :next, close_after = :after, recover_attempts = :zero, "
            "updated_at = :u, gsi1sk = :u",
            "ConditionExpression": f"#s = :claimed AND ({at})",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":next": page + 1,
                ":page": page,
                ":after": after,
                ":zero": 0,
                ":u": now,
                ":claimed": "claimed",
            },
        }
        return conditional(client.transact_write_items, TransactItems=[{"Put": put}, {"Update": update}])

    def close_pages(self, manifest_id: str) -> list[list[Any]]:
        """Every object of the pages `save_close_page` kept, in page order."""
        items = query(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :close)",
            values={":pk": manifest_pk(manifest_id), ":close": "CLOSE#"},
            ConsistentRead=True,
        )
        return [from_dynamo(o) for item in items for o in item["objects"]]

    def advance_close(self, manifest_id: str, field: str, done: int | bool, since: int | None = None) -> bool:
        """Record a close's progress (`close_listed`, `close_marked`), conditional on the last place when `since` is
        given (so two invocations on one close do each step once), and reset `recover_attempts`."""
        values: dict[str, Any] = {":done": done, ":zero": 0, ":u": now_iso(), ":claimed": "claimed"}
        condition = "#s = :claimed"
        if since is not None:
            values[":since"] = since
            condition += f" AND (#f = :since{' OR attribute_not_exists(#f)' if since == 0 else ''})"
        return conditional(
            self._table.update_item,
            Key={"pk": manifest_pk(manifest_id), "sk": "MANIFEST"},
            UpdateExpression="SET #f = :done, recover_attempts = :zero, updated_at = :u, gsi1sk = :u",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status", "#f": field},
            ExpressionAttributeValues=values,
        )

    # ------------------------------------------------------------------ a manifest's entries, kept for registration
    def save_entries(self, manifest_id: str, chunks: Iterable[tuple[int, list[list[Any]]]]) -> None:
        """Keep a manifest's entries as sent (`MANIFEST#<M>` / `ENTRIES#<first index>`, one finish chunk an item), in
        batch writes of 25 items; a start redone writes the same items again."""
        with self._table.batch_writer() as batch:
            for start, rows in chunks:
                batch.put_item(
                    Item={"pk": manifest_pk(manifest_id), "sk": f"ENTRIES#{start:07d}", "kind": "entries", "rows": rows}
                )

    def entries_at(self, manifest_id: str, start: int) -> list[list[Any]] | None:
        """The kept chunk of entries that begins at `start` (None: none kept there)."""
        key = {"pk": manifest_pk(manifest_id), "sk": f"ENTRIES#{start:07d}"}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return None if item is None else from_dynamo(item["rows"])

    # ------------------------------------------------------------------ bad messages
    def record_bad_message(self, message_id: str, reason: str, body: str) -> None:
        now = now_iso()
        self._table.put_item(
            Item={
                "pk": f"MESSAGE#{message_id}",
                "sk": "MESSAGE",
                "kind": "bad_message",
                "reason": reason,
                "body": body[:4000],
                "received_at": now,
                "gsi1pk": ATTENTION,
                "gsi1sk": f"{now}#{message_id}",
            }
        )


TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
BATCH_GET_ITEMS = 100  # DynamoDB's limit per BatchGetItem


@dataclass(frozen=True)
class ObjectPut:
    request: dict[str, Any]  # put_item's arguments (without the table)


def object_put(
    *,
    bucket: str,
    key: str,
    version: str,
    status: ObjectStatus,
    gsi1: tuple[str, str] | None,
    only_new: bool = True,
    **attributes: Any,
) -> ObjectPut:
    """The insert of one object version (for `record_objects`): its key, status, gsi1 and other attributes;
    `only_new=False` writes it whatever is there."""
    now = now_iso()
    item: dict[str, Any] = {
        "pk": object_pk(bucket, key),
        "sk": f"V#{version}",
        "kind": "object",
        "bucket": bucket,
        "key": key,
        "version": version,
        "status": status,
        "received_at": now,
        "updated_at": now,
        **{k: v for k, v in attributes.items() if v is not None},
    }
    if gsi1:
        item["gsi1pk"], item["gsi1sk"] = gsi1
    condition = {"ConditionExpression": "attribute_not_exists(pk)"} if only_new else {}
    return ObjectPut({"Item": to_dynamo(item), **condition})


def _status_update(
    record: ObjectRecord,
    status: str,
    expected: tuple[str, ...] | None,
    reason: str | None,
    manifest_id: str | None,
    gsi1: tuple[str, str] | None,
    encord: dict[str, Any] | None = None,
    unreadable: str | None = None,
) -> dict[str, Any]:
    names = {"#s": "status"}
    values: dict[str, Any] = {":s": status, ":u": now_iso()}
    sets = ["#s = :s", "updated_at = :u"]
    removes: list[str] = []
    attributes = (("reason", reason), ("manifest_id", manifest_id), ("encord", encord), ("unreadable", unreadable))
    for attribute, value in attributes:
        if value is not None:
            sets.append(f"{attribute} = :{attribute}")
            values[f":{attribute}"] = value
    if status in ("pending", "claimed", "in_manifest", "registered") and reason is None:
        removes += ["reason", "unreadable"]
    if gsi1:
        sets += ["gsi1pk = :g1", "gsi1sk = :g2"]
        values[":g1"], values[":g2"] = gsi1
    elif status in ("sidecar", "marker", "deleted"):
        removes += ["gsi1pk", "gsi1sk"]
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    condition = _exists_with_status(expected, values)
    return {
        "Key": {"pk": object_pk(record.bucket, record.key), "sk": f"V#{record.version}"},
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": to_dynamo(values),
    }


def _transaction(client: Any, items: list[dict[str, Any]]) -> bool:
    """True when the transaction went through; False when DynamoDB cancelled it (any reason: the caller retries
    its writes one by one); other errors raise."""
    try:
        client.transact_write_items(TransactItems=items)
    except Exception as error:
        if getattr(error, "response", {}).get("Error", {}).get("Code") == "TransactionCanceledException":
            return False
        raise
    return True


def _exists_with_status(expected: tuple[str, ...] | None, values: dict[str, Any]) -> str:
    """The item exists and, with `expected`, its status (`#s`) is one of them; adds the placeholders to values."""
    if not expected:
        return "attribute_exists(pk)"
    placeholders = [f":e{i}" for i in range(len(expected))]
    values.update(dict(zip(placeholders, expected, strict=True)))
    return f"attribute_exists(pk) AND #s IN ({', '.join(placeholders)})"
