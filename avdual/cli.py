"""``avdual``: the local command line (Typer). The Makefile targets call these commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from avdual.matching_cli import companions_app
from avdual.matching_cli import rebalance as rebalance_command
from avdual.ops_cli import app as ops_app
from avdual.reporting_cli import clock_app
from avdual.reporting_cli import report as report_command

app = typer.Typer(help="AV dual platform – local commands (embedded runtime on moto).", no_args_is_help=True)
scenario_app = typer.Typer(help="Demo scenario data.")
app.add_typer(scenario_app, name="scenario")
app.add_typer(ops_app, name="ops")
app.add_typer(companions_app, name="companions")
app.command("rebalance")(rebalance_command)
app.command("report")(report_command)
app.add_typer(clock_app, name="clock")
console = Console()


@app.command()
def demo(
    out: Path = typer.Option(Path("out"), help="Output folder"),
    duplicate: bool = typer.Option(False, help="Deliver every event twice"),
    shuffle: bool = typer.Option(False, help="Shuffle delivery order"),
) -> None:
    """Run the whole scenario end to end and write out/reports/."""
    from avdual.demo import run_demo

    result = run_demo(out_dir=out, duplicate=duplicate, shuffle=shuffle, console=console)
    raise typer.Exit(1 if result.problems else 0)


@app.command()
def serve(
    port: int = typer.Option(8000, envvar="PORT"),
    host: str = "127.0.0.1",
    empty: bool = typer.Option(False, "--empty", help="Start blank: no companions, no intakes"),
    weeks: int = typer.Option(3, min=1, max=4, help="Weeks of demo history (the clock starts that far back)"),
) -> None:
    """Serve the API (and /openapi.json, /docs, the web pages) on the embedded runtime with the demo scenario
    (companions, intakes, assignments, weeks of history) loaded in the background; deliver events."""
    from avdual.server import serve as run

    run(host=host, port=port, empty=empty, weeks=weeks)


@app.command()
def token(
    role: str = typer.Option(..., help="office | school | companion"),
    school: str = typer.Option(None, help="School id for --role school (e.g. RFS)"),
    companion: str = typer.Option(None, help="Companion id for --role companion (e.g. B01)"),
    stage: str = typer.Option("local", help="Stage of the local runtime (make serve: local)"),
) -> None:
    """Print a bearer token (Cognito ID token, valid 1 h) for the local API of `make serve`.

    curl -H "Authorization: Bearer $(avdual token --role school --school RFS)" http://127.0.0.1:8000/intakes
    """
    from moto import mock_aws

    from avdual.auth import LocalCognito
    from avdual.runtime import REGION

    with mock_aws():
        try:
            print(LocalCognito(stage, REGION).create().token(role, school=school, companion=companion))
        except ValueError as e:
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(2) from None


@app.command()
def smoke(
    base_url: str = typer.Option(
        None, "--base-url", envvar="BASE_URL", help="A running stage's API (default http://127.0.0.1:8000)"
    ),
    stage: str = typer.Option(
        None, "--stage", help="A deployed stage: API, user pool and app client from its stack outputs"
    ),
    timeout: float = typer.Option(60.0, help="Seconds to wait for matching to decide the intake"),
    email: bool = typer.Option(True, help="Have the report e-mailed to the office mailbox"),
) -> None:
    """Smoke suite of a running stage through its public API: log in (school, office), submit an intake and
    see it assigned or waitlisted, order a report and download PDF and XLSX, no dead letters, withdraw the
    intake and see it erased. One line per step, then `N passed, N failed`; exit code 1 on any failure.

    Users of a deployed stage: AVDUAL_SMOKE_SCHOOL_USER/_PASSWORD/_TOTP_SECRET and the same for OFFICE."""
    import os

    from avdual.smoke import Smoke

    if stage and base_url:
        console.print("[red]--stage oder --base-url, nicht beides.[/red]")
        raise typer.Exit(2)
    suite = Smoke(
        base_url=None if stage else (base_url or "http://127.0.0.1:8000"),
        stage=stage,
        env=os.environ,
        timeout=timeout,
        email=email,
        out=lambda line: print(line, flush=True),
    )
    raise typer.Exit(0 if suite.run().ok else 1)


@app.command()
def openapi(out: Path = typer.Option(Path("contracts/openapi.json"))) -> None:
    """Write the OpenAPI 3.1 document generated from the code."""
    from avdual.openapi import openapi_json

    out.write_text(openapi_json(), encoding="utf-8")
    console.print(f"wrote {out}")


@app.command()
def schemas(write: bool = typer.Option(False, help="Write missing snapshots for current versions")) -> None:
    """Check (or write) the JSON Schema snapshots of every event."""
    from contracts.schemas import check_snapshots, write_snapshots

    if write:
        for p in write_snapshots():
            console.print(f"wrote {p}")
    problems = check_snapshots()
    for problem in problems:
        console.print(f"[red]{problem}[/red]")
    raise typer.Exit(1 if problems else 0)


@scenario_app.command("generate")
def scenario_generate() -> None:
    """Regenerate data/scenario/intakes.json from the scenario file (deterministic)."""
    from avdual.scenario import INTAKES, write_intakes

    console.print(f"{write_intakes()} intakes → {INTAKES}")


@app.command()
def bench(
    out: Path = typer.Option(Path("out/bench.json")),
    only: list[str] = typer.Option([], help="run only these benchmarks; the others are kept from OUT"),
) -> None:
    """Run the benchmarks and write JSON."""
    from avdual.bench import run_benchmarks

    run_benchmarks(out, console, only=only or None)


if __name__ == "__main__":
    app()
