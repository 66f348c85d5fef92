"""``avdual ops …``: operations against a running ``make serve`` (``--local``) or a deployed stage
(``--stage``).

DLQ kinds: ``subscription`` (consumer failed), ``rule`` (EventBridge could not deliver to the queue),
``relay`` (outbox relay), ``async`` (scheduled functions), ``alarm`` (alarm e-mails); see ``avdual.ops``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from avdual import ops

app = typer.Typer(help="Operations: dead letters, redrive, replay, republish, health.", no_args_is_help=True)
console = Console()

LOCAL = typer.Option("http://127.0.0.1:8000", "--local", help="Base URL of a running `make serve`")
STAGE = typer.Option(None, "--stage", help="Deployed stage (AWS credentials from the environment)")
NAME = typer.Option(
    None, "--name", "--subscription", help="One DLQ by name (e.g. matching-intake-events-rule)"
)
KIND = typer.Option(None, "--kind", help="DLQs of one kind: subscription, rule, relay, async, alarm")
#: Columns of the listing: metadata only (never event data or payloads).
DETAIL_COLUMNS = (
    "detail_type",
    "source",
    "idempotency_key",
    "event_id",
    "schedule",
    "scheduled_time",
    "payload_keys",
    "shardId",
    "startSequenceNumber",
    "endSequenceNumber",
    "batchSize",
    "condition",
    "functionError",
    "error_code",
)


def _call(local: str, stage: str | None, action: str, **params: Any) -> Any:
    if stage:
        target = ops.aws_target(stage)
        if action == "replay":
            return ops.replay(
                target, datetime.fromisoformat(params["start"]), datetime.fromisoformat(params["end"])
            )
        if action == "republish":
            return ops.republish(
                target,
                params["table"],
                datetime.fromisoformat(params["start"]),
                datetime.fromisoformat(params["end"]),
            )
        if action == "health":
            return ops.health(target)
        fn = ops.list_dead_letters if action == "dead-letters" else ops.redrive
        return fn(target, params.get("name"), params.get("kind"))
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    req = urllib.request.Request(  # noqa: S310 - loopback URL given by the operator
        f"{local.rstrip('/')}/_ops/{action}?{query}",
        method="POST" if action in ("redrive", "replay", "republish") else "GET",
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback URL given by the operator
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        console.print(f"[red]{json.loads(e.read() or b'{}').get('message', e.reason)}[/red]")
        raise typer.Exit(2) from e


@app.command()
def health(local: str = LOCAL, stage: str | None = STAGE) -> None:
    """Depth of every DLQ (by kind) and of the subscription queues; exit code 1 if any DLQ holds a message."""
    h = _call(local, stage, "health")
    t = Table(title="Pipeline " + ("gesund" if h["healthy"] else f"mit {h['dead_letters']} Dead Letters"))
    for col in ("Art", "Name", "in Warteschlange", "Dead Letters"):
        t.add_column(col, overflow="fold")
    for kind, names in h["dead_letter_queues"].items():
        for name, n in names.items():
            queued = h["queues"].get(name) if kind == "subscription" else None
            t.add_row(kind, name, "–" if queued is None else str(queued), str(n))
    console.print(t)
    raise typer.Exit(0 if h["healthy"] else 1)


@app.command("dead-letters")
def dead_letters(
    name: str | None = NAME, kind: str | None = KIND, local: str = LOCAL, stage: str | None = STAGE
) -> None:
    """List dead-letter messages of every kind (ids and metadata only, never event data)."""
    rows = _call(local, stage, "dead-letters", name=name, kind=kind)
    t = Table(title=f"{len(rows)} Dead Letters")
    for col in ("kind", "dlq", "message_id", "receive_count", "details"):
        t.add_column(col, overflow="fold")
    for r in rows:
        details = ", ".join(f"{c}={r[c]}" for c in DETAIL_COLUMNS if r.get(c) is not None)
        t.add_row(r["kind"], r["dlq"], r["message_id"], str(r["receive_count"]), details)
    console.print(t)


@app.command()
def redrive(
    name: str | None = NAME, kind: str | None = KIND, local: str = LOCAL, stage: str | None = STAGE
) -> None:
    """Redrive per kind: subscription/rule DLQ → subscription queue; async DLQ → the function runs again with
    the original payload (AWS: asynchronous invoke; locally: the runtime runs the handler); relay DLQ → use
    `republish`; alarm DLQ (deployed stages only): explains what to do (nothing is moved)."""
    result = _call(local, stage, "redrive", name=name, kind=kind)
    t = Table(title="Redrive")
    for col in ("Art", "DLQ", "verschoben", "verbleibend", "nach"):
        t.add_column(col, overflow="fold")
    for dlq, r in result.items():
        t.add_row(r["kind"], dlq, str(r["moved"]), str(r["remaining"]), r.get("to") or "–")
    console.print(t)
    for dlq, r in result.items():  # what to do with what stays (or what was done), per DLQ that held messages
        if r.get("note") and (r["remaining"] or r["moved"]):
            console.print(f"[bold]{dlq}[/bold]: {r['note']}")


HOURS = typer.Option(24.0, help="The last N hours")
START = typer.Option(None, help="ISO start (overrides --hours)")
END = typer.Option(None, help="ISO end (default now)")


def _window(hours: float, start: str | None, end: str | None) -> dict[str, str]:
    """``{"start", "end"}`` as ISO strings: ``start``/``end`` as given, else the last ``hours`` until now."""
    now = datetime.now(UTC)
    return {"start": start or (now - timedelta(hours=hours)).isoformat(), "end": end or now.isoformat()}


@app.command()
def replay(
    hours: float = HOURS,
    start: str | None = START,
    end: str | None = END,
    local: str = LOCAL,
    stage: str | None = STAGE,
) -> None:
    """Replay archived events of a time window onto the bus."""
    console.print(_call(local, stage, "replay", **_window(hours, start, end)))


@app.command()
def republish(
    table: str = typer.Option(..., "--table", help="Outbox table, e.g. intake-outbox or matching-outbox"),
    hours: float = HOURS,
    start: str | None = START,
    end: str | None = END,
    local: str = LOCAL,
    stage: str | None = STAGE,
) -> None:
    """Put the outbox items of a time window on the bus again, rendered as the outbox relay renders them
    (after a relay DLQ message: its batch never reached the bus; consumers dedupe)."""
    console.print(_call(local, stage, "republish", table=table, **_window(hours, start, end)))
