"""Platform: the custom event bus with its archive, and the tables owned by ``platform``."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from constructs import Construct

from contracts import topology as topo
from contracts.events import Source
from infra.constructs.storage import table_from_topology

ARCHIVE_RETENTION_DAYS = 365


class Platform(Construct):
    """Custom EventBridge bus ``avdual-<stage>``, an archive of all platform events, platform tables."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"avdual-{stage}")
        self.archive = self.bus.archive(
            "Archive",
            description=f"All avdual events ({stage}) for replay",
            event_pattern=events.EventPattern(source=sorted(s.value for s in Source)),
            retention=Duration.days(ARCHIVE_RETENTION_DAYS),
        )
        self.tables: dict[str, dynamodb.Table] = {
            t.name: table_from_topology(self, t) for t in topo.TABLES.values() if t.service == "platform"
        }
