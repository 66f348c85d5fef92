"""Request guards that run before the Powertools resolver parses anything.

A body larger than the limit (413), JSON nested deeper than :data:`MAX_DEPTH` (400; Python's
parser would hit its recursion limit) and an undecodable base64 body (400) are refused with the
platform's error body, before any JSON parsing.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

MAX_JSON_BYTES = 100 * 1024
MAX_UPLOAD_BYTES = 1024 * 1024
MAX_DEPTH = 16


def _error(status: int, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps({"message": message, "errors": []}, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def json_depth(text: str) -> int:
    """Maximum nesting of arrays/objects, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def reject(event: dict[str, Any]) -> dict[str, Any] | None:
    """An API Gateway proxy response refusing the request, or ``None`` to let it through."""
    body = event.get("body")
    if not body:
        return None
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    upload = headers.get("content-type", "").lower().startswith("multipart/form-data")
    limit = MAX_UPLOAD_BYTES if upload else MAX_JSON_BYTES
    if event.get("isBase64Encoded"):
        if len(body) > limit * 4 // 3 + 4:
            return _error(413, f"Die Anfrage ist zu groß (höchstens {limit // 1024} KB).")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return _error(400, "Die Anfrage ist ungültig kodiert.")
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > limit:
        return _error(413, f"Die Anfrage ist zu groß (höchstens {limit // 1024} KB).")
    if not upload and json_depth(raw.decode("utf-8", "replace")) > MAX_DEPTH:
        return _error(400, "Die Anfrage ist zu tief verschachtelt.")
    return None
