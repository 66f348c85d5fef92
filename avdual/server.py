"""``make serve``: the local API gateway over the embedded runtime (werkzeug WSGI, 127.0.0.1).

Serves every topology route by building API Gateway REST proxy events, ``/openapi.json``,
Swagger UI at ``/docs``, and static web pages from ``web/``. A background thread keeps
delivering events. All runtime access goes through ``LocalRuntime.lock`` (moto is not
thread-safe).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from avdual.openapi import openapi_json
from avdual.runtime import LocalRuntime

WEB = Path(__file__).resolve().parent.parent / "web"
SWAGGER_HTML = """<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>AV dual API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head><body>
<div id="swagger-ui"></div><script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui'});</script></body></html>"""


class Gateway:
    """WSGI app: HTTP request → API Gateway proxy event → handler → HTTP response."""

    def __init__(self, rt: LocalRuntime, claims_for: Any = None):
        self.rt = rt
        self.claims_for = claims_for or (lambda headers: {"sub": "local-office", "cognito:groups": "office"})
        self._openapi: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.dispatch(Request(environ))(environ, start_response)

    def dispatch(self, req: Request) -> Response:
        if req.path == "/openapi.json":
            self._openapi = self._openapi or openapi_json()
            return Response(self._openapi, content_type="application/json")
        if req.path == "/docs":
            return Response(SWAGGER_HTML, content_type="text/html; charset=utf-8")
        if req.path.startswith("/_ops/"):
            return self._ops(req)
        if req.path == "/healthz":
            return Response(json.dumps({"status": "ok", "pending": self.rt.pending()}), content_type="application/json")
        if req.method == "GET" and self.rt.match_route("GET", req.path) is None:
            static = self._static(req.path)
            if static is not None:
                return static
        headers = {k: v for k, v in req.headers.items()}
        out = self.rt.api(req.method, req.path, raw_body=req.get_data(as_text=True) or None, headers=headers,
                          query=dict(req.args) or None, claims=self.claims_for(headers))
        return Response(out.body, status=out.status, headers=out.headers)

    def _ops(self, req: Request) -> Response:
        """Operations endpoints for ``avdual ops --local`` (loopback only, like the whole local gateway)."""
        from datetime import datetime

        from avdual import ops

        action = req.path.removeprefix("/_ops/")
        sub = req.args.get("subscription")
        with self.rt.lock:
            target = self.rt.ops_target()
            if action == "health":
                result: Any = ops.health(target)
            elif action == "dead-letters":
                result = ops.list_dead_letters(target, sub)
            elif action == "redrive" and req.method == "POST":
                result = ops.redrive(target, sub)
            elif action == "replay" and req.method == "POST":
                result = ops.replay(target, datetime.fromisoformat(req.args["start"]),
                                    datetime.fromisoformat(req.args["end"]))
            else:
                return Response(json.dumps({"message": "Nicht gefunden"}), status=404, content_type="application/json")
        return Response(json.dumps(result, default=str), content_type="application/json")

    def _static(self, path: str) -> Response | None:
        name = "index.html" if path in ("", "/") else path.lstrip("/")
        target = (WEB / name).resolve()
        if WEB.exists() and target.is_file() and WEB.resolve() in target.parents:
            ctype = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}.get(
                target.suffix, "application/octet-stream")
            return Response(target.read_bytes(), content_type=ctype)
        return None


def deliver_forever(rt: LocalRuntime, stop: threading.Event, interval: float = 0.2) -> None:
    while not stop.is_set():
        rt.drain()
        stop.wait(interval)


def serve(*, host: str = "127.0.0.1", port: int = 8000, seed: bool = True) -> None:
    from avdual.demo import seed_companions
    from avdual.scenario import load_scenario

    with LocalRuntime(log_level="WARNING") as rt:
        if seed:
            seed_companions(rt, load_scenario())
            rt.drain()
        stop = threading.Event()
        worker = threading.Thread(target=deliver_forever, args=(rt, stop), daemon=True)
        worker.start()
        print(f"AV dual lokal: http://{host}:{port}/  ·  API-Doku: http://{host}:{port}/docs  ·  Strg+C beendet")
        try:
            run_simple(host, port, Gateway(rt), threaded=True, use_reloader=False)
        finally:
            stop.set()
            worker.join(timeout=5)
            time.sleep(0)
