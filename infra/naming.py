"""Construct ids derived from topology names (stable logical IDs)."""

from __future__ import annotations

import re


def construct_id(name: str) -> str:
    """``"intake-api"`` → ``"IntakeApi"``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)
