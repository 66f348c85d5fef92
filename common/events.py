"""Outgoing events: the envelope of a fact (:class:`OutgoingEvent`), the publishing port
(``EventPublisher``) and an in-memory fake. Pure: the EventBridge adapter is :mod:`common.event_bus`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pydantic import BaseModel

    from contracts.event_catalog import EventSpec


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
        from contracts.events import Metadata  # pydantic: not needed where events are only relayed

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


class InMemoryPublisher:
    """Test fake: records published events (as EventBridge-shaped dicts)."""

    def __init__(self) -> None:
        self.events: list[OutgoingEvent] = []

    def publish(self, events: Sequence[OutgoingEvent]) -> None:
        self.events.extend(events)

    def detail_types(self) -> list[str]:
        return [e.spec.detail_type for e in self.events]
