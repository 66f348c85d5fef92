"""What every part of the local runtime shares: the fake account and region, the runtime's state, and
the records of delivery (dead letters, statistics).
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from avdual.auth import LocalCognito
from avdual.runtime.clock import SimClock

REGION: Final = "eu-central-1"
ACCOUNT = "123456789012"


@dataclass
class DeadLetter:
    subscription: str
    body: dict[str, Any]
    attempts: int


@dataclass
class DeliveryStats:
    deliveries: int = 0
    batches: int = 0
    failures: int = 0
    by_detail_type: Counter[str] = field(default_factory=Counter)


class RuntimeState:
    """The state of a :class:`~avdual.runtime.LocalRuntime`; each part of the runtime (a base class of
    ``LocalRuntime``) works on it."""

    #: The platform bus and its archive, set when the resources are created (``start``).
    bus_arn: str
    archive_arn: str

    def __init__(
        self,
        *,
        stage: str = "local",
        duplicate: bool = False,
        shuffle: bool = False,
        seed: int = 0,
        max_deliveries: int = 200_000,
        log_level: str | None = None,
        out_dir: Path | None = None,
        clock_start: datetime | None = None,
    ):
        """``clock_start``: the instant the simulated clock starts at (default: now); schedules fall due after
        it."""
        self.stage = stage
        self.out_dir = out_dir
        self.clock = SimClock(clock_start)
        self._ticked = self.clock.now()  # schedules are due after this instant
        self._mail_exported = 0
        self._mirrored: dict[tuple[str, str], str] = {}  # (bucket, key) -> ETag exported
        self.duplicate = duplicate
        self.shuffle = shuffle
        self.random = random.Random(seed)
        self.max_deliveries = max_deliveries
        self.log_level = log_level
        self.lock = threading.RLock()
        self.dead_letters: list[DeadLetter] = []
        self.stats = DeliveryStats()
        self.api_calls: Counter[str] = Counter()  # AWS API calls of the functions' code
        self.api_calls_by_function: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.runtime_calls: Counter[str] = Counter()  # the runtime's own calls (pollers, set-up)
        self._counting: str | None = None  # the function whose code runs
        self._s3_writes = 0  # S3 calls that may change an object (export_outputs)
        self._mock: Any = None
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._queues: dict[str, tuple[str, str]] = {}  # subscription -> (queue url, dlq url)
        # (DLQ kind, topology name) -> url (contracts.operations kinds)
        self._dlqs: dict[tuple[str, str], str] = {}
        self._stream_shards: dict[str, tuple[str, list[str]]] = {}  # table -> (stream arn, shard ids)
        self._replay: dict[str, list[dict[str, Any]]] = {}
        # stream-triggered function -> its event source mapping's position (shard iterator) per shard
        self._stream_iterators: dict[str, list[str | None]] = {}
        self.names: dict[str, str] = {}
        self.one_time_targets: dict[str, str] = {}  # Lambda ARN of a one-time schedule's target -> function
        self._clients: dict[tuple[str, str | None], Any] = {}  # :meth:`poller_client`
        self.cognito = LocalCognito(stage, REGION)

    def poller_client(self, service: str, endpoint_url: str | None = None) -> Any:
        """The runtime's own boto3 client of ``service``, made once per start (as a Lambda poller keeps its
        connections; a client costs milliseconds to make)."""
        import boto3

        key = (service, endpoint_url)
        if key not in self._clients:
            self._clients[key] = boto3.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]
        return self._clients[key]

    def physical(self, logical: str) -> str:
        return f"avdual-{self.stage}-{logical}"
