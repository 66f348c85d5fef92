"""Lambda event filtering, as the event source mappings of the local runtime apply it.

The filter rule syntax is EventBridge's event-pattern syntax ("Control which events Lambda sends to your
function", section "Filter rule syntax"): a pattern is a JSON object whose leaves are lists of allowed
values; a record matches when every field the pattern names matches. A list matches when any of its
items matches the field's value (for an array value: any of its elements); items are literal values
(strings, numbers, ``null``) or one operator object: ``prefix``, ``suffix``, ``equals-ignore-case``,
``anything-but``, ``numeric``, ``exists``. ``$or`` takes a list of sub-patterns. Several filters of one
mapping are ORed. ``tests/unit/test_event_filtering.py`` pins this to the examples of the AWS
documentation ("Using event filtering with a DynamoDB event source" and the syntax table).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

_MISSING = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _string_op(test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    return lambda value, arg: isinstance(value, str) and test(value, str(arg))


class InvalidFilterError(ValueError):
    """The pattern is not valid filter rule syntax (Lambda rejects it when the mapping is created)."""


def check_dynamodb_patterns(patterns: Iterable[Mapping[str, Any]]) -> None:
    """Lambda filters DynamoDB stream records on the ``dynamodb`` key only ("Using event filtering with a
    DynamoDB event source"); raise for a pattern that names anything else."""
    for pattern in patterns:
        if set(pattern) != {"dynamodb"}:
            raise InvalidFilterError(f"DynamoDB filters name only the dynamodb key, not {sorted(pattern)}")


def matches_any(patterns: Iterable[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """Whether ``record`` satisfies at least one of the mapping's filters (no filters: every record)."""
    patterns = list(patterns)
    return not patterns or any(matches(p, record) for p in patterns)


def matches(pattern: Mapping[str, Any], record: Any) -> bool:
    """Whether ``record`` satisfies ``pattern`` (every named field matches; ``$or`` alternatives)."""
    for key, rule in pattern.items():
        if key == "$or":
            if not isinstance(rule, list) or not any(matches(p, record) for p in rule):
                return False
            continue
        value = record.get(key, _MISSING) if isinstance(record, Mapping) else _MISSING
        if isinstance(rule, Mapping):  # a missing object has only missing fields (``exists: false`` holds)
            if not matches(rule, value if isinstance(value, Mapping) else {}):
                return False
        elif isinstance(rule, list):
            if not _leaf(rule, value):
                return False
        else:
            raise InvalidFilterError(f"filter field {key!r}: expected an object or a list, got {rule!r}")
    return True


def _leaf(rules: Sequence[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_rule(rule, v) for rule in rules for v in values)


def _literal(rule: Any, value: Any) -> bool:
    """A literal (string, number, boolean, null) equals the value in type and value."""
    if value is _MISSING:
        return False
    if _is_number(rule) and _is_number(value):
        return bool(rule == value)
    return type(rule) is type(value) and bool(rule == value)


def _rule(rule: Any, value: Any) -> bool:
    if not isinstance(rule, Mapping):
        return _literal(rule, value)
    if len(rule) != 1:
        raise InvalidFilterError(f"one operator per rule object: {rule!r}")
    ((op, arg),) = rule.items()
    if op == "exists":
        return (value is not _MISSING) == bool(arg)
    if value is _MISSING:
        return False
    if op == "anything-but":
        excluded = arg if isinstance(arg, list) else [arg]
        return not any(_rule(x, value) for x in excluded)
    check = _OPERATORS.get(op)
    if check is None:
        raise InvalidFilterError(f"unknown filter operator {op!r}")
    return check(value, arg)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _numeric(arg: Sequence[Any], value: Any) -> bool:
    if not _is_number(value):
        return False
    if len(arg) % 2:
        raise InvalidFilterError(f"numeric: operator/number pairs expected, got {arg!r}")
    return all(_NUMERIC[arg[i]](value, arg[i + 1]) for i in range(0, len(arg), 2))


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "prefix": _string_op(str.startswith),
    "suffix": _string_op(str.endswith),
    "equals-ignore-case": _string_op(lambda v, a: v.casefold() == a.casefold()),
    "numeric": lambda value, arg: _numeric(arg, value),
}
