"""Claims → principal (common/auth.py) and the request guards of every API (common/guards.py)."""

from __future__ import annotations

import pytest

from common.auth import ForbiddenError, UnauthenticatedError, authorize, parse_groups, principal_from_claims
from common.guards import RequestRefusedError, check_body, json_depth, media_type


@pytest.mark.parametrize(
    "value", [["office", "school-RFS"], "office,school-RFS", "[office school-RFS]", " office , school-RFS "]
)
def test_groups_in_every_shape(value: object) -> None:
    assert parse_groups(value) == {"office", "school-RFS"}


def test_roles_and_scopes() -> None:
    school = principal_from_claims({"sub": "s", "cognito:groups": "school-RFS,school-XYZ"})
    assert school.roles == {"school"} and school.school_ids == {"RFS"}
    assert school.may_access_school("RFS") and not school.may_access_school("MPS")
    assert not school.may_read(school_id="MPS", companion_id="A")
    comp = principal_from_claims({"sub": "c", "cognito:groups": "companion", "custom:companion_id": "A"})
    assert comp.roles == {"companion"} and comp.may_read(school_id="MPS", companion_id="A")
    assert not comp.may_read(school_id="MPS", companion_id="B") and not comp.may_read(
        school_id="MPS", companion_id=None
    )
    # a companion id without the companion group grants nothing
    assert principal_from_claims({"sub": "x", "custom:companion_id": "A"}).companion_id is None
    office = principal_from_claims({"sub": "o", "cognito:groups": "office"})
    assert office.is_office and office.may_read(school_id="MPS", companion_id=None)


def test_authorize() -> None:
    with pytest.raises(UnauthenticatedError):
        authorize(None, ("office",))
    with pytest.raises(UnauthenticatedError):
        authorize({"cognito:groups": "office"}, ("office",))
    with pytest.raises(ForbiddenError):
        authorize(
            {"sub": "c", "cognito:groups": "companion", "custom:companion_id": "A"}, ("office", "school")
        )
    assert authorize({"sub": "o", "cognito:groups": "office"}, ("office",)).subject == "o"


def test_json_depth_ignores_brackets_in_strings() -> None:
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth('"\\"[[["') == 0


def _refused(event: dict) -> int | None:
    try:
        check_body(event)
    except RequestRefusedError as e:
        return e.status
    return None


def test_guards() -> None:
    assert _refused({"body": None}) is None
    assert _refused({"body": "x" * (100 * 1024 + 1)}) == 413
    assert _refused({"body": "[" * 17 + "]" * 17}) == 400
    assert _refused({"body": "!!!", "isBase64Encoded": True}) == 400
    upload = {"body": "x" * 200_000, "headers": {"Content-Type": "multipart/form-data; boundary=b"}}
    assert _refused(upload) is None  # uploads may be up to 1 MB
    assert _refused({"body": "a=b", "headers": {"content-type": "text/plain"}}) == 415


def test_media_types_are_case_insensitive() -> None:
    """RFC 9110 §8.3.1: type, subtype and parameter names are case-insensitive; the boundary value is not."""
    assert media_type("Application/JSON; Charset=UTF-8") == (
        "application/json",
        "application/json; charset=UTF-8",
    )
    event = {"body": "{}", "headers": {"content-TYPE": "Multipart/Form-Data; Boundary=AbC"}}
    assert _refused(event) is None
    assert event["headers"] == {"Content-Type": "multipart/form-data; boundary=AbC"}
    assert event["multiValueHeaders"] == {"Content-Type": ["multipart/form-data; boundary=AbC"]}
