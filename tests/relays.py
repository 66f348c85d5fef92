"""Test helper: run an outbox relay of the embedded runtime with another EventBridge client (fault
injection). The relay's code is the same; only the client its publisher uses is replaced."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from avdual.runtime import LocalRuntime
from common import outbox_relay
from common.event_bus import EventBridgePublisher
from contracts.topology import FUNCTIONS, TABLES, Function, outbox_relay_name


def relay_of(table: str) -> Function:
    return FUNCTIONS[outbox_relay_name(TABLES[table])]


@contextmanager
def relay_publishing_through(rt: LocalRuntime, table: str, client: Any, attempts: int = 3) -> Iterator[None]:
    """While active, the relay of ``table`` puts events with ``client`` (``attempts`` per entry)."""
    name = relay_of(table).name
    real = rt.handler(name)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        publisher = EventBridgePublisher(client=client, bus_name=rt.names["bus"], attempts=attempts)
        return outbox_relay.relay(event, context, publisher)

    rt._handlers[name] = handler
    try:
        yield
    finally:
        rt._handlers[name] = real
