"""Casework REST API (the companions' workspace): routes plus one call each (set-up, authorisation before
validation, error answers, the ``Idempotency-Key`` header of POSTs: :mod:`common.routes`).

Who sees what: the office every student; a companion the own students and, read-only during a colleague's
leave, the colleague's (:mod:`services.casework.logic.access`); the company directory every companion.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from common.api import html_response, json_response
from common.routes import Caller, IdempotencyKey, IntakeId, RestApi, companion_query, path_parameter
from contracts.reference import CAREER_FIELDS
from contracts.topology import CASEWORK_API, COMPANY_ID, INTERNSHIP_ID
from services.casework.dal.store import CaseworkStore
from services.casework.handlers import page
from services.casework.logic import companies, internships, meetings, overview
from services.casework.models.casework import (
    Company,
    CompanyIn,
    CompanyPatch,
    InternshipEndIn,
    InternshipIn,
    InternshipPatch,
    InternshipView,
    Meeting,
    MeetingIn,
    StudentDetail,
    StudentPage,
)

api = RestApi(CASEWORK_API, tags=["Begleitung"])
app, handler = api.app, api.handler

InternshipId = Annotated[str, path_parameter(INTERNSHIP_ID)]
CompanyId = Annotated[str, path_parameter(COMPANY_ID)]
CareerFieldCode = Literal[tuple(CAREER_FIELDS)]  # type: ignore[valid-type]
Sector = Annotated[CareerFieldCode | None, Query(title="Branche", description="Branche (Berufsfeld)")]  # type: ignore[valid-type]


# --------------------------------------------------------------------------- the page
@api.route("GET", "/begleitung")
def begleitung_page():  # type: ignore[no-untyped-def]  # no return annotation: HTML, not validated
    return html_response(page.render(app.current_event.get("stageVariables")))


# --------------------------------------------------------------------------- caseload
@api.route("GET", "/students", StudentPage, "Die Schülerinnen und Schüler")
def list_students(
    p: Caller,
    companion_id: Annotated[
        str | None,
        companion_query(
            "Büro: die Fälle dieser Begleitung (Pflicht); Begleitung: nur die eigenen oder die "
            "einer heute vertretenen Kollegin / eines vertretenen Kollegen"
        ),
    ] = None,
) -> Response[StudentPage]:
    return json_response(
        overview.list_students(principal=p, companion_id=companion_id, store=CaseworkStore(), now=api.now())
    )


@api.route("GET", "/students/{intake_id}", StudentDetail, "Die Begleitung der Schülerin / des Schülers")
def get_student(intake_id: IntakeId, p: Caller) -> Response[StudentDetail]:
    return json_response(overview.get_student(intake_id, principal=p, store=CaseworkStore(), now=api.now()))


# --------------------------------------------------------------------------- internships
@api.route("POST", "/students/{intake_id}/internships", InternshipView, "Erfasst", status=201, errors=(409,))
def post_internship(
    intake_id: IntakeId, body: InternshipIn, p: Caller, idempotency_key: IdempotencyKey = None
) -> Response[InternshipView]:
    return api.idempotent(
        p,
        idempotency_key,
        {"intake_id": intake_id, **body.model_dump(mode="json")},
        lambda: internships.create_internship(
            intake_id,
            body,
            principal=p,
            store=CaseworkStore(),
            correlation_id=api.correlation_id(),
            now=api.now(),
        ),
    )


@api.route(
    "PATCH", "/students/{intake_id}/internships/{internship_id}", InternshipView, "Geändert", errors=(409,)
)
def patch_internship(
    intake_id: IntakeId, internship_id: InternshipId, body: InternshipPatch, p: Caller
) -> Response[InternshipView]:
    return json_response(
        internships.patch_internship(
            intake_id,
            internship_id,
            body,
            principal=p,
            store=CaseworkStore(),
            correlation_id=api.correlation_id(),
            now=api.now(),
        )
    )


@api.route(
    "POST",
    "/students/{intake_id}/internships/{internship_id}/end",
    InternshipView,
    "Beendet",
    errors=(409,),
)
def end_internship(
    intake_id: IntakeId, internship_id: InternshipId, body: InternshipEndIn, p: Caller
) -> Response[InternshipView]:
    return json_response(
        internships.end_internship(
            intake_id,
            internship_id,
            body,
            principal=p,
            store=CaseworkStore(),
            correlation_id=api.correlation_id(),
            now=api.now(),
        )
    )


# --------------------------------------------------------------------------- meetings
@api.route("POST", "/students/{intake_id}/meetings", Meeting, "Erfasst", status=201, errors=(409,))
def post_meeting(
    intake_id: IntakeId, body: MeetingIn, p: Caller, idempotency_key: IdempotencyKey = None
) -> Response[Meeting]:
    return api.idempotent(
        p,
        idempotency_key,
        {"intake_id": intake_id, **body.model_dump(mode="json")},
        lambda: meetings.record_meeting(
            intake_id,
            body,
            principal=p,
            store=CaseworkStore(),
            correlation_id=api.correlation_id(),
            now=api.now(),
        ),
    )


# --------------------------------------------------------------------------- companies
@api.route("GET", "/companies", list[Company], "Betriebe (nach Name, höchstens 50)", tags=["Betriebe"])
def list_companies(
    q: Annotated[
        str | None, Query(title="Suche", max_length=100, description="Teil des Namens oder Orts")
    ] = None,
    sector: Sector = None,
    limit: Annotated[int, Query(title="Anzahl", ge=1, le=companies.MAX_RESULTS)] = companies.MAX_RESULTS,
) -> Response[list[Company]]:
    return json_response(companies.search(CaseworkStore(), q=q, sector=sector, limit=limit))


@api.route("POST", "/companies", Company, "Aufgenommen", status=201, errors=(409,), tags=["Betriebe"])
def post_company(body: CompanyIn, p: Caller, idempotency_key: IdempotencyKey = None) -> Response[Company]:
    return api.idempotent(
        p,
        idempotency_key,
        body.model_dump(mode="json"),
        lambda: companies.create(CaseworkStore(), body, now=api.now()),
    )


@api.route("PATCH", "/companies/{company_id}", Company, "Geändert", tags=["Betriebe"])
def patch_company(company_id: CompanyId, body: CompanyPatch) -> Response[Company]:
    return json_response(companies.patch(CaseworkStore(), company_id, body, now=api.now()))
