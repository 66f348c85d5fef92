"""Powertools observability, one setup for all services (Logger, Tracer, Metrics).

Instances are created per service name; Powertools reads its own settings
(``POWERTOOLS_*``) from the environment, the deployed stack sets them.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "AVdual"


@cache
def logger(service: str) -> Logger:
    return Logger(service=service)


@cache
def tracer(service: str) -> Tracer:
    return Tracer(service=service)


@cache
def metrics(service: str) -> Metrics:
    return Metrics(namespace=METRICS_NAMESPACE, service=service)
