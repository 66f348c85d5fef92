"""Intake REST API for schools: routes plus one call each (the set-up, authorisation before validation and
the error answers and the ``Idempotency-Key`` header of POSTs are :mod:`common.routes`)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, File, Form, Query, UploadFile

from common.api import (
    INVALID_INPUT,
    IfMatch,
    error_response,
    etag,
    expected_version,
    html_response,
    json_response,
    request_errors,
)
from common.routes import Caller, IdempotencyKey, IntakeId, RestApi, SchoolCode, SchoolYearQuery
from contracts.reference import SCHOOL_YEAR
from contracts.topology import COMPANION_ID, INTAKE_API
from services.intake.dal.intakes import IntakeRepository
from services.intake.handlers import page
from services.intake.logic import audit_query, read, submit, update
from services.intake.logic.errors import DuplicateIntakeError
from services.intake.models.audit_page import AuditAction, AuditPage
from services.intake.models.intake import (
    CLASS_NAME,
    BatchResult,
    DuplicateResponse,
    IntakeCreated,
    IntakeForm,
    IntakePage,
    IntakePatch,
    IntakeStatus,
    IntakeView,
    WithdrawRequest,
)

api = RestApi(INTAKE_API, tags=["Anmeldungen"])
app, handler = api.app, api.handler


@api.route("GET", "/")
def web_form():  # type: ignore[no-untyped-def]  # no return annotation: HTML, not validated
    return html_response(page.render(app.current_event.get("stageVariables")))


@api.route(
    "POST",
    "/intakes",
    IntakeCreated,
    "Angelegt",
    status=201,
    errors=(409,),
    description="Ist dieselbe Schülerin / derselbe Schüler (Schuljahr, Schule, Vor- und Nachname, "
    "Geburtsdatum) schon angemeldet, antwortet die API 409 mit `duplicate_of` (die vorhandene "
    "Anmeldung); mit `allow_duplicate=true` wird trotzdem neu angelegt.",
)
def create_intake(
    form: IntakeForm,
    principal: Caller,
    allow_duplicate: Annotated[
        bool,
        Query(
            title="Trotzdem anlegen",
            description="true: auch anlegen, wenn dieselbe Schülerin / derselbe Schüler schon angemeldet ist",
        ),
    ] = False,
    idempotency_key: IdempotencyKey = None,
) -> Response[IntakeCreated]:
    return api.idempotent(
        principal,
        idempotency_key,
        {**form.model_dump(mode="json"), "allow_duplicate": allow_duplicate},
        lambda: (
            201,
            submit.submit_intake(
                form,
                principal=principal,
                correlation_id=api.correlation_id(),
                repo=IntakeRepository(),
                now=api.now(),
                allow_duplicate=allow_duplicate,
            ),
        ),
    )


@app.exception_handler(RequestValidationError)
def _invalid(ex: RequestValidationError) -> Response:
    """A new intake's field errors come with the cross-field rules its valid fields break (one round)."""
    errors = request_errors(app, ex)
    route, principal = app.context.get("route"), app.context.get("principal")
    if route is not None and (route.method, route.path) == ("POST", "/intakes"):
        errors = submit.all_errors_of_new(errors, _json_body(), now=api.now())
    elif route is not None and principal is not None and (route.method, route.path) == ("PATCH", PATCH_PATH):
        intake_id = str((app.current_event.get("pathParameters") or {}).get("intake_id"))
        errors = update.all_errors_of_patch(
            errors, intake_id, _json_body(), principal=principal, repo=IntakeRepository(), now=api.now()
        )
    return error_response(422, INVALID_INPUT, errors)


PATCH_PATH = "/intakes/{intake_id}"


def _json_body() -> Any:
    try:
        return app.current_event.json_body
    except ValueError:
        return None


@app.exception_handler(DuplicateIntakeError)
def _duplicate(ex: DuplicateIntakeError) -> Response:
    return json_response(DuplicateResponse(message=ex.message, duplicate_of=ex.existing_intake_id), 409)


@api.route("GET", "/intakes", IntakePage, "Eine Seite Anmeldungen (neueste zuerst)")
def list_intakes(
    principal: Caller,
    school_year: SchoolYearQuery = None,
    status: Annotated[IntakeStatus | None, Query(title="Stand")] = None,
    school_id: Annotated[SchoolCode | None, Query(title="Schule", description="Office: any school")] = None,  # type: ignore[valid-type]
    companion_id: Annotated[
        str | None,
        Query(
            pattern=COMPANION_ID.regex,
            title="Begleitung",
            json_schema_extra={"x-rule": COMPANION_ID.rule},
            description="Die Schülerinnen und Schüler dieser Begleitung (Büro; eine Begleitung: die eigene "
            "oder die einer Kollegin / eines Kollegen, die sie heute vertritt)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, title="Anzahl je Seite")] = 25,
    cursor: Annotated[str | None, Query(max_length=1024, title="Seitenmarke")] = None,
) -> Response[IntakePage]:
    return json_response(
        read.list_intakes(
            principal=principal,
            school_year=school_year,
            status=status,
            school_id=school_id,
            companion_id=companion_id,
            limit=limit,
            cursor=cursor,
            repo=IntakeRepository(),
            now=api.now(),
        )
    )


@api.route(
    "POST", "/intakes/batch", BatchResult, "Ergebnis je Zeile; gültige Zeilen sind gespeichert", errors=(409,)
)
def upload_class_list(
    file: Annotated[
        UploadFile,
        File(
            title="Datei",
            description="Klassenliste als .csv/.txt (UTF-8, Windows-1252 oder UTF-16 wie Excels "
            "„Unicode-Text“; ; , oder Tabulator) oder .xlsx (ein Tabellenblatt); erste Zeile = Spaltennamen; "
            "höchstens 500 Schülerzeilen (leere Zeilen zählen nicht)",
        ),
    ],
    school_year: Annotated[str, Form(**SCHOOL_YEAR)],
    principal: Caller,
    school_id: Annotated[
        SchoolCode | None,  # type: ignore[valid-type]
        Form(title="Schule", description="Default: the caller's school"),
    ] = None,
    class_name: Annotated[str | None, Form(**CLASS_NAME, description="For rows without 'Klasse'")] = None,
    consent_text_version: Annotated[
        str | None,
        Form(
            max_length=20,
            title="Version des Einwilligungstexts",
            description="For rows without 'Version Einwilligungstext'",
        ),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[BatchResult]:
    content = file.content if isinstance(file, UploadFile) else bytes(file)
    fields = {"school_id": school_id, "class_name": class_name, "consent_text_version": consent_text_version}
    return api.idempotent(
        principal,
        idempotency_key,
        {**fields, "school_year": school_year, "file_sha256": hashlib.sha256(content).hexdigest()},
        lambda: (
            200,
            submit.submit_class_list(
                content,
                school_id=school_id,
                school_year=school_year,
                class_name=class_name,
                consent_text_version=consent_text_version,
                principal=principal,
                correlation_id=api.correlation_id(),
                repo=IntakeRepository(),
                now=api.now(),
            ),
        ),
    )


@api.route("GET", "/intakes/{intake_id}", IntakeView, "Die Anmeldung (ETag: ihre Fassung)")
def get_intake(intake_id: IntakeId, principal: Caller) -> Response[IntakeView]:
    view = read.get_intake(intake_id, principal=principal, repo=IntakeRepository(), now=api.now())
    return json_response(view, headers=etag(view.version))


@api.route(
    "PATCH",
    "/intakes/{intake_id}",
    IntakeView,
    "Geändert",
    errors=(409,),
    description="JSON Merge Patch (RFC 7396): nur die zu ändernden Felder senden; `null` entfernt ein "
    "optionales Feld. Das Ergebnis wird wie eine neue Anmeldung geprüft. Mit `If-Match` (ETag von "
    "`GET /intakes/{intake_id}`) nur, wenn niemand die Anmeldung inzwischen geändert hat (sonst 409).",
)
def patch_intake(
    intake_id: IntakeId,
    patch: IntakePatch,  # type: ignore[valid-type]
    principal: Caller,
    if_match: IfMatch = None,
) -> Response[IntakeView]:
    view = update.patch_intake(
        intake_id,
        patch.model_dump(mode="json", exclude_unset=True),  # type: ignore[attr-defined]
        principal=principal,
        correlation_id=api.correlation_id(),
        repo=IntakeRepository(),
        now=api.now(),
        expected_version=expected_version(if_match),
    )
    return json_response(view, headers=etag(view.version))


@api.route(
    "POST",
    "/intakes/{intake_id}/withdraw",
    IntakeView,
    "Zurückgezogen",
    errors=(409,),
    description="Einwilligung widerrufen oder die Schülerin / der Schüler beginnt nicht: die Anmeldung wird "
    "zurückgezogen und `IntakeWithdrawn` veröffentlicht (die Löschung folgt in jedem Dienst).",
)
def withdraw_intake(
    intake_id: IntakeId,
    principal: Caller,
    body: Annotated[WithdrawRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[IntakeView]:
    reason = (body or WithdrawRequest()).reason
    return api.idempotent(
        principal,
        idempotency_key,
        {"intake_id": intake_id, "reason": reason},
        lambda: (
            200,
            update.withdraw_intake(
                intake_id,
                reason,
                principal=principal,
                correlation_id=api.correlation_id(),
                repo=IntakeRepository(),
                now=api.now(),
            ),
        ),
    )


@api.route(
    "GET",
    "/audit",
    AuditPage,
    "Protokolleinträge",
    tags=["Protokoll"],
    description="Wer hat wann und wozu auf die personenbezogenen Daten welcher Anmeldung zugegriffen "
    "(neueste zuerst). Einträge enthalten Anmelde-IDs und Konten, nie Daten der Schüler; sie bleiben bis "
    "zum Ende des Folgejahres.",
)
def list_audit_entries(
    day_from: Annotated[
        date | None, Query(alias="from", title="von", description="First day (UTC), default: today")
    ] = None,
    day_to: Annotated[
        date | None, Query(alias="to", title="bis", description="Last day (UTC), default: today")
    ] = None,
    actor: Annotated[
        str | None, Query(max_length=128, title="Konto", description="Cognito subject of the caller")
    ] = None,
    action: Annotated[AuditAction | None, Query(title="Aktion")] = None,
    intake_id: Annotated[
        str | None, Query(max_length=64, title="Anmeldung", description="Only entries of this intake")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, title="Anzahl je Seite")] = 100,
    cursor: Annotated[str | None, Query(max_length=1024, title="Seitenmarke")] = None,
) -> Response[AuditPage]:
    return json_response(
        audit_query.list_entries(
            day_from=day_from,
            day_to=day_to,
            actor=actor,
            action=action,
            intake_id=intake_id,
            limit=limit,
            cursor=cursor,
            now=api.now(),
        )
    )
