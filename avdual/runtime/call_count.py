"""Counting AWS API calls at the client level: every botocore client, whichever session made it and
whenever it was made (clients cached before a runtime started, clients Powertools makes from its own
``boto3.session.Session()``), goes through ``BaseClient._make_api_call``. The wrapper is installed once
per process and reports each call to the runtimes that listen (:func:`listen`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.client import BaseClient

Listener = Callable[[str, str], None]
_listeners: list[Listener] = []


def install() -> None:
    """Wrap ``BaseClient._make_api_call`` (once per process)."""
    original = BaseClient._make_api_call  # type: ignore[attr-defined]
    if getattr(original, "_avdual_counted", False):
        return

    def _make_api_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if _listeners:
            service = self.meta.service_model.service_name
            for listener in tuple(_listeners):
                listener(service, operation_name)
        return original(self, operation_name, api_params)

    _make_api_call._avdual_counted = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]


def listen(listener: Listener) -> None:
    install()
    if listener not in _listeners:
        _listeners.append(listener)


def unlisten(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)
