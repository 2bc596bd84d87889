"""Table definitions read from the pynamodb models, so the deployed tables and the code can never disagree."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # "S" | "N" | "B"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition: Key
    sort: Key | None
    projection: str  # "ALL" | "KEYS_ONLY" | "INCLUDE"
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    base_name: str  # without the stage prefix
    partition: Key
    sort: Key | None
    indexes: tuple[IndexSpec, ...]
    ttl_attribute: str | None
    stream_view_type: str | None

    def table_name(self, prefix: str) -> str:
        return f"{prefix}{self.base_name}"


def _keys(key_schema: list[dict[str, str]], types: dict[str, str]) -> tuple[Key, Key | None]:
    by_type = {k["KeyType"]: k["AttributeName"] for k in key_schema}
    partition = Key(by_type["HASH"], types[by_type["HASH"]])
    sort = Key(by_type["RANGE"], types[by_type["RANGE"]]) if "RANGE" in by_type else None
    return partition, sort


def spec_of(model: Any, base_name: str | None = None) -> TableSpec:
    """What pynamodb itself would create for ``model`` (its ``_get_schema``), plus TTL and stream."""
    from pynamodb.attributes import TTLAttribute

    schema = model._get_schema()
    if schema.get("local_secondary_indexes"):
        raise ValueError(f"{model.__name__}: local secondary indexes are not supported by this app")
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    partition, sort = _keys(schema["key_schema"], types)
    indexes = []
    for index in schema.get("global_secondary_indexes", []):
        index_partition, index_sort = _keys(index["key_schema"], types)
        projection = index["projection"]
        indexes.append(IndexSpec(index["index_name"], index_partition, index_sort, projection["ProjectionType"],
                                 tuple(projection.get("NonKeyAttributes", ()))))
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    if len(ttl) > 1:
        raise ValueError(f"{model.__name__}: DynamoDB allows one TTL attribute per table")
    return TableSpec(
        base_name=base_name or model.Meta.table_name,
        partition=partition,
        sort=sort,
        indexes=tuple(sorted(indexes, key=lambda i: i.name)),
        ttl_attribute=ttl[0] if ttl else None,
        stream_view_type=getattr(model.Meta, "stream_view_type", None),
    )


def app_tables() -> list[TableSpec]:
    """Every table of the API, from ``chalicelib.adapters.dynamo_models.ALL_MODELS``."""
    from chalicelib.adapters import dynamo_models

    # configure() rewrites Meta.table_name with the local prefix; the module keeps the bare names aside.
    bases: dict[Any, str] = getattr(dynamo_models, "_BASE_NAMES", {})
    return [spec_of(model, bases.get(model)) for model in dynamo_models.ALL_MODELS]


# What bot/state.py's ConversationModel declares; used only if that module cannot be imported here.
BOT_CONVERSATIONS_FALLBACK = TableSpec(
    base_name="bot-conversations",
    partition=Key("chat_id", "S"),
    sort=None,
    indexes=(),
    ttl_attribute="expires",
    stream_view_type=None,
)


def bot_table() -> TableSpec:
    """The bot's own conversation table, from ``bot.state.ConversationModel`` (it imports no telegram)."""
    try:
        state = importlib.import_module("bot.state")
    except ImportError:
        return BOT_CONVERSATIONS_FALLBACK
    return spec_of(state.ConversationModel, "bot-conversations")
