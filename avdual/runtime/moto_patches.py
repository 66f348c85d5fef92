"""Changes to moto's behaviour that the local runtime needs (installed once per process by ``start``)."""

from __future__ import annotations

import copy
from decimal import Decimal
from enum import Enum
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


def install_sqs_retention_check() -> None:
    """Let moto's ``ReceiveMessage`` read a queue's retention period, not all of its attributes per message.

    For every message it hands out, moto checks the queue's ``MessageRetentionPeriod`` through
    ``get_queue_attributes``, which computes every attribute of the queue (the approximate message counts walk
    all messages): the local pipeline's receives grow with each message in flight. The period read from the
    queue is the same number, so a message is kept or dropped as before."""
    from moto.core.utils import unix_time
    from moto.sqs.models import Message, SQSBackend

    if getattr(SQSBackend.is_message_valid_based_on_retention_period, "_avdual_direct", False):
        return

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Message) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    is_message_valid_based_on_retention_period._avdual_direct = True  # type: ignore[attr-defined]
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]


def install_serializer_key_cache() -> None:
    """Look up the candidate keys of a response member once per (member, structure), not per value.

    moto serializes every response against the botocore model, and for each member of each structure value
    (ten per DynamoDB ``AttributeValue``) it asks six alias providers which keys the value might sit under:
    the largest share of the time of a DynamoDB call with items. For a plain ``dict`` value the answer depends
    only on the member's name, its shape and the structure it belongs to (the providers read the shape,
    its parent, and the value's class and ``Meta``, which a dict does not have), so it is cached for dicts;
    any other object is asked as before. The response stays what moto's own serializer writes."""
    from moto.core import serialize

    picker = serialize.XFormedAttributePicker
    original = picker.get_possible_keys
    if getattr(original, "_avdual_cached", False):
        return
    cache: dict[tuple[str, int, int], tuple[tuple[str, ...], Any, Any]] = {}

    def get_possible_keys(self: Any, context: Any) -> Any:
        if type(context.obj) is not dict or self.alias_providers is not serialize.DEFAULT_ALIAS_PROVIDERS:
            return original(self, context)
        shape = context.shape
        parent = getattr(shape, "parent", None)
        key = (context.key, id(shape), id(parent))
        hit = cache.get(key)
        if hit is None or hit[1] is not shape or hit[2] is not parent:
            hit = cache[key] = (tuple(original(self, context)), shape, parent)  # keeps both alive: ids stay
        return hit[0]

    get_possible_keys._avdual_cached = True  # type: ignore[attr-defined]
    get_possible_keys._avdual_original = original  # type: ignore[attr-defined]
    picker.get_possible_keys = get_possible_keys  # type: ignore[method-assign]


_ATTRIBUTE_VALUE_LAYOUT = {
    "S": "string",
    "N": "string",
    "B": "blob",
    "SS": "list",
    "NS": "list",
    "BS": "list",
    "M": "map",
    "L": "list",
    "NULL": "boolean",
    "BOOL": "boolean",
}
_PLAIN_MEMBERS = ("S", "N", "SS", "NS", "M", "L", "NULL", "BOOL")  # the layout's order, without the blobs


def _as_string(value: Any) -> Any:
    """What moto's JSON serializer writes for a string member (``_serialize_type_string``)."""
    if isinstance(value, Enum):
        value = value.value
    return str(value) if value not in [None, {}, []] else value


def _plain_attribute_value(value: Any) -> dict[str, Any] | None:
    """The serialized form of a DynamoDB ``AttributeValue`` given as a plain dict, as moto's serializer writes
    it member by member; ``None`` where that needs moto's own path (a blob, or anything but plain values)."""
    if type(value) is not dict or not value.keys() <= _PLAIN_KEYS:
        return None
    out: dict[str, Any] = {}
    for name in _PLAIN_MEMBERS:
        member = value.get(name)
        if member is None:  # moto leaves out a member that is absent or None
            continue
        if name in ("S", "N"):
            out[name] = _as_string(member)
        elif name in ("NULL", "BOOL"):  # written as they are
            out[name] = member
        elif (collection := _plain_collection(name, member)) is not None:
            out[name] = collection
        else:
            return None
    return out


def _plain_collection(name: str, member: Any) -> Any:
    """A set (``SS``, ``NS``), map (``M``) or list (``L``) member as moto writes it, or ``None``."""
    if name == "M":
        inner = {k: _plain_attribute_value(v) for k, v in member.items()} if type(member) is dict else None
        return None if inner is None or any(v is None for v in inner.values()) else inner
    if type(member) is not list:
        return None
    if name == "L":
        items = [_plain_attribute_value(v) for v in member]
        return None if any(v is None for v in items) else items
    return [_as_string(v) for v in member]  # SS, NS


_PLAIN_KEYS = frozenset(_PLAIN_MEMBERS)


def _is_attribute_value(shape: Any) -> bool:
    """``shape`` is DynamoDB's (or DynamoDB Streams') ``AttributeValue`` with the layout
    :func:`_plain_attribute_value` writes: no member renamed, maps and lists of ``AttributeValue``."""
    if shape.name != "AttributeValue" or getattr(shape, "type_name", None) != "structure":
        return False
    members = shape.members
    if {k: m.type_name for k, m in members.items()} != _ATTRIBUTE_VALUE_LAYOUT:
        return False
    if any(m.serialization.get("name") for m in members.values()):
        return False
    m, lst = members["M"], members["L"]
    return (
        m.key.type_name == "string"
        and m.value.name == "AttributeValue"
        and lst.member.name == "AttributeValue"
        and all(members[k].member.type_name == "string" for k in ("SS", "NS"))
        and not any(members[k].member.serialization.get("name") for k in ("SS", "NS", "L"))
        and not m.value.serialization.get("name")
    )


def install_attribute_value_serializer() -> None:
    """Serialize a DynamoDB ``AttributeValue`` of plain values in one step, not member by member.

    moto's JSON serializer walks the botocore model for every value of a response: for each
    ``AttributeValue`` it asks for all ten members (``S``, ``N``, ``B``, … ``BOOL``) whether the value
    holds them, recursively through maps and lists. An item of twenty attributes costs hundreds of
    lookups; every item a function reads or a stream record carries goes through it. For a plain dict of
    strings, numbers, sets of them, maps, lists, ``NULL`` and ``BOOL`` the result of that walk is known
    (:func:`_plain_attribute_value`, the same rules as moto's string, list, map and boolean members);
    anything else (a binary value, another type of object, a response with moto's key transformers)
    goes through moto's own serializer. The bytes of the response stay moto's (pinned by a test)."""
    from moto.core import serialize

    cls = serialize.BaseJSONSerializer
    original = cls._serialize_type_structure
    if getattr(original, "_avdual_plain_attribute_values", False):
        return
    layouts: dict[int, tuple[Any, bool]] = {}  # id(shape) → (shape, is an AttributeValue)

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and type(value) is dict:
            known = layouts.get(id(shape))
            if known is None or known[0] is not shape:
                known = layouts[id(shape)] = (shape, _is_attribute_value(shape))  # keeps the shape: id stays
            if known[1] and not getattr(self._value_picker, "response_transformers", None):
                plain = _plain_attribute_value(value)
                if plain is not None:
                    serialized[self.get_serialized_name(shape, key)] = plain
                    return
        original(self, serialized, value, shape, key)

    _serialize_type_structure._avdual_plain_attribute_values = True  # type: ignore[attr-defined]
    _serialize_type_structure._avdual_original = original  # type: ignore[attr-defined]
    cls._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]


def install_projection_of_named_attributes() -> None:
    """Convert only the attributes a ``ProjectionExpression`` names, not the whole item once per path.

    For each path of a projection moto converts the entire item to plain Python (every attribute, deep
    copied) and then picks the path's first attribute from it; matching reads a class's students with a
    projection of two attributes, so each item's history and explanation were converted twice to be thrown
    away. Here each path gets a fresh conversion of only the attribute it starts with (moto's
    ``find_nested_key`` looks at nothing else of the item), so the projected item stays moto's own (pinned
    by a test with nested paths and list elements)."""
    import re

    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.dynamo_type import find_nested_key, merge_dicts  # as moto imports them

    item_cls = dynamo_type.Item
    if getattr(item_cls.project, "_avdual_named", False):
        return
    original = item_cls.project
    element = re.compile(r"(.+)\[(\d+)\]$")  # as moto's find_nested_key reads a path's first part

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        result: dict[str, Any] = {}
        for expr in projection_expressions:
            first = element.match(expr[0])
            names = {expr[0], first.group(1)} if first else {expr[0]}
            attributes = {
                name: dynamo_type.deserializer.deserialize(self.attrs[name].to_regular_json())
                for name in names
                if name in self.attrs
            }
            merge_dicts(result, find_nested_key(expr, attributes))
        return item_cls(
            hash_key=self.hash_key,
            range_key=self.range_key,
            attrs=dict(dynamo_type.serializer.serialize(result)["M"]),
        )

    project._avdual_named = True  # type: ignore[attr-defined]
    project._avdual_original = original  # type: ignore[attr-defined]
    item_cls.project = project  # type: ignore[method-assign]


def install_partition_query() -> None:
    """Let moto answer a ``Query`` of a table's own key from that partition, not from every item.

    moto's ``Table.query`` filters ``all_items()`` (every item of the table, sorted) by the hash key for each
    page it answers, so reading one partition cost as much as a ``Scan``: the reports' counters of one school
    year, a waitlist day, a student's items all slowed down with every item stored. The items of the
    partition are exactly those moto kept under that hash key, in the same order (sorted by range key), so
    the answer, its pages and ``LastEvaluatedKey`` stay moto's own (pinned by a test against the unpatched
    query). A query of an index is answered from the items whose index partition key has the queried
    value, and, in a query without ``Limit``, whose sort key has it where the key condition asks for one
    value (``=``): moto drops every other item of the table itself, after sorting all of them and
    measuring each. The table's items are walked once without sorting them, the few that match are sorted
    as moto sorts the table. (With a ``Limit``, moto ends a full page with a ``LastEvaluatedKey`` only if
    another item of the index partition follows, of any sort key, so there all of them are kept; without
    one, a page ends at 1 MB of matching items as on DynamoDB, where moto would measure the others too.)
    Both sorts, the partition's and an index query's by the index keys (``Table.sorted_items``), convert each
    item's key values once instead of in every comparison (:func:`_sorted_as_moto_sorts`; the comparisons
    were most of a report's reading time at 100,000 intakes, docs/performance.md): the order stays moto's."""
    import inspect

    from moto.dynamodb.models.table import Table as MotoTable

    original_query = MotoTable.query
    if getattr(original_query, "_avdual_partition", False):
        return
    original_all_items = MotoTable.all_items
    original_sorted_items = MotoTable.sorted_items
    signature = inspect.signature(original_query)

    def all_items(self: Any) -> Any:
        partition = self.__dict__.get("_avdual_partition")
        if partition is None:
            return original_all_items(self)
        if isinstance(partition[0], tuple):  # an index: the items with these (attribute, value) pairs
            return _in_table_order(self, _items_with(self, partition))
        return _partition_items(self, partition)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        index_name = bound.arguments.get("index_name")
        partition: tuple[Any, ...] | None = None
        if index_name:
            partition = _index_partition(
                self,
                index_name,
                bound.arguments.get("hash_key_conditions"),
                # without a Limit: moto's page of a Limit ends where its next item is, of any sort key
                bound.arguments.get("range_key_conditions") if bound.arguments.get("limit") is None else None,
            )
        elif bound.arguments.get("hash_key") is not None:
            partition = (bound.arguments["hash_key"], *_sort_key_condition(self, bound.arguments))
        if partition is None:
            return original_query(self, *args, **kwargs)
        self.__dict__["_avdual_partition"] = partition
        try:
            return original_query(self, *args, **kwargs)
        finally:
            self.__dict__.pop("_avdual_partition", None)

    query._avdual_partition = True  # type: ignore[attr-defined]
    query._avdual_original = (original_query, original_all_items, original_sorted_items)  # type: ignore[attr-defined]
    MotoTable.all_items = all_items  # type: ignore[method-assign]
    MotoTable.query = query  # type: ignore[method-assign]
    MotoTable.sorted_items = _index_order(original_sorted_items)  # type: ignore[method-assign]


_KEY_TYPES = frozenset({"S", "N", "B"})


#: moto refuses to store an item larger than this (``dynamo_type.LimitedSizeDict``, DynamoDB's 400 KB)
_ITEM_SIZE_LIMIT = 405_000


def _sort_key_condition(table: Any, arguments: dict[str, Any]) -> tuple[tuple[str, list[Any]], ...]:
    """The sort key condition of a query of ``table``'s own key as moto compares it (operator, values), when
    it is the only condition moto applies while walking the partition (no legacy ``QueryFilter``)."""
    comparison, values = arguments.get("range_comparison"), arguments.get("range_objs")
    if not comparison or not table.range_key_attr or arguments.get("filter_kwargs"):
        return ()
    return ((comparison, list(values or [])),)


def _partition_items(table: Any, partition: tuple[Any, ...]) -> list[Any]:
    """The items of the table's partition ``partition[0]`` in moto's order (with a sort key condition
    ``partition[1]``: those :func:`_key_condition_run` keeps)."""
    hash_set = table.items.get(partition[0])  # .get: the items are a defaultdict
    if hash_set is None:
        return []
    items = _in_table_order(table, list(hash_set.values()) if table.range_key_attr else [hash_set])
    return _key_condition_run(items, partition[1]) if len(partition) > 1 else items


def _key_condition_run(items: list[Any], condition: tuple[str, list[Any]]) -> list[Any]:
    """Of a partition in moto's order, the items its sort key condition selects (``DynamoType.compare``'s
    function on the same values), and of each stretch of items between them the first and the last.

    moto walks every item of the partition for a query and adds the selected ones to its page; an item
    it does not select changes the answer only by ending the page: where the page is full (``Limit``) at
    the next item (the first of a stretch, or its last when the page runs backwards: both are kept), or
    where the page's size and the item's exceed moto's 1 MB. The last cannot happen while the selected
    items together stay below 1 MB less the largest item moto stores; otherwise every item is kept. So
    moto answers the same page, ``LastEvaluatedKey`` and counts from fewer items (DynamoDB reads only
    the items the key condition selects)."""
    from moto.dynamodb.comparisons import get_comparison_func
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    comparison, values = condition
    try:
        compare = get_comparison_func(comparison)
        bounds = [v.cast_value for v in values]
        selected = [bool(compare(x.range_key.cast_value, *bounds)) for x in items]
    except Exception:  # moto's own walk raises what it raises
        return items
    if sum(x.size() for x, chosen in zip(items, selected, strict=True) if chosen) + _ITEM_SIZE_LIMIT > (
        RESULT_SIZE_LIMIT
    ):
        return items
    last = len(items) - 1
    return [
        x
        for i, x in enumerate(items)
        if selected[i] or (i > 0 and selected[i - 1]) or (i < last and selected[i + 1])
    ]


def _index_order(original: Any) -> Any:
    """moto's ``Table.sorted_items`` (an index query's order: index keys, then the table's) with the keys
    converted once per item (:func:`_sorted_as_moto_sorts`)."""

    def sorted_items(self: Any, hash_key_attrs: Any, range_key_attrs: Any, items: list[Any]) -> list[Any]:
        names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        ordered = _sorted_as_moto_sorts(items, lambda x: tuple(x.attrs.get(name) for name in names))
        if ordered is None:
            return original(self, hash_key_attrs, range_key_attrs, items)
        items[:] = ordered  # moto sorts the list it is given
        return items

    return sorted_items


def _in_table_order(table: Any, items: list[Any]) -> list[Any]:
    """``items`` sorted as moto's ``all_items`` sorts the table (by hash key, then range key)."""
    if table.range_key_attr and all(x.range_key is not None for x in items):
        ordered = _sorted_as_moto_sorts(items, lambda x: (x.hash_key, x.range_key))
        if ordered is not None:
            return ordered
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _sorted_as_moto_sorts(items: list[Any], keys: Any) -> list[Any] | None:
    """``items`` in the order moto's ``sorted(items, key=keys)`` gives them, where ``keys`` returns a tuple of
    ``DynamoType`` values: each value is converted once (``cast_value``) instead of in every comparison.
    For values of one type per position (the key attributes' declared type: ``S``, ``N`` or ``B``) moto's
    ``==`` is the equality of the converted values and its ``<`` their order, so a stable sort by the
    converted tuples puts every item where moto's puts it, ties included. ``None`` (moto sorts) when a
    position is missing, mixes types or holds another type."""
    rows = [keys(x) for x in items]
    if not rows:
        return []
    for position in range(len(rows[0])):
        types = {None if v is None else v.type for v in (row[position] for row in rows)}
        if len(types) != 1 or not types <= _KEY_TYPES:
            return None
    converted = [tuple(v.cast_value for v in row) for row in rows]
    return [items[i] for i in sorted(range(len(items)), key=converted.__getitem__)]


def _items_with(table: Any, pairs: tuple[tuple[str, Any], ...]) -> list[Any]:
    """The items of a moto table whose attributes have these values (one walk, unsorted; each value compared
    as moto compares it, :func:`_equal_to`)."""
    (first, value), *rest = pairs
    first_equal = _equal_to(value)
    tests = [(attribute, _equal_to(v)) for attribute, v in rest]
    return [
        item
        for hash_set in table.items.values()
        for item in (hash_set.values() if table.range_key_attr else [hash_set])
        if (found := item.attrs.get(first)) is not None
        and first_equal(found)
        and all(
            (other := item.attrs.get(attribute)) is not None and equal(other) for attribute, equal in tests
        )
    ]


def _equal_to(value: Any) -> Any:
    """A test of a ``DynamoType`` found in an item that answers what moto's ``found == value`` answers (same
    type and equal ``cast_value``), with ``value``'s side converted once: a string or binary value is its
    own ``cast_value``, a number's is ``Decimal`` of its text."""
    from decimal import Decimal

    kind = value.type
    if kind in ("S", "B"):
        plain = value.value
        return lambda found: found.type == kind and found.value == plain
    if kind == "N":
        number = value.cast_value
        return lambda found: found.type == "N" and Decimal(found.value) == number
    return lambda found: found == value


def _index_partition(
    table: Any, index_name: str, conditions: Any, range_conditions: Any
) -> tuple[tuple[str, Any], ...] | None:
    """The index's (first) partition key attribute and the value a query of it asks for, and its sort key
    attributes the key condition asks one value of (``=``)."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None
    hash_key = next((k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"), None)
    value = dict(conditions or []).get(hash_key) if hash_key else None
    if value is None:
        return None
    range_keys = {k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"}
    equal = tuple(
        (name, values[0])
        for name, op, values in (range_conditions or [])
        if op == "=" and len(values) == 1 and name in range_keys
    )
    return ((hash_key, value), *equal)


def install_update_expression_parse_cache() -> None:
    """Parse each DynamoDB ``UpdateExpression`` text once per process, not twice per update.

    moto tokenizes and parses an update expression on every ``UpdateItem`` and every ``Update`` of a
    transaction (once to check the names and values it uses, once to apply it); reporting's transactions
    update a dozen counters each. The parsed tree is a pure function of the text, and moto never changes it
    (its validator works on a deep copy, with the item's values and the request's names and values), so
    each update still applies exactly as AWS documents it; a text that does not parse is not cached and fails
    every time."""
    import functools

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    if getattr(UpdateExpressionParser.make, "_avdual_cached", False):
        return
    cached = functools.lru_cache(maxsize=4096)(UpdateExpressionParser.make)
    cached._avdual_cached = True  # type: ignore[attr-defined]
    UpdateExpressionParser.make = staticmethod(cached)  # type: ignore[method-assign,assignment]


def _copy_parsed_tree(root: Any, node_class: Any) -> Any:
    """A copy of a parsed update expression as ``copy.deepcopy`` makes it, for a plain tree: nodes with only
    ``type``, ``children`` and ``parent``, each child a node whose ``parent`` is the node holding it, or a
    string or an integer, no node twice. ``None`` for anything else (``deepcopy`` copies that)."""
    seen: set[int] = set()

    def copy(node: Any, parent: Any) -> Any:
        if id(node) in seen or vars(node).keys() != {"type", "children", "parent"}:
            return None
        seen.add(id(node))
        new: Any = object.__new__(type(node))
        new.type, new.parent, new.children = node.type, parent, None
        if node.children is not None:
            if type(node.children) is not list:
                return None
            new.children = []
            for child in node.children:
                if isinstance(child, node_class):
                    if child.parent is not node or (child := copy(child, new)) is None:
                        return None
                elif type(child) not in (str, int):
                    return None
                new.children.append(child)
        return new

    return copy(root, None) if root.parent is None else None


def install_update_expression_tree_copy() -> None:
    """Copy a parsed update expression for its validation node by node instead of with ``copy.deepcopy``.

    moto's validator works on a deep copy of the parsed expression (it puts the item's values and the
    request's names and values into it); ``deepcopy`` of a tree of a few dozen small nodes costs about as
    much as the validation itself (its memo, ``__reduce_ex__`` per node). For the plain trees the parser
    makes (:func:`_copy_parsed_tree`) the copy is built directly, the same classes, values and parent links;
    anything else is deep-copied as before. Every update is still validated and applied by moto's own code
    on a tree of its own."""
    from moto.dynamodb.parsing import validators  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    generic = validators.deepcopy
    if getattr(generic, "_avdual_tree_copy", False):
        return

    def deepcopy(x: Any, memo: Any = None) -> Any:
        if memo is None and isinstance(x, Node):
            copied = _copy_parsed_tree(x, Node)
            if copied is not None:
                return copied
        return generic(x, memo)

    deepcopy._avdual_tree_copy = True  # type: ignore[attr-defined]
    deepcopy._avdual_original = generic  # type: ignore[attr-defined]
    validators.deepcopy = deepcopy  # type: ignore[assignment]


def install_traverser_node_types_cache() -> None:
    """Compute once per traverser class which node types it processes, not once per node visited.

    moto checks every update expression with a dozen depth-first traversers; each asks, for every node it
    visits, which node types it processes (``nodes_to_be_processed``), which builds its processing map (a dict
    of bound methods) anew (about a tenth of the CPU time per intake in the demo's submissions, measured with
    and without this; docs/performance.md). Every traverser's map has fixed classes as keys (pinned by a test
    for each traverser moto defines), so the answer per class is kept; which nodes are processed, and how,
    stay moto's own."""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # type: ignore[attr-defined]

    if getattr(DepthFirstTraverser.nodes_to_be_processed, "_avdual_cached", False):
        return
    node_types: dict[type, tuple[type, ...]] = {}

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        cls = type(self)
        found = node_types.get(cls)
        if found is None:
            found = node_types[cls] = tuple(self._processing_map().keys())
        return found

    nodes_to_be_processed._avdual_cached = True  # type: ignore[attr-defined]
    DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed  # type: ignore[method-assign]


def install_update_expression_traversal() -> None:
    """Let moto's update-expression traversers walk a tree with each class test answered once per class.

    moto checks and applies every update expression with a dozen depth-first traversers
    (``DepthFirstTraverser``): at each node each asks ``isinstance`` of moto's node classes, which are
    abstract base classes (``ABCMeta``'s ``__instancecheck__`` per test), calls the no-op
    ``pre_processing_of_child`` before each child, and ``process`` builds the traverser's processing map
    anew to find a node's processor by ``isinstance`` again; ``Node.find_clauses`` (the action counts and
    overlapping paths, for every clause node of the tree) does the same. For the parser's nodes
    (``__class__`` their type) each answer depends only on the node's class and the traverser's, so it is
    computed once per pair; the nodes are visited in moto's order, each processor is the one moto's map picks
    and gets the same node, and its result goes where moto puts it (pinned against moto's own walk in
    tests/integration/test_moto_patches.py). A traverser class that overrides the walk keeps its own."""
    from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]
        DepthFirstTraverser,
        Expression,
        Node,
        UpdateExpressionFunction,
    )

    if getattr(DepthFirstTraverser.traverse_node_recursively, "_avdual_by_class", False):
        return
    originals = (
        DepthFirstTraverser.traverse_node_recursively,
        DepthFirstTraverser.process,
        Node.find_clauses,
    )
    replacements = (
        _walk_by_class(originals[0], DepthFirstTraverser.pre_processing_of_child, Node),
        _process_by_class(originals[1]),
        _find_clauses_by_class((Expression, UpdateExpressionFunction)),
    )
    for patched, original in zip(replacements, originals, strict=True):
        patched._avdual_by_class = True  # type: ignore[attr-defined]
        patched._avdual_original = original  # type: ignore[attr-defined]
    DepthFirstTraverser.traverse_node_recursively = replacements[0]
    DepthFirstTraverser.process = replacements[1]
    Node.find_clauses = replacements[2]


def _walk_by_class(original: Any, base_pre: Any, node_class: type) -> Any:  # noqa: C901 - moto's walk, step by step
    """moto's ``DepthFirstTraverser.traverse_node_recursively`` with its class tests kept per class."""
    is_node: dict[type, bool] = {}
    processed: dict[tuple[type, type], bool] = {}  # (traverser class, node class) -> processed
    plain_walk: dict[type, bool] = {}  # traverser class -> its walk is this one (no override)

    def walk(self: Any, pre: bool, node: Any, child_id: int) -> Any:
        kind = type(node)
        found = is_node.get(kind)
        if found is None:
            found = is_node[kind] = issubclass(kind, node_class)
        if not found:
            return node
        if node.__class__ is not kind:
            return original(self, node, child_id)
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                if pre:
                    self.pre_processing_of_child(node, i)
                walk(self, pre, child_node, i)
        key = (type(self), kind)
        chosen = processed.get(key)
        if chosen is None:
            chosen = processed[key] = isinstance(node, self.nodes_to_be_processed())
        if chosen:
            node = self.process(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        cls = type(self)
        plain = plain_walk.get(cls)
        if plain is None:
            plain = plain_walk[cls] = cls.traverse_node_recursively is traverse_node_recursively
        if not plain:
            return original(self, node, child_id)
        return walk(self, cls.pre_processing_of_child is not base_pre, node, child_id)

    return traverse_node_recursively


def _process_by_class(original: Any) -> Any:
    """moto's ``DepthFirstTraverser.process``: the processor its map gives the node's class first."""
    processor_at: dict[tuple[type, type], int | None] = {}  # -> position of the processor in the map

    def process(self: Any, node: Any) -> Any:
        kind = type(node)
        if node.__class__ is not kind:
            return original(self, node)
        processors = self._processing_map()
        key = (type(self), kind)
        if key not in processor_at:
            processor_at[key] = next(
                (i for i, class_key in enumerate(processors) if isinstance(node, class_key)), None
            )
        at = processor_at[key]
        return None if at is None else list(processors.values())[at](node)

    return process


def _find_clauses_by_class(containers: tuple[type, ...]) -> Any:
    """moto's ``Node.find_clauses``: whether it looks into a child is kept per child class."""
    descends: dict[type, bool] = {}  # node class -> find_clauses looks into it

    def find_clauses(self: Any, clause_types: Any) -> list[Any]:
        clauses = []
        for child in self.children or []:
            kind = type(child)
            if kind in clause_types:
                clauses.append(child)
                continue
            inside = descends.get(kind)
            if inside is None or child.__class__ is not kind:
                inside = isinstance(child, containers)
                if child.__class__ is kind:
                    descends[kind] = inside
            if inside:
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    return find_clauses


def install_dispatch_name_caches() -> None:
    """Compute the names moto dispatches by once per class and name, not on every request.

    For each request moto lists every method of the service's response class (``inspect.getmembers``: a
    few hundred attributes) to see whether the action is one of them, and converts the action's name, and
    for each SQS message each queue attribute's name, from CamelCase to snake_case. Both are pure functions
    of their argument (a response class's methods are fixed when moto defines it), so each answer is kept;
    which method handles a request, and every attribute a queue reports, stay what moto computes."""
    import functools

    from moto.core import responses, utils
    from moto.sqs import models as sqs_models

    if getattr(responses.method_names_from_class, "_avdual_cached", False):
        return
    names = functools.lru_cache(maxsize=1024)(utils.method_names_from_class)
    snake = functools.lru_cache(maxsize=4096)(utils.camelcase_to_underscores)
    names._avdual_cached = True  # type: ignore[attr-defined]
    responses.method_names_from_class = names  # type: ignore[assignment]
    responses.camelcase_to_underscores = snake  # type: ignore[assignment]
    sqs_models.camelcase_to_underscores = snake  # type: ignore[attr-defined]


def install_lazy_kms_key_pairs() -> None:
    """Make moto generate a KMS key's asymmetric key pair when it is first used, not when the key is made.

    moto gives every key it creates a private key, also a symmetric or HMAC key, which never uses it (for
    those it makes a 2048-bit RSA pair: about 70 ms of CPU per key, for each runtime's MAC keys). Here the
    pair is made on first use (``Sign``, ``Verify``, ``GetPublicKey``) from the same key spec; every key
    still has one, and what it signs or verifies is what moto computes."""
    from moto.kms import models as kms_models

    original = kms_models.generate_private_key
    if getattr(original, "_avdual_lazy", False):
        return

    class _LazyPrivateKey:
        def __init__(self, key_spec: str) -> None:
            self._key_spec = key_spec
            self._key: Any = None

        def __getattr__(self, name: str) -> Any:  # only for attributes not set in __init__
            if name.startswith("_"):  # copy/pickle probing an instance made without __init__
                raise AttributeError(name)
            if self._key is None:
                self._key = original(self._key_spec)
            return getattr(self._key, name)

    def generate_private_key(key_spec: str) -> Any:
        return _LazyPrivateKey(key_spec)

    generate_private_key._avdual_lazy = True  # type: ignore[attr-defined]
    kms_models.generate_private_key = generate_private_key


def _value_size(value: Any, dynamo_type: Any, bytesize: Any) -> int:
    """moto's ``DynamoType.size()`` of ``value``, computed directly (same branches, same order; ``bytesize``
    is moto's)."""
    kind, v = value.type, value.value
    if kind == "N":
        return len(str(v))
    if kind in ("SS", "NS", "BS"):
        if kind == "NS":
            return sum(len(str(x)) for x in v)
        return sum(bytesize(x) for x in v)
    if kind == "L":
        return sum(_value_size(x, dynamo_type, bytesize) for x in v)
    if kind == "M":
        return sum(
            bytesize(k) + _value_size(x if type(x) is dynamo_type else dynamo_type(x), dynamo_type, bytesize)
            for k, x in v.items()
        )
    if isinstance(v, bool):
        return 1
    return int(bytesize(v))


def _copied_value(value: Any, memo: dict[int, Any], dynamo_type: Any) -> Any:
    """``copy.deepcopy(value, memo)`` of a moto ``DynamoType``, made as its own ``__deepcopy__`` makes it
    (a list or map copied member by member, a set's list copied, anything else kept), without
    ``copy.deepcopy``'s dispatch per member; a member that is not a ``DynamoType`` goes to ``deepcopy``."""
    if not isinstance(value, dynamo_type):
        return copy.deepcopy(value, memo)
    found = memo.get(id(value))
    if found is not None:
        return found
    result = value.__class__.__new__(value.__class__)
    memo[id(value)] = result
    kind, v = value.type, value.value
    result.type = kind
    if kind == "L":
        result.value = [_copied_value(x, memo, dynamo_type) for x in v]
    elif kind == "M":
        result.value = {k: _copied_value(x, memo, dynamo_type) for k, x in v.items()}
    elif kind in ("SS", "NS", "BS"):
        result.value = list(v)
    else:
        result.value = v
    return result


def _plain_dict(
    obj: Any, original: Any, plain: tuple[type, ...], dynamo_type: Any, dicts: tuple[type, ...]
) -> Any:
    """moto's ``dynamo_to_dict(obj)`` for a tree of dicts, lists, plain values and ``DynamoType``s of every
    type but binary; anything else (a binary value, an object with ``to_json``, a datetime) takes moto's
    own function."""
    kind = type(obj)
    if kind in plain:
        return obj
    if kind is dynamo_type:
        if obj.type in ("B", "BS"):
            return original(obj)
        return {obj.type: _plain_dict(obj.value, original, plain, dynamo_type, dicts)}
    if kind in dicts:
        return {k: _plain_dict(v, original, plain, dynamo_type, dicts) for k, v in obj.items()}
    if kind is list:
        return [_plain_dict(v, original, plain, dynamo_type, dicts) for v in obj]
    return original(obj)


def install_item_size_copy_and_result() -> None:
    """Make moto compute an item's size, copy an item and turn a result into plain values directly.

    A ``Query`` or ``Scan`` answer costs moto, per item returned, its size twice (``Item.size`` for the 1 MB
    page limit: a new ``DynamoType`` per map member, recursively), a deep copy (``copy.deepcopy``'s dispatch
    and memo per member) and ``dynamo_to_dict`` (``hasattr``/``isinstance`` per member); together about
    40 % of moto's time for a page of a school's students. The same numbers, copies and dicts are made here
    with one function each, member by member in moto's order; binary values and anything unexpected take
    moto's own code (pinned against it in tests/integration/test_moto_patches.py)."""
    from moto.dynamodb import responses
    from moto.dynamodb.models import dynamo_type as dt
    from moto.dynamodb.models.utilities import bytesize, dynamo_to_dict

    DynamoType, Item = dt.DynamoType, dt.Item
    if getattr(Item.size, "_avdual_direct", False):
        return
    originals = (DynamoType.size, Item.size, DynamoType.__deepcopy__, Item.__deepcopy__)

    def value_size(self: Any) -> int:
        return _value_size(self, DynamoType, bytesize)

    def item_size(self: Any) -> int:
        return sum(bytesize(k) + _value_size(v, DynamoType, bytesize) for k, v in self.attrs.items())

    def value_copy(self: Any, memo: dict[int, Any]) -> Any:
        return _copied_value(self, memo, DynamoType)

    def item_copy(self: Any, memo: dict[int, Any]) -> Any:
        result = self.__class__.__new__(self.__class__)
        memo[id(self)] = result
        result.hash_key = _copied_value(self.hash_key, memo, DynamoType)
        result.range_key = _copied_value(self.range_key, memo, DynamoType)
        attrs = dt.LimitedSizeDict.__new__(dt.LimitedSizeDict)
        dict.__init__(attrs)
        for key, value in self.attrs.items():  # as moto: no size check of a copy of a valid item
            dict.__setitem__(attrs, key, _copied_value(value, memo, DynamoType))
        result.attrs = attrs
        return result

    plain = (str, int, float, bool, type(None), Decimal)
    dicts = (dict, dt.LimitedSizeDict)  # neither has ``to_json``, which moto's function asks first
    assert not any(hasattr(t, "to_json") for t in (*plain, *dicts, list))

    def to_dict(obj: Any) -> Any:
        return _plain_dict(obj, dynamo_to_dict, plain, DynamoType, dicts)

    replacements: list[Any] = [value_size, item_size, value_copy, item_copy, to_dict]
    for function, original in zip(replacements, [*originals, dynamo_to_dict], strict=True):
        function._avdual_direct = True
        function._avdual_original = original
    DynamoType.size, Item.size = value_size, item_size  # type: ignore[method-assign]
    DynamoType.__deepcopy__, Item.__deepcopy__ = value_copy, item_copy  # type: ignore[method-assign]
    responses.dynamo_to_dict = to_dict


def install_item_size_check_once_per_attribute() -> None:
    """Let moto measure each attribute of an item it builds once, not all of them again for every attribute.

    moto builds a stored item (``Item.__init__``: every ``PutItem``, every put of a transaction, every item
    an update writes back) attribute by attribute into a ``LimitedSizeDict``, whose ``__setitem__`` adds up
    the size of every attribute already in it before adding the next, to refuse an item above DynamoDB's
    limit: quadratic in the attributes, and each size walks the value. While the item is being built
    nothing else holds its new values, so the sizes added up before each attribute are the ones added
    before the previous one plus that one: the same sums are kept as a running total, compared with the
    same limit at the same attribute, and the same ``ItemSizeTooLarge`` is raised there (pinned against
    moto's own constructor in tests/integration/test_moto_patches.py)."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type as dt
    from moto.dynamodb.models.utilities import bytesize

    Item, DynamoType, LimitedSizeDict = dt.Item, dt.DynamoType, dt.LimitedSizeDict
    if getattr(Item.__init__, "_avdual_running_size", False):
        return
    original = Item.__init__

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = LimitedSizeDict()
        total = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            size = bytesize(str(key)) + typed.size()
            if total + size > _ITEM_SIZE_LIMIT:
                raise ItemSizeTooLarge
            dict.__setitem__(self.attrs, key, typed)
            total += size

    __init__._avdual_running_size = True  # type: ignore[attr-defined]
    __init__._avdual_original = original  # type: ignore[attr-defined]
    Item.__init__ = __init__  # type: ignore[method-assign]


def install_condition_expression_lexing_cache() -> None:
    """Split each condition or filter expression text into its tokens once per process, not on every request.

    moto parses a ``ConditionExpression``, ``FilterExpression`` or ``KeyConditionExpression``'s filter part
    anew for every request: it first splits the text into tokens by trying a list of regular expressions at
    every position (``ConditionExpressionParser._lex_condition_expression``). The tokens are a pure function
    of the text (the patterns are fixed; names and values are looked up in the later steps), so the token
    list of a text is kept and each parse gets its own copies of the tokens (new ``Node`` tuples with their
    own empty child lists, as moto's lexer makes them); every later step of the parse runs as before, with
    the request's names and values. A text that does not split raises each time."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser._lex_condition_expression
    if getattr(original, "_avdual_cached", False):
        return
    cache: dict[str, tuple[tuple[str, str, str, Any], ...]] = {}
    node = ConditionExpressionParser.Node

    def _lex_condition_expression(self: Any) -> Any:
        from collections import deque

        text = self.condition_expression
        tokens = cache.get(text) if type(text) is str else None
        if tokens is None:
            lexed = original(self)
            if type(text) is not str or any(n.children for n in lexed) or len(cache) >= 4096:
                return lexed
            tokens = cache[text] = tuple((n.nonterminal, n.kind, n.text, n.value) for n in lexed)
            return lexed
        return deque(node(nonterminal, kind, text_, value, []) for nonterminal, kind, text_, value in tokens)

    _lex_condition_expression._avdual_cached = True  # type: ignore[attr-defined]
    _lex_condition_expression._avdual_original = original  # type: ignore[attr-defined]
    ConditionExpressionParser._lex_condition_expression = _lex_condition_expression  # type: ignore[method-assign]


#: moto's update-expression checks in the order ``UpdateExpressionValidator.get_ast_processors`` makes them
_VALIDATION_STEPS = (
    "ActionCountValidator",
    "OverlappingPathsValidator",
    "UpdateHashRangeKeyValidator",
    "ExpressionAttributeValueProcessor",
    "ExpressionAttributeResolvingProcessor",
    "UpdateExpressionFunctionEvaluator",
    "NoneExistingPathChecker",
    "ExecuteOperations",
    "TypeMismatchValidator",
    "EmptyStringKeyValueValidator",
)
_ACTIONS: tuple[str, ...] = (
    "UpdateExpressionSetAction",
    "UpdateExpressionAddAction",
    "UpdateExpressionRemoveAction",
    "UpdateExpressionDeleteAction",
)


def install_update_expression_validation_plan() -> None:
    """Run only those of moto's update-expression checks that can act on a parsed expression.

    moto validates every update with ten depth-first traversers, one after the other (``Validator.validate``),
    each walking the whole tree; the action-count and overlapping-path checks list the actions below every
    clause node of the tree (reporting's transactions: a dozen updates of a dozen actions each). What each
    check can do depends on the parsed tree, which the runtime parses once per text
    (:func:`install_update_expression_parse_cache`), so it is worked out once per tree
    (:func:`_validation_plan`): a check that provably returns the tree as it is, raises nothing and changes
    nothing is not run; every other check runs as moto runs it, on the validator's own copy, in moto's order.
    A request the plan cannot decide (a name missing, a duplicate, a key attribute named) runs moto's check,
    which refuses it as before. Pinned against moto's own validation in
    tests/integration/test_moto_patches.py; docs/performance.md ("Local pipeline")."""
    from moto.dynamodb.parsing import validators  # type: ignore[attr-defined]

    cls = validators.UpdateExpressionValidator
    if getattr(cls.validate, "_avdual_plan", False):
        return
    steps = tuple(getattr(validators, name) for name in _VALIDATION_STEPS)
    own_processors = cls.get_ast_processors
    original_init, original_validate = cls.__init__, cls.validate
    plans: dict[int, tuple[Any, Any, Any]] = {}  # id of a parsed tree -> (the tree, its plan, its walks)

    def __init__(
        self: Any,
        expression: Any,
        expression_attribute_names: Any,
        expression_attribute_values: Any,
        item: Any,
        table: Any,
    ) -> None:
        kept = plans.get(id(expression))
        if kept is None or kept[0] is not expression:
            kept = (expression, _validation_plan(expression, validators), _Walks.of(expression, validators))
            if len(plans) >= 4096:  # as many as the parse cache keeps; a tree parsed again is planned again
                plans.clear()
            plans[id(expression)] = kept
        self._avdual_plan, walks = kept[1], kept[2]
        if walks is None:
            original_init(
                self, expression, expression_attribute_names, expression_attribute_values, item, table
            )
            return
        # moto's Validator.__init__, with the copy of the tree made from its recipe
        self.expression_attribute_names = expression_attribute_names
        self.expression_attribute_values = expression_attribute_values
        self.item = item
        self.table = table
        self.processors = self.get_ast_processors()
        self._avdual_walks, self._avdual_nodes = walks, walks.copy()
        self.node_to_validate = self._avdual_nodes[0]

    def validate(self: Any) -> Any:
        plan = self.__dict__.get("_avdual_plan")
        processors = self.processors
        if (
            plan is None
            or type(self).get_ast_processors is not own_processors
            or tuple(type(p) for p in processors) != steps
        ):
            return original_validate(self)
        n = self.node_to_validate
        nodes = self.__dict__.get("_avdual_nodes")
        walks = self.__dict__.get("_avdual_walks") if nodes and nodes[0] is n else None
        return _run_checks(processors, plan, n, nodes, walks)

    replaced: tuple[tuple[Any, Any], ...] = ((__init__, original_init), (validate, original_validate))
    for patched, original in replaced:
        patched._avdual_plan = True
        patched._avdual_original = original
    cls.__init__ = __init__  # type: ignore[method-assign]
    cls.validate = validate  # type: ignore[method-assign]


def _run_checks(processors: Any, plan: tuple[Any, ...], n: Any, nodes: Any, walks: _Walks | None) -> Any:
    """moto's ``Validator.validate`` (each check in turn walks the tree ``n`` and returns it) as the plan of
    the tree says: a check that leaves the tree as it is not run; one whose nodes are known walked at those
    (:func:`_walk_at`); the missing-path check only if a check before can have put a missing path in."""
    missing_possible = walks is None or walks.missing_possible
    for k, (processor, leaves_as_is) in enumerate(zip(processors, plan, strict=True)):
        if _leaves_as_is(leaves_as_is, processor) or (k == _MISSING_CHECK and not missing_possible):
            continue
        at = walks.at[k] if walks is not None else None
        if at is None:
            n = processor.traverse(n)
            missing_possible = missing_possible or k in _MAY_LEAVE_MISSING
        elif _walk_at(processor, nodes, at, walks.missing_class):  # type: ignore[union-attr]
            missing_possible = missing_possible or k in _MAY_LEAVE_MISSING
    return n


#: the positions in :data:`_VALIDATION_STEPS` of the missing-path check and of the checks before it that
#: can put a ``NoneExistingPath`` into the tree (moto's values check puts ``DDBTypedValue``s in)
_MISSING_CHECK, _MAY_LEAVE_MISSING = 6, (3, 4, 5)
#: the node classes a check replaces in the tree (by position; moto's resolving check returns a SET action
#: as it is, and replaces a path)
_REPLACED_BY = {
    3: ("ExpressionAttributeValue",),
    4: ("UpdateExpressionPath",),
    5: ("UpdateExpressionFunction",),
    7: ("UpdateExpressionValue",),
}
_RESOLVING = 4  # the check with a hook before each child (moto's resolving check: acts only for actions)


class _Walks:
    """Where moto's update-expression checks act in one parsed tree: the tree as a recipe to copy it from,
    and for each check from the values on (``at``, by position in :data:`_VALIDATION_STEPS`) the nodes its
    walk processes, in the walk's order, with the child position each has in its parent (the resolving
    check's hooks before each child of an action among them), or ``None`` where the whole walk runs.

    moto's walk (``DepthFirstTraverser.traverse_node_recursively``) visits every node after its children and
    replaces a node it processes, in its parent's children, by what the check returns; nothing else in the
    tree changes. So the nodes a check processes are those of its classes in the tree as it is when the
    check starts: the parsed tree's, as long as no check before replaced them or a node above them
    (:data:`_REPLACED_BY`) and they are of no class the checks before make (``DDBTypedValue``,
    ``NoneExistingPath``: the missing-path check walks the whole tree). docs/performance.md ("Local
    pipeline")."""

    __slots__ = ("at", "kids", "missing_class", "missing_possible", "shape")

    def __init__(self) -> None:
        self.shape: tuple[tuple[type, str, int], ...] = ()
        self.kids: tuple[tuple[int, tuple[tuple[bool, Any], ...]], ...] = ()
        self.at: list[tuple[tuple[int, int, bool], ...] | None] = []
        self.missing_possible = True
        self.missing_class: type = type(None)

    @classmethod
    def of(cls, tree: Any, validators: Any) -> _Walks | None:
        """The walks of ``tree``; ``None`` for a tree of anything but the parser's plain nodes."""
        from moto.dynamodb.parsing import ast_nodes as moto_nodes  # type: ignore[attr-defined]
        from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node  # type: ignore[attr-defined]

        ast_nodes: Any = moto_nodes
        if _copy_parsed_tree(tree, Node) is None:
            return None
        pre: list[Any] = []
        events: list[tuple[int, int, bool]] = []  # (node, child position, a hook before that child)
        index: dict[int, int] = {}

        def visit(node: Any, child_id: int) -> None:
            i = index[id(node)] = len(pre)
            pre.append(node)
            for j, child in enumerate(node.children or ()):
                events.append((i, j, True))
                if isinstance(child, Node):
                    visit(child, j)
            events.append((i, child_id, False))

        visit(tree, -1)
        walks = cls()
        walks.shape = tuple((type(n), n.type, -1 if n.parent is None else index[id(n.parent)]) for n in pre)
        walks.kids = tuple(
            (i, tuple((True, index[id(c)]) if isinstance(c, Node) else (False, c) for c in n.children))
            for i, n in enumerate(pre)
            if n.children is not None
        )
        steps = [getattr(validators, name) for name in _VALIDATION_STEPS]
        kinds = [tuple(step._processing_map(step.__new__(step)).keys()) for step in steps]
        walks.missing_class = ast_nodes.NoneExistingPath
        walks.missing_possible = kinds[_MISSING_CHECK] != (ast_nodes.NoneExistingPath,) or any(
            isinstance(n, ast_nodes.NoneExistingPath) for n in pre
        )
        made = (ast_nodes.DDBTypedValue, ast_nodes.NoneExistingPath)  # the nodes the checks make
        actions = tuple(getattr(ast_nodes, name) for name in _ACTIONS)
        for k, step in enumerate(steps):
            own_walk = (
                step.traverse_node_recursively is DepthFirstTraverser.traverse_node_recursively
                and step.traverse is DepthFirstTraverser.traverse
            )
            hooked = step.pre_processing_of_child is not DepthFirstTraverser.pre_processing_of_child
            if (
                k < 3
                or not own_walk
                or (hooked and k != _RESOLVING)
                or any(issubclass(c, kinds[k]) for c in made)
            ):
                walks.at.append(None)
                continue
            at = tuple(
                (i, j, hook)
                for i, j, hook in events
                if (hook and hooked and isinstance(pre[i], actions))
                or (not hook and isinstance(pre[i], kinds[k]))
            )
            replaced = tuple(
                getattr(ast_nodes, name) for b, names in _REPLACED_BY.items() if b < k for name in names
            )
            walks.at.append(None if any(i == 0 or _under(pre[i], replaced) for i, _, _ in at) else at)
        return walks

    def copy(self) -> list[Any]:
        """A copy of the tree, its nodes in pre-order (the root first): the same classes, values and parent
        links as ``copy.deepcopy`` makes (strings and integers are shared, as it shares them)."""
        new = object.__new__
        nodes: list[Any] = []
        for kind, type_, parent in self.shape:
            node: Any = new(kind)
            node.type = type_
            node.children = None
            node.parent = nodes[parent] if parent >= 0 else None
            nodes.append(node)
        for i, kids in self.kids:
            nodes[i].children = [nodes[value] if is_node else value for is_node, value in kids]
        return nodes


def _under(node: Any, kinds: tuple[type, ...]) -> bool:
    """Whether ``node`` or a node above it is one of ``kinds``."""
    while node is not None:
        if isinstance(node, kinds):
            return True
        node = node.parent
    return False


def _walk_at(processor: Any, nodes: list[Any], at: tuple[tuple[int, int, bool], ...], missing: type) -> bool:
    """moto's walk of ``processor``, at the nodes it processes (:class:`_Walks`): each replaced in its parent
    by what the processor returns, the hooks called where the walk calls them; whether it returned a
    ``missing`` node."""
    process, hook = processor.process, processor.pre_processing_of_child
    found = False
    for i, child_id, before_child in at:
        node = nodes[i]
        if before_child:
            hook(node, child_id)
            continue
        parent_node = node.parent
        node = process(node)
        node.parent = parent_node
        if parent_node:
            parent_node.children[child_id] = node
        found = found or isinstance(node, missing)
    return found


def _leaves_as_is(plan: Any, processor: Any) -> bool:
    """Whether the plan of one check says it leaves the tree as it is: ``True``/``False``, or its test of the
    check's inputs (one that fails on them is undecided: moto's check runs, and refuses as it does)."""
    if plan is True or plan is False:
        return plan
    try:
        return bool(plan(processor))
    except Exception:
        return False


def _post_order(node: Any, node_class: type, out: list[Any]) -> list[Any]:
    for child in node.children or ():
        if isinstance(child, node_class):
            _post_order(child, node_class, out)
    out.append(node)
    return out


def _validation_plan(tree: Any, validators: Any) -> tuple[Any, ...] | None:
    """For each of moto's checks (:data:`_VALIDATION_STEPS`) of a parsed update expression: ``True`` if it
    returns the tree as it is for every request (nothing in the tree it acts on), ``False`` if it has to run,
    or a test of the check's own inputs (its names, its table's keys) that is true only if it would return
    the tree as it is; ``None`` (moto's validation) for a tree of anything but the parser's plain nodes."""
    from moto.dynamodb.parsing import ast_nodes  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    nodes = _post_order(tree, Node, [])
    if tree.parent is not None or any(n.__class__ is not type(n) for n in nodes):
        return None

    def present(*names: str) -> bool:
        kinds = tuple(getattr(ast_nodes, name) for name in names)
        return any(isinstance(n, kinds) for n in nodes)

    try:  # the action counts are the tree's alone
        validators.ActionCountValidator().traverse(copy.deepcopy(tree))
        counts_pass = True
    except Exception:  # refused: moto's check runs and refuses each time
        counts_pass = False
    return (
        counts_pass,
        _overlap_check(nodes, ast_nodes),
        _key_update_check(nodes, ast_nodes),
        False,  # values: each ``:name`` is replaced
        False,  # the paths are resolved against the item
        not present("UpdateExpressionFunction"),
        not present("UpdateExpressionFunction", "NoneExistingPath") and _paths_only_targets(nodes, ast_nodes),
        not present("UpdateExpressionValue"),
        not present("UpdateExpressionSetAction"),
        not present("UpdateExpressionSetAction"),
    )


def _paths_only_targets(nodes: list[Any], ast_nodes: Any) -> bool:
    """Whether every path of the tree is the first child of an action (what a SET, REMOVE, ADD or DELETE
    changes) with no action below it: moto's resolving check turns its resolving off before an action's first
    child (only an action turns it on again), so such a path stays in the tree as it is, and only a path in a
    value or a function can bring a ``NoneExistingPath`` into it."""
    actions = tuple(getattr(ast_nodes, name) for name in _ACTIONS)
    for n in nodes:
        if isinstance(n, ast_nodes.UpdateExpressionPath):
            parent = n.parent
            if not isinstance(parent, actions) or not parent.children or parent.children[0] is not n:
                return False
            if any(isinstance(below, actions) for below in _post_order(n, ast_nodes.Node, [])):
                return False
    return True


def _overlap_check(nodes: list[Any], ast_nodes: Any) -> Any:
    """moto's overlapping-path check, as far as the tree decides it: at every clause node it lists the
    actions below it, a path that is a single ``#name`` by the name it stands for, every other path written
    out (``a.b[1]``), and refuses overlapping written paths, then any path twice. The written paths are the
    tree's: ``False`` (moto's check runs and refuses) if they overlap; without names, whether any node's
    paths repeat; otherwise a test of the request's names on each distinct list (only the longest if it
    holds every other: a repeat in a part is a repeat in the whole), true only if nothing repeats."""
    from collections import Counter

    from moto.dynamodb.utils import find_duplicates, find_path_overlaps  # type: ignore[attr-defined]

    entries = _overlap_lists(nodes, ast_nodes)
    if entries is None or any(find_path_overlaps(list(written)) for written, _ in entries):
        return False
    if not entries:
        return True
    whole = max(entries, key=lambda e: len(e[0]) + len(e[1]))
    if all(Counter(w) <= Counter(whole[0]) and Counter(m) <= Counter(whole[1]) for w, m in entries):
        entries = {whole: None}
    if not any(named for _, named in entries):
        return not any(find_duplicates(list(written)) for written, _ in entries)
    checked = tuple(entries)

    def leaves_as_is(processor: Any) -> bool:
        names = processor.expression_attribute_names
        return not any(find_duplicates([*written, *(names[p] for p in named)]) for written, named in checked)

    return leaves_as_is


def _overlap_lists(
    nodes: list[Any], ast_nodes: Any
) -> dict[tuple[tuple[Any, ...], tuple[Any, ...]], None] | None:
    """The distinct lists (written paths, names) moto's overlapping-path check makes at the clause nodes of a
    tree, as it makes them; ``None`` for a tree it would not list (not the parser's)."""
    action_types = [getattr(ast_nodes, name) for name in _ACTIONS]
    entries: dict[tuple[tuple[Any, ...], tuple[Any, ...]], None] = {}
    try:
        for n in nodes:
            if not isinstance(n, ast_nodes.UpdateExpression):
                continue
            written, named = [], []
            for action in n.find_clauses(action_types):
                path = action.children[0]
                head = path.children[0]
                if isinstance(head, ast_nodes.ExpressionAttributeName) and len(path.children) == 1:
                    named.append(head.get_attribute_name_placeholder())
                else:
                    written.append(path.to_str())
            entries[(tuple(written), tuple(named))] = None
    except Exception:  # not the parser's tree: moto's check runs
        return None
    return entries


def _key_update_check(nodes: list[Any], ast_nodes: Any) -> Any:
    """moto's key-attribute check looks at the first name of every path (a ``#name`` by what it stands for)
    and refuses a key attribute of the table: ``True`` for a tree without paths, else a test of the check's
    names and keys, true only if no path starts with a key attribute."""
    try:
        heads = tuple(
            dict.fromkeys(
                n.children[0].children[0] for n in nodes if isinstance(n, ast_nodes.UpdateExpressionPath)
            )
        )
    except Exception:  # not the parser's tree: moto's check runs
        return False
    if not heads:
        return True

    def leaves_as_is(processor: Any) -> bool:
        names, keys = processor.expression_attribute_names, processor.table_key_attributes
        return not any(names.get(h, h) in keys for h in heads)

    return leaves_as_is
