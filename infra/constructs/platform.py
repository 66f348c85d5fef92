"""Platform: the custom event bus with its archive, the KMS keys, the S3 access-log bucket and the
tables owned by ``platform``."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from constructs import Construct

from contracts import topology as topo
from contracts.events import Source
from infra.constructs.keys import Keys
from infra.constructs.storage import access_log_bucket, table_from_topology

ARCHIVE_RETENTION_DAYS = 365


def bus_name(stage: str) -> str:
    return f"avdual-{stage}"


class Platform(Construct):
    """Custom EventBridge bus ``avdual-<stage>``, an archive of all platform events, keys, platform tables."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.keys = Keys(self, "Keys", stage=stage)
        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name(stage))
        self.archive = self.bus.archive(
            "Archive",
            description=f"All avdual events ({stage}) for replay",
            event_pattern=events.EventPattern(source=sorted(s.value for s in Source)),
            retention=Duration.days(ARCHIVE_RETENTION_DAYS),
        )
        self.access_logs = access_log_bucket(self, "AccessLogsBucket")
        self.tables: dict[str, dynamodb.Table] = {
            t.name: table_from_topology(self, t, self.keys.data)
            for t in topo.TABLES.values()
            if t.service == "platform"
        }
