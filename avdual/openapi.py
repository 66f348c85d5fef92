"""The platform's OpenAPI 3.1 document, generated from the Powertools resolvers of every API function.

Each API function module (topology route → function → handler module) exposes ``app``;
their generated documents are merged into one (paths + component schemas).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from common.routes import security_schemes
from contracts.topology import FUNCTIONS, ROUTES

TITLE = "AV dual – Plattform-API (Bildungsbüro Landkreis Ludwigsburg)"
VERSION = "1.0.0"


def api_apps() -> list[Any]:
    names = sorted({r.function for r in ROUTES})
    return [importlib.import_module(FUNCTIONS[n].handler.rpartition(".")[0]).app for n in names]


def openapi_document() -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": {},
        "components": {"schemas": {}},
    }
    for app in api_apps():
        part = json.loads(
            app.get_openapi_json_schema(title=TITLE, version=VERSION, security_schemes=security_schemes())
        )
        for path, ops in part.get("paths", {}).items():
            doc["paths"].setdefault(path, {}).update(ops)
        doc["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
        if "securitySchemes" in part.get("components", {}):
            doc["components"].setdefault("securitySchemes", {}).update(part["components"]["securitySchemes"])
    doc["paths"] = dict(sorted(doc["paths"].items()))
    doc["components"]["schemas"] = dict(sorted(doc["components"]["schemas"].items()))
    return doc


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
