"""Use case: render a report from aggregates, store it (HTML, PDF, XLSX) in S3, emit ``ReportPublished``
and email it to the office (HTML body with links that open the office dashboard, which downloads the file
through the authenticated API after login: no link in a mail works without an office login, and none
expires – a presigned S3 URL would be valid only as long as the signing function's credentials).

A scheduled run is idempotent per schedule instant (``run_key``): a retried invocation finishes the
same report instead of producing a second one, and sends no second email.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ulid import ULID

from contracts.calendar import local_date
from services.reporting.dal.aggregates import AggregateStore, ReportStore
from services.reporting.logic import events, mail, redact
from services.reporting.logic.casework_figures import GOAL_LIST_LIMIT, casework_figures, passed_due_days
from services.reporting.logic.figures import (
    CHART_BARS,
    COMPANION_LIST_LIMIT,
    WAITLIST_LIST_LIMIT,
    Inputs,
    school_year_context,
    weekly_context,
)
from services.reporting.logic.mail import MailSender
from services.reporting.logic.pdf import PdfRenderError
from services.reporting.logic.periods import LONG_WAIT_DAYS, Period, ReportWeek, local
from services.reporting.logic.report import CONTENT_TYPES, render_html, render_pdf, render_xlsx
from services.reporting.models.aggregates import ReportRecord

FORMATS: tuple[Literal["html", "pdf", "xlsx"], ...] = ("html", "pdf", "xlsx")
FORMAT_LABELS = {"pdf": "PDF", "xlsx": "Excel (XLSX)", "html": "HTML"}


def previous_school_year(school_year: str) -> str:
    start = int(school_year[:4]) - 1
    return f"{start}/{(start + 1) % 100:02d}"


def load_inputs(
    store: AggregateStore,
    report_type: str,
    school_year: str,
    week: ReportWeek | None = None,
    *,
    every_companion: bool = False,
) -> Inputs:
    """The aggregates a report reads (counters, companions, waitlist periods; never student data): only what
    it shows – of the waitlist the counts and the longest waits of the report's ``week`` (required for the
    weekly report), the school-year report no waitlist, of the previous year not the caseload counters, of
    the companions the registry's totals and the most loaded (as many as the list or chart shows) with the
    ones the goal-agreement list names (docs/performance.md, docs/adr/0023-bounded-report-reads.md).
    ``every_companion``: the whole registry with every caseload (the dashboard's table of companions, where
    the office changes them)."""
    weekly = report_type == "weekly"
    if weekly and week is None:
        raise ValueError("the weekly report reads the waitlist of its week")
    prev_year = None if weekly else previous_school_year(school_year)
    passed = passed_due_days(school_year, local_date(week.as_of)) if week is not None and weekly else None
    goals = (
        store.companion_goals(school_year, passed=passed, limit=GOAL_LIST_LIMIT) if passed is not None else []
    )
    registry = store.registry_totals()
    if every_companion:
        companions, caseload = store.companions(), None
    else:
        limit = COMPANION_LIST_LIMIT if weekly else CHART_BARS
        caseload = store.most_loaded(school_year, limit=limit, registry=registry)
        named = {c.companion_id: c.info for c in caseload if c.info is not None}
        companions = {**store.companions_by_id({g.companion_id for g in goals} - set(named)), **named}
    return Inputs(
        school_year=school_year,
        counters=store.counters(school_year, per_companion=every_companion),
        companions=companions,
        registry=registry,
        caseload=caseload,
        previous_school_year=prev_year,
        previous_counters=store.counters(prev_year, per_companion=False) if prev_year else None,
        waitlist_slice=store.waitlist_slice(
            school_year,
            at=week.end_instant,
            instants=[week.start_instant],
            long_days=LONG_WAIT_DAYS,
            limit=WAITLIST_LIST_LIMIT,
        )
        if week is not None and weekly
        else None,
        companion_goals=goals,
    )


def casework_context(inputs: Inputs, as_of: datetime, *, suppressed: bool) -> dict[str, Any]:
    """The casework figures of a report or the dashboard at ``as_of`` (suppressed where they leave the
    office, ADR 0016), the companions in the goal-agreement list named as the office names them."""
    return casework_figures(
        inputs.counters,
        inputs.school_year,
        local_date(as_of),
        suppressed=suppressed,
        goals=inputs.companion_goals,
        names={cid: c.display_name for cid, c in inputs.companions.items()},
    )


#: What the office reads when the PDF of a report could not be produced (mail, report index, API).
PDF_UNAVAILABLE = "Die PDF-Fassung konnte nicht erstellt werden; HTML- und Excel-Fassung sind vollständig."


@dataclass
class Rendered:
    report_type: str
    report_id: str
    title: str
    period_label: str
    context: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    #: formats that failed, with the office's explanation (the other files are complete)
    unavailable: dict[str, str] = field(default_factory=dict)
    #: formats that failed, with the error (for the handler's log; never shown to the office)
    errors: dict[str, str] = field(default_factory=dict)


def render(
    report_type: str,
    inputs: Inputs,
    *,
    as_of: datetime,
    report_id: str,
    period: Period = "this_week",
    formats: tuple[str, ...] = FORMATS,
) -> Rendered:
    """Build the figures and render the files (pure apart from the clock passed in)."""
    if report_type == "weekly":
        week = ReportWeek.of(as_of, period)
        ctx = weekly_context(inputs, week, report_id=report_id, generated_at=as_of)
        title, label = f"Wochenbericht AV dual {week.label}", week.label
    elif report_type == "school_year":
        ctx = school_year_context(inputs, report_id=report_id, generated_at=as_of)
        title, label = f"Schuljahresbericht AV dual {inputs.school_year}", f"Schuljahr {inputs.school_year}"
    else:
        raise ValueError(f"unknown report type {report_type!r}")
    ctx["casework"] = casework_context(inputs, as_of, suppressed=report_type == "school_year")
    out = Rendered(report_type, report_id, title, label, ctx)
    html = render_html(report_type, ctx)
    if "html" in formats:
        out.files["html"] = html.encode("utf-8")
    if "pdf" in formats:
        try:
            out.files["pdf"] = render_pdf(html)
        except PdfRenderError as e:
            # the report goes out without its PDF (HTML and XLSX are complete): the mail and the report
            # index say so, the handler logs the error
            out.unavailable["pdf"] = PDF_UNAVAILABLE
            out.errors["pdf"] = type(e.__cause__ or e).__name__  # the type only: a message may quote data
    if "xlsx" in formats:
        out.files["xlsx"] = render_xlsx(report_type, ctx)
    return out


def _filename(r: Rendered, ext: str) -> str:
    base = r.title.replace("AV dual ", "AV-dual-").replace("/", "-").replace(" ", "-")
    return f"{base}.{ext}"


@dataclass
class Published:
    record: ReportRecord
    mailed: bool
    rendered: Rendered | None = None


def dashboard_link(api_base_url: str, report_id: str, file_format: str) -> str:
    """The office dashboard, opening ``report_id`` and downloading ``file_format`` after login."""
    return f"{api_base_url.rstrip('/')}/dashboard#bericht={report_id}&format={file_format}"


def publish_report(
    *,
    report_type: str,
    school_year: str,
    as_of: datetime,
    store: AggregateStore,
    reports: ReportStore,
    mailer: MailSender,
    correlation_id: str,
    period: Period = "this_week",
    run_key: str | None = None,
    email: bool = True,
    now: datetime,
    api_base_url: str | None = None,
) -> Published:
    """Render, store, announce and email one report at ``now`` (the request's or the schedule's time); the
    mail links to the dashboard at ``api_base_url`` (none without it). Returns its index record.

    ``ReportPublished`` goes into the reporting outbox in the same transaction that marks the index record
    published (the relay puts it on the bus), so a report is announced exactly when its record says so; a
    retried run whose report was announced already announces nothing again."""
    report_id = str(ULID.from_datetime(as_of))
    done = None
    if run_key is not None:
        report_id = store.claim_run(run_key, report_id)
        done = store.get_report(report_id)
        if done is not None and (done.state == "mailed" or (done.state == "published" and not email)):
            return Published(done, done.state == "mailed")
    rendered = render(
        report_type,
        load_inputs(
            store, report_type, school_year, ReportWeek.of(as_of, period) if report_type == "weekly" else None
        ),
        as_of=as_of,
        report_id=report_id,
        period=period,
    )
    stem = f"reports/{school_year.replace('/', '-')}/{report_type}/{local(as_of):%Y-%m-%d}-{report_id}"
    keys = {}
    for ext, body in rendered.files.items():
        keys[ext] = f"{stem}.{ext}"
        reports.put(keys[ext], body, CONTENT_TYPES[ext], filename=_filename(rendered, ext))
    record = ReportRecord(
        report_id=report_id,
        report_type=report_type,  # type: ignore[arg-type]
        school_year=school_year,
        generated_at=as_of,
        period_label=rendered.period_label,
        formats=list(keys),
        object_keys=list(keys.values()),
        run_key=run_key,
        state="stored",
        subject_ids=redact.subject_ids(rendered.context),
        unavailable=rendered.unavailable,
    )
    if done is None or done.state == "stored":
        store.put_report(record)  # indexed before announced: an erasure finds the files even after a crash
        record.state = "published"
        store.put_report(record, events=[events.report_published(record, correlation_id, at=now)])
    else:  # announced by an earlier attempt of this run (which failed before mailing)
        record.state = "published"
        store.put_report(record)
    if email:
        links = (
            [
                {"label": FORMAT_LABELS[e], "url": dashboard_link(api_base_url, report_id, e)}
                for e in ("pdf", "xlsx")
                if e in keys
            ]
            if api_base_url
            else []
        )
        email_html = render_html(
            report_type,
            {**rendered.context, "links": links, "unavailable": list(rendered.unavailable.values())},
        )
        mail.send_mail(mailer, mail.report_mail(title=rendered.title, html=email_html), now)
        record.state = "mailed"
        store.put_report(record)
    return Published(record, email, rendered)
