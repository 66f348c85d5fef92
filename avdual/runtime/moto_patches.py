"""Changes to moto's behaviour that the local runtime needs (installed once per process by ``start``)."""

from __future__ import annotations

from typing import Any


def install_item_backup_for_transactions() -> None:  # noqa: C901
    """Make moto's ``TransactWriteItems`` back up only the items it writes, not whole tables.

     moto deep-copies every table a transaction touches before each call, to roll back on failure
    : about 0.4 ms per stored item per call, so a consumer writing one transaction per
     event gets slower with every item stored. This keeps moto's all-or-nothing semantics with a
     backup of the addressed items (and the stream position), restored when the transaction fails.
    """
    import moto.dynamodb.models as ddb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table as MotoTable

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_avdual_item_backup", False):
        return
    copy_module = ddb_models.copy

    class _KeepTables:  # as the ``copy`` module inside moto's transaction: everything but tables is copied
        @staticmethod
        def deepcopy(x: Any, memo: Any = None) -> Any:
            return x if isinstance(x, MotoTable) else copy_module.deepcopy(x, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:  # noqa: C901
        backup: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            for op_type, op in entry.items():
                table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
                key = (op.get("Item") if op_type == "Put" else op.get("Key")) if table is not None else None
                if table is None or not key or table.hash_key_attr not in key:
                    continue  # moto rejects it before writing anything
                h = DynamoType(key[table.hash_key_attr])
                if table.range_key_attr:
                    if table.range_key_attr not in key:
                        continue
                    r = DynamoType(key[table.range_key_attr])
                    current = table.items[h].get(r) if h in table.items else None
                else:
                    r, current = None, table.items.get(h)
                backup.append((table, h, r, copy_module.deepcopy(current)))
        streams = {id(t): (t, len(t.stream_shard.items)) for t, *_ in backup if t.stream_shard is not None}
        ddb_models.copy = _KeepTables  # type: ignore[assignment]
        try:
            original(self, transact_items)
        except Exception:
            for table, h, r, item in reversed(backup):
                if r is None:
                    if item is None:
                        table.items.pop(h, None)
                    else:
                        table.items[h] = item
                elif item is None:
                    if h in table.items:
                        table.items[h].pop(r, None)
                else:
                    table.items[h][r] = item
            for t, n in streams.values():
                del t.stream_shard.items[n:]
            raise
        finally:
            ddb_models.copy = copy_module

    transact_write_items._avdual_item_backup = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def install_jsonpath_parse_cache() -> None:
    """Parse each JSONPath once per process, not once per rule target and event.

    moto's EventBridge builds every target's input with ``jsonpath_ng.ext.parse`` (a yacc parser) for each
    of the nine paths of the default input map, for every event and target: most of the local pipeline's
    time in moto. A parsed path is a pure function of its text, so caching it changes no result: the target
    still receives what AWS delivers (without an input transformer, the whole event)."""
    import functools

    import jsonpath_ng.ext

    if getattr(jsonpath_ng.ext.parse, "_avdual_cached", False):
        return
    cached = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)
    cached._avdual_cached = True  # type: ignore[attr-defined]
    jsonpath_ng.ext.parse = cached
