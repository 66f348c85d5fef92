"""The base of the platform's pydantic models: their validators and serializers are built on first use
(``defer_build``), not when the module is imported.

A function imports the models of every route or event it serves, but one invocation uses few of them, and
Powertools' Event Handler builds a route's validation when the route is first called: so each model is built
the first time a request, an event or a record needs it, and a cold start pays only for what it uses
(docs/performance.md). Fields, defaults and JSON schemas are the same as without it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """``BaseModel`` with ``defer_build``; a subclass's own ``model_config`` is merged with it (pydantic)."""

    model_config = ConfigDict(defer_build=True)
