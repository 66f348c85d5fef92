"""Request guards of every API that run before Powertools parses anything (after authorisation).

- the media type (RFC 9110 §8.3.1: type, subtype and parameter names are case-insensitive): a body must be
  JSON or ``multipart/form-data`` (415 otherwise); the ``Content-Type`` header is rewritten in lower case
  (parameter values such as the multipart boundary kept): Powertools compares it case-sensitively;
- a body larger than the limit (413), JSON nested deeper than :data:`MAX_DEPTH` (400; Python's parser would
  hit its recursion limit) and an undecodable base64 body (400).

Refusals use the platform's one error body (:func:`common.errors.error_body`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

MAX_JSON_BYTES = 100 * 1024
MAX_UPLOAD_BYTES = 1024 * 1024
MAX_DEPTH = 16
JSON = "application/json"
MULTIPART = "multipart/form-data"
#: Media types a request body may have (the OpenAPI document lists per route which one it reads).
MEDIA_TYPES = (JSON, MULTIPART)
UNSUPPORTED_MEDIA_TYPE = (
    "Nicht unterstützter Content-Type (erwartet application/json bzw. multipart/form-data)."
)


class RequestRefusedError(Exception):
    """A request refused before parsing: HTTP ``status`` with a German ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(value: str) -> tuple[str, str]:
    """``Application/JSON; Charset=UTF-8`` → (``application/json``, ``application/json; charset=UTF-8``):
    the media type and the header with type, subtype and parameter names in lower case."""
    kind, *params = [p.strip() for p in value.split(";")]
    kind = kind.lower()
    out = [kind]
    for p in params:
        name, sep, val = p.partition("=")
        if name.strip():
            out.append(f"{name.strip().lower()}{sep}{val.strip()}")
    return kind, "; ".join(out)


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


def _normalise_content_type(event: dict[str, Any]) -> str:
    """The body's media type (``application/json`` without a header); rewrites the header in ``event``."""
    headers = dict(event.get("headers") or {})
    values = [str(v) for k, v in headers.items() if str(k).lower() == "content-type"]
    if not values or not values[0].strip():
        return JSON
    kind, normalised = media_type(values[0])
    headers = {k: v for k, v in headers.items() if str(k).lower() != "content-type"}
    event["headers"] = {**headers, "Content-Type": normalised}
    multi = {
        k: v for k, v in (event.get("multiValueHeaders") or {}).items() if str(k).lower() != "content-type"
    }
    event["multiValueHeaders"] = {**multi, "Content-Type": [normalised]}
    return kind


def check_body(event: dict[str, Any]) -> None:
    """Raise :class:`RequestRefusedError` for a body no route may read; normalise its ``Content-Type``."""
    body = event.get("body")
    if not body:
        return
    kind = _normalise_content_type(event)
    if kind not in MEDIA_TYPES:
        raise RequestRefusedError(415, UNSUPPORTED_MEDIA_TYPE)
    limit = MAX_UPLOAD_BYTES if kind == MULTIPART else MAX_JSON_BYTES
    too_large = RequestRefusedError(413, f"Die Anfrage ist zu groß (höchstens {limit // 1024} KB).")
    if event.get("isBase64Encoded"):
        if len(body) > limit * 4 // 3 + 4:
            raise too_large
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise RequestRefusedError(400, "Die Anfrage ist ungültig kodiert.") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > limit:
        raise too_large
    if kind == JSON and json_depth(raw.decode("utf-8", "replace")) > MAX_DEPTH:
        raise RequestRefusedError(400, "Die Anfrage ist zu tief verschachtelt.")
