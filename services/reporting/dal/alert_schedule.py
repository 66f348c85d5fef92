"""The alert digest's one-time schedule: EventBridge Scheduler through :mod:`common.one_time` (boto3 stays
below ``logic/``, docs/architecture.md "Layers")."""

from __future__ import annotations

from datetime import datetime

from common import one_time
from contracts.topology import ALERT_DIGEST


def schedule_digest(at: datetime) -> bool:
    """Schedule the digest of the window ending at ``at``; False if another delivery scheduled it already."""
    return one_time.create(ALERT_DIGEST, at)
