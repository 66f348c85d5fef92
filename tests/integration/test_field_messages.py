"""Every field of every request of every API says the right thing in German (the OpenAPI document drives it).

The document generated from the three APIs' route models is walked: every body field (nested models, list
items), every query, header and form parameter, and for each constraint it declares – ``maxLength`` /
``minLength`` (text: *Zeichen*), ``maxItems`` / ``minItems`` (lists: *Einträge*), ``pattern`` (the rule in
words, ``x-rule``), ``enum`` (the German labels of the allowed values, with "oder"), ``minimum`` /
``maximum`` / ``exclusiveMinimum`` (the limit), ``format: date`` (``JJJJ-MM-TT``), the type, required – a
request that breaks exactly that constraint is sent through the local gateway with a caller the route
admits. The 422 must carry the field and the message ``"<German label>: <rule with its limit>."``; every
field must have a German label (no generated English title). The number of cases is printed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from avdual.runtime import LocalRuntime
from common.field_errors import INVALID_DATE, choice_labels, german_list, number
from contracts.topology import ROUTES
from tests.conftest import OFFICE, VALID_FORM, companion
from tests.integration.test_intake_batch import multipart

SCHOOL = {"sub": "schule-rfs", "cognito:groups": "school-RFS"}
PATH_VALUES = {
    "intake_id": "01KQ0000000000000000000000",
    "companion_id": "B01",
    "report_id": "01KQ0000000000000000000000",
    "company_id": "01KQ0000000000000000000000",
    "internship_id": "01KQ0000000000000000000000",
}
#: A valid request of every operation with a body; each case breaks one field of it.
BASES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/intakes"): VALID_FORM,
    ("PATCH", "/intakes/{intake_id}"): {},
    ("POST", "/intakes/{intake_id}/withdraw"): {},
    ("POST", "/intakes/batch"): {"school_year": "2026/27"},
    ("POST", "/companions"): {
        **companion("B01", ["RFS"]),
        "leave_periods": [{"start": "2026-10-01", "end": "2026-10-02"}],
    },
    ("PATCH", "/companions/{companion_id}"): {},
    ("POST", "/assignments/{intake_id}/exit"): {
        "exit_date": "2026-10-01",
        "reason": "completed",
        "destination": "job",
    },
    ("POST", "/assignments/{intake_id}/companion"): {"companion_id": "B01", "reason": "handover"},
    ("POST", "/reports"): {"report_type": "weekly"},
    ("POST", "/companies"): {"name": "Autohaus Beispiel GmbH", "town": "Ludwigsburg", "sector": "kfz"},
    ("PATCH", "/companies/{company_id}"): {},
    ("POST", "/students/{intake_id}/internships"): {
        "company_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "career_field": "kfz",
        "model": "weekly_days",
        "weekdays": ["mo", "di"],
        "start_date": "2026-10-05",
        "days_completed": 0,
    },
    ("PATCH", "/students/{intake_id}/internships/{internship_id}"): {},
    ("POST", "/students/{intake_id}/internships/{internship_id}/end"): {
        "end_date": "2026-10-30",
        "days_completed": 8,
        "end_reason": "completed",
    },
    ("POST", "/students/{intake_id}/meetings"): {
        "meeting_date": "2026-10-05",
        "meeting_type": "goal_agreement",
    },
}
INVALID_TIME = "ungültiger Zeitpunkt (erwartet JJJJ-MM-TTThh:mm:ssZ)"


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    where: str  # body | form | query | header
    field: tuple[str, ...]  # "*" = a list item
    constraint: str
    value: Any
    label: str
    rule: str  # the expected rule (exact), or for custom checks of codes: a part of the message
    exact: bool = True

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.where}:{'.'.join(self.field)} {self.constraint}"


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _nullable(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of ``anyOf: [X, null]`` (titles stay on the outer schema)."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        inner = _resolve(options[0], spec)
        return {**inner, **{k: v for k, v in schema.items() if k not in ("anyOf",)}}
    return _resolve(schema, spec)


def _generated(title: str | None, name: str) -> bool:
    """pydantic's English title for a field without one (``school_year`` → ``School Year``)."""
    return not title or title == name.replace("_", " ").title() or title == name


def _pattern_violation(schema: dict[str, Any]) -> str:
    lo, hi = schema.get("minLength", 1), schema.get("maxLength", 64)
    for text in ("#", "x y!", "#" * lo, "ä" * lo, "!" * max(lo, 3)):
        if lo <= len(text) <= hi and not re.search(schema["pattern"], text):
            return text
    raise AssertionError(f"no value breaks {schema['pattern']!r}")


def _too_long(schema: dict[str, Any], base: Any) -> str:
    n = schema["maxLength"] + 1
    seeds = [str(base)] if isinstance(base, str) and base else []
    seeds += ["A", "a@b.de", "AVd1a"]
    for seed in seeds:
        for i in range(len(seed) + 1):
            text = seed[:i] + "a" * max(0, n - len(seed)) + seed[i:]
            if "pattern" not in schema or re.search(schema["pattern"], text):
                return text
    return "A" * n


Expectation = tuple[str, Any, str, bool]
"""(constraint, breaking value, expected rule, exact?)."""


def _text_cases(schema: dict[str, Any], base: Any) -> Iterator[Expectation]:
    if "maxLength" in schema:
        yield "maxLength", _too_long(schema, base), f"höchstens {number(schema['maxLength'])} Zeichen", True
    if schema.get("minLength", 0) >= 1:
        n = schema["minLength"]
        rule = "darf nicht leer sein" if n == 1 else f"mindestens {number(n)} Zeichen"
        yield "minLength", "a" * (n - 1), rule, True
    if "pattern" in schema:
        rule = schema.get("x-rule")
        assert rule, f"pattern {schema['pattern']!r} without its rule in words (x-rule)"
        yield "pattern", _pattern_violation(schema), rule, True
    if "enum" in schema:
        labels = choice_labels(schema["enum"])
        assert labels, f"no German labels for {schema['enum']}"
        yield "enum", "zz_unbekannt", f"erlaubt sind {german_list(labels)}", False


def _entries(n: int) -> str:
    return f"{n} {'Eintrag' if n == 1 else 'Einträge'}"


def _list_cases(schema: dict[str, Any], base: Any) -> Iterator[Expectation]:
    if "maxItems" in schema:
        n = schema["maxItems"]
        items = base if isinstance(base, list) and base else [_item_example(schema)]
        yield "maxItems", (items * (n + 1))[: n + 1], f"höchstens {_entries(n)}", True
    if schema.get("minItems", 0) >= 1:
        yield "minItems", [], f"mindestens {_entries(schema['minItems'])}", True


def _number_cases(schema: dict[str, Any]) -> Iterator[Expectation]:
    integer = schema.get("type") == "integer"
    for key, word, delta in (("minimum", "mindestens", -1), ("maximum", "höchstens", 1)):
        if key in schema:
            value = int(schema[key]) + delta if integer else schema[key] + delta * 0.5
            yield key, value, f"{word} {number(schema[key])}", True
    if "exclusiveMinimum" in schema:
        limit = schema["exclusiveMinimum"]
        yield "exclusiveMinimum", limit, f"muss größer als {number(limit)} sein", True


#: A value of the wrong kind, and the rule, by JSON type or format.
WRONG_KIND: dict[str, tuple[str, str]] = {
    "date": ("2026-02-30", INVALID_DATE),
    "date-time": ("gestern", INVALID_TIME),
    "integer": ("drei", "ganze Zahl erwartet"),
    "number": ("viel", "Zahl erwartet"),
    "boolean": ("vielleicht", "Ja/Nein-Wert erwartet (true oder false)"),
}


def constraint_cases(schema: dict[str, Any], base: Any, required: bool) -> Iterator[Expectation]:
    """Every constraint of one field's schema, each with a value that breaks it."""
    if required:
        yield "required", ..., "Pflichtfeld fehlt", True
    yield from _text_cases(schema, base)
    yield from _list_cases(schema, base)
    yield from _number_cases(schema)
    for kind in (schema.get("format"), schema.get("type")):
        if kind in WRONG_KIND:
            value, rule = WRONG_KIND[kind]
            yield f"kind:{kind}", value, rule, True


def _item_example(schema: dict[str, Any]) -> Any:
    items = schema.get("items", {})
    return items.get("enum", ["RFS"])[0]


def body_fields(
    schema: dict[str, Any], spec: dict[str, Any], base: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str, Any], Any, bool, str]]:
    """(path, field schema, base value, required?, label) of every field below ``schema``."""
    schema = _resolve(schema, spec)
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        field = _nullable(prop, spec)
        title = prop.get("title") or field.get("title")
        assert not _generated(title, name), f"{'.'.join((*path, name))}: no German label (title {title!r})"
        value = base.get(name) if isinstance(base, dict) else None
        yield (*path, name), field, value, name in required, title
        if "properties" in field:
            yield from body_fields(field, spec, value or {}, (*path, name))
        elif field.get("type") == "array":
            items = _resolve(field.get("items", {}), spec)
            first = value[0] if isinstance(value, list) and value else {}
            if "properties" in items:
                yield from body_fields(items, spec, first, (*path, name, "*"))
            elif items:
                yield (*path, name, "*"), items, first, False, f"{title} (Eintrag 1)"


def _parameter_cases(spec: dict[str, Any], m: str, path: str, op: dict[str, Any]) -> Iterator[Case]:
    for p in op.get("parameters", []):
        if p["in"] == "path":
            continue  # exact ids: 404 before any validation (the route entry)
        schema = _nullable(p["schema"], spec)
        title = p["schema"].get("title") or schema.get("title")
        assert not _generated(title, p["name"]), f"{m} {path} {p['name']}: no German label ({title!r})"
        for c, value, rule, exact in constraint_cases(schema, None, p.get("required", False)):
            yield Case(m, path, p["in"], (p["name"],), c, value, title, rule, exact)


def _body_cases(spec: dict[str, Any], m: str, path: str, op: dict[str, Any]) -> Iterator[Case]:
    for ctype, media in (op.get("requestBody") or {}).get("content", {}).items():
        assert (m, path) in BASES, f"{m} {path}: no base request in BASES"
        where = "form" if ctype.startswith("multipart/") else "body"
        for fpath, schema, base, required, title in body_fields(media["schema"], spec, BASES[(m, path)]):
            if schema.get("format") == "binary":
                continue
            for c, value, rule, exact in constraint_cases(schema, base, required):
                yield Case(m, path, where, fpath, c, value, title, rule, exact)


def all_cases() -> list[Case]:
    from avdual.openapi import openapi_document

    spec = openapi_document()
    return [
        case
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        for gen in (_parameter_cases, _body_cases)
        for case in gen(spec, method.upper(), path, op)
    ]


CASES = all_cases()


def _set(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target: Any = body
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if part == "*":
            continue
        if nxt == "*":
            items = target.get(part) or [{}]
            target[part] = [copy.deepcopy(items[0])]
            target = target[part]
            continue
        target = target.setdefault(part, {}) if isinstance(target, dict) else target[0].setdefault(part, {})
    last = path[-1]
    if last == "*":
        container = target
        container[0] = value
        return
    if isinstance(target, list):
        target = target[0]
    if value is ...:
        target.pop(last, None)
    else:
        target[last] = value


def _multipart(fields: dict[str, Any]) -> tuple[bytes, str]:
    return multipart(b"Vorname;Nachname\r\nA;B\r\n", "k.csv", fields)


def _claims(method: str, path: str) -> dict[str, str]:
    route = next(r for r in ROUTES if r.method == method and r.path == path)
    return OFFICE if "office" in route.roles else SCHOOL


def call(rt: LocalRuntime, case: Case) -> Any:
    url = case.path
    for name, value in PATH_VALUES.items():
        url = url.replace("{" + name + "}", value)
    kw: dict[str, Any] = {"claims": _claims(case.method, case.path)}
    if case.where in ("body", "form"):
        body = copy.deepcopy(BASES[(case.method, case.path)])
        _set(body, case.field, case.value)
        if case.where == "form":
            kw["body_bytes"], ctype = _multipart(body)
            kw["headers"] = {"Content-Type": ctype}
        else:
            kw["body"] = body
    elif (case.method, case.path) in BASES:
        body = copy.deepcopy(BASES[(case.method, case.path)])
        if case.path == "/intakes/batch":
            kw["body_bytes"], ctype = _multipart(body)
            kw["headers"] = {"Content-Type": ctype}
        else:
            kw["body"] = body
    if case.where in ("query", "header") and case.value is not ...:
        value = case.value if isinstance(case.value, str) else json.dumps(case.value)
        if case.where == "query":
            kw["query"] = {case.field[0]: value}
        else:
            kw["headers"] = {**kw.get("headers", {}), case.field[0]: value}
    return rt.api(case.method, url, **kw)


@pytest.fixture(scope="module")
def rt() -> Iterator[LocalRuntime]:
    with LocalRuntime(stage="msgs", log_level="CRITICAL") as runtime:
        yield runtime
    print(f"\nfield messages: {len(CASES)} cases")


def test_the_sweep_covers_every_api() -> None:
    assert {c.path.split("/")[1] for c in CASES} >= {
        "intakes",
        "companions",
        "assignments",
        "reports",
        "audit",
    }
    assert len(CASES) > 150


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_constraint_of_every_field_has_its_german_message(rt: LocalRuntime, case: Case) -> None:
    r = call(rt, case)
    assert r.status == 422, (str(case), r.status, r.body[:300])
    errors = json.loads(r.body)["errors"]
    field = ".".join("0" if p == "*" else p for p in case.field)
    mine = [e["message"] for e in errors if e["field"].lower() == field.lower()]
    assert mine, (str(case), errors)
    expected = f"{case.label}: {case.rule}."
    if case.exact:
        assert expected in mine, (str(case), mine)
    else:
        assert any(m.startswith(f"{case.label}: ") and case.rule in m for m in mine), (str(case), mine)
    for m in mine:
        assert not re.search(r"\b(Input|should|must|or|items|characters)\b", m), m
