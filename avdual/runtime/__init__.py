"""The embedded local runtime: the whole platform in one process on moto.

It creates every resource **from the topology**, routes events through moto's EventBridge
rules (same patterns as CDK) into SQS queues, and plays the Lambda service: it imports each
handler by the dotted path CDK uses and calls it with real-shaped events — API Gateway REST
proxy events for routes, SQS batch events wrapping EventBridge events for subscriptions,
Scheduler payloads for schedules — and a fake Lambda context.

Delivery options prove idempotency and order tolerance: ``duplicate`` delivers every message
a second time later, ``shuffle`` shuffles what is available. Messages whose handler keeps
failing go to the subscription's DLQ after ``max_receive_count`` attempts. A drain that
needs more than ``max_deliveries`` deliveries raises :class:`EventStormError`.

API routes are authorised like API Gateway's Cognito authorizer does it: ``api(..., token=...)`` or an
``Authorization`` header is verified against the topology's user pool on moto (``avdual.auth``;
401 without or with an invalid token); ``api(..., claims=...)`` models a request API Gateway has
already authorised (tests, demo). Public routes (the web form page) need neither.

Time: ``self.clock`` is a simulated clock (real time plus an offset). :meth:`LocalRuntime.advance` moves it
forward and fires every topology schedule that falls due on the way, in order, as EventBridge Scheduler
would (moto's Scheduler never fires; docs/architecture.md), with ``<aws.scheduler.scheduled-time>``
replaced by the scheduled instant; API Gateway's ``requestTimeEpoch`` follows the clock too.

Mail and files: the SES sender identities of the topology are created and verified; with ``out_dir`` every
email sent through SES is also written to ``<out_dir>/mail/*.eml`` and every object stored in a topology
bucket to ``<out_dir>/<bucket>/``, so a person can open them.

moto is not thread-safe (docs/architecture.md, "The local runtime"): every entry point takes ``self.lock``.

The package, by job: ``clock`` (simulated clock, cron), ``moto_patches``, ``call_count`` (AWS API calls
counted per client call), ``resources`` (from the topology),
``stream_mappings`` (DynamoDB streams → the outbox relays), ``filtering`` (Lambda event filters),
``lambda_service`` (invoking handlers), ``gateway`` (API Gateway), ``delivery`` (SQS to
consumers), ``scheduler`` (EventBridge Scheduler); :class:`LocalRuntime` puts them together.
"""

from __future__ import annotations

import gc
import json
import os
from functools import cache
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from moto import mock_aws

from avdual.runtime import call_count
from avdual.runtime.base import ACCOUNT, REGION, DeadLetter, DeliveryStats
from avdual.runtime.clock import SimClock, schedule_times
from avdual.runtime.delivery import EventStormError
from avdual.runtime.gateway import LOCAL_AUTH_PATH, UNAUTHORIZED_BODY, ApiResponse, Gateway
from avdual.runtime.lambda_service import FakeLambdaContext
from avdual.runtime.moto_patches import (
    install_attribute_value_serializer,
    install_condition_expression_lexing_cache,
    install_dispatch_name_caches,
    install_item_backup_for_transactions,
    install_item_size_check_once_per_attribute,
    install_item_size_copy_and_result,
    install_jsonpath_parse_cache,
    install_lazy_kms_key_pairs,
    install_partition_query,
    install_projection_of_named_attributes,
    install_serializer_key_cache,
    install_sqs_retention_check,
    install_traverser_node_types_cache,
    install_update_expression_parse_cache,
    install_update_expression_traversal,
    install_update_expression_tree_copy,
    install_update_expression_validation_plan,
)
from avdual.runtime.resources import Resources
from avdual.runtime.scheduler import ASYNC_ATTEMPTS, Scheduler
from common import aws
from common.dynamodb import all_items
from contracts.topology import API_BASE_URL_ENV, FUNCTIONS, STAGE_ENV, constant_env

__all__ = [
    "ACCOUNT",
    "ASYNC_ATTEMPTS",
    "LOCAL_AUTH_PATH",
    "REGION",
    "UNAUTHORIZED_BODY",
    "ApiResponse",
    "DeadLetter",
    "DeliveryStats",
    "EventStormError",
    "FakeLambdaContext",
    "LocalRuntime",
    "SimClock",
    "schedule_times",
]


@cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def _new_default_session() -> None:
    """A new boto3 default session (fresh credentials, region and clients for this runtime) that shares one
    botocore data loader with every runtime this process started before: a session's own loader would parse
    the service models (JSON, ~0.3 s of CPU per runtime) again. The loader only reads botocore's and boto3's
    data files, which do not change while the process runs."""
    loader = _shared_loader()
    core = botocore.session.get_session()
    core.register_component("data_loader", loader)
    boto3.setup_default_session(botocore_session=core)
    loader.search_paths[:] = dict.fromkeys(loader.search_paths)  # boto3 adds its data folder per session


#: The collector's first-generation threshold while a runtime runs (Python's default: 700): one process holds
#: moto's backends, botocore's models and every service's code, and each request allocates thousands of
#: short-lived objects, so collections at the default rate walk a large young generation far more often than
#: they free anything (docs/performance.md, "Local pipeline"). Only how often Python collects; nothing the
#: runtime or the services do depends on it.
GC_FIRST_GENERATION = 7000


def _collect_less() -> tuple[int, int, int]:
    """Freeze what the process holds now (the collector skips it until :func:`_collect_as_before`) and
    collect the first generation less often; the thresholds before."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_FIRST_GENERATION, *before[1:])
    return before


def _collect_as_before(before: tuple[int, int, int]) -> None:
    gc.unfreeze()
    gc.set_threshold(*before)


class LocalRuntime(Gateway, Scheduler, Resources):
    """Run the platform on moto. Use as a context manager or call :meth:`start`/:meth:`stop`."""

    _gc_before: tuple[int, int, int] | None = None

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "AVdual",
            "POWERTOOLS_DEV": "false",
            STAGE_ENV: self.stage,
            # e-mails link to the local gateway (``make serve``, PORT as there)
            API_BASE_URL_ENV: os.environ.get(API_BASE_URL_ENV)
            or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/",
        }
        if self.log_level:
            env["POWERTOOLS_LOG_LEVEL"] = self.log_level
        for fn in FUNCTIONS.values():  # one process plays every function: their fixed settings side by side
            env.update(constant_env(fn))
        os.environ.update(env)
        install_item_backup_for_transactions()
        install_jsonpath_parse_cache()
        install_sqs_retention_check()
        install_serializer_key_cache()
        install_attribute_value_serializer()
        install_partition_query()
        install_projection_of_named_attributes()
        install_update_expression_parse_cache()
        install_update_expression_tree_copy()
        install_traverser_node_types_cache()
        install_dispatch_name_caches()
        install_lazy_kms_key_pairs()
        install_item_size_copy_and_result()
        install_update_expression_traversal()
        install_update_expression_validation_plan()
        install_item_size_check_once_per_attribute()
        install_condition_expression_lexing_cache()
        self._mock = mock_aws()
        self._mock.start()
        _new_default_session()
        self._clients.clear()
        call_count.listen(self._count_call)
        aws.reset()
        self._create_resources()
        self._gc_before = _collect_less()

    def stop(self) -> None:
        if self._gc_before is not None:
            _collect_as_before(self._gc_before)
            self._gc_before = None
        call_count.unlisten(self._count_call)
        self._clients.clear()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        aws.reset()

    def scan(self, logical_table: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(all_items(boto3.resource("dynamodb").Table(self.names[logical_table]).scan))

    def put_event_raw(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        with self.lock:
            boto3.client("events").put_events(
                Entries=[
                    {
                        "Source": source,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail),
                        "EventBusName": self.names["bus"],
                    }
                ]
            )
