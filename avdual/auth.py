"""Local Cognito: the topology's user pool on moto, tokens for local users, and token verification
as API Gateway's Cognito authorizer does it (docs/architecture.md, "The local runtime").

- The pool and its app client get **deterministic ids** (moto's HASH id strategy over the same
  name and configuration), and moto signs every pool's tokens with the same key pair. So a token
  that ``avdual token`` issues in its own process is valid for a ``make serve`` of the same stage.
- :meth:`LocalCognito.verify` checks what API Gateway's Cognito authorizer checks: a bearer token against
  the pool's JWKS (fetched from moto's ``/.well-known/jwks.json`` endpoint), its issuer and expiry, and
  returns the claims the way the REST API authorizer hands them to the Lambda: every value a string,
  ``cognito:groups`` comma-separated. Like the authorizer it accepts a token of *any* app client of the pool
  (and access tokens): the API functions refuse those themselves (``aud`` and ``token_use``, common.auth).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import boto3
import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from contracts.reference import SCHOOLS
from contracts.topology import (
    COGNITO,
    COMPANION_GROUP,
    COMPANION_ID_CLAIM,
    OFFICE_GROUP,
    UserPool,
    school_group,
)

ID_STRATEGY_ENV = {
    "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
    "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
}
#: Password of every local user (moto only; printed by ``make serve``).
LOCAL_PASSWORD = "Lokal-Passwort-1"  # noqa: S105 - moto only
AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
#: Operations the local login endpoint forwards (as the browser would call Cognito directly).
FORWARDED_OPERATIONS = {
    "InitiateAuth": "initiate_auth",
    "RespondToAuthChallenge": "respond_to_auth_challenge",
}


#: The app client of claims the local runtime passes on without a token (tests and the demo call the API with
#: claims) while the local pool does not exist yet (creating it costs about a second).
LOCAL_CLAIMS_AUDIENCE = "local-claims"


class InvalidTokenError(Exception):
    """Missing, malformed, wrongly signed, expired or foreign token (HTTP 401)."""


@dataclass(frozen=True)
class LocalUser:
    username: str
    groups: tuple[str, ...]
    companion_id: str | None = None


def user_for(role: str, *, school: str | None = None, companion: str | None = None) -> LocalUser:
    """The local user of a role: ``buero``, ``schule-rfs``, ``begleitung-c01``."""
    if role == "office":
        return LocalUser("buero", (OFFICE_GROUP,))
    if role == "school":
        if school not in SCHOOLS:
            raise ValueError(f"unknown school {school!r}; one of {', '.join(SCHOOLS)}")
        return LocalUser(f"schule-{school.lower()}", (school_group(school),))
    if role == "companion":
        if not companion:
            raise ValueError("--companion <id> is required for role companion")
        return LocalUser(f"begleitung-{companion.lower()}", (COMPANION_GROUP,), companion)
    raise ValueError(f"unknown role {role!r}; one of office, school, companion")


def _as_authorizer_value(key: str, value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if key in ("exp", "iat") and isinstance(value, int):  # API Gateway's REST authorizer format
        return datetime.fromtimestamp(value, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    return str(value)


class LocalCognito:
    """The topology's user pool on the active moto backend (call inside ``mock_aws``)."""

    def __init__(self, stage: str, region: str, spec: UserPool = COGNITO):
        self.stage = stage
        self.region = region
        self.spec = spec
        self.pool_id = ""
        self.client_id = ""
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("cognito-idp", region_name=self.region)
        return self._client

    @property
    def created(self) -> bool:
        return bool(self.pool_id)

    @property
    def audience(self) -> str:
        """The app client id the API functions accept (their ``USER_POOL_CLIENT_ID``; CDK: the web client)."""
        return self.client_id or LOCAL_CLAIMS_AUDIENCE

    def as_verified(self, claims: dict[str, str]) -> dict[str, str]:
        """Claims passed on without a token (tests, demo), as an ID token of the app client carries them."""
        return {"token_use": "id", "aud": self.audience, **claims}

    def ensure(self) -> LocalCognito:
        """Create the pool on first use (most local runs never log in: they pass claims)."""
        return self if self.created else self.create()

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def endpoint(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/"

    def create(self) -> LocalCognito:
        """Create pool, groups and app client (same configuration → same ids in every process)."""
        os.environ.update(ID_STRATEGY_ENV)
        c = self.client
        self.pool_id = c.create_user_pool(
            PoolName=f"avdual-{self.stage}-{self.spec.name}",
            Schema=[
                {"Name": a, "AttributeDataType": "String", "Mutable": True}
                for a in self.spec.custom_attributes
            ],
        )["UserPool"]["Id"]
        for g in self.spec.groups:
            c.create_group(UserPoolId=self.pool_id, GroupName=g)
        self.client_id = c.create_user_pool_client(
            UserPoolId=self.pool_id,
            ClientName=self.spec.client_name,
            GenerateSecret=False,
            ExplicitAuthFlows=AUTH_FLOWS,
        )["UserPoolClient"]["ClientId"]
        return self

    def ensure_user(self, user: LocalUser, password: str = LOCAL_PASSWORD) -> None:
        c = self.ensure().client
        try:
            c.admin_get_user(UserPoolId=self.pool_id, Username=user.username)
            return
        except c.exceptions.UserNotFoundException:
            pass
        attrs = [{"Name": COMPANION_ID_CLAIM, "Value": user.companion_id}] if user.companion_id else []
        c.admin_create_user(
            UserPoolId=self.pool_id, Username=user.username, UserAttributes=attrs, MessageAction="SUPPRESS"
        )
        c.admin_set_user_password(
            UserPoolId=self.pool_id, Username=user.username, Password=password, Permanent=True
        )
        for g in user.groups:
            c.admin_add_user_to_group(UserPoolId=self.pool_id, Username=user.username, GroupName=g)

    def token(self, role: str, *, school: str | None = None, companion: str | None = None) -> str:
        """An ID token for the local user of ``role`` (created on first use)."""
        user = user_for(role, school=school, companion=companion)
        self.ensure()
        self.ensure_user(user)
        result = self.client.admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.username, "PASSWORD": LOCAL_PASSWORD},
        )
        return str(result["AuthenticationResult"]["IdToken"])

    def forward(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A Cognito API call as the browser makes it (``InitiateAuth``/``RespondToAuthChallenge``)."""
        method = FORWARDED_OPERATIONS[operation]
        result: dict[str, Any] = getattr(self.ensure().client, method)(**payload)
        result.pop("ResponseMetadata", None)
        return result

    # ---------------------------------------------------------------- verification
    @cached_property
    def keys(self) -> KeySet:
        """The pool's public keys from its JWKS endpoint (served by moto)."""
        resp = requests.get(f"{self.issuer}/.well-known/jwks.json", timeout=5)
        resp.raise_for_status()
        return KeySet.import_key_set(resp.json())

    def verify(self, token: str | None, now: float | None = None) -> dict[str, str]:
        """Claims of a valid ID token of this pool, as API Gateway passes them.

        Raises :class:`InvalidTokenError` otherwise."""
        if not token:
            raise InvalidTokenError("no token")
        self.ensure()
        try:
            decoded = jwt.decode(token, self.keys, algorithms=["RS256"])
        except (JoseError, ValueError, TypeError) as e:
            raise InvalidTokenError(type(e).__name__) from None
        claims = decoded.claims
        now = time.time() if now is None else now
        if claims.get("iss") != self.issuer:
            raise InvalidTokenError("issuer")
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= now:
            raise InvalidTokenError("expired")
        return {k: _as_authorizer_value(k, v) for k, v in claims.items()}


def bearer(headers: dict[str, str] | None) -> str | None:
    """The token of an ``Authorization`` header (``Bearer <jwt>`` or, like API Gateway, the bare token)."""
    for k, v in (headers or {}).items():
        if k.lower() == "authorization":
            value = str(v).strip()
            return value[7:].strip() if value[:7].lower() == "bearer " else (value or None)
    return None
