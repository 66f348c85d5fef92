"""``avdual ops …``: operations against a running ``make serve`` (``--local``) or a deployed stage (``--stage``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from avdual import ops

app = typer.Typer(help="Operations: dead letters, redrive, replay, health.", no_args_is_help=True)
console = Console()

LOCAL = typer.Option("http://127.0.0.1:8000", "--local", help="Base URL of a running `make serve`")
STAGE = typer.Option(None, "--stage", help="Deployed stage (AWS credentials from the environment)")


def _call(local: str, stage: str | None, action: str, **params: Any) -> Any:
    if stage:
        target = ops.aws_target(stage)
        if action == "replay":
            return ops.replay(target, datetime.fromisoformat(params["start"]), datetime.fromisoformat(params["end"]))
        fn = {"health": ops.health, "dead-letters": ops.list_dead_letters, "redrive": ops.redrive}[action]
        return fn(target, **{k: v for k, v in params.items() if v is not None})
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    req = urllib.request.Request(f"{local.rstrip('/')}/_ops/{action}?{query}",
                                 method="POST" if action in ("redrive", "replay") else "GET")
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback URL given by the operator
        return json.loads(resp.read())


@app.command()
def health(local: str = LOCAL, stage: str | None = STAGE) -> None:
    """Queue and DLQ depths per subscription."""
    h = _call(local, stage, "health")
    t = Table(title="Pipeline " + ("gesund" if h["healthy"] else "mit Dead Letters"))
    for col in ("Abonnement", "in Warteschlange", "Dead Letters"):
        t.add_column(col)
    for name, s in h["subscriptions"].items():
        t.add_row(name, str(s["queued"]), str(s["dead_letters"]))
    console.print(t)
    raise typer.Exit(0 if h["healthy"] else 1)


@app.command("dead-letters")
def dead_letters(subscription: str | None = None, local: str = LOCAL, stage: str | None = STAGE) -> None:
    """List dead-letter messages (ids and types only, never event data)."""
    rows = _call(local, stage, "dead-letters", subscription=subscription)
    t = Table(title=f"{len(rows)} Dead Letters")
    for col in ("subscription", "detail_type", "idempotency_key", "receive_count", "message_id"):
        t.add_column(col)
    for r in rows:
        t.add_row(*(str(r.get(c)) for c in ("subscription", "detail_type", "idempotency_key", "receive_count",
                                             "message_id")))
    console.print(t)


@app.command()
def redrive(subscription: str | None = None, local: str = LOCAL, stage: str | None = STAGE) -> None:
    """Move dead letters back to their queue (consumers are idempotent)."""
    console.print(_call(local, stage, "redrive", subscription=subscription))


@app.command()
def replay(hours: float = typer.Option(24.0, help="Replay the last N hours"),
           start: str | None = typer.Option(None, help="ISO start (overrides --hours)"),
           end: str | None = typer.Option(None, help="ISO end (default now)"),
           local: str = LOCAL, stage: str | None = STAGE) -> None:
    """Replay archived events of a time window onto the bus."""
    now = datetime.now(UTC)
    s = start or (now - timedelta(hours=hours)).isoformat()
    e = end or now.isoformat()
    console.print(_call(local, stage, "replay", start=s, end=e))
