"""The reporting functions render their reports with nothing but what AWS gives them.

A fresh interpreter (``python -I -S``: no site-packages, no user site, no PYTHONPATH) gets on ``sys.path``
only the reporting code asset (``infra.bundling.ServiceBundler``), the renderer's dependencies layers
(``DependencyLayerBundler`` with the requirements, left-out distributions and stripped files CDK uses,
built for this machine's Python instead of arm64) and what the runtime and the AWS-managed Powertools
layer provide (boto3, aws-lambda-powertools, pydantic at the locked versions). It renders the Wochenbericht
and the Schuljahresbericht end to end (figures, matplotlib charts, HTML, PDF, XLSX) and re-renders a
redacted PDF: the use path of everything the renderer's layers carry, so a file stripped from them that
rendering needs fails here. System libraries the Lambda runtime lacks (pango, cairo, fontconfig) would make
this fail: nothing in the layers may need them.
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.topology import REPORTING_RENDERER
from infra.bundling import DependencyLayerBundler, ServiceBundler, host_target, lambda_provided

pytestmark = pytest.mark.infra

SCRIPT = r"""
import json, pickle, sys, time
from datetime import UTC, datetime
from pathlib import Path

out = Path(sys.argv[1])
inputs = pickle.loads((out / "inputs.pickle").read_bytes())
from services.reporting.logic import publish, redact

timings, rendered = {}, {}
for report_type, period in (("weekly", "last_week"), ("school_year", "this_week")):
    t = time.perf_counter()
    r = publish.render(report_type, inputs[report_type], as_of=datetime(2027, 3, 1, 6, tzinfo=UTC),
                       report_id="01BUNDLE", period=period)
    timings[report_type] = round(time.perf_counter() - t, 2)
    assert not r.unavailable, r.errors
    rendered[report_type] = r
    for ext, body in r.files.items():
        (out / f"{report_type}.{ext}").write_bytes(body)
# the erasure path: a listed student's row removed from HTML and XLSX, the PDF rendered again
listed = redact.subject_ids(rendered["weekly"].context)
keys = [f"weekly.{ext}" for ext in ("html", "pdf", "xlsx")]
t = time.perf_counter()
removed, deleted = redact.redact_files(
    keys, listed[0],
    read=lambda k: (out / k).read_bytes(),
    write=lambda k, b: (out / k).write_bytes(b),
    delete=lambda k: (out / k).unlink(),
)
timings["redaction"] = round(time.perf_counter() - t, 2)
outside = sorted({m.__file__ for m in list(sys.modules.values())
                  if getattr(m, "__file__", None) and not any(m.__file__.startswith(p) for p in sys.argv[2:])
                  and not m.__file__.startswith(sys.base_prefix)})
print(json.dumps({"timings": timings, "outside": outside, "removed": removed, "deleted": deleted,
                  "listed": len(listed)}))
"""


def _inputs() -> dict[str, object]:
    """Aggregates of 1,000 synthetic students, as ``publish.load_inputs`` would read them."""
    from avdual.bench_reporting import START, synthetic_aggregates
    from services.reporting.dal.aggregates import year_pk
    from services.reporting.logic.figures import Inputs
    from services.reporting.models.aggregates import CompanionInfo

    total, waiting, companions = synthetic_aggregates(1000)
    counters = {sk: n for (pk, sk), n in total.items() if pk == year_pk("2026/27")}
    infos = {
        f"B{c:03d}": CompanionInfo(
            companion_id=f"B{c:03d}",
            school_ids=[("RFS", "MPS", "OWS", "EBS", "CSS", "BSZBB")[c % 6]],
            capacity=40,
            active=True,
            fte=1.0,
            updated_at=START,
        )
        for c in range(companions)
    }
    return {
        "weekly": Inputs("2026/27", counters, infos, waiting),
        "school_year": Inputs("2026/27", counters, infos, (), "2025/26", {}),
    }


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv builds the layers")
def test_reports_render_with_only_the_bundled_asset_and_layers(tmp_path: Path) -> None:
    target = host_target()
    asset = tmp_path / "asset"
    ServiceBundler("reporting").try_bundle(str(asset))
    layers = [
        DependencyLayerBundler.of(layer, target).build() / "python" for layer in REPORTING_RENDERER.layers
    ]
    runtime = lambda_provided(target).build() / "python"
    (tmp_path / "inputs.pickle").write_bytes(pickle.dumps(_inputs()))

    paths = [str(asset), *map(str, layers), str(runtime)]
    argv = ["bundle-check", str(tmp_path), *paths]
    bootstrap = f"import sys; sys.path[:0] = {paths!r}; sys.argv = {argv!r}\n"
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", bootstrap + SCRIPT],
        capture_output=True,
        text=True,
        timeout=600,
        env={"MPLCONFIGDIR": str(tmp_path / "mpl"), "PATH": "/usr/bin:/bin", "TZ": "UTC"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["outside"] == []  # nothing came from this machine's site-packages

    for report_type in ("weekly", "school_year"):
        pdf = (tmp_path / f"{report_type}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF")
        html = (tmp_path / f"{report_type}.html").read_text()
        assert html.count('src="data:image/png;base64,') >= 1  # matplotlib charts from the layer
        assert (tmp_path / f"{report_type}.xlsx").read_bytes().startswith(b"PK")
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", "-layout", str(tmp_path / f"{report_type}.pdf"), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert "Seite 1 von" in text and "Schülerinnen" in text
        if shutil.which("pdfimages"):
            images = subprocess.run(
                ["pdfimages", "-list", str(tmp_path / f"{report_type}.pdf")],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()[2:]
            assert len(images) >= html.count('src="data:image/png;base64,')  # every chart is in the PDF
    assert result["listed"] >= 1 and result["removed"] == 2 and result["deleted"] == []  # HTML + XLSX row
    print("render seconds in the bundle:", result["timings"])
