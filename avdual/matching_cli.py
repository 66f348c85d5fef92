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
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
RowError = tuple[int, str, str, str]
"""(row, companion id, field, German message)"""
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
@dataclass
class RowOutcome:
    """What one file row did (or would do): ``result`` in German, the change's summary and moves."""

    row: int
    companion_id: str
    result: str
    effect: str = ""
    moves: list[dict[str, Any]] = field(default_factory=list)


def _checked_rows(rows: list[dict[str, Any]]) -> tuple[list[tuple[int, str, dict[str, Any]]], list[RowError]]:
    """Rows that are valid companion entries (row number, id, body) and the per-field errors of the others —
    a companion id that occurs twice in the file is an error on every row that carries it."""
    from common.field_errors import german_errors, model_fields
    from services.matching.logic.importer import duplicate_ids, parse_row
    from services.matching.models.matching import CompanionIn

    parsed = [(n, *parse_row(raw)) for n, raw in enumerate(rows, start=2)]  # row 1 is the header
    dupes = duplicate_ids([(n, fields) for n, fields, _ in parsed])
    valid, errors = [], []
    for n, fields, problems in parsed:
        cid = str(fields.get("companion_id", "?"))
        if n in dupes:
            problems = [*problems, dupes[n]]
        try:
            body = CompanionIn.model_validate(fields).model_dump(mode="json")
        except ValidationError as e:
            unreadable = {p.field for p in problems}  # already reported: not again as "missing"
            problems += [
                p
                for p in german_errors(e.errors(), model_fields(CompanionIn))
                if p.field.split(".")[0] not in unreadable
            ]
        if problems:
            errors += [(n, cid, p.field, p.message) for p in problems]
        else:
            valid.append((n, cid, body))
    return valid, errors


def _send_row(
    api: Api, n: int, cid: str, body: dict[str, Any], query: dict[str, str]
) -> RowOutcome | list[RowError]:
    from services.matching.logic.importer import row_result

    status, resp = api.call("POST", "/companions", body=body, query=query)
    if status != 200:
        return [(n, cid, f, m) for f, m in _message(status, resp)]
    change = resp["change"]
    moves = [*change["moves"], *change["placements"]]
    return RowOutcome(n, cid, row_result(change["kind"], change["changed_fields"]), change["message"], moves)


@companions_app.command("import")
def import_companions(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV (; oder ,) oder XLSX, Kopfzeile"),
    base_url: str = BASE_URL,
    token: str = TOKEN,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Nur prüfen und die Auswirkungen zeigen (Vorschau), nichts ändern"
    ),
    allow_waitlist: bool = typer.Option(
        False,
        "--allow-waitlist",
        help="Änderungen anwenden, auch wenn Schüler/innen dabei zurück auf die Warteliste gehen",
    ),
) -> None:
    """Import companions (create or replace, one per row): per row "neu", "geändert (Felder)" or
    "unverändert" with what it does to the students, or the errors per field.

    Columns (English field names or German labels, any order): companion_id/Kennung, name,
    email/E-Mail, school_ids/Schulen, capacity/Kapazität, fte/Stellenanteil, languages/Sprachen,
    career_fields/Berufsfelder, gender/Geschlecht, active/aktiv, active_from/aktiv ab,
    active_until/aktiv bis, leave_periods/Abwesenheiten. With ``--dry-run`` each row is previewed against
    the current registry and assignments (rows do not see each other's effects).
    """
    from services.matching.logic.importer import ImportFileError, read_rows

    try:
        rows = read_rows(file)
    except (ImportFileError, OSError, ValueError) as e:
        console.print(f"[red]Datei nicht lesbar: {e}[/red]")
        raise typer.Exit(2) from None
    valid, errors = _checked_rows(rows)
    query = {"dry_run": "true"} if dry_run else ({"allow_waitlist": "true"} if allow_waitlist else {})
    outcomes: list[RowOutcome] = []
    with api_for(base_url, token, with_intakes=base_url is None) as api:
        with _progress() as progress:
            task = progress.add_task(f"{'Vorschau' if dry_run else 'Import'} {file.name}", total=len(valid))
            for n, cid, body in valid:
                done = _send_row(api, n, cid, body, query)
                if isinstance(done, RowOutcome):
                    outcomes.append(done)
                else:
                    errors += done
                progress.advance(task)
        if not dry_run and outcomes:
            status, registry = api.call("GET", "/companions")
            if status == 200:
                print_registry(registry)
    print_import(outcomes, errors, dry_run=dry_run, rows=len(rows))
    raise typer.Exit(1 if errors else 0)


def print_import(outcomes: list[RowOutcome], errors: list[RowError], *, dry_run: bool, rows: int) -> None:
    t = Table(title="Vorschau je Zeile" if dry_run else "Ergebnis je Zeile")
    for col in ("Zeile", "Kennung", "Ergebnis", "Auswirkung auf Zuordnungen"):
        t.add_column(col)
    for o in outcomes:
        t.add_row(str(o.row), o.companion_id, o.result, o.effect)
    console.print(t)
    moves = [(o, m) for o in outcomes for m in o.moves]
    if moves:
        mt = Table(title="Wechsel" + (" (Vorschau)" if dry_run else ""))
        for col in ("Zeile", "Anmeldung", "Schule/Klasse", "von", "nach", "Kosten", "warum"):
            mt.add_column(col)
        for o, m in moves:
            mt.add_row(
                str(o.row),
                "…" + m["intake_id"][-6:],
                f"{m['school_id']} {m.get('class_name', '')}".strip(),
                m["from_companion_id"] or "Warteliste",
                m["to_companion_id"] or "Warteliste",
                "–" if m["cost_after"] is None else f"{m['cost_after']:.2f}".replace(".", ","),
                m["why"],
            )
        console.print(mt)
    if errors:
        et = Table(title=f"Fehler ({len({e[0] for e in errors})} Zeilen)")
        for col in ("Zeile", "Kennung", "Feld", "Meldung"):
            et.add_column(col)
        for row, cid, fld, msg in sorted(errors):
            et.add_row(str(row), cid, fld, msg)
        console.print(et)
    counts = Counter(o.result.split(" ")[0] for o in outcomes)
    verb = "geprüft" if dry_run else "importiert"
    console.print(
        f"{len(outcomes)} von {rows} Zeilen {verb}: {counts['neu']} neu, {counts['geändert']} geändert, "
        f"{counts['unverändert']} unverändert; {len({e[0] for e in errors})} mit Fehlern."
    )


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
        status, result = api.call("POST", "/assignments/rebalance", query={"dry_run": "true"})
        if status == 200 and apply:  # apply exactly the plan just previewed (409 if it changed meanwhile)
            query = {"dry_run": "false", "plan_id": result["plan_id"]}
            status, result = api.call("POST", "/assignments/rebalance", query=query)
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
