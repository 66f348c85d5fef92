"""Who is calling: verified Cognito claims → :class:`Principal` (roles and data scope).

API Gateway's Cognito authorizer has already verified the ID token; the claims arrive in
``requestContext.authorizer.claims`` with every value a string. Groups decide the role
(``contracts.topology.COGNITO``): ``office``, ``companion`` (+ ``custom:companion_id``) and
``school-<school_id>``. Pure code: no framework, no AWS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts.reference import SCHOOLS
from contracts.topology import (
    COMPANION_GROUP,
    COMPANION_ID_CLAIM,
    OFFICE_GROUP,
    SCHOOL_GROUP_PREFIX,
    Role,
)

_GROUP_SPLIT = re.compile(r"[,\s]+")


class AuthError(Exception):
    """Base of the authentication/authorisation errors (never carries personal data)."""


class UnauthenticatedError(AuthError):
    """No verified identity (HTTP 401)."""


class ForbiddenError(AuthError):
    """Verified identity, but its role may not use this operation (HTTP 403)."""


def parse_groups(value: Any) -> frozenset[str]:
    """``cognito:groups`` in every shape it arrives in: a JSON list (the token itself), a comma-separated
    string (REST API authorizer) or a bracketed space-separated string (HTTP API authorizer)."""
    if value is None:
        return frozenset()
    if isinstance(value, (list, tuple, set, frozenset)):
        items: Iterable[str] = (str(v) for v in value)
    else:
        items = _GROUP_SPLIT.split(str(value).strip().strip("[]"))
    return frozenset(g.strip() for g in items if g and g.strip())


@dataclass(frozen=True)
class Principal:
    """The caller: Cognito ``sub``, user name, groups and what they may see."""

    subject: str
    username: str
    groups: frozenset[str]
    school_ids: frozenset[str]
    companion_id: str | None

    @property
    def roles(self) -> frozenset[Role]:
        roles: set[Role] = set()
        if OFFICE_GROUP in self.groups:
            roles.add("office")
        if self.school_ids:
            roles.add("school")
        if self.companion_id:
            roles.add("companion")
        return frozenset(roles)

    @property
    def is_office(self) -> bool:
        return "office" in self.roles

    def may_use(self, allowed: Iterable[Role]) -> bool:
        return bool(self.roles & set(allowed))

    def may_access_school(self, school_id: str) -> bool:
        """Office staff reach every school; school staff only their own school(s)."""
        return self.is_office or school_id in self.school_ids

    def may_read(self, *, school_id: str, companion_id: str | None) -> bool:
        """Read rule for one student: office all, a school its own, a companion only assigned ones."""
        if self.may_access_school(school_id):
            return True
        return self.companion_id is not None and companion_id == self.companion_id

    def audit_actor(self) -> dict[str, str]:
        """Who, for audit log entries (no personal data of students)."""
        return {"sub": self.subject, "roles": ",".join(sorted(self.roles))}


def principal_from_claims(claims: Mapping[str, Any] | None, *, audience: str | None = None) -> Principal:
    """Build the caller from verified claims; raises :class:`UnauthenticatedError` without a subject or,
    with ``audience``, for an ID token issued to another app client of the pool (API Gateway's Cognito
    authorizer checks the pool, not the client)."""
    if not claims or not str(claims.get("sub") or "").strip():
        raise UnauthenticatedError("no verified identity")
    if audience is not None and (claims.get("token_use") != "id" or claims.get("aud") != audience):
        raise UnauthenticatedError("token of another app client")
    groups = parse_groups(claims.get("cognito:groups"))
    schools = frozenset(
        g[len(SCHOOL_GROUP_PREFIX) :]
        for g in groups
        if g.startswith(SCHOOL_GROUP_PREFIX) and g[len(SCHOOL_GROUP_PREFIX) :] in SCHOOLS
    )
    companion = str(claims.get(COMPANION_ID_CLAIM) or "").strip() or None
    return Principal(
        subject=str(claims["sub"]),
        username=str(claims.get("cognito:username") or claims["sub"]),
        groups=groups,
        school_ids=schools,
        companion_id=companion if COMPANION_GROUP in groups else None,
    )


def authorize(
    claims: Mapping[str, Any] | None, allowed: Iterable[Role], *, audience: str | None = None
) -> Principal:
    """The caller if one of its roles is in ``allowed``; 401/403 errors otherwise."""
    principal = principal_from_claims(claims, audience=audience)
    if not principal.may_use(allowed):
        raise ForbiddenError("role not allowed")
    return principal
