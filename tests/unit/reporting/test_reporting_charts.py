"""Charts: PNG bytes of a fixed size whatever the data, deterministic, lazily importing matplotlib."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.reporting.logic import charts

ROOT = Path(__file__).resolve().parents[3]

COMPANIONS = [
    {"label": f"Begleiter/in {i:02d}", "assigned": a, "capacity": c}
    for i, (a, c) in enumerate([(38, 40), (41, 40), (20, 20), (2, 30), (0, None)], 1)
]
POINTS = [(date(2026, 9, 7) + timedelta(days=7 * i), n) for i, n in enumerate([0, 3, 5, 9, 12, 8])]
DESTINATIONS: list[tuple[str, int | str]] = [
    ("Duale Ausbildung", 70),
    ("Schulische Ausbildung", 9),
    ("Arbeit", "<3"),
    ("Unbekannt", "x"),
]


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("caseload", lambda: charts.caseload_chart(COMPANIONS)),
        ("caseload", lambda: charts.caseload_chart(COMPANIONS * 3, target=35)),
        ("caseload", lambda: charts.caseload_chart([])),
        ("waitlist", lambda: charts.waitlist_trend_chart(POINTS)),
        ("waitlist", lambda: charts.waitlist_trend_chart(POINTS[:1])),
        ("waitlist", lambda: charts.waitlist_trend_chart([])),
        ("destinations", lambda: charts.destination_chart(DESTINATIONS, 100)),
        ("destinations", lambda: charts.destination_chart(DESTINATIONS[:2])),
        ("destinations", lambda: charts.destination_chart(DESTINATIONS)),  # no total known: counts
        ("destinations", lambda: charts.destination_chart([])),
    ],
)
def test_charts_are_pngs_of_a_fixed_size(kind: str, make) -> None:
    png = make()
    width, height = charts.SIZE[kind]
    assert charts.png_size(png) == (round(width * charts.DPI), round(height * charts.DPI))


def test_charts_are_deterministic() -> None:
    assert charts.caseload_chart(COMPANIONS) == charts.caseload_chart(COMPANIONS)


def test_data_uri_round_trips() -> None:
    png = charts.waitlist_trend_chart(POINTS)
    uri = charts.png_data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png
    with pytest.raises(ValueError):
        charts.png_size(b"GIF89a")


def test_importing_the_rendering_modules_is_cheap() -> None:
    """matplotlib and weasyprint are imported inside the functions, not at import time."""
    code = (
        "import sys, services.reporting.logic.charts, services.reporting.logic.pdf, "
        "services.reporting.logic.suppression; "
        "assert not {'matplotlib', 'weasyprint', 'ortools', 'highspy'} & set(sys.modules), "
        "sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
