"""``avdual report weekly|school-year`` and ``avdual clock``: the office's reporting commands.

``report`` renders a report on demand through the reporting **API** (``POST /reports``) – of a running
``make serve`` (``--base-url``; a local office token is made automatically for a loopback URL, else pass
``--token``) or, without ``--base-url``, of an embedded runtime seeded with the demo scenario (its
companions and 440 intakes through the intake API, about a minute). The files land in ``out/reports/``,
the email in ``out/mail/``.

``clock`` shows or advances the simulated clock of a running ``make serve``: the schedules that fall due
fire as EventBridge Scheduler would fire them (Monday 07:00 Wochenbericht, daily 06:00 waiting check, …).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
clock_app = typer.Typer(
    help="Simulierte Uhr eines laufenden `make serve` (Zeitpläne feuern beim Vorstellen).",
    no_args_is_help=True,
)
OFFICE = {"sub": "office-cli", "cognito:groups": "office"}
BASE_URL = typer.Option(
    None,
    "--base-url",
    envvar="AVDUAL_BASE_URL",
    help="API of a running `make serve` (e.g. http://127.0.0.1:8000); default: embedded runtime",
)
TOKEN = typer.Option(
    None,
    "--token",
    envvar="AVDUAL_TOKEN",
    help="Bearer token for --base-url (made automatically for a loopback URL)",
)
LOCAL_URL = typer.Option(
    "http://127.0.0.1:8000", "--base-url", envvar="AVDUAL_BASE_URL", help="A running `make serve`"
)


class ReportKind(StrEnum):
    weekly = "weekly"
    school_year = "school-year"


class Period(StrEnum):
    this_week = "this-week"
    last_week = "last-week"


def _http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter("--base-url muss mit http:// oder https:// beginnen.")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:  # noqa: S310 - scheme checked
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except urllib.error.URLError as e:
        console.print(f"[red]Kein Server unter {url}: {e.reason}. Läuft `make serve`?[/red]")
        raise typer.Exit(2) from None


def _local_office_token() -> str:
    from moto import mock_aws

    from avdual.auth import LocalCognito
    from avdual.runtime import REGION

    with mock_aws():
        return str(LocalCognito("local", REGION).create().token("office"))


def _print_report(out: dict[str, Any], files: list[Path]) -> None:
    t = Table(title=f"{out['period_label']} · Bericht {out['report_id']}")
    t.add_column("Format")
    t.add_column("Datei / Link (befristet)")
    for fmt in out["formats"]:
        local = next((p for p in files if p.suffix == f".{fmt}"), None)
        t.add_row(fmt.upper(), str(local) if local else out["links"].get(fmt, "–"))
    console.print(t)
    if out.get("emailed"):
        console.print("Per E-Mail an das Bildungsbüro versandt (lokal: out/mail/).")


KIND = typer.Argument(..., help="weekly = Wochenbericht, school-year = Schuljahresbericht")
SCHOOL_YEAR = typer.Option(None, help="z. B. 2026/27; Standard: das laufende Schuljahr")
PERIOD = typer.Option(Period.this_week, help="Wochenbericht: laufende oder letzte volle Woche")
EMAIL = typer.Option(True, help="Auch per E-Mail an das Bildungsbüro senden")
OUT = typer.Option(Path("out"), help="Ausgabeordner des eingebetteten Laufzeitsystems")
DAYS = typer.Option(0, help="Tage vorstellen")
HOURS = typer.Option(0, help="Stunden vorstellen")


def report(
    kind: ReportKind = KIND,
    school_year: str | None = SCHOOL_YEAR,
    period: Period = PERIOD,
    email: bool = EMAIL,
    base_url: str | None = BASE_URL,
    token: str | None = TOKEN,
    out: Path = OUT,
) -> None:
    """Render a report now (HTML, PDF, XLSX) and email it to the office."""
    body: dict[str, Any] = {
        "report_type": kind.value.replace("-", "_"),
        "period": period.value.replace("-", "_"),
        "email": email,
    }
    if school_year:
        body["school_year"] = school_year
    if base_url:
        host = urllib.parse.urlsplit(base_url).hostname
        token = token or (_local_office_token() if host in ("127.0.0.1", "localhost") else None)
        status, result = _http("POST", base_url.rstrip("/") + "/reports", body, token)
        if status != 201:
            console.print(f"[red]{status}: {result}[/red]")
            raise typer.Exit(1)
        _print_report(result, sorted(Path("out/reports").glob(f"*{result['report_id']}*")))
        return
    from avdual.demo import seed_companions, submit_all
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_intakes, load_scenario

    console.print(
        "Kein --base-url: das Demo-Szenario wird in einer eingebetteten Laufzeit aufgebaut (ca. 1 min) …"
    )
    with LocalRuntime(log_level="ERROR", out_dir=out) as rt:
        seed_companions(rt, load_scenario())
        rt.drain()
        submit_all(rt, load_intakes())
        r = rt.api("POST", "/reports", body=body, claims=OFFICE)
        if r.status != 201:
            console.print(f"[red]{r.status}: {r.body}[/red]")
            raise typer.Exit(1)
        result = r.json()
    _print_report(result, sorted((out / "reports").glob(f"*{result['report_id']}*")))


@clock_app.command("show")
def clock_show(base_url: str = LOCAL_URL) -> None:
    """Show the simulated time of a running `make serve`."""
    _, now = _http("GET", base_url.rstrip("/") + "/_local/clock")
    console.print(f"Simulierte Zeit: {now['now']} (Vorlauf {now['offset_seconds'] / 86400:.2f} Tage)")


@clock_app.command("advance")
def clock_advance(days: float = DAYS, hours: float = HOURS, base_url: str = LOCAL_URL) -> None:
    """Advance the simulated clock of a running `make serve`; due schedules fire on the way."""
    status, result = _http("POST", base_url.rstrip("/") + "/_local/clock", {"days": days, "hours": hours})
    if status != 200:
        console.print(f"[red]{status}: {result}[/red]")
        raise typer.Exit(1)
    t = Table(title=f"Uhr vorgestellt auf {result['now']}: {len(result['fired'])} Zeitpläne ausgeführt")
    t.add_column("Zeitpunkt (UTC)")
    t.add_column("Zeitplan")
    for f in result["fired"]:
        t.add_row(f["at"], f["schedule"])
    console.print(t)
