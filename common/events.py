"""Event publishing: a port (``EventPublisher``) with an EventBridge adapter and an in-memory fake.

``PutEvents`` takes at most 10 entries per call; entries that fail (``FailedEntryCount > 0``)
are retried with backoff and, if they still fail, :class:`PublishError` is raised —
a partial failure is never ignored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from common import settings
from contracts.events import EventSpec, Metadata

MAX_ENTRIES_PER_CALL = 10


class PublishError(RuntimeError):
    """Some events could not be put on the bus after retries; ``failed`` lists their error codes."""

    def __init__(self, failed: list[dict[str, Any]]):
        super().__init__(f"{len(failed)} event(s) not published: {failed[:3]}")
        self.failed = failed


@dataclass(frozen=True)
class OutgoingEvent:
    """A fact ready to publish: spec + validated data + business idempotency key."""

    spec: EventSpec
    data: BaseModel
    idempotency_key: str
    correlation_id: str
    occurred_at: datetime

    def detail(self) -> dict[str, Any]:
        """The envelope ``{"metadata", "data"}`` as JSON-compatible dict; validates ``data`` type."""
        if not isinstance(self.data, self.spec.data_model):
            raise TypeError(f"{self.spec.detail_type} needs {self.spec.data_model.__name__}")
        meta = Metadata(
            version=self.spec.version,
            correlation_id=self.correlation_id,
            idempotency_key=self.idempotency_key,
            occurred_at=self.occurred_at,
        )
        return {"metadata": meta.model_dump(mode="json"), "data": self.data.model_dump(mode="json")}

    def entry(self, bus_name: str) -> dict[str, Any]:
        return {
            "Source": self.spec.source.value,
            "DetailType": self.spec.detail_type,
            "Detail": json.dumps(self.detail(), ensure_ascii=False, separators=(",", ":")),
            "EventBusName": bus_name,
        }


class EventPublisher(Protocol):
    def publish(self, events: Sequence[OutgoingEvent]) -> None: ...


class EventBridgePublisher:
    """Publishes to the platform bus (name from ``EVENT_BUS_NAME``) with retries of failed entries."""

    def __init__(self, client: Any | None = None, bus_name: str | None = None, attempts: int = 3):
        self._client = client
        self._bus = bus_name
        self._attempts = attempts

    def publish(self, events: Sequence[OutgoingEvent]) -> None:
        if not events:
            return
        bus = self._bus or settings.event_bus_name()
        self.publish_entries([e.entry(bus) for e in events])

    def publish_entries(self, entries: list[dict[str, Any]]) -> None:
        """Put ready ``PutEvents`` entries; retries failed entries, raises ``PublishError`` if any remain."""
        client = self._client or settings.client("events")
        for chunk in _chunks(entries, MAX_ENTRIES_PER_CALL):
            pending = chunk
            failed: list[dict[str, Any]] = []
            for attempt in range(self._attempts):
                resp = client.put_events(Entries=pending)
                if not resp.get("FailedEntryCount"):
                    failed = []
                    break
                results = resp["Entries"]
                failed = [r for r in results if r.get("ErrorCode")]
                pending = [e for e, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
                time.sleep(0.05 * (2**attempt))
            if failed:
                raise PublishError(failed)


class InMemoryPublisher:
    """Test fake: records published events (as EventBridge-shaped dicts)."""

    def __init__(self) -> None:
        self.events: list[OutgoingEvent] = []

    def publish(self, events: Sequence[OutgoingEvent]) -> None:
        self.events.extend(events)

    def detail_types(self) -> list[str]:
        return [e.spec.detail_type for e in self.events]


def _chunks(items: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
