"""Intake form models (pydantic): the API input, the stored record and the API outputs.

Every per-field rule lives in an ``Annotated`` type, so the partial models built for ``PATCH``
(:func:`partial_model`) keep them. German messages are raised as ``ValueError`` text; see
``common.field_errors``. Cross-field rules (ages, consent, dates) are in ``logic/rules.py``.

Names round-trip byte-exact: no Unicode normalisation, only surrounding whitespace is stripped.
"""

from __future__ import annotations

import types
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    create_model,
    field_serializer,
)

from common.errors import ErrorResponse, FieldError
from common.field_errors import unknown
from common.model import Model
from common.text import Phone, SchoolYear, iso_date_only, multi_line, single_line
from contracts.events import Gender, WithdrawReason
from contracts.reference import CAREER_FIELDS, LANGUAGES, SCHOOLS, WITHDRAW_REASON_LABELS
from contracts.topology import COMPANION_ID

# --------------------------------------------------------------------------- text types
#: A class name as schools write them (``AVd1a``, ``AV 1/2``, ``2BFS-1``): letters, digits, space and
#: ``- . / _ ( )``, beginning with a letter or a digit – never with a character that makes a spreadsheet
#: read it as a formula (``= + - @``; every export writes it as text anyway, ``common.spreadsheet``).
CLASS_NAME_PATTERN = r"^[0-9A-Za-zÄÖÜäöüß][0-9A-Za-zÄÖÜäöüß ()./_-]*$"
CLASS_NAME_RULE = (
    "erlaubt sind Buchstaben, Ziffern, Leerzeichen und - . / _ ( ); am Anfang ein Buchstabe oder eine Ziffer"
)
#: In a name besides letters, combining marks and digits: space, hyphen, apostrophes, period, ZWNJ/ZWJ.
_NAME_PUNCTUATION = frozenset(" -'.’ʼ\u200c\u200d")


def _name(value: str) -> str:
    single_line(value)
    for c in value:
        category = unicodedata.category(c)
        if c not in _NAME_PUNCTUATION and category[0] not in "LM" and category != "Nd":
            raise ValueError(
                "Nur Buchstaben, Ziffern, Leerzeichen, Bindestrich, Apostroph und Punkt sind erlaubt."
            )
    if not any(unicodedata.category(c)[0] == "L" for c in value):
        raise ValueError("Der Name muss Buchstaben enthalten.")
    return value


def _known(mapping: dict[str, str], message: str) -> Callable[[str], str]:
    """A check that the value is a key of ``mapping``."""

    def check(value: str) -> str:
        if value not in mapping:
            raise ValueError(message)
        return value

    return check


#: A calendar date as the JSON schema says (``format: date``), nothing else.
IsoDate = Annotated[date, BeforeValidator(iso_date_only)]
Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(single_line)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_name)
]
Remark = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(multi_line)]
# strings restricted to the keys of the reference data (listed as ``enum`` in the JSON schema)
SchoolId = Annotated[
    str,
    AfterValidator(_known(SCHOOLS, unknown("unbekannte Schule", SCHOOLS))),
    Field(title="Schule", json_schema_extra={"enum": list(SCHOOLS)}),
]
LanguageCode = Annotated[
    str,
    AfterValidator(_known(LANGUAGES, unknown("unbekannte Sprache", LANGUAGES))),
    Field(json_schema_extra={"enum": list(LANGUAGES)}),
]
CareerField = Annotated[
    str,
    AfterValidator(_known(CAREER_FIELDS, unknown("unbekanntes Berufsfeld", CAREER_FIELDS))),
    Field(json_schema_extra={"enum": list(CAREER_FIELDS)}),
]
#: The declaration of a class name wherever the API takes one (the form's field, the class list's default).
CLASS_NAME: dict[str, Any] = {
    "min_length": 1,
    "max_length": 32,
    "pattern": CLASS_NAME_PATTERN,
    "examples": ["AVd1a"],
    "title": "Klasse",
    "json_schema_extra": {"x-rule": CLASS_NAME_RULE},
}
ClassName = Annotated[Text, Field(**CLASS_NAME)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=254,
        pattern=r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}$",
    ),
    Field(json_schema_extra={"x-rule": "erwartet eine E-Mail-Adresse wie name@schule.de"}),
]
CompanionRef = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=COMPANION_ID.regex),
    Field(json_schema_extra={"x-rule": COMPANION_ID.rule}),
]
ConsentVersion = Annotated[Text, Field(min_length=1, max_length=20, examples=["EV-2026-08"])]

#: Version of the county's current consent form (pre-filled in the web form; each intake stores its own).
CONSENT_TEXT_VERSION = "EV-2026-08"

Track = Literal["av_dual", "av_dual_fsr"]
"""AV dual, or AV dual with the path to the Fachschulreife (FSR)."""
Certificate = Literal["none", "hauptschulabschluss", "other"]
InternshipModel = Literal["weekly_days", "block"]
"""Internship on fixed days every week, or in blocks of several weeks."""
LegacyWithdrawReason = Literal["left_before_start", "other"]
"""Reasons recorded before the withdrawal dialog's four (still readable on stored intakes)."""
IntakeStatus = Literal["submitted", "waitlisted", "assigned", "ended", "withdrawn"]
"""``submitted`` until matching decided; ``waitlisted``/``assigned``/``ended`` come from matching events."""


class _Form(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Student(_Form):
    given_name: Name = Field(title="Vorname")
    family_name: Name = Field(title="Nachname")
    date_of_birth: IsoDate = Field(title="Geburtsdatum")
    gender: Gender = Field(title="Geschlecht")
    phone: Phone | None = Field(
        title="Telefon", default=None, description="Contact phone of the student (optional)"
    )
    email: Email | None = Field(
        title="E-Mail", default=None, description="Contact e-mail of the student (optional)"
    )
    languages: list[LanguageCode] = Field(
        title="Sprachen",
        default_factory=list,
        max_length=10,
        description="ISO 639-1 codes of languages the student speaks",
    )
    parent_contact_language: LanguageCode | None = Field(
        title="Sprache für den Elternkontakt",
        default=None,
        description="Language for parent contact (ISO 639-1)",
    )


class Preferences(_Form):
    companion_gender: Gender | None = Field(
        title="Gewünschtes Geschlecht der Begleitung",
        default=None,
        description="Companion gender, only if it matters",
    )
    previous_companion_id: CompanionRef | None = Field(
        title="Frühere Begleitung", default=None, description="Companion known from before"
    )


class Consent(_Form):
    """Consent of the student and, under 18 on the submission date, of a guardian (each with date and
    consent text version)."""

    student: StrictBool = Field(
        title="Einwilligung Schüler/in", description="The student consented to the processing"
    )
    given_on: IsoDate = Field(title="Datum der Einwilligung", description="Date of the student's consent")
    text_version: ConsentVersion = Field(
        title="Version des Einwilligungstexts", description="Version of the consent text the student signed"
    )
    guardian: StrictBool | None = Field(
        title="Einwilligung Erziehungsberechtigte",
        default=None,
        description="Guardian consent; required under 18",
    )
    guardian_given_on: IsoDate | None = Field(
        title="Datum der Einwilligung Erziehungsberechtigte",
        default=None,
        description="Date of the guardian's consent (default: the student's date)",
    )
    guardian_text_version: ConsentVersion | None = Field(
        title="Version des Einwilligungstexts Erziehungsberechtigte",
        default=None,
        description="Consent text version the guardian signed (default: the student's version)",
    )
    data_transfer_county: StrictBool = Field(
        title="Weitergabe an den Landkreis",
        default=False,
        description="Data may be passed to the county (Landratsamt, Bildungsbüro)",
    )
    company_contact: StrictBool = Field(
        title="Kontakt mit Betrieben",
        default=False,
        description="Companion may contact companies about the student",
    )
    anonymised_statistics: StrictBool = Field(
        title="Anonyme Statistik", default=False, description="Data may be used for anonymised statistics"
    )


class IntakeForm(_Form):
    """``POST /intakes`` body: the complete intake form (Aufnahmebogen)."""

    school_id: SchoolId
    school_year: SchoolYear
    class_name: ClassName
    student: Student = Field(title="Schüler/in")
    track: Track = Field(default="av_dual", title="Bildungsgang")
    certificate_on_entry: Certificate | None = Field(
        title="Abschluss bei Eintritt", default=None, description="Certificate on entry"
    )
    german_support: StrictBool = Field(
        title="Deutschförderung", default=False, description="Needs German language support"
    )
    vabo_before: StrictBool = Field(
        title="VABO besucht",
        default=False,
        description="Attended VABO (preparation year for migrants) before",
    )
    career_fields: list[CareerField] = Field(title="Berufsfelder", default_factory=list, max_length=3)
    wished_job: Annotated[Text, Field(max_length=100)] | None = Field(default=None, title="Wunschberuf")
    internship_model: InternshipModel | None = Field(default=None, title="Praktikumsmodell")
    internship_days_per_week: StrictInt | None = Field(
        title="Praktikumstage pro Woche", default=None, ge=1, le=3
    )
    preferences: Preferences = Field(title="Wünsche zur Begleitung", default_factory=Preferences)
    remark: Remark | None = Field(
        title="Bemerkung",
        default=None,
        description="Short remark for the companion (only the assigned companion can read it)",
    )
    consent: Consent = Field(title="Einwilligung")

    def normalised(self) -> IntakeForm:
        """Defaults that follow from other fields: a guardian consent without own date/version has the
        student's (both usually sign the same sheet)."""
        c = self.consent
        if c.guardian and (c.guardian_given_on is None or c.guardian_text_version is None):
            consent = c.model_copy(
                update={
                    "guardian_given_on": c.guardian_given_on or c.given_on,
                    "guardian_text_version": c.guardian_text_version or c.text_version,
                }
            )
            return self.model_copy(update={"consent": consent})
        return self


FORM_FIELDS: tuple[str, ...] = tuple(IntakeForm.model_fields)
#: Form fields kept after a withdrawal: the school's bookkeeping (which class had a withdrawn intake), no
#: data about the student. Everything else of the form is erased (docs/datenschutz.md).
KEPT_AFTER_ERASURE: tuple[str, ...] = ("school_id", "school_year", "class_name")
#: Form fields erased on withdrawal: names, birth date, contacts, languages, consent details, preferences,
#: free text (remark, wished job) and the categories describing the student.
ERASED_FIELDS: tuple[str, ...] = tuple(f for f in FORM_FIELDS if f not in KEPT_AFTER_ERASURE)


class WithdrawRequest(_Form):
    """``POST /intakes/{id}/withdraw`` body (optional: without one the reason is a withdrawn consent)."""

    reason: WithdrawReason = Field(
        default="consent_withdrawn",
        title="Grund",
        description="Grund (jeder löscht die personenbezogenen Daten): "
        + ", ".join(f"{code} = {label}" for code, label in WITHDRAW_REASON_LABELS.items()),
    )


# --------------------------------------------------------------------------- stored record
def iso(value: datetime) -> str:
    """Timestamps as sortable ISO strings: UTC, always with microseconds (GSI sort keys, event guards)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class IntakeRecord(IntakeForm):
    """The stored intake (DynamoDB item): the form, who submitted it when, and the projected status."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    student: Student | None = None  # type: ignore[assignment]  # None once erased
    consent: Consent | None = None  # type: ignore[assignment]  # None once erased
    intake_id: str
    status: IntakeStatus = "submitted"
    submitted_at: datetime
    submitted_by: str
    updated_at: datetime | None = None
    updated_by: str | None = None
    version: int = 1
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    withdrawn_reason: WithdrawReason | LegacyWithdrawReason | None = None
    companion_id: str | None = Field(default=None, description="Assigned companion (from matching events)")
    assignment_at: datetime | None = Field(
        default=None, description="Time of the last applied matching event"
    )
    year_submitted: str = Field(default="", description="GSI sort key: '<school_year>#<submitted_at>'")
    expires_at: int | None = Field(default=None, description="Epoch seconds (DynamoDB TTL)")
    erased_at: datetime | None = Field(default=None, description="When the personal data were erased")
    student_key: str | None = Field(
        default=None, description="Keyed hash of school year, school, name, birth date (duplicate check)"
    )

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    @field_serializer(
        "submitted_at",
        "updated_at",
        "withdrawn_at",
        "assignment_at",
        "erased_at",
        when_used="json-unless-none",
    )
    def _iso(self, value: datetime) -> str:
        return iso(value)

    def form(self) -> IntakeForm:
        return IntakeForm.model_validate(self.model_dump(include=set(FORM_FIELDS)))


# --------------------------------------------------------------------------- outputs
class IntakeCreated(Model):
    """``201`` response of ``POST /intakes``."""

    intake_id: str
    status: IntakeStatus
    submitted_at: datetime


class IntakeView(IntakeForm):
    """``GET /intakes/{id}``: the form plus status. ``remark`` only for the assigned companion.

    A withdrawn intake is erased: ``student`` and ``consent`` are ``null``, the other form fields show
    their defaults; only school, school year, class, status and the withdrawal remain."""

    model_config = ConfigDict(extra="forbid")

    student: Student | None = Field(  # type: ignore[assignment]
        default=None, description="The student; null once the intake was withdrawn (erased)"
    )
    consent: Consent | None = Field(  # type: ignore[assignment]
        default=None, description="Consents; null once the intake was withdrawn (erased)"
    )
    intake_id: str
    status: IntakeStatus
    companion_id: str | None = None
    companion_name: str | None = Field(default=None, description="Name der Begleitung, soweit bekannt")
    has_remark: bool = False
    submitted_at: datetime
    submitted_by: str
    updated_at: datetime | None = None
    version: int
    withdrawn_at: datetime | None = None
    withdrawn_reason: WithdrawReason | LegacyWithdrawReason | None = None
    erased_at: datetime | None = Field(default=None, description="When the personal data were erased")


class IntakeSummary(Model):
    """One row of ``GET /intakes``."""

    intake_id: str
    school_id: str
    school_year: str
    class_name: str
    given_name: str | None = Field(description="null once the intake was withdrawn (erased)")
    family_name: str | None = Field(description="null once the intake was withdrawn (erased)")
    status: IntakeStatus
    companion_id: str | None = None
    companion_name: str | None = Field(default=None, description="Name der Begleitung, soweit bekannt")
    submitted_at: datetime


class DuplicateResponse(ErrorResponse):
    """``409`` of ``POST /intakes``: the student is already there (same school year, school, name and birth
    date); ``?allow_duplicate=true`` stores the form anyway."""

    duplicate_of: str = Field(description="ULID of the intake already there")


class IntakePage(Model):
    items: list[IntakeSummary]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page")


class BatchFieldError(FieldError):
    column: str | None = Field(default=None, description="Column header of the class list")


class BatchRow(Model):
    row: int = Field(description="Line in the file (the header is line 1)")
    status: Literal["stored", "invalid", "duplicate"] = Field(
        description="stored; invalid (errors); duplicate: the student is already there (bereits vorhanden), "
        "nothing stored"
    )
    intake_id: str | None = Field(default=None, description="The stored intake, or the one already there")
    errors: list[BatchFieldError] = Field(default_factory=list)


class BatchResult(Model):
    """``POST /intakes/batch``: one result per data row; valid rows are stored even when others fail."""

    stored: int
    invalid: int
    duplicates: int = Field(default=0, description="Rows of students already there (nothing stored)")
    rows: list[BatchRow]
    ignored_columns: list[str] = Field(default_factory=list, description="Letters of columns not recognised")


# --------------------------------------------------------------------------- PATCH
def _partial_annotation(annotation: Any) -> Any:
    """``annotation`` with every nested form model replaced by its partial model."""
    if isinstance(annotation, type) and issubclass(annotation, _Form):
        return partial_model(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return Union[tuple(_partial_annotation(a) for a in get_args(annotation))]  # noqa: UP007
    return annotation


@cache
def partial_model(model: type[_Form]) -> type[BaseModel]:
    """A JSON Merge Patch (RFC 7396) model of ``model``: every field optional, nested forms partial.

    Per-field rules stay (re-attached to the non-null type); ``null`` removes an optional field.
    """
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        inner = _partial_annotation(info.annotation)
        if info.metadata:
            inner = Annotated[(inner, *info.metadata)]  # type: ignore[valid-type]
        kwargs = {
            k: getattr(info, k)
            for k in ("title", "description", "examples", "json_schema_extra")
            if getattr(info, k)
        }
        fields[name] = (Optional[inner], Field(default=None, **kwargs))  # noqa: UP045
    name = model.__name__.removesuffix("Form") + "Patch" if model.__name__ != "IntakeForm" else "IntakePatch"
    return create_model(
        name, __config__=ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True), **fields
    )


IntakePatch = partial_model(IntakeForm)
"""``PATCH /intakes/{id}`` body: any subset of :class:`IntakeForm` (JSON Merge Patch)."""
