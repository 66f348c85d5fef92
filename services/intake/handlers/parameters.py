"""The query and form parameters of intake's routes, declared with their German titles and rules (the
OpenAPI document and the field messages read them), and the routes' longer OpenAPI descriptions;
:mod:`services.intake.handlers.api` names them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import File, Form, Query, UploadFile

from common.routes import SchoolCode, companion_query
from contracts.reference import SCHOOL_YEAR
from services.intake.models.audit_page import AuditAction
from services.intake.models.intake import CLASS_NAME, IntakeStatus

# ---------------------------------------------------------------- POST /intakes
AllowDuplicate = Annotated[
    bool,
    Query(
        title="Trotzdem anlegen",
        description="true: auch anlegen, wenn dieselbe Schülerin / derselbe Schüler schon angemeldet ist",
    ),
]

# ---------------------------------------------------------------- GET /intakes
StatusQuery = Annotated[IntakeStatus | None, Query(title="Stand")]
SchoolQuery = Annotated[SchoolCode | None, Query(title="Schule", description="Office: any school")]  # type: ignore[valid-type]
CompanionQuery = Annotated[
    str | None,
    companion_query(
        "Die Schülerinnen und Schüler dieser Begleitung (Büro; eine Begleitung: die eigene "
        "oder die einer Kollegin / eines Kollegen, die sie heute vertritt)"
    ),
]

# ---------------------------------------------------------------- POST /intakes/batch (multipart form)
ClassListFile = Annotated[
    UploadFile,
    File(
        title="Datei",
        description="Klassenliste als .csv/.txt (UTF-8, Windows-1252 oder UTF-16 wie Excels "
        "„Unicode-Text“; ; , oder Tabulator) oder .xlsx (ein Tabellenblatt); erste Zeile = Spaltennamen; "
        "höchstens 500 Schülerzeilen (leere Zeilen zählen nicht)",
    ),
]
ClassListSchoolYear = Annotated[str, Form(**SCHOOL_YEAR)]
ClassListSchool = Annotated[
    SchoolCode | None,  # type: ignore[valid-type]
    Form(title="Schule", description="Default: the caller's school"),
]
ClassListClassName = Annotated[str | None, Form(**CLASS_NAME, description="For rows without 'Klasse'")]
ClassListConsentVersion = Annotated[
    str | None,
    Form(
        max_length=20,
        title="Version des Einwilligungstexts",
        description="For rows without 'Version Einwilligungstext'",
    ),
]

# ---------------------------------------------------------------- GET /audit
AuditFrom = Annotated[
    date | None,
    Query(alias="from", title="von", description="First day (in Ludwigsburg, Europe/Berlin), default: today"),
]
AuditTo = Annotated[
    date | None,
    Query(alias="to", title="bis", description="Last day (in Ludwigsburg, Europe/Berlin), default: today"),
]
AuditActor = Annotated[
    str | None, Query(max_length=128, title="Konto", description="Cognito subject of the caller")
]
AuditActionQuery = Annotated[AuditAction | None, Query(title="Aktion")]
AuditIntake = Annotated[
    str | None, Query(max_length=64, title="Anmeldung", description="Only entries of this intake")
]

# ---------------------------------------------------------------- descriptions of routes (OpenAPI)
DUPLICATE_ANSWER = (
    "Ist dieselbe Schülerin / derselbe Schüler (Schuljahr, Schule, Vor- und Nachname, "
    "Geburtsdatum) schon angemeldet, antwortet die API 409 mit `duplicate_of` (die vorhandene "
    "Anmeldung); mit `allow_duplicate=true` wird trotzdem neu angelegt."
)
MERGE_PATCH = (
    "JSON Merge Patch (RFC 7396): nur die zu ändernden Felder senden; `null` entfernt ein "
    "optionales Feld. Das Ergebnis wird wie eine neue Anmeldung geprüft. Mit `If-Match` (ETag von "
    "`GET /intakes/{intake_id}`) nur, wenn niemand die Anmeldung inzwischen geändert hat (sonst 409)."
)
WITHDRAWAL = (
    "Einwilligung widerrufen oder die Schülerin / der Schüler beginnt nicht: die Anmeldung wird "
    "zurückgezogen und `IntakeWithdrawn` veröffentlicht (die Löschung folgt in jedem Dienst)."
)
AUDIT_ENTRIES = (
    "Wer hat wann und wozu auf die personenbezogenen Daten welcher Anmeldung zugegriffen "
    "(neueste zuerst). Einträge enthalten Anmelde-IDs und Konten, nie Daten der Schüler; sie bleiben bis "
    "zum Ende des Folgejahres."
)
