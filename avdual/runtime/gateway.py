"""API Gateway of the local runtime: REST proxy events for the topology's routes, authorised like the
Cognito authorizer (``avdual.auth``; 401 without or with an invalid token); ``api(..., claims=...)``
models a request API Gateway has already authorised (tests, demo). Public routes need neither.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from avdual.auth import InvalidTokenError, bearer
from avdual.runtime.base import ACCOUNT, REGION
from avdual.runtime.lambda_service import LambdaService
from common.errors import NOT_FOUND, UNAUTHENTICATED, error_body
from common.web import LOCAL_LOGIN_VARIABLE
from contracts.topology import BINARY_MEDIA_TYPES, COGNITO, ROUTES, Route

#: Where the local gateway accepts the web form's Cognito calls (``avdual.server``).
LOCAL_AUTH_PATH = "/_local/cognito"
#: API Gateway's answer without a valid token (the CDK stack sets the same German gateway response).
UNAUTHORIZED_BODY = error_body(UNAUTHENTICATED)


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str
    #: the bytes of a binary response (API Gateway decoded the function's base64 body), else None
    data: bytes | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def response_body(out: dict[str, Any], accept: str | None) -> str | bytes:
    """The HTTP body API Gateway makes of a Lambda proxy response: a body the function base64-encoded
    (``isBase64Encoded``) becomes bytes only when the first media type of the request's ``Accept`` is one of
    the API's binary media types; otherwise the client gets the base64 text (API Gateway Developer Guide,
    "Binary media types for REST APIs" / "Return binary media from a Lambda proxy integration")."""
    body = out.get("body") or ""
    if not out.get("isBase64Encoded"):
        return str(body)
    first = (accept or "").split(",")[0].split(";")[0].strip().lower()
    binary = any(
        first == t or (t.endswith("/*") and first.startswith(t[:-1])) or t == "*/*"
        for t in BINARY_MEDIA_TYPES
    )
    return base64.b64decode(body) if binary else str(body)


def _route_regex(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


_ROUTES = [(r, _route_regex(r.path)) for r in ROUTES]


class Gateway(LambdaService):
    """Calls the API's functions as API Gateway would."""

    def match_route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for r, rx in _ROUTES:
            m = rx.match(path)
            if m and r.method == method:
                return r, m.groupdict()
        return None

    def stage_variables(self) -> dict[str, str]:
        """What CDK puts into the API stage variables: the web pages' login configuration (the app client id
        once the local pool exists; the web form page creates it), and, only here, the mark that the pages
        are served locally (they then offer the token login)."""
        out = {"authEndpoint": LOCAL_AUTH_PATH, "region": REGION, LOCAL_LOGIN_VARIABLE: "true"}
        if self.cognito.created:
            out["userPoolClientId"] = self.cognito.client_id
        return out

    def api(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        body_bytes: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        claims: dict[str, str] | None = None,
        token: str | None = None,
    ) -> ApiResponse:
        """Call the API as API Gateway would (REST proxy event); 404/405 like API Gateway for unknown routes.

        ``claims``: already authorised (tests, demo). Otherwise ``token`` or the ``Authorization`` header
        must be a valid ID token of the local user pool (401 otherwise), except on public routes.
        ``body_bytes`` is sent base64-encoded, as API Gateway does for binary media types (uploads).
        """
        found = self.match_route(method, path)
        if found is None:
            allowed = sorted({r.method for r, rx in _ROUTES if rx.match(path)})
            allow = {"Allow": ", ".join(allowed)} if allowed else {}
            message = "Methode nicht erlaubt." if allowed else NOT_FOUND
            return ApiResponse(
                405 if allowed else 404, {"Content-Type": "application/json", **allow}, error_body(message)
            )
        r, params = found
        # As API Gateway: routed on the raw path (``%2F`` is no separator), ``path`` stays percent-encoded,
        # ``pathParameters`` are decoded.
        params = {k: urllib.parse.unquote(v) for k, v in params.items()}
        if r.public:
            claims = None
            with self.lock:
                self.cognito.ensure()
        elif claims is None:
            try:
                with self.lock:
                    claims = self.cognito.verify(token or bearer(headers))
            except InvalidTokenError:
                return ApiResponse(401, {"Content-Type": "application/json"}, UNAUTHORIZED_BODY)
        else:
            claims = self.cognito.as_verified(claims)
        os.environ[COGNITO.client_id_env] = self.cognito.audience  # CDK: the web client's id
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if token and not bearer(hdrs):
            hdrs["Authorization"] = f"Bearer {token}"
        text = (
            raw_body
            if raw_body is not None
            else (None if body is None else json.dumps(body, ensure_ascii=False))
        )
        if body_bytes is not None:
            text = base64.b64encode(body_bytes).decode()
        event = {
            "resource": r.path,
            "path": path,
            "httpMethod": method,
            "headers": hdrs,
            "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": params or None,
            "stageVariables": self.stage_variables(),
            "requestContext": {
                "resourcePath": r.path,
                "httpMethod": method,
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "accountId": ACCOUNT,
                "apiId": "local",
                "requestTimeEpoch": int(self.clock.now().timestamp() * 1000),
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": "127.0.0.1", "userAgent": hdrs.get("User-Agent", "avdual-local")},
                "authorizer": {"claims": claims} if claims else None,
            },
            "body": text,
            "isBase64Encoded": body_bytes is not None,
        }
        out = self.invoke(r.function, event)
        headers = dict(out.get("headers") or {})  # Powertools' REST resolver answers with multiValueHeaders
        headers.update({k: ", ".join(v) for k, v in (out.get("multiValueHeaders") or {}).items()})
        accept = next((v for k, v in hdrs.items() if k.lower() == "accept"), None)
        body = response_body(out, accept)
        if isinstance(body, bytes):
            return ApiResponse(int(out["statusCode"]), headers, "", body)
        return ApiResponse(int(out["statusCode"]), headers, body)
