"""``avdual companions import`` and ``avdual rebalance``: the office's matching commands.

Both talk to the matching **API** — either a running ``make serve`` (``--base-url``, with a
bearer token from ``avdual token --role office``) or, without ``--base-url``, an embedded
runtime seeded with the demo scenario (its 11 companions; for ``rebalance`` also its 440
intakes, delivered straight to the matching consumer), which is handy to check a file or to see
what a rebalance would do on the scenario.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contracts.reference import SCHOOLS

companions_app = typer.Typer(
    help="Register der AV dual-Begleiter/innen (Bildungsbüro).", no_args_is_help=True
)
console = Console()
OFFICE = {"sub": "office-cli", "cognito:groups": "office"}
BASE_URL = typer.Option(
    None,
    "--base-url",
    envvar="AVDUAL_BASE_URL",
    help="API of a running `make serve` (e.g. http://127.0.0.1:8000); default: embedded runtime",
)
TOKEN = typer.Option(
    None, "--token", envvar="AVDUAL_TOKEN", help="Bearer token for --base-url (`avdual token --role office`)"
)


class Api(Protocol):
    def call(
        self, method: str, path: str, *, body: Any = None, query: dict[str, str] | None = None
    ) -> tuple[int, Any]: ...


class HttpApi:
    """The API of a running server (``make serve`` or a deployed stage)."""

    def __init__(self, base_url: str, token: str | None):
        self.base, self.token = base_url.rstrip("/"), token

    def call(
        self, method: str, path: str, *, body: Any = None, query: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        if not url.startswith(("http://", "https://")):
            raise typer.BadParameter("--base-url muss mit http:// oder https:// beginnen.")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - scheme checked
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310 - scheme checked
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw or b"null")
            except ValueError:
                return e.code, {"message": raw.decode(errors="replace")[:200]}


class LocalApi:
    """The API of an embedded runtime (office claims, as behind the Cognito authorizer)."""

    def __init__(self, rt: Any):
        self.rt = rt

    def call(
        self, method: str, path: str, *, body: Any = None, query: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        r = self.rt.api(method, path, body=body, query=query, claims=OFFICE)
        return r.status, r.json()


@contextmanager
def api_for(base_url: str | None, token: str | None, *, with_intakes: bool = False) -> Iterator[Api]:
    if base_url:
        yield HttpApi(base_url, token)
        return
    from avdual.demo import seed_companions
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_scenario

    with LocalRuntime(stage="cli", log_level="ERROR") as rt:
        console.print("[dim]Lokale Laufzeit (moto) mit den Begleiter/innen des Demo-Szenarios.[/dim]")
        seed_companions(rt, load_scenario())
        rt.drain()
        if with_intakes:
            deliver_scenario_intakes(rt)
        yield LocalApi(rt)


def deliver_scenario_intakes(rt: Any) -> None:
    from avdual.bench_matching import BATCH, _sqs_batch, scenario_intakes

    intakes = scenario_intakes()
    with _progress() as progress:
        task = progress.add_task("Anmeldungen des Szenarios → Zuordnung", total=len(intakes))
        for i in range(0, len(intakes), BATCH):
            rt.invoke("matching-consumer", _sqs_batch(intakes[i : i + BATCH]))
            progress.advance(task, len(intakes[i : i + BATCH]))
    # no drain: the resulting events would only feed the other services' projections


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _message(status: int, body: Any) -> list[tuple[str, str]]:
    if isinstance(body, dict) and body.get("errors"):
        return [(e.get("field", ""), e.get("message", "")) for e in body["errors"]]
    text = body.get("message") if isinstance(body, dict) else None
    return [("", f"HTTP {status}: {text or 'Fehler'}")]


# ----------------------------------------------------------------------------------------- companions import
@companions_app.command("import")
def import_companions(  # noqa: C901
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV (; oder ,) oder XLSX, Kopfzeile"),
    base_url: str = BASE_URL,
    token: str = TOKEN,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only check the file, send nothing"),
) -> None:
    """Import companions (create or replace, one per row) with per-row errors.

    Columns (English field names or German labels, any order): companion_id/Kennung, name,
    email/E-Mail, school_ids/Schulen, capacity/Kapazität, fte/Stellenanteil, languages/Sprachen,
    career_fields/Berufsfelder, gender/Geschlecht, active/aktiv, active_from/aktiv ab,
    active_until/aktiv bis, leave_periods/Abwesenheiten.
    """
    from common.field_errors import german_errors, model_fields
    from services.matching.logic.importer import ImportFileError, parse_row, read_rows
    from services.matching.models.matching import CompanionIn

    try:
        rows = read_rows(file)
    except (ImportFileError, OSError, ValueError) as e:
        console.print(f"[red]Datei nicht lesbar: {e}[/red]")
        raise typer.Exit(2) from None
    errors: list[tuple[int, str, str, str]] = []  # (row, companion id, field, message)
    ok = 0
    with api_for(None if dry_run else base_url, token) as api:
        with _progress() as progress:
            task = progress.add_task(f"Import {file.name}", total=len(rows))
            for n, raw in enumerate(rows, start=2):  # row 1 is the header
                fields, problems = parse_row(raw)
                cid = str(fields.get("companion_id", "?"))
                try:
                    body = CompanionIn.model_validate(fields).model_dump(mode="json")
                except ValidationError as e:
                    unreadable = {p.field for p in problems}  # already reported: not again as "missing"
                    problems += [
                        p
                        for p in german_errors(e.errors(), model_fields(CompanionIn))
                        if p.field.split(".")[0] not in unreadable
                    ]
                    body = None
                if problems:
                    errors += [(n, cid, p.field, p.message) for p in problems]
                elif not dry_run:
                    status, resp = api.call("POST", "/companions", body=body)
                    if status == 200:
                        ok += 1
                    else:
                        errors += [(n, cid, f, m) for f, m in _message(status, resp)]
                else:
                    ok += 1
                progress.advance(task)
        if not dry_run and ok:
            status, registry = api.call("GET", "/companions")
            if status == 200:
                print_registry(registry)
    if errors:
        t = Table(title=f"Fehler ({len({e[0] for e in errors})} Zeilen)")
        for col in ("Zeile", "Kennung", "Feld", "Meldung"):
            t.add_column(col)
        for row, cid, field, msg in errors:
            t.add_row(str(row), cid, field, msg)
        console.print(t)
    verb = "geprüft" if dry_run else "importiert"
    console.print(f"{ok} von {len(rows)} Zeilen {verb}; {len({e[0] for e in errors})} mit Fehlern.")
    raise typer.Exit(1 if errors else 0)


def print_registry(companions: list[dict[str, Any]]) -> None:
    t = Table(title=f"Register: {len(companions)} Begleiter/innen")
    for col in ("Name", "Kürzel", "Schulen", "Kapazität", "belegt", "aktiv", "Abwesenheiten"):
        t.add_column(col, justify="right" if col in ("Kapazität", "belegt") else "left")
    for c in companions:
        leave = "; ".join(f"{p['start']}–{p['end']}" for p in c.get("leave_periods") or [])
        t.add_row(
            c["name"],
            c["companion_id"],
            ", ".join(SCHOOLS.get(s, s) for s in c["school_ids"]),
            str(c["capacity"]),
            str(c["used"]),
            "ja" if c["active"] else "nein",
            leave,
        )
    console.print(t)


# ----------------------------------------------------------------------------------------- rebalance
def rebalance(
    apply: bool = typer.Option(False, "--apply", help="Apply the moves (default: dry run, nothing changes)"),
    base_url: str = BASE_URL,
    token: str = TOKEN,
    limit: int = typer.Option(40, help="Show at most this many moves"),
) -> None:
    """Whole-pool rebalance (min-cost flow): list the proposed moves with their cost change, or apply them."""
    with api_for(base_url, token, with_intakes=True) as api:
        status, result = api.call(
            "POST", "/assignments/rebalance", query={"dry_run": "false" if apply else "true"}
        )
        _, registry = api.call("GET", "/companions")
    if status != 200:
        for field, msg in _message(status, result):
            console.print(f"[red]{field + ': ' if field else ''}{msg}[/red]")
        raise typer.Exit(1)
    names = {c["companion_id"]: c["name"] for c in registry} if isinstance(registry, list) else {}
    print_rebalance(result, console, limit, names=names)


def print_rebalance(
    r: dict[str, Any], out: Console, limit: int = 40, *, names: dict[str, str] | None = None
) -> None:
    """The moves with companions and schools by name (codes in brackets)."""
    moves = r["moves"]

    def who(cid: str | None) -> str:
        if not cid:
            return "Warteliste"
        name = (names or {}).get(cid)
        return f"{name} ({cid})" if name else cid

    t = Table(
        title=("Vorschlag (Probelauf)" if r["dry_run"] else "Umverteilung") + f": {len(moves)} Änderungen"
    )
    for col in ("Anmeldung", "Schule", "von", "nach", "Kosten vorher", "nachher", "Änderung", "Status"):
        t.add_column(col, justify="right" if col in ("Kosten vorher", "nachher", "Änderung") else "left")

    def num(v: float | None) -> str:
        return "–" if v is None else f"{v:.2f}"

    for m in moves[:limit]:
        state = (
            ("übersprungen: " + m["skipped_reason"])
            if m.get("skipped_reason")
            else ("angewendet" if m.get("applied") else "vorgeschlagen")
        )
        t.add_row(
            m["intake_id"],
            SCHOOLS.get(m["school_id"], m["school_id"]),
            who(m["from_companion_id"]),
            who(m["to_companion_id"]),
            num(m["cost_before"]),
            num(m["cost_after"]),
            f"{m['cost_change']:+.2f}",
            state,
        )
    out.print(t)
    if len(moves) > limit:
        out.print(f"… und {len(moves) - limit} weitere")
    out.print(
        f"{r['students']} Schüler/innen, {r['companions']} Begleiter/innen · zugeordnet "
        f"{r['assigned_before']} → {r['assigned_after']} · Gesamtkosten {r['total_cost_before']:.2f} → "
        f"{r['total_cost_after']:.2f} ({r['cost_change']:+.2f}, ohne Wechselstrafen)"
    )
    if not r["dry_run"]:
        out.print(f"angewendet: {r['applied']} · übersprungen: {r['skipped']}")
