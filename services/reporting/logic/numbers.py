"""Figures as German text (``"38,5 %"``, ``"+3"``, ``"−2"``, ``"±0"``): the report templates' filters and the
text of :mod:`services.reporting.logic.suppression`. A withheld value (``"x"``) stays as it is, a missing one
(None) is ``"–"``.
"""

from __future__ import annotations

Derived = int | float | str | None
"""A derived figure as data: a number, ``"x"`` (``suppression.SECONDARY``) when a withheld value is involved,
None when it does not exist (no previous value, a zero whole). Reports keep the number (the XLSX stores it as
a number) and format it only for text (:func:`signed_text`, :func:`percent_text`)."""


def _german(v: float, digits: int) -> str:
    return f"{v:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def signed_text(v: Derived, digits: int = 0, unit: str = "") -> str:
    """A change as German text: ``"+3"``, ``"−2"``, ``"±0"`` (``unit`` appended); ``"x"`` stays, None →
    ``"–"``."""
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    suffix = f" {unit}" if unit else ""
    if round(v, digits) == 0:
        return f"±{_german(0, digits)}{suffix}"
    return f"{'+' if v > 0 else '−'}{_german(abs(v), digits)}{suffix}"


def percent_text(v: Derived, digits: int = 1) -> str:
    """A fraction as a German percentage (0.385 → ``"38,5 %"``); ``"x"`` stays, None → ``"–"``."""
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    return f"{_german(100 * v, digits)} %"
