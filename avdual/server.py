"""``make serve``: the local API gateway over the embedded runtime (werkzeug WSGI, 127.0.0.1).

Serves every topology route by building API Gateway REST proxy events, ``/openapi.json``,
Swagger UI at ``/docs``, and static web pages from ``web/``. A background thread keeps
delivering events. All runtime access goes through ``LocalRuntime.lock`` (moto is not
thread-safe).

Authorisation as API Gateway does it: the ``Authorization`` bearer token (an ID token of the local
Cognito pool, ``avdual token``) is verified by the runtime; without a valid token → 401. The web
form logs in through ``/_local/cognito``, which takes the same ``InitiateAuth`` /
``RespondToAuthChallenge`` calls a browser sends to Cognito and forwards them to moto.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from avdual.auth import FORWARDED_OPERATIONS, LOCAL_PASSWORD, LocalUser, user_for
from avdual.openapi import openapi_json
from avdual.runtime import LOCAL_AUTH_PATH, LocalRuntime
from common.errors import NOT_FOUND, error_body

WEB = Path(__file__).resolve().parent.parent / "web"
#: Where ``make serve`` writes every email (``mail/*.eml``) and report file (``reports/``).
OUT = Path("out")
#: The simulated clock of the runtime (``avdual clock``).
LOCAL_CLOCK_PATH = "/_local/clock"
#: Swagger UI served from the ``swagger-ui-bundle-v2`` package (no CDN: ``make serve`` works offline).
SWAGGER_ASSETS = "/docs/assets/"
SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-initializer-avdual.js")
SWAGGER_HTML = f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>AV dual API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{SWAGGER_ASSETS}swagger-ui.css"></head><body>
<div id="swagger-ui"></div><script src="{SWAGGER_ASSETS}swagger-ui-bundle.js"></script>
<script src="{SWAGGER_ASSETS}swagger-initializer-avdual.js"></script></body></html>"""
SWAGGER_INIT = "SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui'});\n"


class Gateway:
    """WSGI app: HTTP request → API Gateway proxy event → handler → HTTP response."""

    def __init__(self, rt: LocalRuntime, claims_for: Any = None):
        """``claims_for(headers)`` may stand in for token verification (tests only); by default every API
        request needs a valid bearer token, as behind API Gateway's Cognito authorizer."""
        self.rt = rt
        self.claims_for = claims_for or (lambda headers: None)
        #: The demo scenario's loading state (``make serve``), shown by ``/healthz``.
        self.scenario: dict[str, Any] = {"state": "empty"}
        self._openapi: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.dispatch(Request(environ))(environ, start_response)

    def dispatch(self, req: Request) -> Response:
        if req.path == "/openapi.json":
            self._openapi = self._openapi or openapi_json()
            return Response(self._openapi, content_type="application/json")
        if req.path == "/docs":
            return Response(SWAGGER_HTML, content_type="text/html; charset=utf-8")
        if req.path.startswith(SWAGGER_ASSETS):
            return _swagger_asset(req.path.removeprefix(SWAGGER_ASSETS))
        if req.path.startswith("/_ops/"):
            return self._ops(req)
        if req.path == LOCAL_AUTH_PATH:
            return self._cognito(req)
        if req.path == LOCAL_CLOCK_PATH:
            return self._clock(req)
        if req.path == "/healthz":
            return Response(
                json.dumps({"status": "ok", "pending": self.rt.pending(), "scenario": self.scenario}),
                content_type="application/json",
            )
        if req.method == "GET" and self.rt.match_route("GET", req.path) is None:
            static = self._static(req.path)
            if static is not None:
                return static
        headers = {k: v for k, v in req.headers.items()}
        # route on the still-encoded path as API Gateway does: an id containing %2F stays one path segment
        raw_uri = req.environ.get("RAW_URI") or req.environ.get("REQUEST_URI") or req.path
        raw_path = str(raw_uri).split("?", 1)[0]
        data = req.get_data()
        binary = (req.mimetype or "").startswith("multipart/") or not _is_utf8(data)
        out = self.rt.api(
            req.method,
            raw_path,
            raw_body=None if binary else (data.decode() or None),
            body_bytes=data if binary and data else None,
            headers=headers,
            query=dict(req.args) or None,
            claims=self.claims_for(headers),
        )
        return Response(
            out.data if out.data is not None else out.body, status=out.status, headers=out.headers
        )

    def _cognito(self, req: Request) -> Response:
        """The Cognito API as the browser calls it (JSON 1.1, ``X-Amz-Target``), forwarded to moto."""
        from botocore.exceptions import ClientError, ParamValidationError

        operation = req.headers.get("X-Amz-Target", "").rpartition(".")[2]
        ctype = "application/x-amz-json-1.1"
        if req.method != "POST" or operation not in FORWARDED_OPERATIONS:
            return Response(
                json.dumps({"__type": "InvalidAction", "message": "unsupported"}),
                status=400,
                content_type=ctype,
            )
        try:
            payload = json.loads(req.get_data(as_text=True) or "{}")
            with self.rt.lock:
                result = self.rt.cognito.forward(operation, payload)
        except ClientError as e:
            err = e.response["Error"]
            body = {"__type": err.get("Code"), "message": err.get("Message")}
            return Response(json.dumps(body), status=400, content_type=ctype)
        except (ParamValidationError, ValueError, TypeError):
            return Response(
                json.dumps({"__type": "InvalidParameterException", "message": "invalid request"}),
                status=400,
                content_type=ctype,
            )
        return Response(json.dumps(result, default=str), content_type=ctype)

    def _ops(self, req: Request) -> Response:
        """Operations endpoints for ``avdual ops --local`` (loopback only, like the whole local gateway)."""
        from datetime import datetime

        from avdual import ops

        action = req.path.removeprefix("/_ops/")
        # ``subscription``: the former name filter
        name = req.args.get("name") or req.args.get("subscription")
        kind = req.args.get("kind")
        with self.rt.lock:
            target = self.rt.ops_target()
            try:
                if action == "health":
                    result: Any = ops.health(target)
                elif action == "dead-letters":
                    result = ops.list_dead_letters(target, name, kind)
                elif action == "redrive" and req.method == "POST":
                    result = ops.redrive(target, name, kind)
                elif action == "replay" and req.method == "POST":
                    result = ops.replay(
                        target,
                        datetime.fromisoformat(req.args["start"]),
                        datetime.fromisoformat(req.args["end"]),
                    )
                elif action == "republish" and req.method == "POST":
                    result = ops.republish(
                        target,
                        req.args["table"],
                        datetime.fromisoformat(req.args["start"]),
                        datetime.fromisoformat(req.args["end"]),
                    )
                else:
                    return _error(404, NOT_FOUND)
            except ValueError as e:  # unknown DLQ name or kind
                return _error(400, str(e))
        return Response(json.dumps(result, default=str), content_type="application/json")

    def _clock(self, req: Request) -> Response:
        """The simulated clock for ``avdual clock`` (loopback only): GET shows it, POST ``{"days", "hours"}``
        advances it and fires the schedules that fall due (reports, daily checks)."""
        from datetime import timedelta

        fired: list[tuple[Any, str]] = []
        if req.method == "POST":
            body = json.loads(req.get_data(as_text=True) or "{}")
            delta = timedelta(days=float(body.get("days", 0)), hours=float(body.get("hours", 0)))
            if delta < timedelta(0):
                return _error(400, "Die Uhr läuft nur vorwärts.")
            fired = self.rt.advance(delta)
        result = {
            "now": self.rt.clock.now().isoformat(),
            "offset_seconds": self.rt.clock.offset.total_seconds(),
            "fired": [{"at": t.isoformat(), "schedule": name} for t, name in fired],
        }
        return Response(json.dumps(result), content_type="application/json")

    def _static(self, path: str) -> Response | None:
        name = "index.html" if path in ("", "/") else path.lstrip("/")
        target = (WEB / name).resolve()
        if WEB.exists() and target.is_file() and WEB.resolve() in target.parents:
            ctype = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}.get(
                target.suffix, "application/octet-stream"
            )
            return Response(target.read_bytes(), content_type=ctype)
        return None


def _error(status: int, message: str) -> Response:
    """The platform's error body (local tools: ops, clock, Swagger assets)."""
    return Response(error_body(message), status=status, content_type="application/json")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def create_local_users(rt: LocalRuntime, companion_ids: list[str]) -> list[LocalUser]:
    """Log-in users of the local pool (office, one per school, one per companion)."""
    from contracts.reference import SCHOOLS

    users = [user_for("office")] + [user_for("school", school=s) for s in SCHOOLS]
    users += [user_for("companion", companion=c) for c in companion_ids]
    with rt.lock:
        for u in users:
            rt.cognito.ensure_user(u)
    return users


def login_lines(base: str, users: list[LocalUser], companions: list[dict[str, Any]]) -> list[str]:
    """The local logins by role, each with the page it starts on (printed by ``make serve``)."""
    from common.web import served_pages

    homes = {link.home_of: base + link.path for link in served_pages() if link.home_of}
    names = {c["companion_id"]: f"{c['name']}, {', '.join(c['school_ids'])}" for c in companions}
    schools = [u.username for u in users if any(g.startswith("school-") for g in u.groups)]
    office = [u.username for u in users if u.companion_id is None and u.username not in schools]
    escorts = [f"{u.username} ({names.get(u.companion_id, '')})" for u in users if u.companion_id]
    lines = [f"Lokale Anmeldungen – Passwort für alle: {LOCAL_PASSWORD}"]
    lines.append(f"  Bildungsbüro  {', '.join(office)}  →  {homes.get('office', base + '/')}")
    lines.append(f"  Schule        {', '.join(schools)}  →  {homes.get('school', base + '/')}")
    if escorts:
        shown = ", ".join(escorts[:2]) + (f", … ({len(escorts)} Begleitungen)" if len(escorts) > 2 else "")
        lines.append(f"  Begleitung    {shown}  →  {homes.get('companion', base + '/')}")
    return lines


def deliver_forever(rt: LocalRuntime, stop: threading.Event, interval: float = 0.2) -> None:
    while not stop.is_set():
        rt.drain()
        rt.advance()  # schedules due by now (e.g. Monday 07:00: the Wochenbericht) fire as in AWS
        stop.wait(interval)


def load_history(rt: LocalRuntime, scenario: dict[str, Any], weeks: int, status: dict[str, Any]) -> None:
    """Play the demo scenario's weeks into ``rt`` (in the background of ``make serve``); ``status`` is what
    ``/healthz`` shows."""
    from avdual.history import play_weeks
    from avdual.scenario import load_intakes

    try:
        history = play_weeks(
            rt, scenario, load_intakes(), weeks=weeks, progress=lambda line: print(f"  {line}", flush=True)
        )
    except Exception as e:
        status.update(state="failed", error=type(e).__name__)
        print(f"Demo-Szenario konnte nicht geladen werden: {type(e).__name__}: {e}", flush=True)
        return
    status.update(state="ready", seconds=round(history.seconds, 1), intakes=sum(history.intakes_per_week))
    print(
        f"Demo-Szenario geladen in {history.seconds:.1f} s: {history.companions} Begleitungen, "
        f"{sum(history.intakes_per_week)} Anmeldungen über {weeks} Wochen "
        f"({' + '.join(map(str, history.intakes_per_week))}), zugeordnet {history.status['assigned']}, "
        f"Warteliste {history.status['waitlisted']}, {history.reports} Wochenberichte",
        flush=True,
    )


def serve(*, host: str = "127.0.0.1", port: int = 8000, empty: bool = False, weeks: int = 3) -> None:
    """Serve the local system; by default with the demo scenario's last ``weeks`` weeks (loaded in the
    background while the server already answers), ``empty``: no companions, no intakes."""
    from avdual.demo import clean_outputs
    from avdual.history import clock_start
    from avdual.scenario import load_scenario

    t0 = time.perf_counter()
    scenario = load_scenario()
    start = None if empty else clock_start(datetime.now(UTC), weeks)
    with LocalRuntime(log_level="WARNING", out_dir=OUT, clock_start=start) as rt:
        companions = [] if empty else scenario["companions"]
        users = create_local_users(rt, [c["companion_id"] for c in companions])
        base = f"http://{host}:{port}"
        gateway = Gateway(rt)
        stop = threading.Event()
        threads = [threading.Thread(target=deliver_forever, args=(rt, stop), daemon=True)]
        if not empty:
            clean_outputs(OUT)
            gateway.scenario.update(state="loading")
            threads.append(
                threading.Thread(
                    target=load_history, args=(rt, scenario, weeks, gateway.scenario), daemon=True
                )
            )
        print(f"AV dual lokal: {base}/  ·  API-Doku: {base}/docs  ·  Strg+C beendet")
        print("\n".join(login_lines(base, users, companions)))
        print(
            f"Token für die API: .venv/bin/avdual token --role school --school RFS  ·  "
            f"Berichte und E-Mails: {OUT}/reports, {OUT}/mail  ·  "
            "Uhr vorstellen: .venv/bin/avdual clock advance --days 7"
        )
        print(
            f"Server bereit nach {time.perf_counter() - t0:.1f} s"
            + ("" if empty else f"; das Demo-Szenario ({weeks} Wochen) wird im Hintergrund geladen …"),
            flush=True,
        )
        for t in threads:
            t.start()
        try:
            run_simple(host, port, gateway, threaded=True, use_reloader=False)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)


def _swagger_asset(name: str) -> Response:
    """One Swagger UI file (only the three the page uses)."""
    if name not in SWAGGER_FILES:
        return _error(404, NOT_FOUND)
    ctype = "text/css" if name.endswith(".css") else "text/javascript"
    if name == "swagger-initializer-avdual.js":
        return Response(SWAGGER_INIT, content_type=ctype)
    from swagger_ui_bundle import swagger_ui_path

    return Response(
        (swagger_ui_path / name).read_bytes(), content_type=ctype, headers={"Cache-Control": "max-age=86400"}
    )
