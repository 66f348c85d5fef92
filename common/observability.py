"""Powertools observability, one setup for all services (Logger, Tracer, Metrics).

Instances are created per service name; Powertools reads its own settings
(``POWERTOOLS_*``) from the environment, the deployed stack sets them.

Tracing: the functions run with Lambda's active tracing, which records each invocation and its Init phase
without any SDK in the function. Powertools' Tracer is the X-Ray SDK's wrapper, and building it imports
the SDK (``aws_xray_sdk.core``, which creates botocore clients) even when tracing is disabled. So while
``POWERTOOLS_TRACE_DISABLED`` is set (the deployed default, ``contracts.topology.TRACE_DISABLED_ENV``) or
the code runs outside Lambda, the Tracer gets a provider whose subsegments record nothing, and the SDK is
never imported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, Generator, Sequence
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from contracts.topology import TRACE_DISABLED_ENV

METRICS_NAMESPACE = "AVdual"


@cache
def logger(service: str) -> Logger:
    return Logger(service=service)


class _NoSegment(BaseSegment):
    """A subsegment that records nothing."""

    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return None


class _NoTracing(BaseProvider):
    """The Tracer's provider while tracing is off: subsegments that record nothing, no SDK import."""

    @contextlib.contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NoSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> AsyncGenerator[BaseSegment, None]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None


def sdk_tracing() -> bool:
    """Powertools would trace with the X-Ray SDK: on Lambda and not switched off."""
    disabled = resolve_truthy_env_var_choice(env=os.environ.get(TRACE_DISABLED_ENV, "false"))
    return bool(os.environ.get(constants.LAMBDA_TASK_ROOT_ENV)) and not disabled


@cache
def tracer(service: str) -> Tracer:
    if sdk_tracing():
        return Tracer(service=service)
    return Tracer(service=service, disabled=True, auto_patch=False, provider=_NoTracing())


@cache
def metrics(service: str) -> Metrics:
    return Metrics(namespace=METRICS_NAMESPACE, service=service)
