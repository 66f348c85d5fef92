"""Unit tier for the reporting renderers: no network (CONTRIBUTING.md, "Tests")."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_network():
    """Unit tier: no sockets (CONTRIBUTING.md, "Tests")."""
    pytest_socket = pytest.importorskip("pytest_socket")
    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()
