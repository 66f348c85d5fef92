"""Playwright fixtures shared by the browser tests: Debian's Chromium (installed by `make browser-deps`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: As the machine's probe starts Chromium: without the background-networking flags it tries to reach
#: Google's hosts, which this closed network refuses.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=de-DE",
]
#: The browser's own controls in German, as a secretary sees them (date fields as TT.MM.JJJJ, "Datei
#: auswählen"; Debian's chromium-l10n): the context's locale sets only what scripts read.
GERMAN = {"LANG": "de_DE.UTF-8", "LANGUAGE": "de"}
#: A phone's window: 390 px wide.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium per test process (a launch costs about 1 s of CPU and 3 s of wall at load 5; each test's
    page has a context of its own: :func:`open_page`)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS, env={**os.environ, **GERMAN}
        )
        try:
            yield b
        finally:
            b.close()


@contextmanager
def open_page(browser: Any, **context_options: Any) -> Iterator[Any]:
    """A German-locale page (in its own context) collecting console and page errors in ``page.problems``."""
    context = browser.new_context(locale="de-DE", **context_options)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.set_default_timeout(30_000)
    pg.problems = problems  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A German-locale desktop page (see :func:`open_page`)."""
    with open_page(browser) as pg:
        yield pg


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A page 390 px wide, as on a phone (see :func:`open_page`)."""
    with open_page(browser, **PHONE) as pg:
        yield pg


@contextmanager
def serving(rt: Any, *, deliver: bool = True) -> Iterator[str]:
    """``make serve``'s gateway for ``rt`` on a free loopback port (with event delivery); yields its URL."""
    from werkzeug.serving import make_server

    from avdual.server import Gateway, deliver_forever

    httpd = make_server("127.0.0.1", 0, Gateway(rt), threaded=True)
    stop = threading.Event()
    threads = [threading.Thread(target=httpd.serve_forever, daemon=True)]
    if deliver:
        threads.append(threading.Thread(target=deliver_forever, args=(rt, stop, 0.1), daemon=True))
    for t in threads:
        t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        stop.set()
        httpd.shutdown()
        for t in threads:
            t.join(timeout=5)


@contextmanager
def school_system(stage: str) -> Iterator[tuple[str, Any]]:
    """A served local system with companion C01 at RFS and RFS's school login; yields (URL, runtime)."""
    from avdual.auth import user_for
    from avdual.runtime import LocalRuntime
    from tests.conftest import OFFICE, companion

    with LocalRuntime(stage=stage, log_level="ERROR") as rt:
        created = rt.api("POST", "/companions", body=companion("C01", ["RFS"], capacity=5), claims=OFFICE)
        assert created.status == 200, created.body
        rt.drain()
        rt.cognito.ensure_user(user_for("school", school="RFS"))
        with serving(rt) as base:
            yield base, rt


def login(page: Any, base: str, username: str, path: str = "/") -> None:
    """Log in on the page at ``path`` with the local password (the shared login of every page)."""
    from avdual.auth import LOCAL_PASSWORD

    page.goto(base + path)
    page.get_by_label("Benutzername oder E-Mail").fill(username)
    page.get_by_label("Passwort", exact=True).fill(LOCAL_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()


def no_horizontal_scrolling(page: Any) -> bool:
    """Nothing on the page is wider than the window (the document does not scroll sideways)."""
    return bool(
        page.evaluate(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            " && document.body.scrollWidth <= document.documentElement.clientWidth"
        )
    )
