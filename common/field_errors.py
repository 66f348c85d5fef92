"""German per-field validation messages: every pydantic/Powertools validation error becomes a
:class:`~common.errors.FieldError` whose message names the field and the rule, with its limit
(docs/adr/0015-german-field-messages.md).

What a message says is declared once, where the field is declared:

* the field's German label: ``Field(title="Klasse")`` (on the model field, or on a query, header, form or
  path parameter);
* a pattern's rule in words: ``Field(json_schema_extra={"x-rule": "…"})`` on the field or on the annotated
  type that carries the pattern (the pattern itself means nothing to people);
* German labels of allowed values (``Literal``/enum): the table of ``contracts.reference.CHOICE_LABELS``
  with exactly these values;
* limits come from the error itself (``max_length``, ``ge``, …): text length counts *Zeichen*, list length
  *Einträge*; dates are ``JJJJ-MM-TT`` in the API.

Messages read ``"<Label>: <rule>."`` (``"Klasse: höchstens 32 Zeichen."``, ``"Praktikumstage pro Woche:
höchstens 3."``, ``"Geschlecht: erlaubt sind weiblich, männlich, divers oder keine Angabe."``); without a
known label the rule alone, capitalised. A custom validator's ``ValueError("<German sentence>")`` is shown
as its text. No message quotes the input.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import ComputedFieldInfo, FieldInfo

from common.errors import FieldError
from contracts.casework import (
    INTERNSHIP_END_REASON_LABELS,
    MEETING_TYPE_LABELS,
    PARTICIPANT_ROLE_LABELS,
    WEEKDAY_LABELS,
)
from contracts.reference import CHOICE_LABELS

#: A field's declaration for an error location (``("body", "student", "given_name")``), or None.
FieldLookup = Callable[[Sequence[str | int]], FieldInfo | None]

DATE_FORMAT = "JJJJ-MM-TT"
_LOCATIONS = ("body", "query", "path", "header")
INVALID_DATE = f"ungültiges Datum (erwartet {DATE_FORMAT})"
_INVALID_TIME = "ungültiger Zeitpunkt (erwartet JJJJ-MM-TTThh:mm:ssZ)"
#: Rules without a limit, by pydantic error type.
_FIXED: dict[str, str] = {
    "missing": "Pflichtfeld fehlt",
    "extra_forbidden": "enthält ein unbekanntes Feld",
    "string_type": "Text erwartet",
    "string_unicode": "Text erwartet",
    "bool_type": "Ja/Nein-Wert erwartet (true oder false)",
    "bool_parsing": "Ja/Nein-Wert erwartet (true oder false)",
    "int_type": "ganze Zahl erwartet",
    "int_parsing": "ganze Zahl erwartet",
    "int_from_float": "ganze Zahl erwartet",
    "float_type": "Zahl erwartet",
    "float_parsing": "Zahl erwartet",
    "finite_number": "Zahl erwartet",
    "list_type": "Liste erwartet",
    "dict_type": "Objekt erwartet",
    "model_type": "Objekt erwartet",
    "model_attributes_type": "Objekt erwartet",
    "json_invalid": "ungültiges JSON",
    "json_type": "ungültiges JSON",
    "date_type": INVALID_DATE,
    "date_parsing": INVALID_DATE,
    "date_from_datetime_parsing": INVALID_DATE,
    "date_from_datetime_inexact": INVALID_DATE,
    "datetime_type": _INVALID_TIME,
    "datetime_parsing": _INVALID_TIME,
    "datetime_from_date_parsing": _INVALID_TIME,
    "timezone_aware": _INVALID_TIME,
    "uuid_type": "ungültige Kennung",
    "uuid_parsing": "ungültige Kennung",
    "string_pattern_mismatch": "hat nicht das erwartete Format",
}
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def number(value: Any) -> str:
    """A limit as Germans write it: ``3``, ``0,5``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace(".", ",")


def _count(n: Any, one: str, many: str) -> str:
    return f"{number(n)} {one if n == 1 else many}"


def german_list(items: Sequence[str]) -> str:
    """``a, b oder c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " oder " + items[-1]


def choice_labels(values: Iterable[str]) -> list[str] | None:
    """German labels of the allowed ``values`` (the table with exactly these codes), or None."""
    wanted = list(values)
    casework = (WEEKDAY_LABELS, INTERNSHIP_END_REASON_LABELS, MEETING_TYPE_LABELS, PARTICIPANT_ROLE_LABELS)
    for table in (*CHOICE_LABELS, *casework):
        if set(table) == set(wanted):
            return [table[v] for v in wanted]
    return None


def unknown(what: str, table: Mapping[str, str]) -> str:
    """The message of a custom check that a code is one of ``table``'s: ``"unbekannte Schule; erlaubt sind
    …"`` (the German labels)."""
    return f"{what}; erlaubt sind {german_list(list(table.values()))}"


def _allowed(ctx: Mapping[str, Any]) -> str:
    values = [v.replace("\\'", "'") for v in _QUOTED.findall(str(ctx.get("expected", "")))]
    labels = choice_labels(values) if values else None
    return f"erlaubt sind {german_list(labels)}" if labels else "ungültiger Wert"


def _declared(annotation: Any, attribute: str) -> Any:
    """A declaration (``title``, ``json_schema_extra``) inside ``annotation``: ``Email | None`` where
    ``Email`` is an annotated type keeps it there, not on the field."""
    if get_origin(annotation) is Annotated:
        for meta in get_args(annotation)[1:]:
            if isinstance(meta, FieldInfo) and getattr(meta, attribute):
                return getattr(meta, attribute)
    return next((d for a in get_args(annotation) if (d := _declared(a, attribute))), None)


def title_of(info: FieldInfo | None) -> str | None:
    """The German label declared on a field or its type, if any."""
    return None if info is None else info.title or _declared(info.annotation, "title")


def declared_title(name: str, info: FieldInfo | ComputedFieldInfo) -> str:
    """A ``field_title_generator``: the label declared on the field's type (``SchoolYear | None`` keeps it
    inside the union), so that the field and the OpenAPI document carry it."""
    return str(title_of(info) or name) if isinstance(info, FieldInfo) else name


def rule_of(info: FieldInfo | None) -> str | None:
    """The pattern rule in words declared on a field or its type (``x-rule``), if any."""
    if info is None:
        return None
    for extra in (info.json_schema_extra, _declared(info.annotation, "json_schema_extra")):
        if isinstance(extra, dict) and extra.get("x-rule"):
            return str(extra["x-rule"])
    return None


def _is_text(info: FieldInfo | None, ctx: Mapping[str, Any]) -> bool:
    """Whether a length error is about text (pydantic reports a text's length checked after a validator as
    ``too_long`` of a "Value", as it does for lists)."""
    if info is not None:
        annotation = info.annotation
        while get_origin(annotation) in (Annotated, Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        if annotation is str:
            return True
        if get_origin(annotation) in (list, tuple, set, frozenset, dict) or annotation in (list, tuple, set):
            return False
    return ctx.get("field_type") == "Value"


def rule(error: Mapping[str, Any], info: FieldInfo | None = None) -> str:  # noqa: C901 - one case per type
    """The German rule an error broke (without the field label)."""
    etype = str(error.get("type", "value_error"))
    ctx = error.get("ctx") or {}
    if etype in ("value_error", "assertion_error") and ctx.get("error"):
        return str(ctx["error"]).rstrip(".")
    if etype == "string_too_long":
        return f"höchstens {_count(ctx.get('max_length'), 'Zeichen', 'Zeichen')}"
    if etype == "string_too_short":
        n = ctx.get("min_length")
        return "darf nicht leer sein" if n == 1 else f"mindestens {_count(n, 'Zeichen', 'Zeichen')}"
    if etype in ("too_long", "too_short"):  # a list, or a text whose length a later validator checked
        unit = ("Zeichen", "Zeichen") if _is_text(info, ctx) else ("Eintrag", "Einträge")
        if etype == "too_long":
            return f"höchstens {_count(ctx.get('max_length'), *unit)}"
        if unit[0] == "Zeichen" and ctx.get("min_length") == 1:
            return "darf nicht leer sein"
        return f"mindestens {_count(ctx.get('min_length'), *unit)}"
    if etype in ("literal_error", "enum"):
        return _allowed(ctx)
    if etype == "greater_than_equal":
        return f"mindestens {number(ctx.get('ge'))}"
    if etype == "less_than_equal":
        return f"höchstens {number(ctx.get('le'))}"
    if etype == "greater_than":
        return f"muss größer als {number(ctx.get('gt'))} sein"
    if etype == "less_than":
        return f"muss kleiner als {number(ctx.get('lt'))} sein"
    if etype == "string_pattern_mismatch" and (text := rule_of(info)):
        return text.rstrip(".")
    return _FIXED.get(etype, "ungültiger Wert")


def _label(loc: Sequence[str | int], fields: FieldLookup | None) -> str | None:
    title = title_of(fields(loc) if fields else None)
    if not title:
        return None
    index = next((p for p in reversed(loc) if isinstance(p, int)), None)
    return f"{title} (Eintrag {index + 1})" if index is not None and loc and loc[-1] == index else title


def german_errors(errors: Iterable[Mapping[str, Any]], fields: FieldLookup | None = None) -> list[FieldError]:
    """Map pydantic/Powertools validation errors to German per-field messages (see the module docs).

    ``loc`` prefixes ``body``/``query``/``path``/``header`` are dropped from ``field``; list indices stay
    (``career_fields.3``). ``fields`` finds each location's declaration (labels, pattern rules).
    """
    out: list[FieldError] = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "extra_forbidden":
            loc = loc[:-1]  # reported at its parent: the unknown key is the client's text, never echoed
        where, path = (loc[0], loc[1:]) if loc and loc[0] in _LOCATIONS else ("body", loc)
        etype = str(err.get("type", "value_error"))
        json_error = etype in ("json_invalid", "json_type")
        field = str(where) if json_error or not path else ".".join(str(p) for p in path)
        info = fields(loc) if fields and not json_error else None
        text = rule(err, info) + "."
        label = None if json_error else _label(loc, fields)
        if not label and etype == "extra_forbidden":
            text = "Die Eingabe enthält ein unbekanntes Feld."
        out.append(
            FieldError(field=field, message=f"{label}: {text}" if label else text[:1].upper() + text[1:])
        )
    return out


# ------------------------------------------------------------------------------------------ field lookups
def inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``annotation`` (``Model | None``, ``list[Model]``, ``Annotated[Model, …]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin is Annotated:
        return inner_model(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple, set, frozenset):
        for arg in get_args(annotation):
            if (model := inner_model(arg)) is not None:
                return model
    return None


def field_in(model: type[BaseModel] | None, path: Sequence[str | int]) -> FieldInfo | None:
    """The declaration of the field at ``path`` in ``model`` (list indices skipped), or None."""
    info: FieldInfo | None = None
    for part in path:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            continue
        if model is None or (info := model.model_fields.get(str(part))) is None:
            return None
        model = inner_model(info.annotation)
    return info


def model_fields(model: type[BaseModel]) -> FieldLookup:
    """Lookup for errors of ``model.model_validate`` (locations without a ``body`` prefix)."""
    return lambda loc: field_in(model, loc)
