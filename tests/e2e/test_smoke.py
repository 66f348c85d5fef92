"""``make smoke`` against a ``make serve`` started here: the server in a subprocess on a free loopback port,
the suite as ``avdual smoke --base-url …`` in another, as an operator runs them (nothing shared
in-process)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.enable_socket  # loopback only: the server binds 127.0.0.1

REPO = Path(__file__).resolve().parents[2]
STEPS = (
    "target",
    "school login",
    "office login",
    "submit intake",
    "assigned or waitlisted",
    "order report",
    "download pdf",
    "download xlsx",
    "dead-letter queues empty",
    "withdraw intake",
    "intake erased",
)
START_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVDUAL_SMOKE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return {**env, **extra}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``avdual serve --empty`` (what ``make serve ARGS=--empty`` runs) in its own folder (its ``out/``)
    until /healthz answers."""
    work = tmp_path_factory.mktemp("serve")
    port = _free_port()
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen(
        # blank (--empty): loading the demo scenario takes minutes of CPU on a busy machine; the suite's wait
        # for it is a unit test (tests/unit/platform/test_smoke_suite.py)
        [sys.executable, "-m", "avdual.cli", "serve", "--port", str(port), "--empty"],
        cwd=work,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"make serve exited {proc.returncode}:\n{(work / 'serve.log').read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:  # noqa: S310 - loopback
                    if json.loads(resp.read())["status"] == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no /healthz after {START_TIMEOUT:.0f} s")
            time.sleep(0.2)
        yield url, work
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _smoke(url: str, **env: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "avdual.cli", "smoke", "--base-url", url],
        cwd=REPO,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(done.stdout, done.stderr)  # shown when the test fails
    return done.returncode, done.stdout.strip().splitlines()


def _status(lines: list[str]) -> dict[str, str]:
    """Step name → PASS/FAIL/SKIP from the suite's ``<STATUS>  <step>: <detail>`` lines."""
    out = {}
    for line in lines[:-1]:
        status, _, rest = line.partition("  ")
        out[rest.split(":", 1)[0]] = status
    return out


def test_smoke_passes_against_make_serve(server: tuple[str, Path]) -> None:
    url, work = server
    code, lines = _smoke(url)
    assert code == 0, lines
    assert _status(lines) == dict.fromkeys(STEPS, "PASS")
    assert lines[-1] == f"{len(STEPS)} passed, 0 failed"
    # what the steps claim left its traces on the server: the report files and the office's e-mail
    ordered = next(line for line in lines if line.startswith("PASS  order report: "))
    report_id = ordered.removeprefix("PASS  order report: report ").split(" ")[0]
    assert {p.suffix for p in (work / "out" / "reports").rglob(f"*{report_id}*")} >= {".pdf", ".xlsx"}
    assert list((work / "out" / "mail").glob("*.eml"))


def test_smoke_fails_and_still_erases_when_a_step_fails(server: tuple[str, Path]) -> None:
    """A wrong office password: the login fails, the report steps are skipped, the exit code is 1, and the
    school's intake is still withdrawn and erased."""
    url, _ = server
    code, lines = _smoke(url, AVDUAL_SMOKE_OFFICE_USER="buero", AVDUAL_SMOKE_OFFICE_PASSWORD="falsch-1234")  # noqa: S106
    assert code == 1, lines
    status = _status(lines)
    assert status["office login"] == "FAIL"
    assert "NotAuthorizedException" in next(line for line in lines if "office login" in line)
    assert {status[s] for s in ("order report", "download pdf", "download xlsx")} == {"SKIP"}
    assert status["withdraw intake"] == status["intake erased"] == "PASS"
    assert lines[-1] == f"{len(STEPS) - 4} passed, 1 failed, 3 skipped"
