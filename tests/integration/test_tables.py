"""`create_tables` on DynamoDB Local: every model's table with its keys, indexes, stream and TTL; a second call
creates nothing; a table made by an older version of the code gets the indexes added since."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest

from chalicelib.adapters import dynamo_models
from chalicelib.settings import Settings
from tests.conftest import dynamodb_local_server


def _client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


def test_every_table_is_created_as_its_model_says_and_a_second_call_creates_nothing(dynamodb_endpoint: str) -> None:
    settings = Settings(dynamodb_endpoint=dynamodb_endpoint, table_prefix=f"c{uuid.uuid4().hex[:6]}-")
    created = dynamo_models.create_tables(settings)
    assert sorted(created) == sorted(settings.table_name(m) for m in dynamo_models._BASE_NAMES.values())
    ddb = _client(dynamodb_endpoint)
    outbox = ddb.describe_table(TableName=dynamo_models.OutboxModel.Meta.table_name)["Table"]
    assert outbox["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    requests = ddb.describe_table(TableName=dynamo_models.RequestModel.Meta.table_name)["Table"]
    assert {i["IndexName"] for i in requests["GlobalSecondaryIndexes"]} == {"by-owner", "by-queue"}
    by_owner = next(i for i in requests["GlobalSecondaryIndexes"] if i["IndexName"] == "by-owner")
    assert [k["KeyType"] for k in by_owner["KeySchema"]] == ["HASH", "RANGE"]
    with_ttl = [m for m in dynamo_models.ALL_MODELS
                if any(isinstance(a, dynamo_models.TTLAttribute) for a in m.get_attributes().values())]
    assert with_ttl
    ttl = ddb.describe_time_to_live(TableName=with_ttl[0].Meta.table_name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"

    assert dynamo_models.create_tables(settings) == []


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of its own, as a kept .local/dynamodb is: DynamoDB Local leaves an index added to one table
    CREATING for minutes while another table of the same shape already has it (the shared session database)."""
    with dynamodb_local_server() as endpoint:
        yield endpoint


def test_a_table_from_an_older_version_gets_its_missing_indexes(own_database: str) -> None:
    settings = Settings(dynamodb_endpoint=own_database, table_prefix="old-")
    ddb = _client(own_database)
    name = settings.table_name("requests")
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "request_id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"}])
    created = dynamo_models.create_tables(settings)
    assert name not in created
    indexes = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    assert {i["IndexName"] for i in indexes} == {"by-owner", "by-queue"}
    assert all(i["IndexStatus"] == "ACTIVE" for i in indexes)
