"""Unit tier for the reporting renderers: no network (DESIGN.md §7)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_network():
    """Unit tier: no sockets (DESIGN.md §7)."""
    pytest_socket = pytest.importorskip("pytest_socket")
    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()
