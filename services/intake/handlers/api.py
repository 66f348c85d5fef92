"""Intake REST API for schools: routes plus one call each (the set-up, authorisation before validation and
the error answers and the ``Idempotency-Key`` header of POSTs are :mod:`common.routes`)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, UploadFile

from common.api import IfMatch, etag, expected_version, html_response, json_response
from common.routes import Caller, IdempotencyKey, IntakeId, PageCursor, RestApi, SchoolYearQuery, page_size
from contracts.topology import INTAKE_API
from services.intake.dal.intakes import IntakeRepository
from services.intake.handlers import page
from services.intake.handlers import parameters as param
from services.intake.logic import audit_query, read, submit, update
from services.intake.logic.errors import DuplicateIntakeError
from services.intake.models.audit_page import AuditPage
from services.intake.models.intake import (
    BatchResult,
    DuplicateResponse,
    IntakeCreated,
    IntakeForm,
    IntakePage,
    IntakePatch,
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
    description=param.DUPLICATE_ANSWER,
    cross_field=lambda errors, request: submit.all_errors_of_new(errors, request.body, now=request.now),
)
def create_intake(
    form: IntakeForm,
    principal: Caller,
    allow_duplicate: param.AllowDuplicate = False,
    idempotency_key: IdempotencyKey = None,
) -> Response[IntakeCreated]:
    return api.idempotent(
        principal,
        idempotency_key,
        {**form.model_dump(mode="json"), "allow_duplicate": allow_duplicate},
        lambda: submit.submit_intake(
            form,
            principal=principal,
            correlation_id=api.correlation_id(),
            repo=IntakeRepository(),
            now=api.now(),
            allow_duplicate=allow_duplicate,
        ),
    )


@app.exception_handler(DuplicateIntakeError)
def _duplicate(ex: DuplicateIntakeError) -> Response:
    return json_response(DuplicateResponse(message=ex.message, duplicate_of=ex.existing_intake_id), 409)


@api.route("GET", "/intakes", IntakePage, "Eine Seite Anmeldungen (neueste zuerst)")
def list_intakes(
    principal: Caller,
    school_year: SchoolYearQuery = None,
    status: param.StatusQuery = None,
    school_id: param.SchoolQuery = None,
    companion_id: param.CompanionQuery = None,
    limit: Annotated[int, page_size(100)] = 25,
    cursor: PageCursor = None,
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
    file: param.ClassListFile,
    school_year: param.ClassListSchoolYear,
    principal: Caller,
    school_id: param.ClassListSchool = None,
    class_name: param.ClassListClassName = None,
    consent_text_version: param.ClassListConsentVersion = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[BatchResult]:
    content = file.content if isinstance(file, UploadFile) else bytes(file)
    fields = {"school_id": school_id, "class_name": class_name, "consent_text_version": consent_text_version}
    return api.idempotent(
        principal,
        idempotency_key,
        {**fields, "school_year": school_year, "file_sha256": hashlib.sha256(content).hexdigest()},
        lambda: submit.submit_class_list(
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
    description=param.MERGE_PATCH,
    cross_field=lambda errors, request: update.all_errors_of_patch(
        errors,
        request.path_parameters["intake_id"],
        request.body,
        principal=request.principal,
        repo=IntakeRepository(),
        now=request.now,
    ),
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
    description=param.WITHDRAWAL,
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
        lambda: update.withdraw_intake(
            intake_id,
            reason,
            principal=principal,
            correlation_id=api.correlation_id(),
            repo=IntakeRepository(),
            now=api.now(),
        ),
    )


@api.route(
    "GET",
    "/audit",
    AuditPage,
    "Protokolleinträge",
    tags=["Protokoll"],
    description=param.AUDIT_ENTRIES,
)
def list_audit_entries(
    day_from: param.AuditFrom = None,
    day_to: param.AuditTo = None,
    actor: param.AuditActor = None,
    action: param.AuditActionQuery = None,
    intake_id: param.AuditIntake = None,
    limit: Annotated[int, page_size(500)] = 100,
    cursor: PageCursor = None,
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
