"""The Jinja2 environment of the report pages (``templates/*.html.j2``) and the office e-mails, with the
filters ``pct`` (fraction → ``"38,5 %"``) and ``signed`` (change → ``"+3"``, ``"−2"``, ``"±0"``). Apart from
the report renderer (:mod:`services.reporting.logic.report`) so that the functions that only send e-mails
carry nothing but Jinja2 (docs/adr/0024-dependency-layers-per-function.md). Jinja2 is imported when the
first template is rendered, not with the handlers that import this module (docs/performance.md).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from services.reporting.logic.numbers import percent_text, signed_text

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def add_filters(env: Environment) -> Environment:
    """The template filters: ``pct`` (fraction → "38,5 %") and ``signed`` (change → "+3", "−2", "±0")."""
    env.filters["pct"] = percent_text
    env.filters["signed"] = signed_text
    return env


@cache
def environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return add_filters(
        Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    )
