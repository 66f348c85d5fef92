"""Text people type into the APIs: one line or several, without control characters or invisible bidi
overrides ("Trojan source"), surrounding whitespace stripped; dates only as ``JJJJ-MM-TT``; phone numbers and
e-mail addresses of a plain form. German messages (``common.api.german_errors`` shows them as they are)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

from common.field_errors import INVALID_DATE
from contracts.reference import SCHOOL_YEAR

#: Unicode bidi embeddings/overrides/isolates, never needed in what staff type.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Categories never allowed: control, surrogate, private use, unassigned, line/paragraph separator.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
CONTROL_MESSAGE = "Steuerzeichen und unsichtbare Sonderzeichen sind nicht erlaubt."


def bad_char(c: str, allow: frozenset[str] = frozenset()) -> bool:
    return c not in allow and (unicodedata.category(c) in _FORBIDDEN_CATEGORIES or c in _BIDI_CONTROLS)


def single_line(value: str) -> str:
    if any(bad_char(c) for c in value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def multi_line(value: str) -> str:
    if any(bad_char(c, frozenset("\n\t")) for c in value.replace("\r\n", "\n")):
        raise ValueError(CONTROL_MESSAGE)
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date_only(value: Any) -> Any:
    """Dates only as ``JJJJ-MM-TT`` text (pydantic's lax mode would also take timestamps and datetimes)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError(INVALID_DATE)


IsoDate = Annotated[date, BeforeValidator(iso_date_only)]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()/-]{4,29}$"),
    Field(
        json_schema_extra={
            "x-rule": "erlaubt sind Ziffern, Leerzeichen und + ( ) / - (5 bis 30 Zeichen), z. B. 07141 123456"
        }
    ),
]
#: A school year in an API body (``2026/27``): the declaration of ``contracts.reference.SCHOOL_YEAR``.
SchoolYear = Annotated[str, Field(**SCHOOL_YEAR)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=254,
        pattern=r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}$",
    ),
    Field(json_schema_extra={"x-rule": "erwartet eine E-Mail-Adresse wie name@beispiel.de"}),
]
