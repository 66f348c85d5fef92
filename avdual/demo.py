"""``avdual demo``: the main job on the embedded runtime (docs/architecture.md, "The local runtime").

Seeds the companions through the office API, submits every scenario intake through the
HTTP-shaped API path, drains the events, renders the weekly report, writes it to
``out/reports/`` and checks the invariants (assigned + waitlisted = intakes, no companion
above capacity, every assignment within the companion's schools). Then it prints the waitlist,
records one exit at the full school (RFS) through the exit API and shows that the longest-waiting
student moved up to the freed place.

Reports and alerts: the runtime's simulated clock is advanced to next Monday 07:00, so the
scheduled Wochenbericht of this week is rendered (HTML, PDF, XLSX into ``out/reports/``) and emailed;
the demo checks that the XLSX totals equal the totals printed here. At the end the clock runs on for
16 days, so the daily check alerts the office about students waiting longer than 14 days. Waitlist and
capacity alerts arrive as one digest e-mail per kind and alert window (15 minutes), with the all-clear for
students placed meanwhile; the demo checks that no two digests of a kind fall into one window and that the
dashboard's waitlist figure equals the waitlist's length. Every email is in ``out/mail/*.eml``.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as daytime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from avdual.demo_casework import CaseworkStep, simulate_casework
from avdual.runtime import LocalRuntime
from avdual.scenario import load_intakes, load_scenario
from contracts.calendar import local_date
from contracts.reference import SCHOOLS
from services.matching.logic.cost import CRITERIA_LABELS

OFFICE = {"sub": "office-demo", "cognito:groups": "office"}
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class DemoResult:
    intakes: int
    per_school: dict[str, Counter[str]]
    companions: list[dict[str, Any]]
    report_files: list[Path]
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    api_calls: int = 0
    dead_letters: int = 0
    waitlist: list[dict[str, Any]] = field(default_factory=list)
    exit_step: ExitStep | None = None
    casework: CaseworkStep | None = None
    xlsx_line: str = ""
    mails: list[Path] = field(default_factory=list)


@dataclass
class ExitStep:
    """One simulated exit at a full school and the student who moved up from the waitlist."""

    school_id: str
    leaving: dict[str, Any] = field(default_factory=dict)
    first_waiting: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def simulate_exit(rt: LocalRuntime, school_id: str = "RFS") -> ExitStep:
    """Record an exit (Verbleib: dual training) through the exit API at ``school_id``, deliver the
    events and read the student who was first on the school's waitlist."""
    step = ExitStep(school_id)
    waiting = rt.api("GET", "/waitlist", query={"school_id": school_id}, claims=OFFICE).json()
    assigned = sorted(
        (
            a
            for a in rt.scan("assignments")
            if a["status"] == "assigned" and a["profile"]["school_id"] == school_id
        ),
        key=lambda a: a["intake_id"],
    )
    if not waiting or not assigned:
        step.problems.append(f"{school_id}: no waitlist or nobody assigned – no exit to simulate")
        return step
    step.first_waiting, leaving = waiting[0], assigned[0]
    body = {
        "exit_date": local_date(rt.clock.now()).isoformat(),
        "reason": "completed",
        "destination": "dual_training",
    }
    r = rt.api("POST", f"/assignments/{leaving['intake_id']}/exit", body=body, claims=OFFICE)
    if r.status != 200:
        step.problems.append(f"exit of {leaving['intake_id']}: {r.status} {r.body}")
        return step
    step.leaving = r.json()
    rt.drain()
    step.after = rt.api("GET", f"/assignments/{step.first_waiting['intake_id']}", claims=OFFICE).json()
    if step.after.get("status") != "assigned" or step.after.get("companion_id") != leaving["companion_id"]:
        step.problems.append(
            f"{step.first_waiting['intake_id']} (first on the waitlist) was not assigned to "
            f"{leaving['companion_id']} after the exit: {step.after.get('status')}"
        )
    return step


def seed_companions(rt: LocalRuntime, scenario: dict[str, Any]) -> None:
    for c in scenario["companions"]:
        r = rt.api("POST", "/companions", body=c, claims=OFFICE)
        if r.status != 200:
            raise RuntimeError(f"companion {c['companion_id']}: {r.status} {r.body}")


def submit_all(
    rt: LocalRuntime, forms: list[dict[str, Any]], progress: Progress | None = None, drain_every: int = 25
) -> list[str]:
    ids = []
    task = progress.add_task("Anmeldungen", total=len(forms)) if progress else None
    for i, form in enumerate(forms, 1):
        school = f"school-{form['school_id']}"  # the Cognito group of the school's staff
        r = rt.api("POST", "/intakes", body=form, claims={"sub": school, "cognito:groups": school})
        if r.status != 201:
            raise RuntimeError(f"intake {i}: {r.status} {r.body}")
        ids.append(r.json()["intake_id"])
        if i % drain_every == 0:
            rt.drain()
        if progress and task is not None:
            progress.advance(task)
    rt.drain()
    return ids


def clean_outputs(out_dir: Path) -> None:
    """Remove the reports and emails of an earlier run (only files the demo writes)."""
    for pattern in ("reports/weekly-*", "reports/school_year-*", "mail/*.eml"):
        for p in out_dir.glob(pattern):
            p.unlink()


def next_week_monday_7(now: datetime) -> datetime:
    """Monday 07:00 (Europe/Berlin) of the week after ``now``: when this week's Wochenbericht is due."""
    today = now.astimezone(BERLIN).date()
    return datetime.combine(today + timedelta(days=7 - today.weekday()), daytime(7, 0), BERLIN)


def weekly_report_of_this_week(rt: LocalRuntime, out_dir: Path) -> list[Path]:
    """Advance the clock until the scheduled Wochenbericht of this week has run; its files in ``out_dir``."""
    rt.advance(next_week_monday_7(rt.clock.now()) - rt.clock.now() + timedelta(minutes=1))
    reports = rt.api("GET", "/reports", claims=OFFICE).json()
    weekly = [r for r in reports if r["report_type"] == "weekly"]
    if not weekly:
        return []
    return sorted(out_dir.glob(f"reports/*-{weekly[0]['report_id']}.*"))


def xlsx_totals(path: Path) -> dict[str, Any]:
    """The total row ("Insgesamt") of the sheet "Stand nach Schule" of a weekly XLSX report."""
    from openpyxl import load_workbook

    ws = load_workbook(path, read_only=True)["Stand nach Schule"]
    rows = list(ws.iter_rows(values_only=True))
    header, total = rows[0], next(r for r in rows if r and r[0] == "Insgesamt")
    return dict(zip(header, total, strict=False))


def check_xlsx_totals(files: list[Path], tot: Counter[str]) -> tuple[list[str], str]:
    """Problems (if any) and a line for people: XLSX totals vs the totals printed by the demo."""
    xlsx = [p for p in files if p.suffix == ".xlsx"]
    if not xlsx:
        return ["no weekly XLSX report was written"], ""
    got = xlsx_totals(xlsx[0])
    want = {"Insgesamt": tot["intakes"], "zugeordnet": tot["assigned"], "Warteliste": tot["waitlisted"]}
    wrong = [f"{k}: XLSX {got.get(k)!r} != {v}" for k, v in want.items() if got.get(k) != v]
    line = (
        f"Excel-Bericht {xlsx[0].name}: Summen = Summen oben (Anmeldungen {got.get('Insgesamt')}, "
        f"zugeordnet {got.get('zugeordnet')}, Warteliste {got.get('Warteliste')})"
    )
    return [f"weekly XLSX totals differ from the demo's: {w}" for w in wrong], line


def check_dashboard_waitlist(rt: LocalRuntime, waitlist: list[dict[str, Any]]) -> list[str]:
    """The dashboard's waitlist figure (and its list) equal the waitlist's length (matching's own list)."""
    summary = rt.api("GET", "/dashboard/summary", claims=OFFICE).json()
    figure = next(k["end"] for k in summary["kpis"] if k["key"] == "waitlisted")
    if figure == summary["waitlist"]["waiting"] == len(waitlist):
        return []
    return [
        f"dashboard: 'auf der Warteliste' {figure}, listed {summary['waitlist']['waiting']}, "
        f"waitlist {len(waitlist)}"
    ]


def check_one_mail_per_window(mails: list[Path]) -> list[str]:
    """At most one e-mail per alert kind and window: two digests of a kind are a window apart."""
    from email import message_from_bytes, policy
    from email.utils import parsedate_to_datetime
    from itertools import pairwise

    from services.reporting.logic.digest import window_length

    problems = []
    for kind in ("Warteliste", "Auslastung"):
        sent = sorted(
            parsedate_to_datetime(str(message_from_bytes(p.read_bytes(), policy=policy.default)["Date"]))
            for p in mails
            if f"AV-dual-{kind}-" in p.name
        )
        for a, b in pairwise(sent):
            if b - a < window_length():
                problems.append(f"two {kind} e-mails within one alert window: {a:%H:%M:%S} and {b:%H:%M:%S}")
    return problems


def state_summary(rt: LocalRuntime) -> tuple[dict[str, Counter[str]], list[dict[str, Any]], list[str]]:
    """Ground truth from the matching tables (independent of reporting) + invariant problems."""
    companions = {c["companion_id"]: c for c in rt.scan("companions")}
    per_school: dict[str, Counter[str]] = {s: Counter() for s in SCHOOLS}
    used: Counter[str] = Counter()
    problems = []
    for a in rt.scan("assignments"):
        school = a["profile"]["school_id"]
        per_school[school][a["status"]] += 1
        per_school[school]["intakes"] += 1
        if a["status"] == "assigned":
            used[a["companion_id"]] += 1
            if school not in companions[a["companion_id"]]["school_ids"]:
                problems.append(f"{a['intake_id']} assigned outside the companion's schools")
    rows = []
    for cid, c in sorted(companions.items()):
        cap, n = int(c["capacity"]), used[cid]
        if n > cap:
            problems.append(f"{cid} above capacity: {n}/{cap}")
        if n != int(c["used"]):
            problems.append(f"{cid} counter {int(c['used'])} != assignments {n}")
        rows.append(
            {
                "companion_id": cid,
                "name": c["name"],
                "school_ids": list(c["school_ids"]),
                "assigned": n,
                "capacity": cap,
            }
        )
    return per_school, rows, problems


def run_demo(
    *,
    out_dir: Path = Path("out"),
    duplicate: bool = False,
    shuffle: bool = False,
    console: Console | None = None,
) -> DemoResult:
    console = console or Console()
    t0 = time.perf_counter()
    scenario, forms = load_scenario(), load_intakes()
    clean_outputs(out_dir)
    with LocalRuntime(duplicate=duplicate, shuffle=shuffle, log_level="ERROR", out_dir=out_dir) as rt:
        console.print(
            f"[bold]AV dual – {scenario['name']}[/bold]: "
            f"{len(scenario['companions'])} Begleiter/innen, "
            f"{len(forms)} Anmeldungen (lokale Laufzeit auf moto)"
        )
        seed_companions(rt, scenario)
        rt.drain()
        with Progress(console=console, transient=False) as progress:
            submit_all(rt, forms, progress)
        submitted = rt.clock.now()
        files = weekly_report_of_this_week(rt, out_dir)
        per_school, companions, problems = state_summary(rt)
        xlsx_problems, xlsx_line = check_xlsx_totals(files, sum(per_school.values(), Counter()))
        problems += xlsx_problems
        total = sum(c["intakes"] for c in per_school.values())
        if total != len(forms):
            problems.append(f"matching knows {total} students, {len(forms)} were submitted")
        for s, c in per_school.items():
            if c["assigned"] + c["waitlisted"] != c["intakes"]:
                problems.append(f"{s}: assigned + waitlisted != intakes")
        waitlist = rt.api("GET", "/waitlist", claims=OFFICE).json()
        problems += check_dashboard_waitlist(rt, waitlist)
        step = simulate_exit(rt, "RFS")
        problems += step.problems + state_summary(rt)[2]  # invariants hold after the exit, too
        casework = simulate_casework(rt, out_dir)
        files += casework.report_files
        problems += casework.problems + state_summary(rt)[2]
        # run on to the daily check 16 days after the submissions (more than 15 whole days at any time of
        # day): waits over 14 days are reported
        check_day = submitted.astimezone(BERLIN).date() + timedelta(days=16)
        check = datetime.combine(check_day, daytime(6, 1), BERLIN)
        rt.advance(max(check - rt.clock.now(), timedelta(0)))
        problems += check_dashboard_waitlist(rt, rt.api("GET", "/waitlist", claims=OFFICE).json())
        mails = sorted((out_dir / "mail").glob("*.eml"))
        if not any("Warteliste" in p.name for p in mails):
            problems.append("no waitlist alert in out/mail")
        problems += check_one_mail_per_window(mails)
        if waitlist and not any("Wartezeit" in p.name for p in mails):
            problems.append("students wait, but no alert about waits over 14 days in out/mail")
        result = DemoResult(
            len(forms),
            per_school,
            companions,
            files,
            problems,
            seconds=time.perf_counter() - t0,
            api_calls=sum(rt.api_calls.values()),
            dead_letters=len(rt.dead_letters),
            waitlist=waitlist,
            exit_step=step,
            casework=casework,
            xlsx_line=xlsx_line,
            mails=mails,
        )
    print_result(result, console)
    return result


def print_result(r: DemoResult, console: Console) -> None:  # noqa: C901
    t = Table(title="Anmeldungen je Schule")
    for col in ("Schule", "Anmeldungen", "zugeordnet", "Warteliste"):
        t.add_column(col, justify="left" if col == "Schule" else "right")
    tot: Counter[str] = Counter()
    for sid, c in r.per_school.items():
        t.add_row(SCHOOLS[sid], str(c["intakes"]), str(c["assigned"]), str(c["waitlisted"]))
        tot.update(c)
    t.add_row("[bold]Summe[/bold]", str(tot["intakes"]), str(tot["assigned"]), str(tot["waitlisted"]))
    console.print(t)
    t2 = Table(title="Auslastung je Begleiter/in")
    for col in ("Name", "Kürzel", "Schulen", "Schüler/innen", "Kapazität"):
        t2.add_column(col, justify="right" if col in ("Schüler/innen", "Kapazität") else "left")
    for comp in r.companions:
        t2.add_row(
            comp["name"],
            comp["companion_id"],
            ", ".join(SCHOOLS[s] for s in comp["school_ids"]),
            str(comp["assigned"]),
            str(comp["capacity"]),
        )
    console.print(t2)
    print_waitlist(r.waitlist, console)
    if r.exit_step is not None:
        print_exit_step(r.exit_step, console, {c["companion_id"]: c["name"] for c in r.companions})
    if r.casework is not None:
        print_casework(r.casework, console)
    for p in r.report_files:
        console.print(f"Bericht: {p}")
    if r.xlsx_line:
        console.print(r.xlsx_line)
    if r.mails:
        kinds = Counter(_mail_kind(m.name) for m in r.mails)
        console.print(
            f"E-Mails an das Bildungsbüro: {len(r.mails)} in {r.mails[0].parent} ("
            + ", ".join(f"{n}× {k}" for k, n in sorted(kinds.items()))
            + ")"
        )
    console.print(
        f"Dauer {r.seconds:.1f} s · {r.api_calls} AWS-API-Aufrufe der Dienste · {r.dead_letters} Dead Letters"
    )
    if r.problems:
        console.print("[red]Prüfungen fehlgeschlagen:[/red]")
        for problem in r.problems:
            console.print(f"  - {problem}")
    else:
        console.print(
            "[green]Prüfungen: zugeordnet + Warteliste = Anmeldungen; keine Überbelegung; "
            "alle Zuordnungen innerhalb der Schulen der Begleiter/innen.[/green]"
        )


def _mail_kind(name: str) -> str:
    for word, kind in (
        ("Wartezeit", "Wartezeit über 14 Tage"),
        ("Warteliste", "Warteliste (Sammelmeldung)"),
        ("Auslastung", "Auslastung (Sammelmeldung)"),
    ):
        if word in name:
            return kind
    return "Bericht"


def print_waitlist(waitlist: list[dict[str, Any]], console: Console) -> None:
    t = Table(title=f"Warteliste ({len(waitlist)}) – Reihenfolge beim Nachrücken")
    for col in ("Schule", "Platz", "Kennung", "Klasse", "Wartetage", "Grund"):
        t.add_column(col, justify="right" if col in ("Platz", "Wartetage") else "left")
    reasons = {
        "no_capacity": "kein freier Platz",
        "no_consent": "Einwilligung fehlt",
        "no_companion_for_school": "keine Begleitung für die Schule",
        "no_active_companion": "Begleitung abwesend",
    }
    for w in waitlist:
        t.add_row(
            SCHOOLS.get(w["school_id"], w["school_id"]),
            str(w["position"]),
            w["intake_id"],
            w["class_name"],
            str(w["waited_days"]),
            reasons.get(w["reason"] or "", "–"),
        )
    console.print(t)


def print_exit_step(step: ExitStep, console: Console, names: dict[str, str]) -> None:
    if not step.leaving or not step.after:
        return
    left, moved = step.leaving, step.after
    before, after = (names.get(c, c) for c in (left["companion_id"], moved["companion_id"]))
    console.print(
        f"[bold]Austritt an der {SCHOOLS[step.school_id]}[/bold]: {left['intake_id']} "
        f"(Klasse {left['profile']['class_name']}) bei {before}, "
        f"Verbleib duale Ausbildung → Platz frei."
    )
    expl = ", ".join(f"{CRITERIA_LABELS[k]} {v:.2f}" for k, v in moved.get("explanation", {}).items() if v)
    console.print(
        f"[bold]Nachgerückt[/bold]: {moved['intake_id']} (Warteliste Platz 1, "
        f"Klasse {moved['profile']['class_name']}) → {after} · "
        f"Kosten {moved['cost']:.2f}{' (' + expl + ')' if expl else ''}"
    )


def print_casework(step: CaseworkStep, console: Console) -> None:
    """One line each: what the companions recorded (the page), the dashboard's figures, the reports."""
    m = step.meetings
    console.print(
        f"Begleitung (Seite /begleitung): {step.internships} Praktika in {step.companies} Betrieben des "
        f"Verzeichnisses, {m['goal_agreement']} Zielvereinbarungsgespräche, {m['parents']} Elterngespräche, "
        f"{m['company']} Betriebskontakte, {step.exits} Austritte in Ausbildung erfasst"
    )
    cw = step.dashboard
    if cw:
        k = cw["klebeeffekt"]
        g = cw["goal_meetings_total"]
        console.print(
            f"Dashboard: {cw['with_internship']} von {cw['participants']} mit Praktikum · Zielvereinbarungen "
            f"{g['done']} geführt, {g['due']} fällig · Klebeeffekt {k['in_former_internship_company']} von "
            f"{k['training_starts']} Ausbildungsbeginnen ({k['share']})"
        )
    if step.report_klebeeffekt:
        console.print(
            "Schuljahresbericht (und jeder Wochenbericht): Abschnitt „Begleitung: Praktika, "
            "Zielvereinbarungen, Klebeeffekt“; XLSX-Blatt Klebeeffekt: "
            + ", ".join(f"{k} {v}" for k, v in step.report_klebeeffekt.items())
        )
