"""The platform topology, declared once (docs/architecture.md).

CDK (``infra/``), the embedded local runtime (``avdual/``) and the tests all read these
declarations. Nothing here imports boto3 or CDK: plain data next to the event models.

Naming: logical names (``"intakes"``) are stable identifiers; physical names are chosen by
CDK (deployed) or by the local runtime (``avdual-<stage>-<name>``) and handed to the code
through the environment variable each resource declares (``env_var``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from contracts import event_catalog as ev
from contracts import outbox
from contracts.casework import GOAL_MEETINGS_PER_YEAR
from contracts.event_catalog import EventSpec, Source
from contracts.reference import SCHOOLS

Service = Literal["intake", "matching", "reporting", "casework", "platform"]

EVENT_BUS_ENV = "EVENT_BUS_NAME"
SERVICE_NAME_ENV = "POWERTOOLS_SERVICE_NAME"
STAGE_ENV = "AVDUAL_STAGE"
#: Powertools' switch for its X-Ray SDK tracer. Deployed functions set it to ``"true"``: Lambda's active
#: tracing records every invocation (with its Init phase) without the SDK, whose import costs every cold
#: start ~110–190 ms (it creates two botocore clients). Set ``"false"`` on a function to get the SDK's
#: subsegments for its AWS calls again (docs/performance.md).
TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"


@dataclass(frozen=True)
class Index:
    name: str
    pk: str
    sk: str | None = None
    sk_number: bool = False
    """The sort key is a number (DynamoDB type ``N``), e.g. a counter kept with ``ADD``; keys are strings
    otherwise."""


@dataclass(frozen=True)
class Table:
    """A DynamoDB table (on-demand, point-in-time recovery). Keys are strings (an index's sort key may be a
    number: ``Index.sk_number``)."""

    name: str
    service: Service
    pk: str
    sk: str | None = None
    env_var: str = ""
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream: bool = False
    description: str = ""


@dataclass(frozen=True)
class Bucket:
    name: str
    service: Service
    env_var: str
    description: str = ""


@dataclass(frozen=True)
class MailIdentity:
    """An SES sender identity (created and verified from here locally; CDK: an SES email identity) and the
    mailbox it writes to. Functions that name it in ``Function.mail`` get both addresses (``env()``) and
    permission to send from the identity."""

    name: str
    service: Service
    sender: str
    recipient: str
    sender_env: str
    recipient_env: str
    description: str = ""

    def env(self) -> tuple[tuple[str, str], ...]:
        return ((self.sender_env, self.sender), (self.recipient_env, self.recipient))


@dataclass(frozen=True)
class MacKey:
    """A KMS HMAC key (``HMAC_256``, key usage ``GENERATE_VERIFY_MAC``): keyed hashes (``kms:GenerateMac``)
    that nobody can compute or test guesses against without the key, which never leaves KMS. Functions that
    name it in ``Function.mac_keys`` get its id in ``env_var`` and ``kms:GenerateMac`` on it (nothing
    else)."""

    name: str
    service: Service
    env_var: str
    description: str = ""


#: Environment of functions that draw charts with matplotlib: its config/cache directory must be writable,
#: and on Lambda only ``/tmp`` is (the default, ``$HOME/.config/matplotlib``, is on the read-only file
#: system). A cache directory, not a place for data: nothing confidential is written there.
PLOTTING_ENV: tuple[tuple[str, str], ...] = (("MPLCONFIGDIR", "/tmp"),)  # noqa: S108

#: EventBridge Scheduler context attribute, replaced by the scheduled instant (ISO 8601) in a payload.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule invoking a function with a fixed JSON payload; every payload has a
    :data:`SCHEDULED_TIME` value (each occurrence runs once, keyed on schedule name + scheduled time), and
    the handler accepts exactly these payloads (``common.scheduled``)."""

    name: str
    expression: str
    timezone: str
    payload: dict[str, str]
    description: str = ""


@dataclass(frozen=True)
class StreamSource:
    """A DynamoDB stream → Lambda event source mapping (the trigger of an outbox relay).

    The Lambda service reads ``table``'s stream from ``starting_position``, passes only records matching one
    of ``filter_patterns`` (Lambda event filtering, DynamoDB JSON), invokes the function with up to
    ``batch_size`` records and honours its partial batch response (``ReportBatchItemFailures``). A failed
    invocation is bisected (``bisect_batch_on_error``); after ``max_retry_attempts`` retries, or for records
    older than ``max_record_age_seconds``, the batch's position goes to the on-failure destination (an SQS
    DLQ, kind ``relay`` in ``contracts.operations``). Deployed by CDK, played by the local runtime.
    """

    table: str
    filter_patterns: tuple[dict[str, Any], ...]
    batch_size: int = 10
    max_retry_attempts: int = 10
    #: DynamoDB streams keep records 24 h; a relay that is this far behind sends positions to its DLQ.
    max_record_age_seconds: int = 6 * 3600
    bisect_batch_on_error: bool = True
    #: TRIM_HORIZON: items written before the mapping existed (first deploy) are relayed too.
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"


@dataclass(frozen=True)
class OneTimeSchedule:
    """An EventBridge Scheduler one-time schedule (``at(...)``, deleted after it ran) that the function
    ``created_by`` creates at run time, each to invoke the declaring function once with ``payload`` (like a
    :class:`Schedule`'s: fixed values and :data:`SCHEDULED_TIME`; the handler accepts exactly these).

    Declared here so that CDK creates the schedule group and grants ``created_by`` exactly
    ``scheduler:CreateSchedule`` in it and ``iam:PassRole`` of the target's scheduler role, hands it the
    target (``env_var``: JSON with group, target ARN, role ARN, DLQ ARN), and the local runtime fires what
    was created on its simulated clock."""

    name: str
    created_by: str
    payload: dict[str, str]
    env_var: str
    group: str = "one-time"
    description: str = ""

    def schedule_name(self, at: datetime) -> str:
        """The name of the occurrence at ``at`` (UTC; at most 64 of ``[0-9a-zA-Z-_.]``): one schedule per
        instant, so creating it twice is a conflict, not a second invocation."""
        return f"{self.name}-{at.astimezone(UTC):%Y%m%dT%H%M%S}"


@dataclass(frozen=True)
class Layer:
    """A dependencies layer (docs/architecture.md, "On AWS"): the distributions of
    ``pyproject.toml`` / ``uv.lock`` that the code of the functions taking it imports, installed with their
    requirements as arm64 wheels for Lambda's Python (``infra.bundling.DependencyLayerBundler``).

    ``leave_out``: distributions those requirements pull in that no function taking the layer imports
    (neither our code nor the libraries it uses load them); they are removed from the layer after the
    install. A function takes a layer only if its handler's code imports what the layer carries
    (``tests/infra/test_function_layers.py`` imports each handler with only its layers and lists the
    unused packages)."""

    name: str
    distributions: tuple[str, ...]
    description: str
    leave_out: tuple[str, ...] = ()
    strip: tuple[str, ...] = ()
    """Glob patterns (relative to the layer's ``python/``) of files of the installed distributions that the
    functions never load, removed after the install; each must match something."""


#: The time zone database: ``contracts.calendar`` reads Europe/Berlin through ``zoneinfo``, and the Lambda
#: runtime has no ``/usr/share/zoneinfo``.
TIMEZONES_LAYER = Layer("timezones", ("tzdata",), "IANA time zone database (tzdata) for zoneinfo")
#: ULIDs of new records (intakes, assignments, audit entries, reports, casework).
ULID_LAYER = Layer("ulid", ("python-ulid",), "ULIDs for new records (python-ulid)")
#: Class lists uploaded as workbooks (openpyxl, which parses the XML with defusedxml when it is present).
WORKBOOKS_LAYER = Layer(
    "workbooks", ("openpyxl", "defusedxml"), "Reading uploaded workbooks (openpyxl with defusedxml)"
)
#: The min-cost flow of the rebalance and the re-solve: an LP solved with HiGHS on numpy arrays
#: (docs/adr/0025-min-cost-flow-with-highs.md).
MIN_COST_FLOW_LAYER = Layer(
    "min-cost-flow",
    ("highspy", "numpy"),
    "Min-cost flow of the rebalance (an LP solved with HiGHS, numpy)",
)
#: Everything a rendered report needs: charts (matplotlib on numpy), the PDF (fpdf2 with Pillow), HTML and
#: mail templates (Jinja2), the workbook (openpyxl), the small-count suppression (HiGHS on numpy).
#: Pillow as the reports use it: PNG images (charts) read by fpdf2; the AVIF, WebP, Tk and FreeType text
#: modules and their libraries are never loaded (ImageCms stays: fpdf2 imports it).
_PILLOW_UNUSED = (
    "PIL/_avif.*",
    "PIL/_webp.*",
    "PIL/_imagingtk.*",
    "PIL/_imagingft.*",
    "pillow.libs/libavif-*",
    "pillow.libs/libwebp*",
    "pillow.libs/libsharpyuv-*",
    "pillow.libs/libfreetype-*",
    "pillow.libs/libharfbuzz-*",
    "pillow.libs/libbrotli*",
)
#: fontTools' Cython accelerators: the same modules are there as Python, which fontTools falls back to
#: (fpdf2 only subsets fonts with it).
_FONTTOOLS_ACCELERATORS = ("fontTools/**/*.so",)
#: Everything a rendered report needs: charts (matplotlib on numpy), the PDF (fpdf2 with Pillow), HTML and
#: mail templates (Jinja2), the workbook (openpyxl), the small-count suppression (HiGHS on numpy).
REPORTS_LAYER = Layer(
    "reports",
    ("matplotlib", "fpdf2", "pillow", "jinja2", "openpyxl", "highspy", "numpy"),
    "Report rendering: matplotlib, fpdf2 + Pillow, Jinja2, openpyxl, HiGHS, numpy",
    leave_out=("contourpy",),  # matplotlib loads it for contour plots only
    strip=(
        "pylab.py",  # matplotlib's interactive namespace
        *_FONTTOOLS_ACCELERATORS,
        # matplotlib: charts are drawn with Agg into PNG (logic/charts.py); the GUI, web and vector
        # backends with their fonts (AFM, PDF core fonts), sample data and toolbar images are never loaded.
        # Fonts: DejaVu Sans and the last-resort glyphs stay; the serif, mono and math fonts (STIX,
        # Computer Modern) are for styles the charts do not use
        "matplotlib/backends/web_backend",
        "matplotlib/backends/qt_editor",
        "matplotlib/backends/_tkagg.*",
        "matplotlib/backends/_backend_tk.py",
        "matplotlib/backends/_backend_gtk.py",
        "matplotlib/backends/qt_compat.py",
        "matplotlib/backends/backend_[!a]*",  # every backend module but backend_agg.py
        "matplotlib/mpl-data/sample_data",
        "matplotlib/mpl-data/images",
        "matplotlib/mpl-data/fonts/afm",
        "matplotlib/mpl-data/fonts/pdfcorefonts",
        "matplotlib/mpl-data/fonts/ttf/STIX*",
        "matplotlib/mpl-data/fonts/ttf/cm*",
        "matplotlib/mpl-data/fonts/ttf/DejaVuSerif*",
        "matplotlib/mpl-data/fonts/ttf/DejaVuSansMono*",
        "matplotlib/mpl-data/fonts/ttf/DejaVuSansDisplay.ttf",
        *_PILLOW_UNUSED,
        # numpy: the Fortran wrapper generator, C headers and the examples of its random C API
        "numpy/f2py",
        "numpy/_core/include",
        "numpy/_pyinstaller",
    ),
)
#: The erasure in stored reports (reporting-consumer): the HTML row removed, the PDF laid out again
#: (fpdf2 with Pillow), the XLSX row removed (openpyxl); and the office alerts' e-mails (Jinja2).
REPORT_REDACTION_LAYER = Layer(
    "report-redaction",
    ("fpdf2", "pillow", "openpyxl", "jinja2"),
    "Erasure in stored reports and alert e-mails: fpdf2 + Pillow, openpyxl, Jinja2",
    strip=(*_FONTTOOLS_ACCELERATORS, *_PILLOW_UNUSED),
)
#: The office's alert e-mails (reporting-checks).
MAIL_TEMPLATES_LAYER = Layer("mail-templates", ("jinja2",), "Alert e-mails to the office: Jinja2")
LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        TIMEZONES_LAYER,
        ULID_LAYER,
        WORKBOOKS_LAYER,
        MIN_COST_FLOW_LAYER,
        REPORTS_LAYER,
        REPORT_REDACTION_LAYER,
        MAIL_TEMPLATES_LAYER,
    )
}


@dataclass(frozen=True)
class Function:
    """A Lambda function: ``handler`` is the dotted path used by CDK *and* the local runtime."""

    name: str
    service: Service
    handler: str
    tables: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()
    publishes: tuple[EventSpec, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    timeout_seconds: int = 30
    memory_mb: int = 512
    extra_env: tuple[tuple[str, str], ...] = ()
    mail: tuple[str, ...] = ()
    """Names of :data:`MAIL_IDENTITIES` the function sends e-mail from (env + ``ses:SendRawEmail``)."""
    stream: StreamSource | None = None
    """The DynamoDB stream that triggers the function (its table's env var is set; no item access)."""
    one_time: tuple[OneTimeSchedule, ...] = ()
    """One-time schedules that invoke this function (created at run time by another function)."""
    mac_keys: tuple[str, ...] = ()
    """Names of :data:`MAC_KEYS` the function computes keyed hashes with (env + ``kms:GenerateMac``)."""
    links_to_api: bool = False
    """The function writes links to the API's pages (gets :data:`API_BASE_URL_ENV`)."""
    layers: tuple[Layer, ...] = ()
    """Its dependencies layers (besides the AWS-managed Powertools layer): exactly what its code imports."""
    description: str = ""


#: Lower bound of ``Subscription.max_receive_count`` (SQS developer guide, "Configuring a dead-letter queue":
#: set maxReceiveCount to at least 5 for a queue that is a Lambda event source).
MIN_MAX_RECEIVE_COUNT = 5


@dataclass(frozen=True)
class Subscription:
    """EventBridge rule → SQS queue (+DLQ) → Lambda (partial batch responses).

    ``pattern()`` is the EventBridge event pattern, built from the event specs so no
    detail-type string is typed twice. ``max_receive_count``: receives before the queue moves a message
    to its DLQ (the queue's redrive policy in CDK, the local runtime's retry limit); at least
    :data:`MIN_MAX_RECEIVE_COUNT`, the value the SQS documentation recommends for Lambda event sources so
    that throttles and transient failures do not dead-letter a message.
    """

    name: str
    consumer: str
    events: tuple[EventSpec, ...]
    batch_size: int = 10
    max_receive_count: int = 5

    def pattern(self) -> dict[str, list[str]]:
        sources = sorted({e.source.value for e in self.events})
        detail_types = sorted({e.detail_type for e in self.events})
        return {"source": sources, "detail-type": detail_types}


Role = Literal["office", "companion", "school"]

#: A ULID in its canonical form (Crockford base 32, upper case, 26 characters, at most ``7ZZ…``).
ULID_PATTERN = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
#: The ULID pattern in words (German field messages).
ULID_RULE = "erwartet eine ULID aus 26 Ziffern und Großbuchstaben (ohne I, L, O, U)"


@dataclass(frozen=True)
class PathParameter:
    """A path parameter of the API (``{intake_id}``): the *whole* value must match ``pattern`` (ASCII only),
    or the request is 404 before anything else looks at it. Declared once; routes name it in their path."""

    name: str
    pattern: str
    description: str
    #: the pattern in German words, for field messages (``x-rule``; docs/adr/0015-german-field-messages.md)
    rule: str = ""

    @property
    def regex(self) -> str:
        """Anchored form for JSON Schema / OpenAPI (``^…$``)."""
        return f"^{self.pattern}$"

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value, re.ASCII) is not None


INTAKE_ID = PathParameter("intake_id", ULID_PATTERN, "ULID der Anmeldung")
COMPANION_ID = PathParameter(
    "companion_id",
    r"[A-Za-z0-9_-]{1,32}",
    "Kürzel der Begleitung (z. B. B01)",
    rule="erwartet ein Kürzel aus 1 bis 32 Buchstaben (ohne Umlaute), Ziffern, - oder _",
)
REPORT_ID = PathParameter("report_id", ULID_PATTERN, "ULID des Berichts")
FILE_FORMAT = PathParameter("file_format", "pdf|xlsx|html", "Dateiformat des Berichts: pdf, xlsx oder html")
INTERNSHIP_ID = PathParameter("internship_id", ULID_PATTERN, "ULID des Praktikums")
COMPANY_ID = PathParameter("company_id", ULID_PATTERN, "ULID des Betriebs im Betriebsverzeichnis")
PATH_PARAMETERS: dict[str, PathParameter] = {
    p.name: p for p in (INTAKE_ID, COMPANION_ID, REPORT_ID, FILE_FORMAT, INTERNSHIP_ID, COMPANY_ID)
}


@dataclass(frozen=True)
class Route:
    """An API Gateway REST route with a Lambda proxy integration to ``function``.

    Every route is behind the Cognito authorizer of :data:`COGNITO` except ``public`` ones, which
    serve static pages without data (the web form itself: a browser cannot send a bearer token
    when it navigates to a page).
    """

    method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
    path: str
    function: str
    roles: tuple[Role, ...] = ("office",)
    summary: str = ""
    """German one-liner for the OpenAPI document."""
    public: bool = False

    @property
    def parameters(self) -> tuple[PathParameter, ...]:
        """The declared path parameters of ``path``, in order."""
        return tuple(PATH_PARAMETERS[n] for n in re.findall(r"\{(\w+)\}", self.path))


@dataclass(frozen=True)
class UserPool:
    """The Cognito user pool: groups decide the role, custom attributes carry e.g. the companion id.

    The API accepts the pool's **ID tokens** (Cognito authorizer without OAuth scopes).
    """

    name: str
    groups: tuple[str, ...]
    custom_attributes: tuple[str, ...] = ()
    client_name: str = "web"
    client_id_env: str = "USER_POOL_CLIENT_ID"
    """Environment variable of every API function with the app client id its tokens must be issued to
    (``aud``): API Gateway's Cognito authorizer accepts any client of the pool, the function does not."""
    description: str = ""


OFFICE_GROUP = "office"
COMPANION_GROUP = "companion"
SCHOOL_GROUP_PREFIX = "school-"
#: ID-token claim with the companion id of a member of :data:`COMPANION_GROUP`.
COMPANION_ID_CLAIM = "custom:companion_id"


def school_group(school_id: str) -> str:
    """Cognito group of a school's staff: ``school-<school_id>``."""
    return f"{SCHOOL_GROUP_PREFIX}{school_id}"


# --------------------------------------------------------------------------- tables
INTAKES = Table(
    "intakes",
    "intake",
    pk="intake_id",
    env_var="INTAKES_TABLE",
    indexes=(
        Index("by_school", pk="school_id", sk="year_submitted"),
        Index("by_year", pk="school_year", sk="submitted_at"),
        Index("by_companion", pk="companion_id", sk="submitted_at"),
        Index("by_student_key", pk="student_key"),
    ),
    ttl_attribute="expires_at",
    description="Intake forms with personal data (minors) and the assignment status projected from "
    "matching events. Only the intake service reads it. No stream: the personal data must not "
    "travel through a stream (24 h retention) after an erasure.",
)
INTAKE_OUTBOX = Table(
    "intake-outbox",
    "intake",
    pk="id",
    env_var="INTAKE_OUTBOX_TABLE",
    ttl_attribute="expires_at",
    stream=True,
    description="Transactional outbox of intake (contracts/outbox.py): written in the same transaction as "
    "the intake, published by its relay (intake-outbox-relay). Events only: no personal data.",
)
AUDIT_LOG = Table(
    "audit-log",
    "platform",
    pk="day",
    sk="entry",
    env_var="AUDIT_LOG_TABLE",
    ttl_attribute="expires_at",
    description="Audit log of every access to students' personal data in any service (who, what, when, why): "
    "intake ids, no names (common/audit_log.py). Readable by the office (GET /audit); kept until the "
    "end of the following calendar year.",
)
#: The attribute a companion item carries for each school it serves (value: the school id), and the sparse
#: index on it: a school's companions are one ``Query`` (``MatchingStore.companions_for_school``). One index
#: per school because a companion may serve several and an index key is a single value
#: (docs/performance.md).
SERVES_PREFIX = "serves_"


def serves_attribute(school_id: str) -> str:
    return f"{SERVES_PREFIX}{school_id}"


def serving_index(school_id: str) -> str:
    return f"serving_{school_id}"


COMPANIONS = Table(
    "companions",
    "matching",
    pk="companion_id",
    env_var="COMPANIONS_TABLE",
    indexes=tuple(
        Index(serving_index(s), pk=serves_attribute(s), sk="companion_id") for s in sorted(SCHOOLS)
    ),
    description="Companion registry with the atomic capacity counter `used`; a sparse index per school "
    "holds the companions who serve it.",
)
ASSIGNMENTS = Table(
    "assignments",
    "matching",
    pk="intake_id",
    env_var="ASSIGNMENTS_TABLE",
    indexes=(
        Index("by_companion", pk="companion_id", sk="intake_id"),
        Index("waitlist", pk="waitlist_school", sk="waitlisted_at"),
        Index("by_school", pk="school_id", sk="class_name"),
    ),
    ttl_attribute="expires_at",
    description="One item per student known to matching: assigned / waitlisted / ended / withdrawn.",
)
MATCHING_OUTBOX = Table(
    "matching-outbox",
    "matching",
    pk="id",
    env_var="MATCHING_OUTBOX_TABLE",
    ttl_attribute="expires_at",
    stream=True,
    description="Transactional outbox of matching (contracts/outbox.py): written in the same transaction "
    "as companions/assignments, published by its relay (matching-outbox-relay).",
)


def goals_behind_index(passed: int) -> Index:
    """The aggregates table's sparse index of the companions' goal-agreement items of a school year (partition
    ``goals_year``) ordered by how far each companion is behind once ``passed`` due days have passed: the
    number ``behind<passed>`` = meetings due by then − meetings done, kept with ``ADD`` by the reporting
    consumer (docs/adr/0023-bounded-report-reads.md)."""
    return Index(f"goals_behind_{passed}", pk="goals_year", sk=f"behind{passed}", sk_number=True)


CASELOAD_INDEX = Index("companions_by_caseload", pk="caseload_year", sk="n", sk_number=True)
"""The aggregates table's sparse index of the companions' caseload counters of a school year (partition
``caseload_year``) by the caseload ``n``, kept with ``ADD`` by the reporting consumer; with
:data:`CAPACITY_INDEX` what the reports read the most loaded companions from
(docs/adr/0023-bounded-report-reads.md)."""
CAPACITY_INDEX = Index("companions_by_capacity", pk="registry", sk="capacity", sk_number=True)
"""The aggregates table's sparse index of the companion registry's items (partition ``registry``) by
capacity, kept by each registry change (docs/adr/0023-bounded-report-reads.md)."""

AGGREGATES = Table(
    "aggregates",
    "reporting",
    pk="pk",
    sk="sk",
    env_var="AGGREGATES_TABLE",
    indexes=(
        *(goals_behind_index(p) for p in range(GOAL_MEETINGS_PER_YEAR + 1)),
        CASELOAD_INDEX,
        CAPACITY_INDEX,
    ),
    ttl_attribute="expires_at",
    description="Anonymous counters, per-student status projections (no personal data; expire a year after "
    "the school year), waitlist periods, sent alerts and the report index.",
)
REPORTING_OUTBOX = Table(
    "reporting-outbox",
    "reporting",
    pk="id",
    env_var="REPORTING_OUTBOX_TABLE",
    ttl_attribute="expires_at",
    stream=True,
    description="Transactional outbox of reporting (contracts/outbox.py): ReportPublished, written in the "
    "same transaction as the report's index record, relayed to the bus like the other services' events.",
)
INTAKE_SUBSTITUTES = Table(
    "intake-substitutes",
    "intake",
    pk="pk",
    sk="sk",
    env_var="INTAKE_SUBSTITUTES_TABLE",
    description="Who substitutes for which companion when (from CompanionUpdated; common/substitutes.py): a "
    "substitute reads the colleague's students read-only during the leave. Staff ids and days only.",
)
CASEWORK = Table(
    "casework",
    "casework",
    pk="pk",
    sk="sk",
    env_var="CASEWORK_TABLE",
    indexes=(Index("by_companion", pk="companion_id", sk="intake_id"),),
    ttl_attribute="expires_at",
    description="The companions' casework (services/casework): per student (partition student#<intake_id>) "
    "the caseload record learnt from events, internships, meetings and contacts with notes (personal data: "
    "erased with the student, expire with the retention rule); the substitutions learnt from "
    "CompanionUpdated.",
)
COMPANIES = Table(
    "companies",
    "casework",
    pk="company_id",
    env_var="COMPANIES_TABLE",
    description="The shared company directory (Betriebe) of the office: name, town, sector, contact person, "
    "the company's phone and e-mail. No student data.",
)
CASEWORK_OUTBOX = Table(
    "casework-outbox",
    "casework",
    pk="id",
    env_var="CASEWORK_OUTBOX_TABLE",
    ttl_attribute="expires_at",
    stream=True,
    description="Transactional outbox of casework (contracts/outbox.py): internship, meeting and destination "
    "facts without personal data, written in the same transaction as the casework items.",
)
IDEMPOTENCY = Table(
    "idempotency",
    "platform",
    pk="id",
    env_var="IDEMPOTENCY_TABLE",
    ttl_attribute="expiration",
    description="Powertools idempotency records (API POST idempotency keys, scheduled runs).",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        INTAKES,
        INTAKE_OUTBOX,
        AUDIT_LOG,
        COMPANIONS,
        ASSIGNMENTS,
        MATCHING_OUTBOX,
        AGGREGATES,
        REPORTING_OUTBOX,
        IDEMPOTENCY,
        INTAKE_SUBSTITUTES,
        CASEWORK,
        COMPANIES,
        CASEWORK_OUTBOX,
    )
}

REPORTS = Bucket("reports", "reporting", env_var="REPORTS_BUCKET", description="Rendered reports")
BUCKETS: dict[str, Bucket] = {b.name: b for b in (REPORTS,)}

OFFICE_MAIL = MailIdentity(
    "office-mail",
    "reporting",
    sender="berichte@avdual.landkreis-ludwigsburg.example",
    recipient="bildungsbuero@landkreis-ludwigsburg.example",
    sender_env="MAIL_SENDER",
    recipient_env="OFFICE_EMAIL",
    description="Reports and alerts to the Bildungsbüro (office mailbox) from the platform's sender address",
)
MAIL_IDENTITIES: dict[str, MailIdentity] = {m.name: m for m in (OFFICE_MAIL,)}

STUDENT_KEY = MacKey(
    "student-key",
    "intake",
    env_var="STUDENT_KEY_ID",
    description="HMAC key of the duplicate check: the same student (school year, school, normalised name, "
    "date of birth) has the same keyed hash in the intakes table (index by_student_key); no event or log "
    "carries it, and without the key nobody can test a name against it",
)
MAC_KEYS: dict[str, MacKey] = {k.name: k for k in (STUDENT_KEY,)}

# --------------------------------------------------------------------------- functions
#: Functions behind API routes stop when API Gateway stops waiting (REST integration timeout: 29 s).
API_TIMEOUT_SECONDS = 29

INTAKE_API = Function(
    "intake-api",
    "intake",
    "services.intake.handlers.api.handler",
    tables=("intakes", "intake-outbox", "audit-log", "idempotency", "intake-substitutes"),
    publishes=(ev.INTAKE_SUBMITTED, ev.INTAKE_UPDATED, ev.INTAKE_WITHDRAWN),
    mac_keys=("student-key",),
    timeout_seconds=API_TIMEOUT_SECONDS,
    layers=(TIMEZONES_LAYER, ULID_LAYER, WORKBOOKS_LAYER),
    description="Intake REST API for schools",
)
MATCHING_API = Function(
    "matching-api",
    "matching",
    "services.matching.handlers.api.handler",
    tables=("companions", "assignments", "matching-outbox", "audit-log"),
    publishes=(
        ev.COMPANION_ASSIGNED,
        ev.STUDENT_WAITLISTED,
        ev.COMPANION_UPDATED,
        ev.ASSIGNMENT_ENDED,
        ev.COMPANION_REASSIGNED,
    ),
    timeout_seconds=API_TIMEOUT_SECONDS,
    layers=(TIMEZONES_LAYER, ULID_LAYER, MIN_COST_FLOW_LAYER),
    description="Companion registry and assignment API for the office",
)
MATCHING_CONSUMER = Function(
    "matching-consumer",
    "matching",
    "services.matching.handlers.consumer.handler",
    tables=("companions", "assignments", "matching-outbox", "idempotency"),
    publishes=(ev.COMPANION_ASSIGNED, ev.STUDENT_WAITLISTED, ev.COMPANION_REASSIGNED),
    schedules=(
        Schedule(
            "waitlist-sweep",
            "cron(30 6 * * ? *)",
            "Europe/Berlin",
            {"task": "waitlist_sweep", "scheduled_time": SCHEDULED_TIME},
            "Daily: assign waiting students to companions back from leave / newly in their active period",
        ),
    ),
    layers=(TIMEZONES_LAYER, ULID_LAYER, MIN_COST_FLOW_LAYER),
    description="Assigns students to companions on intake events; works off the waitlist",
)
#: Minutes an alert window stays open: waitlist and capacity alerts of a window go out as one e-mail per kind.
ALERT_DIGEST_MINUTES_ENV = "ALERT_DIGEST_MINUTES"
ALERT_DIGEST = OneTimeSchedule(
    "alert-digest",
    created_by="reporting-consumer",
    payload={"check": "alert_digest", "scheduled_time": SCHEDULED_TIME},
    env_var="ALERT_DIGEST_SCHEDULE",
    group="alerts",
    description="At the end of an alert window: one e-mail per kind (waitlist, capacity) with the all-clear",
)
REPORTING_CONSUMER = Function(
    "reporting-consumer",
    "reporting",
    "services.reporting.handlers.consumer.handler",
    tables=("aggregates",),
    buckets=("reports",),
    extra_env=((ALERT_DIGEST_MINUTES_ENV, "15"),),
    layers=(TIMEZONES_LAYER, REPORT_REDACTION_LAYER),
    description="Keeps anonymous report aggregates from intake and matching events; collects office alerts "
    "(student waitlisted, companion at capacity) into windows and schedules their digest; removes a "
    "withdrawn student's rows from stored reports",
)
REPORTING_RENDERER = Function(
    "reporting-renderer",
    "reporting",
    "services.reporting.handlers.renderer.handler",
    tables=("aggregates", "reporting-outbox", "idempotency"),
    buckets=("reports",),
    publishes=(ev.REPORT_PUBLISHED,),
    schedules=(
        Schedule(
            "weekly-report",
            "cron(0 7 ? * MON *)",
            "Europe/Berlin",
            {"report_type": "weekly", "period": "last_week", "scheduled_time": SCHEDULED_TIME},
            "Wochenbericht every Monday 07:00",
        ),
        Schedule(
            "school-year-report",
            "cron(0 7 31 7 ? *)",
            "Europe/Berlin",
            {"report_type": "school_year", "scheduled_time": SCHEDULED_TIME},
            "Schuljahresbericht on 31 July",
        ),
    ),
    timeout_seconds=120,
    memory_mb=2048,
    extra_env=PLOTTING_ENV,
    mail=(OFFICE_MAIL.name,),
    links_to_api=True,
    layers=(TIMEZONES_LAYER, ULID_LAYER, REPORTS_LAYER),
    description="Renders office reports (HTML, PDF, XLSX with charts) into the report bucket and emails the "
    "office",
)
REPORTING_CHECKS = Function(
    "reporting-checks",
    "reporting",
    "services.reporting.handlers.checks.handler",
    tables=("aggregates", "idempotency"),
    schedules=(
        Schedule(
            "waiting-check",
            "cron(0 6 * * ? *)",
            "Europe/Berlin",
            {"check": "long_waits", "scheduled_time": SCHEDULED_TIME},
            "Daily 06:00: alert the office about students waiting longer than 14 days",
        ),
    ),
    one_time=(ALERT_DIGEST,),
    mail=(OFFICE_MAIL.name,),
    layers=(TIMEZONES_LAYER, MAIL_TEMPLATES_LAYER),
    description="Alerts to the office: the digest of an alert window (one e-mail per kind, with the "
    "all-clear); daily, students waiting longer than 14 days",
)
REPORTING_API = Function(
    "reporting-api",
    "reporting",
    "services.reporting.handlers.api.handler",
    tables=("aggregates", "reporting-outbox", "audit-log"),
    buckets=("reports",),
    publishes=(ev.REPORT_PUBLISHED,),
    timeout_seconds=API_TIMEOUT_SECONDS,
    memory_mb=2048,
    extra_env=PLOTTING_ENV,
    mail=(OFFICE_MAIL.name,),
    links_to_api=True,
    layers=(TIMEZONES_LAYER, ULID_LAYER, REPORTS_LAYER),
    description="Office API: reports on demand, report index and downloads, dashboard figures and page",
)

INTAKE_CONSUMER = Function(
    "intake-consumer",
    "intake",
    "services.intake.handlers.consumer.handler",
    tables=("intakes", "intake-substitutes"),
    layers=(TIMEZONES_LAYER,),
    description="Projects assignment events onto the intakes (status, assigned companion, retention) and "
    "learns the companions' substitutes",
)
CASEWORK_API = Function(
    "casework-api",
    "casework",
    "services.casework.handlers.api.handler",
    tables=("casework", "companies", "casework-outbox", "audit-log", "idempotency"),
    publishes=(
        ev.INTERNSHIP_STARTED,
        ev.INTERNSHIP_ENDED,
        ev.MEETING_RECORDED,
        ev.DESTINATION_COMPANY_RECORDED,
    ),
    timeout_seconds=API_TIMEOUT_SECONDS,
    layers=(TIMEZONES_LAYER, ULID_LAYER),
    description="The companions' workspace: caseload, internships, company directory, meetings and contacts; "
    "the page /begleitung",
)
CASEWORK_CONSUMER = Function(
    "casework-consumer",
    "casework",
    "services.casework.handlers.consumer.handler",
    tables=("casework", "companies", "casework-outbox"),
    publishes=(ev.DESTINATION_COMPANY_RECORDED,),
    layers=(TIMEZONES_LAYER,),
    description="Learns the caseload from matching's and intake's events (assignments, handovers, "
    "substitutes, exits); erases a withdrawn student's casework",
)

_SERVICE_FUNCTIONS: tuple[Function, ...] = (
    INTAKE_API,
    INTAKE_CONSUMER,
    MATCHING_API,
    MATCHING_CONSUMER,
    REPORTING_CONSUMER,
    REPORTING_RENDERER,
    REPORTING_CHECKS,
    REPORTING_API,
    CASEWORK_API,
    CASEWORK_CONSUMER,
)

# --------------------------------------------------------------------------- outbox relays
#: Handler of every outbox relay (our code, in ``common``: bundled with every service).
OUTBOX_RELAY_HANDLER = "common.outbox_relay.handler"


def outbox_tables() -> list[Table]:
    """Tables with a stream: each is a transactional outbox (``contracts.outbox``) with its own relay."""
    return [t for t in TABLES.values() if t.stream]


def outbox_relay_name(table: Table) -> str:
    """``intake-outbox`` → ``intake-outbox-relay``."""
    return f"{table.name}-relay"


def _outbox_relay(table: Table) -> Function:
    """The relay of ``table``: a function of the table's service, triggered by the table's stream, that
    publishes exactly the events the service's functions write into this outbox (so with their source)."""
    publishes = tuple(
        dict.fromkeys(
            e
            for f in _SERVICE_FUNCTIONS
            if f.service == table.service and table.name in f.tables
            for e in f.publishes
        )
    )
    sources = sorted({e.source.value for e in publishes})
    if len(sources) != 1:
        raise ValueError(f"outbox table {table.name}: expected exactly one event source, got {sources}")
    return Function(
        outbox_relay_name(table),
        table.service,
        OUTBOX_RELAY_HANDLER,
        publishes=publishes,
        stream=StreamSource(table.name, filter_patterns=(outbox.filter_pattern(table.pk),)),
        timeout_seconds=30,
        memory_mb=256,
        description=f"Outbox relay: inserted outbox items of {table.name} → events on the bus ({sources[0]})",
    )


FUNCTIONS: dict[str, Function] = {
    f.name: f for f in (*_SERVICE_FUNCTIONS, *(_outbox_relay(t) for t in outbox_tables()))
}


def outbox_relay(table: Table) -> Function:
    """The relay function of the outbox ``table``."""
    return FUNCTIONS[outbox_relay_name(table)]


def outbox_source(table: Table) -> Source:
    """The ``source`` of events relayed from ``table``: the one source its owning service publishes with."""
    return next(iter({e.source for e in outbox_relay(table).publishes}))


# --------------------------------------------------------------------------- subscriptions
SUBSCRIPTIONS: dict[str, Subscription] = {
    s.name: s
    for s in (
        Subscription(
            "matching-intake-events",
            "matching-consumer",
            (ev.INTAKE_SUBMITTED, ev.INTAKE_UPDATED, ev.INTAKE_WITHDRAWN),
        ),
        Subscription(
            "matching-capacity-events", "matching-consumer", (ev.ASSIGNMENT_ENDED, ev.COMPANION_UPDATED)
        ),
        Subscription(
            "intake-assignment-events",
            "intake-consumer",
            (ev.COMPANION_ASSIGNED, ev.STUDENT_WAITLISTED, ev.COMPANION_REASSIGNED, ev.ASSIGNMENT_ENDED),
        ),
        Subscription("intake-companion-events", "intake-consumer", (ev.COMPANION_UPDATED,)),
        Subscription(
            "casework-caseload-events",
            "casework-consumer",
            (
                ev.COMPANION_ASSIGNED,
                ev.STUDENT_WAITLISTED,
                ev.COMPANION_REASSIGNED,
                ev.ASSIGNMENT_ENDED,
                ev.COMPANION_UPDATED,
                ev.INTAKE_UPDATED,
                ev.INTAKE_WITHDRAWN,
            ),
        ),
        Subscription(
            "reporting-events",
            "reporting-consumer",
            (
                ev.INTAKE_SUBMITTED,
                ev.INTAKE_UPDATED,
                ev.INTAKE_WITHDRAWN,
                ev.COMPANION_ASSIGNED,
                ev.STUDENT_WAITLISTED,
                ev.COMPANION_REASSIGNED,
                ev.ASSIGNMENT_ENDED,
                ev.COMPANION_UPDATED,
                ev.DESTINATION_COMPANY_RECORDED,
                ev.INTERNSHIP_STARTED,
                ev.INTERNSHIP_ENDED,
                ev.MEETING_RECORDED,
            ),
        ),
    )
}

# --------------------------------------------------------------------------- API routes
ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "intake-api", (), "Das Anmeldeformular (statische Seite, ohne Daten)", public=True),
    Route("POST", "/intakes", "intake-api", ("office", "school"), "Anmeldung einreichen"),
    Route("GET", "/intakes", "intake-api", ("office", "school", "companion"), "Anmeldungen auflisten"),
    Route(
        "POST", "/intakes/batch", "intake-api", ("office", "school"), "Klassenliste hochladen (CSV oder XLSX)"
    ),
    Route("GET", "/intakes/{intake_id}", "intake-api", ("office", "school", "companion"), "Anmeldung lesen"),
    Route("PATCH", "/intakes/{intake_id}", "intake-api", ("office", "school"), "Anmeldung berichtigen"),
    Route(
        "POST",
        "/intakes/{intake_id}/withdraw",
        "intake-api",
        ("office", "school"),
        "Anmeldung zurückziehen (Einwilligung widerrufen): die personenbezogenen Daten werden gelöscht",
    ),
    Route(
        "GET",
        "/audit",
        "intake-api",
        ("office",),
        "Protokoll der Zugriffe auf personenbezogene Daten (wer, was, wann, wozu)",
    ),
    Route(
        "POST",
        "/companions",
        "matching-api",
        ("office",),
        "Begleitung anlegen oder ersetzen (dry_run: Vorschau der Auswirkungen auf Zuordnungen)",
    ),
    Route("GET", "/companions", "matching-api", ("office",), "Begleitungen auflisten"),
    Route("GET", "/companions/{companion_id}", "matching-api", ("office",), "Begleitung lesen"),
    Route(
        "PATCH",
        "/companions/{companion_id}",
        "matching-api",
        ("office",),
        "Begleitung ändern (Kapazität, Schulen, Abwesenheit, …; dry_run: Vorschau der Auswirkungen)",
    ),
    Route(
        "GET",
        "/assignments/{intake_id}",
        "matching-api",
        ("office", "companion"),
        "Zuordnung mit Begründung lesen",
    ),
    Route(
        "POST",
        "/assignments/{intake_id}/exit",
        "matching-api",
        ("office", "companion"),
        "Austritt und Verbleib erfassen; der Platz wird frei",
    ),
    Route(
        "POST",
        "/assignments/rebalance",
        "matching-api",
        ("office",),
        "Neuverteilung über alle Begleitungen (Min-Cost-Flow): Probelauf listet die Wechsel mit "
        "Kostenänderung und plan_id; Anwenden nur genau dieses Vorschlags",
    ),
    Route(
        "GET",
        "/assignments/{intake_id}/options",
        "matching-api",
        ("office",),
        "Mögliche Begleitungen einer Schülerin / eines Schülers: erlaubt oder nicht (und warum), Kosten "
        "mit Begründung",
    ),
    Route(
        "POST",
        "/assignments/{intake_id}/companion",
        "matching-api",
        ("office",),
        "Einer gewählten Begleitung zuordnen oder dorthin wechseln (auch Übergabe); mit Grund und "
        "Kostenbegründung",
    ),
    Route(
        "GET",
        "/waitlist",
        "matching-api",
        ("office", "school"),
        "Warteliste je Schule, längste Wartezeit zuerst",
    ),
    Route(
        "POST",
        "/reports",
        "reporting-api",
        ("office",),
        "Bericht jetzt erstellen (Wochenbericht / Schuljahresbericht), ablegen und ans Bildungsbüro mailen",
    ),
    Route("GET", "/reports", "reporting-api", ("office",), "Erstellte Berichte auflisten"),
    Route(
        "GET",
        "/reports/{report_id}",
        "reporting-api",
        ("office",),
        "Ein erstellter Bericht mit den Pfaden seiner Dateien",
    ),
    Route(
        "GET",
        "/reports/{report_id}/files/{file_format}",
        "reporting-api",
        ("office",),
        "Eine Datei eines Berichts herunterladen (pdf, xlsx, html); Accept nennt den Medientyp der Datei",
    ),
    Route(
        "GET",
        "/dashboard/summary",
        "reporting-api",
        ("office",),
        "Aktuelle Zahlen für das Dashboard des Bildungsbüros (Statistik mit Sperrung kleiner Zellen), "
        "mit Diagrammen",
    ),
    Route(
        "GET",
        "/dashboard",
        "reporting-api",
        (),
        "Das Dashboard des Bildungsbüros (statische Seite, ohne Daten)",
        public=True,
    ),
    Route(
        "GET",
        "/begleitung",
        "casework-api",
        (),
        "Die Seite der AV dual-Begleiter/innen (statische Seite, ohne Daten)",
        public=True,
    ),
    Route(
        "GET",
        "/students",
        "casework-api",
        ("office", "companion"),
        "Meine Schülerinnen und Schüler: die eigene Begleitung (und lesend die einer vertretenen Kollegin / "
        "eines vertretenen Kollegen) mit Praktikum, Zielvereinbarungen und Status",
    ),
    Route(
        "GET",
        "/students/{intake_id}",
        "casework-api",
        ("office", "companion"),
        "Begleitung einer Schülerin / eines Schülers: Verlauf der Zuordnung, Praktika, Gespräche und "
        "Kontakte, "
        "Austritt",
    ),
    Route(
        "POST",
        "/students/{intake_id}/internships",
        "casework-api",
        ("office", "companion"),
        "Praktikum erfassen (Betrieb aus dem Betriebsverzeichnis)",
    ),
    Route(
        "PATCH",
        "/students/{intake_id}/internships/{internship_id}",
        "casework-api",
        ("office", "companion"),
        "Praktikum ändern",
    ),
    Route(
        "POST",
        "/students/{intake_id}/internships/{internship_id}/end",
        "casework-api",
        ("office", "companion"),
        "Praktikum beenden (letzter Tag, absolvierte Tage, Grund)",
    ),
    Route(
        "POST",
        "/students/{intake_id}/meetings",
        "casework-api",
        ("office", "companion"),
        "Gespräch oder Kontakt erfassen (Zielvereinbarungsgespräch, Elterngespräch, Betriebskontakt, …)",
    ),
    Route(
        "GET",
        "/companies",
        "casework-api",
        ("office", "companion"),
        "Betriebsverzeichnis durchsuchen",
    ),
    Route(
        "POST",
        "/companies",
        "casework-api",
        ("office", "companion"),
        "Betrieb ins Betriebsverzeichnis aufnehmen",
    ),
    Route(
        "PATCH",
        "/companies/{company_id}",
        "casework-api",
        ("office", "companion"),
        "Betrieb im Betriebsverzeichnis ändern",
    ),
)


#: Media types API Gateway passes as binary (REST API ``binaryMediaTypes``): request bodies of these types
#: reach the function base64-encoded (class-list uploads), and a response the function marks
#: ``isBase64Encoded`` is returned as bytes only if the request's first ``Accept`` type is one of them
#: (API Gateway Developer Guide, "Binary media types for REST APIs"). Read by CDK and the local gateway.
BINARY_MEDIA_TYPES: tuple[str, ...] = (
    "multipart/form-data",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
#: Environment variable with the public base URL of the API and its pages (ends with ``/``): e-mails link
#: to the dashboard there. CDK sets it from the REST API; the local runtime to the local gateway.
API_BASE_URL_ENV = "API_BASE_URL"

# --------------------------------------------------------------------------- auth
COGNITO = UserPool(
    "users",
    groups=(OFFICE_GROUP, COMPANION_GROUP, *(school_group(s) for s in SCHOOLS)),
    custom_attributes=("companion_id",),
    description="Staff of the office, companions and school staff (AV dual teachers, school social work)",
)


def route(method: str, path: str) -> Route:
    """The declared route for ``method`` + ``path``; raises ``KeyError`` if undeclared."""
    for r in ROUTES:
        if r.method == method and r.path == path:
            return r
    raise KeyError(f"{method} {path}")


def functions_subscribed_to(detail_type: str) -> list[str]:
    return sorted(
        {s.consumer for s in SUBSCRIPTIONS.values() if any(e.detail_type == detail_type for e in s.events)}
    )


def one_time_targets(creator: str) -> list[tuple[Function, OneTimeSchedule]]:
    """The one-time schedules the function ``creator`` creates, with the function each one invokes."""
    return [(f, o) for f in FUNCTIONS.values() for o in f.one_time if o.created_by == creator]


def env_for(function: Function) -> dict[str, str]:
    """Environment variable *names* a function needs, mapped to the logical resource name."""
    env: dict[str, str] = {}
    for t in function.tables:
        env[TABLES[t].env_var] = t
    for b in function.buckets:
        env[BUCKETS[b].env_var] = b
    if function.stream:  # the relay recognises its table by the physical name (``eventSourceARN``)
        env[TABLES[function.stream.table].env_var] = function.stream.table
    for k in function.mac_keys:
        env[MAC_KEYS[k].env_var] = k
    if function.publishes:
        env[EVENT_BUS_ENV] = "bus"
    for _, o in one_time_targets(function.name):
        env[o.env_var] = o.name
    return env


def constant_env(function: Function) -> dict[str, str]:
    """Environment variables with fixed values: ``extra_env`` and the addresses of the function's mail
    identities (``{"MAIL_SENDER": "…", "OFFICE_EMAIL": "…"}``)."""
    env = dict(function.extra_env)
    for m in function.mail:
        env.update(MAIL_IDENTITIES[m].env())
    return env


def _validate_one_time() -> None:
    """A one-time schedule is created by another function and carries the scheduled time."""
    for f in FUNCTIONS.values():
        for o in f.one_time:
            assert o.created_by in FUNCTIONS and o.created_by != f.name, (f.name, o.name)
            assert SCHEDULED_TIME in o.payload.values(), o.name


def _validate_function(f: Function) -> None:
    for t in f.tables:
        assert t in TABLES, (f.name, t)
    for b in f.buckets:
        assert b in BUCKETS, (f.name, b)
    for m in f.mail:
        assert m in MAIL_IDENTITIES, (f.name, m)
    for k in f.mac_keys:
        assert k in MAC_KEYS and MAC_KEYS[k].service == f.service, (f.name, k)
    if f.stream:
        assert TABLES[f.stream.table].stream, (f.name, f.stream.table)
        assert 1 <= len(f.stream.filter_patterns) <= 5, f.name  # Lambda: up to five filters by default
        assert len({e.source for e in f.publishes}) == 1, f.name


def validate() -> None:
    """Consistency checks of the topology itself (run by the contract tests)."""
    names = [r.method + " " + r.path for r in ROUTES]
    assert len(names) == len(set(names)), "duplicate route"
    for s in SUBSCRIPTIONS.values():
        assert s.consumer in FUNCTIONS, s
        assert s.max_receive_count >= MIN_MAX_RECEIVE_COUNT, s
    for f in FUNCTIONS.values():
        _validate_function(f)
    for outbox_table in outbox_tables():  # one relay per outbox table
        relays = [f.name for f in FUNCTIONS.values() if f.stream and f.stream.table == outbox_table.name]
        assert relays == [outbox_relay_name(outbox_table)], outbox_table.name
    for r in ROUTES:
        assert r.function in FUNCTIONS, r
        for name in re.findall(r"\{(\w+)\}", r.path):
            assert name in PATH_PARAMETERS, f"{r.method} {r.path}: path parameter {name} not declared"
    _validate_one_time()
    envs = [t.env_var for t in TABLES.values()] + [b.env_var for b in BUCKETS.values()]
    envs += [v for m in MAIL_IDENTITIES.values() for v in (m.sender_env, m.recipient_env)]
    envs += [k.env_var for k in MAC_KEYS.values()]
    assert len(envs) == len(set(envs)), "env var declared twice"


__all__ = [
    "ALERT_DIGEST",
    "BUCKETS",
    "COGNITO",
    "EVENT_BUS_ENV",
    "FUNCTIONS",
    "MAIL_IDENTITIES",
    "ROUTES",
    "SCHEDULED_TIME",
    "SUBSCRIPTIONS",
    "TABLES",
    "Bucket",
    "Function",
    "Index",
    "MailIdentity",
    "OneTimeSchedule",
    "Route",
    "Schedule",
    "Source",
    "StreamSource",
    "Subscription",
    "Table",
    "UserPool",
]
