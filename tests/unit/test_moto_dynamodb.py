"""The local stack's item-level rollback for moto's TransactWriteItems: the same outcomes as moto's whole-table
copy (committed writes, cancelled transactions leave nothing behind), without copying the table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from benchmark_qa_local import moto_dynamodb
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

TABLE = "state"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, whatever an earlier test exported
    moto_dynamodb.install()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(50):
            ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"other#{i}"}, "sk": {"S": "x"}, "n": {"N": str(i)}})
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "agg"}, "sk": {"S": "TOTAL"}, "tasks": {"N": "1"}})
        yield ddb


def put(pk: str, *, only_new: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": TABLE, "Item": {"pk": {"S": pk}, "sk": {"S": "r"}}}
    if only_new:
        op["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": op}


ADD_ONE = {
    "Update": {
        "TableName": TABLE,
        "Key": {"pk": {"S": "agg"}, "sk": {"S": "TOTAL"}},
        "UpdateExpression": "ADD tasks :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
}


def tasks(client: Any) -> int:
    return int(client.get_item(TableName=TABLE, Key={"pk": {"S": "agg"}, "sk": {"S": "TOTAL"}})["Item"]["tasks"]["N"])


def exists(client: Any, pk: str) -> bool:
    return "Item" in client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": "r"}})


def test_a_committed_transaction_writes_every_item(client: Any) -> None:
    client.transact_write_items(TransactItems=[put("result#1"), ADD_ONE])

    assert exists(client, "result#1")
    assert tasks(client) == 2


def test_a_cancelled_transaction_leaves_the_earlier_writes_undone(client: Any) -> None:
    client.transact_write_items(TransactItems=[put("result#1")])

    # The update comes first and succeeds inside moto, the new put succeeds, the repeated put fails: all undone.
    with pytest.raises(client.exceptions.TransactionCanceledException) as cancelled:
        client.transact_write_items(TransactItems=[ADD_ONE, put("result#2"), put("result#1")])

    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert tasks(client) == 1
    assert not exists(client, "result#2")
    assert exists(client, "result#1")


def test_a_validation_error_rolls_back_too(client: Any) -> None:
    with pytest.raises(client.exceptions.ClientError):
        client.transact_write_items(TransactItems=[ADD_ONE, ADD_ONE])  # the same item twice is refused

    assert tasks(client) == 1


def test_the_table_is_not_copied(client: Any) -> None:
    table = dynamodb_backends["123456789012"]["eu-west-1"].tables[TABLE]
    untouched = table.get_item(DynamoType({"S": "other#7"}), DynamoType({"S": "x"}))
    client.transact_write_items(TransactItems=[put("result#3")])

    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[put("result#4"), ADD_ONE, put("result#3")])

    # moto's own rollback swaps in a deep copy of the table: every untouched item would be a new object.
    assert dynamodb_backends["123456789012"]["eu-west-1"].tables[TABLE] is table
    assert table.get_item(DynamoType({"S": "other#7"}), DynamoType({"S": "x"})) is untouched
    assert tasks(client) == 1
    assert not exists(client, "result#4")


def test_a_query_sees_its_partition_in_order_with_paging_and_conditions(client: Any) -> None:
    for sk in ("b", "a", "d", "c"):
        client.put_item(TableName=TABLE, Item={"pk": {"S": "task#1"}, "sk": {"S": sk}})
    client.put_item(TableName=TABLE, Item={"pk": {"S": "task#2"}, "sk": {"S": "a"}})

    def sks(**kwargs: Any) -> list[str]:
        answer = client.query(
            TableName=TABLE, ExpressionAttributeValues={":p": {"S": "task#1"}, **kwargs.pop("values", {})}, **kwargs
        )
        return [i["sk"]["S"] for i in answer["Items"]]

    assert sks(KeyConditionExpression="pk = :p") == ["a", "b", "c", "d"]
    assert sks(KeyConditionExpression="pk = :p", ScanIndexForward=False) == ["d", "c", "b", "a"]
    assert sks(KeyConditionExpression="pk = :p AND sk > :s", values={":s": {"S": "b"}}) == ["c", "d"]
    first = client.query(
        TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "task#1"}}, Limit=3
    )
    rest = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "task#1"}},
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    assert [i["sk"]["S"] for i in first["Items"] + rest["Items"]] == ["a", "b", "c", "d"]
    empty = client.query(
        TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "none"}}
    )
    assert empty["Items"] == []
    # The table is still whole for everything else.
    assert client.scan(TableName=TABLE, Select="COUNT")["Count"] == 50 + 1 + 5


def test_a_write_made_while_a_transaction_runs_survives_its_rollback(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto answers requests on many threads; a cancelled transaction used to put back the items it targets as
    they were when it started, erasing what another thread committed meanwhile (issue 11: 2 concurrent workers
    kept 79 of 80 results). Requests are serialised now, so the other write lands before or after, never lost."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    inside, written = threading.Event(), threading.Event()
    update_item = DynamoDBBackend.update_item

    def slow_update(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(moto_dynamodb._ACTIVE, "transaction", False) and not inside.is_set():
            inside.set()  # the transaction has started writing: let the other thread try its write now
            written.wait(timeout=1)  # serialised requests block it until this transaction is over
        return update_item(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", slow_update)
    client.transact_write_items(TransactItems=[put("result#1")])

    def other_writer() -> None:
        inside.wait(timeout=10)
        client.update_item(**dict(ADD_ONE["Update"].items()))
        written.set()

    thread = threading.Thread(target=other_writer)
    thread.start()
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[ADD_ONE, put("result#1")])
    thread.join(timeout=10)

    assert inside.is_set()
    assert written.is_set()
    assert tasks(client) == 2  # 1 + the other thread's addition; the cancelled transaction added nothing


@pytest.fixture
def indexed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A table with a global secondary index, as the state table has."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    moto_dynamodb.install()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(40):
            item = {"pk": {"S": f"p{i % 7}"}, "sk": {"S": f"s{i:02d}"}, "gsi1pk": {"S": f"G{i % 3}"}}
            if i % 13 == 0:
                del item["gsi1pk"]  # not in the index at all
            if i % 5:  # some items lack the index's range key: the index does not hold them
                item["gsi1sk"] = {"S": f"t{(i * 7) % 11:02d}"}  # repeated values: ties the sort must keep
            ddb.put_item(TableName=TABLE, Item=item)
        yield ddb


INDEX_QUERIES = [
    {"KeyConditionExpression": "gsi1pk = :g", "ExpressionAttributeValues": {":g": {"S": "G1"}}},
    {
        "KeyConditionExpression": "gsi1pk = :g",
        "ExpressionAttributeValues": {":g": {"S": "G2"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "gsi1pk = :g AND gsi1sk >= :s",
        "ExpressionAttributeValues": {":g": {"S": "G0"}, ":s": {"S": "t05"}},
    },
    {"KeyConditionExpression": "gsi1pk = :g", "ExpressionAttributeValues": {":g": {"S": "G1"}}, "Limit": 4},
    {"KeyConditionExpression": "gsi1pk = :g", "ExpressionAttributeValues": {":g": {"S": "none"}}},
]


@pytest.mark.parametrize("request_", INDEX_QUERIES)
def test_an_index_query_answers_as_moto_does(
    indexed: Any, request_: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    def ask() -> list[dict[str, Any]]:
        pages, start = [], None
        while True:
            kwargs = {"TableName": TABLE, "IndexName": "gsi1", **request_}
            if start is not None:
                kwargs["ExclusiveStartKey"] = start
            answer = indexed.query(**kwargs)
            pages.append({"Items": answer["Items"], "LastEvaluatedKey": answer.get("LastEvaluatedKey")})
            start = answer.get("LastEvaluatedKey")
            if start is None:
                return pages

    patched = ask()
    monkeypatch.setattr(Table, "query", moto_dynamodb.UNPATCHED["query"])
    monkeypatch.setattr(Table, "all_items", moto_dynamodb.UNPATCHED["all_items"])
    assert patched == ask()
    assert request_["ExpressionAttributeValues"][":g"]["S"] == "none" or patched[0]["Items"], "the query finds items"


def test_an_index_query_sees_every_kind_of_write_as_moto_does(indexed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index map is built by the first Query and kept up to date by each write request after it: items
    moved into, out of and between index partitions by every write path answer as moto's full walk does."""
    from moto.dynamodb.models.table import Table

    def key(pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def ask(value: str) -> list[dict[str, Any]]:
        answer = indexed.query(
            TableName=TABLE,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :g",
            ExpressionAttributeValues={":g": {"S": value}},
        )
        items: list[dict[str, Any]] = answer["Items"]
        return items

    assert ask("G1"), "the map is built here"
    indexed.put_item(TableName=TABLE, Item={**key("new", "a"), "gsi1pk": {"S": "G1"}, "gsi1sk": {"S": "t00"}})
    indexed.update_item(  # moved from G1 to G2
        TableName=TABLE,
        Key=key("p1", "s01"),
        UpdateExpression="SET gsi1pk = :g",
        ExpressionAttributeValues={":g": {"S": "G2"}},
    )
    indexed.update_item(TableName=TABLE, Key=key("p4", "s04"), UpdateExpression="REMOVE gsi1pk")  # out of G1
    indexed.delete_item(TableName=TABLE, Key=key("p0", "s07"))
    indexed.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {**key("tx", "a"), "gsi1pk": {"S": "G0"}, "gsi1sk": {"S": "t01"}}}},
            {"Delete": {"TableName": TABLE, "Key": key("p3", "s10")}},
        ]
    )
    with pytest.raises(indexed.exceptions.TransactionCanceledException):  # rolled back: nothing moves
        indexed.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {**key("gone", "a"), "gsi1pk": {"S": "G1"}, "gsi1sk": {"S": "t"}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {**key("tx", "a"), "gsi1pk": {"S": "G2"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    indexed.batch_write_item(
        RequestItems={
            TABLE: [
                {"PutRequest": {"Item": {**key("batch", "a"), "gsi1pk": {"S": "G2"}, "gsi1sk": {"S": "t02"}}}},
                {"DeleteRequest": {"Key": key("p2", "s02")}},
            ]
        }
    )
    patched = {value: ask(value) for value in ("G0", "G1", "G2")}

    monkeypatch.setattr(Table, "query", moto_dynamodb.UNPATCHED["query"])
    monkeypatch.setattr(Table, "all_items", moto_dynamodb.UNPATCHED["all_items"])
    assert patched == {value: ask(value) for value in ("G0", "G1", "G2")}
    assert any(i["pk"]["S"] == "new" for i in patched["G1"])
    assert any(i["pk"]["S"] == "batch" for i in patched["G2"])
    assert not any(i["pk"]["S"] == "gone" for i in patched["G1"])
